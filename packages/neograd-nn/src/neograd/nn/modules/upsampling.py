"""Upsampling layers: Upsample, UpsamplingNearest2d, UpsamplingBilinear2d (forward: F.interpolate)."""

from __future__ import annotations

from collections.abc import Sequence

from neograd.autograd import Tensor
from neograd.nn.functional.upsampling import _LINEAR_NDIM, _MODES, interpolate
from neograd.nn.module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


class Upsample(Module):
    """Resize the spatial dims to ``size`` or by ``scale_factor``, as torch.nn.Upsample.

    See ``neograd.nn.functional.interpolate`` for the modes and what align_corners means.

    Args:
        size: the output spatial size, one int or one per spatial dim.
        scale_factor: the multiplier of the spatial size; exactly one of size and
            scale_factor is given.
        mode: "nearest", "nearest-exact", "linear", "bilinear", "trilinear" or "area".
        align_corners: only for the linear modes; None means False.
        recompute_scale_factor: compute the interpolation from the output size rather
            than from scale_factor.

    Shape:
        input (N, C, L), (N, C, H, W) or (N, C, D, H, W); output the same with the new
        spatial size.

    Example:
        >>> Upsample(scale_factor=2, mode="bilinear")(randn(1, 3, 4, 4)).shape
        (1, 3, 8, 8)
    """

    def __init__(
        self,
        size: int | Sequence[int] | None = None,
        scale_factor: float | Sequence[float] | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if (size is None) == (scale_factor is None):
            given = "both" if size is not None else "neither"
            raise ValueError(f"{name}: exactly one of size or scale_factor should be defined, got {given}")
        if mode not in _MODES:
            raise ValueError(f"{name}: mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
        if align_corners is not None and mode not in _LINEAR_NDIM:
            raise ValueError(
                f"{name}: align_corners can only be set with the modes linear, bilinear and trilinear, "
                f"got mode={mode!r}"
            )
        self.size = size
        # as torch, the scale factors are stored as floats (so the repr shows 2.0)
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor: float | tuple[float, ...] | None = tuple(float(s) for s in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners, self.recompute_scale_factor = (
            mode,
            align_corners,
            recompute_scale_factor,
        )

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(
            input,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            recompute_scale_factor=self.recompute_scale_factor,
        )

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            return f"scale_factor={self.scale_factor!r}, mode={self.mode!r}"
        return f"size={self.size!r}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour upsampling of (N, C, H, W) inputs: ``Upsample(size, scale_factor, mode="nearest")``.

    Example:
        >>> UpsamplingNearest2d(scale_factor=2)(randn(1, 1, 2, 2)).shape
        (1, 1, 4, 4)
    """

    def __init__(
        self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None
    ):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear upsampling of (N, C, H, W) inputs with the corners aligned:
    ``Upsample(size, scale_factor, mode="bilinear", align_corners=True)``.

    Example:
        >>> UpsamplingBilinear2d(scale_factor=2)(randn(1, 1, 2, 2)).shape
        (1, 1, 4, 4)
    """

    def __init__(
        self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None
    ):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
