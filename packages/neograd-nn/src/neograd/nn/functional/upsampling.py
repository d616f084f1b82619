"""Resizing: interpolate, as torch.nn.functional.interpolate.

Nearest and (bi/tri)linear interpolation are separable: resizing one spatial dim from n
to o positions is a product with an (o, n) interpolation matrix A, whose row i holds the
weights output i gives to the inputs. A 2-D resize is then ``A_h @ x @ A_w^T``, written
with neograd's matmul, so the backward is two matmuls with the transposed matrices (the
adjoint of "gather with weights" is "scatter-add with the same weights"), and gradients
of any order come for free. Small matrices, no index bookkeeping.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from neograd.autograd import Tensor, backend, matmul
from neograd.autograd.ops._args import is_int
from neograd.nn.functional.pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

__all__ = ["interpolate"]

_LINEAR_NDIM = {"linear": 3, "bilinear": 4, "trilinear": 5}
_NEAREST = ("nearest", "nearest-exact")
_MODES = (*_NEAREST, *_LINEAR_NDIM, "area")


def _source_scale(n: int, o: int, align_corners: bool, scale_factor: float | None) -> float:
    """How far apart, in input positions, two neighbouring outputs are (torch's area_pixel_compute_scale)."""
    if align_corners:  # the corner pixels' centres line up: output 0 -> input 0, output o-1 -> input n-1
        return (n - 1) / (o - 1) if o > 1 else 0.0
    # as torch, a given scale_factor is used as it is, not recomputed from the rounded output size
    return 1.0 / scale_factor if scale_factor else n / o


def _nearest_matrix(n: int, o: int, scale: float, exact: bool) -> np.ndarray:
    """(o, n) one-hot rows: output i copies input floor(i * scale) (exact: floor((i + 0.5) * scale))."""
    if not exact and o == n:  # NOTE: torch special-cases these two sizes ("nearest" only)
        source = np.arange(o)
    elif not exact and o == 2 * n:
        source = np.arange(o) // 2
    else:
        # NOTE: torch computes the source position in float32; so do we, to pick the same inputs
        i = np.arange(o, dtype=np.float32) + np.float32(0.5 if exact else 0.0)
        source = np.minimum(np.floor(i * np.float32(scale)).astype(np.int64), n - 1)
    matrix = np.zeros((o, n))
    matrix[np.arange(o), source] = 1.0
    return matrix


def _linear_matrix(n: int, o: int, scale: float, align_corners: bool) -> np.ndarray:
    """(o, n) rows with two weights: output i at source position s mixes inputs floor(s) and floor(s) + 1."""
    i = np.arange(o, dtype=np.float64)
    source = i * scale if align_corners else np.maximum((i + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), n - 1)
    high = np.minimum(low + 1, n - 1)  # at the last input both weights go to it
    frac = np.clip(source - low, 0.0, 1.0)
    matrix = np.zeros((o, n))
    np.add.at(matrix, (np.arange(o), low), 1.0 - frac)
    np.add.at(matrix, (np.arange(o), high), frac)
    return matrix


def _along(x: Tensor, dim: int, matrix: np.ndarray) -> Tensor:
    """Apply the (o, n) matrix to dim ``dim`` of x (size n, becoming o): x @ matrix^T along that dim."""
    last = dim == x.ndim - 1
    moved = x if last else x.transpose(dim, -1)
    # NOTE: one 2-D product (a single BLAS call) is much faster than NumPy's batched matmul
    rows = moved.reshape(-1, moved.shape[-1])
    weights = backend.to_device(matrix.T.astype(x.dtype), x.device)  # (made on the host: a small constant)
    y = matmul(rows, weights).reshape(*moved.shape[:-1], matrix.shape[0])
    return y if last else y.transpose(dim, -1)


def _sizes(op: str, name: str, value: Any, d: int, spatial: tuple[int, ...]) -> tuple[Any, ...]:
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,) * d
    if len(values) != d:
        raise ValueError(
            f"{op}: input and {name} must have the same number of spatial dims, but got input with spatial "
            f"dims {list(spatial)} and {name}={value!r}. Give input as (N, C, d1, ..., dK) and {name} as "
            "(s1, ..., sK) or one number"
        )
    return values


def interpolate(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of ``input`` to ``size`` or by ``scale_factor``, as torch.

    Modes: "nearest" (output i copies input floor(i * in / out)), "nearest-exact"
    (floor((i + 0.5) * in / out), symmetric), "linear" / "bilinear" / "trilinear" for
    3-D / 4-D / 5-D inputs (weights from the two nearest inputs along each dim), and
    "area" (adaptive average pooling, 3-D and 4-D inputs). With ``align_corners=True`` the
    linear modes map the corner pixels' centres onto each other (source = i * (in-1)/(out-1));
    with False (the default) pixels are areas (source = (i + 0.5) * in / out - 0.5).

    Args:
        input: (N, C, L), (N, C, H, W) or (N, C, D, H, W).
        size: the output spatial size, one int or one per spatial dim.
        scale_factor: the multiplier of the spatial size (output floor(in * scale_factor));
            exactly one of size and scale_factor is given.
        mode: one of the modes above.
        align_corners: only for the linear modes; None means False.
        recompute_scale_factor: True computes the interpolation from the output size
            instead of using scale_factor as given.
        antialias: only False.

    Example:
        >>> interpolate(randn(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
        (1, 3, 8, 8)
    """
    op = "interpolate"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if mode not in _MODES:
        raise ValueError(f"{op}: mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    if mode in (*_NEAREST, "area"):
        if align_corners is not None:
            raise ValueError(
                f"{op}: align_corners can only be set with the interpolating modes linear, bilinear and "
                f"trilinear, got align_corners={align_corners!r} with mode={mode!r}"
            )
    align_corners = bool(align_corners)
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported")
    if input.ndim not in (3, 4, 5):
        raise NotImplementedError(
            f"{op}: expected a 3D, 4D or 5D input (N, C, *spatial), got input of shape {input.shape} "
            f"(mode {mode!r})"
        )
    if mode in _LINEAR_NDIM and input.ndim != _LINEAR_NDIM[mode]:
        raise NotImplementedError(
            f"{op}: got {input.ndim}D input of shape {input.shape}, but {mode} mode needs "
            f"{_LINEAR_NDIM[mode]}D input"
        )
    if not input.is_floating_point():
        raise TypeError(f"{op}: expected a floating input, got dtype {input.dtype}")
    spatial, d = input.shape[2:], input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError(f"{op}: only one of size or scale_factor should be defined, got both")
    if size is None and scale_factor is None:
        raise ValueError(f"{op}: either size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(f"{op}: recompute_scale_factor is not meaningful with an explicit size")
        out = _sizes(op, "size", size, d, spatial)
        if not all(is_int(s) for s in out):
            raise TypeError(f"{op}: size must be an int or a tuple of ints, got {size!r}")
        scales: tuple[float | None, ...] = (None,) * d
    else:
        scales = _sizes(op, "scale_factor", scale_factor, d, spatial)
        if not all(isinstance(s, (int, float)) and not isinstance(s, bool) and s > 0 for s in scales):
            raise ValueError(f"{op}: scale_factor must be positive numbers, got {scale_factor!r}")
        out = tuple(math.floor(n * float(s)) for n, s in zip(spatial, scales))
        if recompute_scale_factor or mode == "area":
            scales = (None,) * d
    out = tuple(int(s) for s in out)
    if min(spatial) < 1 or min(out) < 1:
        raise ValueError(
            f"{op}: input and output sizes should be greater than 0, but got input spatial size "
            f"{list(spatial)} and output size {list(out)}"
        )
    if mode == "area":
        if d == 1:
            return adaptive_avg_pool1d(input, out)
        if d == 2:
            return adaptive_avg_pool2d(input, out)
        raise NotImplementedError(f"{op}: mode 'area' supports 3D and 4D inputs, got shape {input.shape}")
    y = input
    for k, (n, o, s) in enumerate(zip(spatial, out, scales)):
        if mode in _NEAREST:
            matrix = _nearest_matrix(n, o, _source_scale(n, o, False, s), exact=mode == "nearest-exact")
        else:
            matrix = _linear_matrix(n, o, _source_scale(n, o, align_corners, s), align_corners)
        y = _along(y, 2 + k, matrix)
    return y
