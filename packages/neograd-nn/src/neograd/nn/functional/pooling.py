"""Pooling: max, average and adaptive average pooling over 1-D and 2-D windows.

Max and average pooling go through the windows one kernel offset at a time, each step
vectorised over every window: the k-th element of all windows is one strided slice of
the padded input (``conv.window_slices``). Max pooling keeps the running maximum and the
offset it came from, average pooling the running sum. Backward adds each offset's share
of the gradient back where it was read (``conv.add_windows``), so overlapping windows
(stride smaller than the kernel) accumulate. The work happens in channels-last memory,
as for the convolutions (see conv.py). Adaptive average pooling is a product with one
small averaging matrix per spatial dim.

NOTE: a strided view of all windows reduced over its kernel axes (``windows(...).max(axis=...)``)
says the same in one line, but NumPy reduces such short, strided axes several times more
slowly than it runs a few elementwise steps over whole arrays.

NOTE: max and average pooling's backward is plain NumPy: first derivatives only (no
double backward). Adaptive average pooling is linear and its backward is written with
operators, so it supports double backward.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from neograd.autograd import Function, Tensor, backend
from neograd.autograd.ops._args import is_int
from neograd.nn.functional.conv import (
    Pads,
    add_windows,
    channels_first,
    channels_last,
    crop_spatial,
    first_order_only,
    ntuple,
    pad_spatial,
    window_slices,
)

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
]

# kernel, stride, dilation, output size and (before, after) padding per spatial dim
Geometry = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], Pads]


def _pool_geometry(
    op: str,
    size: Sequence[int],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    ceil_mode: bool,
) -> tuple[tuple[int, ...], Pads]:
    """Output size and the (before, after) padding that makes every window fit, as torch computes them.

    With ceil_mode the output rounds up, except that a window must start inside the input
    or the left padding; the extra padding after the input is never read as data.
    """
    out, pads = [], []
    for n, k, s, p, dl in zip(size, kernel, stride, padding, dilation):
        if p > k // 2:
            raise ValueError(
                f"{op}: padding should be at most half of the kernel size, got padding {padding} "
                f"for kernel_size {kernel}"
            )
        span = n + 2 * p - dl * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        if o < 1:
            raise RuntimeError(
                f"{op}: input of spatial size {tuple(size)} is too small for kernel_size {kernel}, padding "
                f"{padding} and dilation {dilation}: the output size would be {o}"
            )
        out.append(o)
        pads.append((p, max(p, (o - 1) * s + dl * (k - 1) + 1 - n - p)))
    return tuple(out), tuple(pads)


def _pool_forward(x: np.ndarray, geometry: Geometry, value: float, combine: Any) -> tuple[np.ndarray, ...]:
    """Reduce every window of (N, C, *spatial) ``x`` with ``combine(so_far, next_element, k)``.

    Works in channels-last memory, one vectorised step per kernel offset: every step
    takes the k-th element of all windows at once (a strided slice of the padded input).
    """
    kernel, stride, dilation, out, pads = geometry
    xp = pad_spatial(channels_last(x), pads, value)
    state: tuple[np.ndarray, ...] = ()
    for k, offset in enumerate(np.ndindex(*kernel)):
        state = combine(state, xp[window_slices(offset, stride, dilation, out)], k)
    return state


def _pool_backward(shape: tuple[int, ...], geometry: Geometry, share: Any, dtype: np.dtype) -> np.ndarray:
    """Add ``share(k)`` (N, *out, C), the gradient of each window's k-th element, back onto the input."""
    kernel, stride, dilation, out, pads = geometry
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(shape[2:], pads))
    grad = add_windows(share, (shape[0], *padded, shape[1]), kernel, stride, dilation, out, dtype)
    return channels_first(crop_spatial(grad, pads, shape[2:]))


def _max_step(state: tuple[np.ndarray, ...], v: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    if not state:  # a copy of the first elements, updated in place from here on
        return v.copy(), np.zeros_like(v, np.intp, order="C")
    best, argmax = state
    argmax[v > best] = k  # strictly greater: the first maximum of a window wins, as in torch
    np.maximum(best, v, out=best)  # NOTE: maximum, not where(): a NaN propagates, as in torch
    return best, argmax


class MaxPoolNd(Function):
    """y = the maximum of each window; its gradient goes to the first maximal element of the window.

    First derivatives only (backward is plain NumPy).
    """

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, geometry: Geometry) -> np.ndarray:
        best, ctx.argmax = _pool_forward(x, geometry, -np.inf, _max_step)
        ctx.shape, ctx.geometry = x.shape, geometry
        return channels_first(best)

    @staticmethod
    def backward(ctx: Any, grad_output: np.ndarray) -> np.ndarray:
        first_order_only("max_pool", grad_output)
        g = channels_last(grad_output)
        return _pool_backward(ctx.shape, ctx.geometry, lambda k: g * (ctx.argmax == k), g.dtype)


class AvgPoolNd(Function):
    """y = (sum of each window) / divisor; each element of a window gets grad / divisor.

    First derivatives only (backward is plain NumPy).
    """

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, geometry: Geometry, divisor: np.ndarray) -> np.ndarray:
        (total,) = _pool_forward(x, geometry, 0.0, lambda state, v, k: (state[0] + v,) if state else (v,))
        ctx.shape, ctx.geometry, ctx.divisor = x.shape, geometry, divisor
        return channels_first((total / divisor).astype(x.dtype, copy=False))

    @staticmethod
    def backward(ctx: Any, grad_output: np.ndarray) -> np.ndarray:
        first_order_only("avg_pool", grad_output)
        share = (channels_last(grad_output) / ctx.divisor).astype(grad_output.dtype, copy=False)
        return _pool_backward(ctx.shape, ctx.geometry, lambda k: share, share.dtype)


def _divisor(
    size: Sequence[int],
    geometry: Geometry,
    padding: tuple[int, ...],
    count_include_pad: bool,
    divisor_override: int | None,
) -> np.ndarray:
    """How many elements each window averages over, by torch's rule, as an array of shape out.

    A window is clipped to the padded input (count_include_pad) or to the input itself;
    padding added by ceil_mode is never counted.
    """
    kernel, stride, _, out, _ = geometry
    if divisor_override is not None:
        return np.array(float(divisor_override))
    counts = []
    for n, k, s, p, o in zip(size, kernel, stride, padding, out):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    return math.prod(np.ix_(*counts, [1])).astype(np.float64)  # (*out, 1): broadcasts over channels


def _pool_input(op: str, input: Tensor, d: int) -> tuple[Tensor, bool]:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (d + 1, d + 2):
        raise RuntimeError(
            f"{op}: expected a {d + 1}-D (unbatched) or {d + 2}-D (batched) input, got shape {input.shape}"
        )
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating input, got dtype {input.dtype}")
    batched = input.ndim == d + 2
    return (input if batched else input.unsqueeze(0)), batched


def _max_pool(
    op: str,
    d: int,
    input: Tensor,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    return_indices: bool,
) -> Any:
    x, batched = _pool_input(op, input, d)
    kernel = ntuple(op, "kernel_size", kernel_size, d)
    stride = kernel if stride is None or stride == [] else ntuple(op, "stride", stride, d)
    padding = ntuple(op, "padding", padding, d, minimum=0)
    dilation = ntuple(op, "dilation", dilation, d)
    out, pads = _pool_geometry(op, x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    geometry = (kernel, stride, dilation, out, pads)
    y = MaxPoolNd.apply(x, geometry=geometry)
    if not batched:
        y = y.squeeze(0)
    if not return_indices:
        return y
    return y, _max_indices(x.data, geometry, input.shape[-d:], batched)


def _max_indices(x: np.ndarray, geometry: Geometry, size: Sequence[int], batched: bool) -> Tensor:
    """torch's return_indices: the flat index (i * W + j) of each maximum in its input plane."""
    kernel, stride, dilation, out, pads = geometry
    _, argmax = _pool_forward(x, geometry, -np.inf, _max_step)  # (N, *out, C)
    index = np.zeros_like(argmax, np.int64)
    dev = backend.device_of(x)
    for axis, (b, s, dl, (lo, _), n) in enumerate(
        zip(np.unravel_index(argmax, kernel), stride, dilation, pads, size)
    ):
        position = backend.create(dev, "arange", out[axis]).reshape((-1,) + (1,) * (len(out) - axis)) * s
        index = index * n + position + b * dl - lo
    index = backend.ascontiguousarray(channels_first(index))
    return Tensor._make(index if batched else index[0])


def _avg_pool(
    op: str,
    d: int,
    input: Tensor,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> Tensor:
    x, batched = _pool_input(op, input, d)
    kernel = ntuple(op, "kernel_size", kernel_size, d)
    stride = kernel if stride is None or stride == [] else ntuple(op, "stride", stride, d)
    padding = ntuple(op, "padding", padding, d, minimum=0)
    if divisor_override is not None and (not is_int(divisor_override) or divisor_override == 0):
        raise ValueError(f"{op}: divisor_override must be a non-zero int, got {divisor_override!r}")
    dilation = (1,) * d
    out, pads = _pool_geometry(op, x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    geometry = (kernel, stride, dilation, out, pads)
    divisor = _divisor(x.shape[2:], geometry, padding, count_include_pad, divisor_override)
    divisor = backend.to_device(divisor, x.device)  # (made on the host: a small constant)
    y = AvgPoolNd.apply(x, geometry=geometry, divisor=divisor)
    return y if batched else y.squeeze(0)


def max_pool1d(
    input: Tensor,
    kernel_size: int | tuple[int],
    stride: int | tuple[int] | None = None,
    padding: int | tuple[int] = 0,
    dilation: int | tuple[int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """1-D max pooling, as torch.nn.functional.max_pool1d: y[n, c, l] = max_k x[n, c, l stride + k dilation].

    Args:
        input: (N, C, L) or (C, L).
        kernel_size: the window length.
        stride: the step between windows (default: kernel_size).
        padding: implicit -inf padding on both sides (at most kernel_size // 2).
        dilation: the step between elements of a window.
        ceil_mode: round the output length up instead of down.
        return_indices: also return the index of each maximum within its row.

    Returns:
        The pooled tensor, or (pooled, indices) with return_indices.
    """
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input: Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """2-D max pooling, as torch.nn.functional.max_pool2d.

    y[n, c, i, j] = max_{p, q} x_padded[n, c, i * sH + p * dH, j * sW + q * dW]. The gradient of
    each output goes to the (first) maximal element of its window; where windows overlap
    (stride < kernel_size) an input element collects the gradients of every window it won.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: the window size, an int or a pair.
        stride: the step between windows (default: kernel_size).
        padding: implicit -inf padding on each side (at most half the kernel size).
        dilation: the step between elements of a window.
        ceil_mode: round the output size up instead of down.
        return_indices: also return the flat index (i * W + j) of each maximum in its plane.

    Shape:
        output: (N, C, H_out, W_out), H_out = floor((H + 2 * padH - dH * (kH - 1) - 1) / sH) + 1.

    Example:
        >>> max_pool2d(randn(1, 1, 4, 4), 2).shape
        (1, 1, 2, 2)
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def avg_pool1d(
    input: Tensor,
    kernel_size: int | tuple[int],
    stride: int | tuple[int] | None = None,
    padding: int | tuple[int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-D average pooling, as torch.nn.functional.avg_pool1d (see :func:`avg_pool2d`)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(
    input: Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-D average pooling, as torch.nn.functional.avg_pool2d: the mean of each window.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: the window size, an int or a pair.
        stride: the step between windows (default: kernel_size).
        padding: implicit zero padding on each side (at most half the kernel size).
        ceil_mode: round the output size up instead of down.
        count_include_pad: count the zero padding in the divisor (else only real elements).
        divisor_override: divide every window's sum by this instead.

    Shape:
        output: (N, C, H_out, W_out), H_out = floor((H + 2 * padH - kH) / sH) + 1.
    """
    return _avg_pool(
        "avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


class AdaptivePool(Function):
    """y = x averaged along each spatial dim by a fixed matrix: y = P_1 (... (P_d x)), linear in x."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, matrices: tuple[np.ndarray, ...]) -> np.ndarray:
        ctx.matrices = matrices
        return _along_spatial(x, matrices, transpose=False)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return _along_spatial(grad_output, ctx.matrices, transpose=True)


def _along_spatial(x: Any, matrices: tuple[np.ndarray, ...], transpose: bool) -> Any:
    """Multiply the last len(matrices) dims of ``x`` by one matrix each (or by its transpose)."""
    d = len(matrices)
    for axis, p in enumerate(matrices):
        p = p.T if transpose else p  # (out, in) averages "in" positions into "out" ones
        x = (x.swapaxes(axis - d, -1) @ p.T.astype(x.dtype)).swapaxes(axis - d, -1)
    return x


def _adaptive_matrix(n: int, o: int) -> np.ndarray:
    """(o, n): row i averages x[start_i:end_i], start_i = floor(i n / o), end_i = ceil((i + 1) n / o)."""
    i = np.arange(o)
    start, end = (i * n) // o, -((-(i + 1) * n) // o)
    j = np.arange(n)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return inside / (end - start)[:, None]


def _adaptive(op: str, d: int, input: Tensor, output_size: Any) -> Tensor:
    x, batched = _pool_input(op, input, d)
    size = x.shape[2:]
    sizes = (output_size,) * d if is_int(output_size) or output_size is None else tuple(output_size)
    if len(sizes) != d or not all(s is None or (is_int(s) and s >= 1) for s in sizes):
        raise ValueError(
            f"{op}: output_size must be a positive int or a tuple of {d} (ints or None), got {output_size!r}"
        )
    if any(n < 1 for n in size):
        raise RuntimeError(f"{op}: input of shape {input.shape} has an empty spatial dim")
    matrices = tuple(
        backend.to_device(_adaptive_matrix(n, n if o is None else int(o)), x.device)
        for n, o in zip(size, sizes)
    )
    y = AdaptivePool.apply(x, matrices=matrices)
    return y if batched else y.squeeze(0)


def adaptive_avg_pool1d(input: Tensor, output_size: int | tuple[int]) -> Tensor:
    """1-D adaptive average pooling, as torch: output i averages x[floor(i L / o) : ceil((i + 1) L / o)]."""
    return _adaptive("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: int | tuple[int | None, int | None] | None) -> Tensor:
    """2-D adaptive average pooling, as torch.nn.functional.adaptive_avg_pool2d.

    Output row i averages input rows floor(i H / oH) to ceil((i + 1) H / oH) (exclusive),
    and likewise for columns, so any output size works (windows may overlap or differ in size).

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: (oH, oW), or one int for both; None keeps that dim's input size.

    Example:
        >>> adaptive_avg_pool2d(randn(2, 8, 7, 5), 1).shape    # global average pooling
        (2, 8, 1, 1)
    """
    return _adaptive("adaptive_avg_pool2d", 2, input, output_size)
