"""Dropout layers: elementwise (Dropout) and channel-wise (Dropout1d, Dropout2d)."""

from __future__ import annotations

from neograd.autograd import Tensor
from neograd.nn import functional as F  # noqa: N812 -- torch's F
from neograd.nn.module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d"]


class _DropoutNd(Module):
    """What the dropout layers share: ``p``, ``inplace`` and their repr."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: probability has to be between 0 and 1, but got {p!r}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """During training, zero each element with probability ``p`` and scale the rest by 1 / (1 - p).

    In eval mode (``model.eval()``) it returns its input unchanged. The mask comes from
    neograd's generator, so ``manual_seed`` makes it reproducible.

    Example:
        >>> drop = Dropout(0.2)
        >>> drop.eval()(ones(3))
        tensor([1., 1., 1.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)


class Dropout1d(_DropoutNd):
    """During training, zero each whole channel with probability ``p`` and scale the rest by 1 / (1 - p).

    A channel is the 1-D feature map input[n, c]: adjacent positions are strongly
    correlated, so zeroing single elements regularises little, zeroing channels more.
    In eval mode the input is returned unchanged; masks come from neograd's generator.

    Shape:
        input (N, C, L) or (C, L); output the same.

    Example:
        >>> Dropout1d(0.2)(randn(4, 8, 16)).shape
        (4, 8, 16)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training)


class Dropout2d(_DropoutNd):
    """During training, zero each whole channel (2-D map) with probability ``p``, scale the rest by 1/(1-p).

    As torch, a 3-D input is read as (N, C, L), with a warning (see ``F.dropout2d``).

    Shape:
        input (N, C, H, W); output the same.

    Example:
        >>> Dropout2d(0.2)(randn(4, 8, 5, 5)).shape
        (4, 8, 5, 5)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training)
