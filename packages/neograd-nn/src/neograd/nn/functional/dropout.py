"""Dropout: zero random elements during training, scaling the others so the expectation is unchanged."""

from __future__ import annotations

import numpy as np

from neograd.autograd import Tensor
from neograd.autograd.random import default_generator

__all__ = ["dropout"]


def dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) ("inverted" dropout).

    With ``training=False`` (or ``p=0``) the input is returned unchanged, so evaluation
    needs no rescaling. The mask comes from neograd's generator (``manual_seed``) unless
    ``generator`` is given; ``inplace`` is accepted for torch compatibility.

    Example:
        >>> manual_seed(0); dropout(ones(6), p=0.5)   # each element is 0 or 2
    """
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 1:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p!r}")
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout: expected a Tensor as input, got {type(input).__name__}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * np.zeros((), input.dtype)
    rng = default_generator if generator is None else generator
    # NOTE: the mask holds the scale itself, so the whole layer is one multiplication
    mask = (rng.random(input.shape, dtype=np.float32) >= p) * np.asarray(1 / (1 - p), input.dtype)
    return input * mask
