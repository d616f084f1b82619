"""Dropout: zero random elements (or whole channels) during training, scaling the others so the
expectation is unchanged."""

from __future__ import annotations

import warnings

import numpy as np

from neograd.autograd import Tensor, backend
from neograd.autograd.random import device_generator

__all__ = ["dropout", "dropout1d", "dropout2d"]


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
    _check_p("dropout", input, p)
    return _masked(input, p, training, generator, input.shape)


def _check_p(op: str, input: Tensor, p: float) -> None:
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 1:
        raise ValueError(f"{op}: probability has to be between 0 and 1, but got {p!r}")
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(input).__name__}")


def _feature_dropout(
    input: Tensor, p: float, training: bool, generator: np.random.Generator | None
) -> Tensor:
    """Zero whole channels input[n, c] with probability p; scale the others by 1 / (1 - p)."""
    # one draw per (sample, channel), broadcast over the channel's positions
    return _masked(input, p, training, generator, input.shape[:2] + (1,) * (input.ndim - 2))


def _masked(
    input: Tensor, p: float, training: bool, generator: np.random.Generator | None, shape: tuple[int, ...]
) -> Tensor:
    """input times a mask of ``shape`` (broadcast to input's): 0 with probability p, else 1 / (1 - p)."""
    if not training or p == 0:
        return input
    if p == 1:
        return input * np.zeros_like(input.data, shape=())
    rng = device_generator(input.device) if generator is None else generator
    # NOTE: the mask holds the scale itself, so the whole layer is one multiplication
    mask = (rng.random(shape, dtype=np.float32) >= p) * backend.asarray(
        1 / (1 - p), input.dtype, like=input.data
    )
    return input * mask


def dropout1d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Zero each whole channel (a 1-D feature map) with probability ``p``; scale the rest by 1 / (1 - p).

    Args:
        input: (N, C, L), or (C, L) unbatched.
        p: the probability of a channel being zeroed.
        training: apply dropout; with False the input is returned unchanged.
        inplace: accepted for torch compatibility; the result is a new tensor.
        generator: the NumPy generator of the masks; neograd's (``manual_seed``) by default.

    Example:
        >>> dropout1d(ones(2, 3, 4)).shape   # each [n, c] row is all 0 or all 2
        (2, 3, 4)
    """
    _check_p("dropout1d", input, p)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: expected 2D or 3D input, but got input of shape {input.shape} ({input.ndim}D). "
            "dropout1d drops channels of inputs with 1 spatial dim, a channel dim and an optional batch dim"
        )
    if input.ndim == 2:  # unbatched (C, L): each row is a channel
        return _feature_dropout(input.unsqueeze(0), p, training, generator).squeeze(0)
    return _feature_dropout(input, p, training, generator)


def dropout2d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Zero each whole channel (a 2-D feature map) with probability ``p``; scale the rest by 1 / (1 - p).

    As torch, a 3-D input is read as (N, C, L) (channel-wise 1-D dropout, with a warning
    pointing to dropout1d), not as an unbatched (C, H, W); other dims than 3 and 4 warn too.

    Args:
        input: (N, C, H, W).
        p: the probability of a channel being zeroed.
        training: apply dropout; with False the input is returned unchanged.
        inplace: accepted for torch compatibility; the result is a new tensor.
        generator: the NumPy generator of the masks; neograd's (``manual_seed``) by default.

    Example:
        >>> dropout2d(ones(2, 3, 4, 4)).shape   # each [n, c] map is all 0 or all 2
        (2, 3, 4, 4)
    """
    _check_p("dropout2d", input, p)
    if input.ndim < 2:
        raise RuntimeError(
            f"dropout2d: expected an input with a batch and a channel dim, got shape {input.shape}"
        )
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: received a 3D input and, as torch, reads it as (N, C, L) (channel-wise 1D dropout), "
            "not as an unbatched (C, H, W); use dropout1d for 1D dropout, or add a batch dim",
            stacklevel=2,
        )
    elif input.ndim != 4:
        warnings.warn(
            f"dropout2d: received a {input.ndim}D input (shape {input.shape}); it is meant for 4D "
            "(N, C, H, W) inputs. Use dropout for elementwise dropout",
            stacklevel=2,
        )
    return _feature_dropout(input, p, training, generator)
