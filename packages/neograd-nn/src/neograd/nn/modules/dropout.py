"""Dropout layer."""

from __future__ import annotations

from neograd.autograd import Tensor
from neograd.nn import functional as F  # noqa: N812 -- torch's F
from neograd.nn.module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """During training, zero each element with probability ``p`` and scale the rest by 1 / (1 - p).

    In eval mode (``model.eval()``) it returns its input unchanged. The mask comes from
    neograd's generator, so ``manual_seed`` makes it reproducible.

    Example:
        >>> drop = Dropout(0.2)
        >>> drop.eval()(ones(3))
        tensor([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p!r}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
