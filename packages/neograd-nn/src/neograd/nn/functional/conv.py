"""Convolutions (conv1d, conv2d, conv_transpose1d/2d), each one matrix product (im2col).

How a convolution becomes a matrix product: pad the input, then take a strided *view*
of it (``as_strided``, no copy) that lists, for every output position, the input values
under the kernel. Copying that view into a matrix with one row per output position and
one column per (kernel offset, input channel) -- the "im2col" matrix -- turns the whole
convolution into one product with the weight, reshaped to (out_channels, kernel *
in_channels). With groups, the channels split into ``groups`` independent blocks and the
product is one batched matmul over the blocks.

Backward is two more products: the weight's gradient is ``grad_rows^T @ cols``, and the
input's gradient is ``grad_rows @ weight``, whose entries are added back onto the input
positions they were read from ("col2im": one strided slice-add per kernel offset).
A transposed convolution is the adjoint of a convolution: its forward is the
convolution's input-gradient computation, and its backward is a convolution.

Speed: the work happens in channels-last memory, (N, *spatial, C), where each row of the
im2col matrix is made of contiguous runs of channels, so its copy is cheap; the result is
returned as an (N, C, *spatial) *view* of channels-last memory (torch's "channels_last"
memory format), which ReLU keeps and the next convolution or pooling reads without a copy.

NOTE: backward uses NumPy directly (no Function calls), so these ops have first
derivatives only: no double backward (``create_graph=True`` through a convolution).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neograd.autograd import Function, Tensor, backend
from neograd.autograd.ops._args import is_int

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]

Pads = tuple[tuple[int, int], ...]


# ---- helpers shared with pooling.py: channels-last arrays (N, *spatial, C) -------------------
def channels_last(x: np.ndarray) -> np.ndarray:
    """(N, C, *spatial) -> C-contiguous (N, *spatial, C): free when x already has that memory layout."""
    return backend.ascontiguousarray(x.transpose(0, *range(2, x.ndim), 1))


def channels_first(x: np.ndarray) -> np.ndarray:
    """(N, *spatial, C) -> an (N, C, *spatial) view of the same memory (no copy)."""
    return x.transpose(0, x.ndim - 1, *range(1, x.ndim - 1))


def first_order_only(op: str, grad_output: Any) -> None:
    """Refuse create_graph=True: this op's backward is plain NumPy, so it cannot be differentiated."""
    if isinstance(grad_output, Tensor):
        raise RuntimeError(
            f"{op}: double backward (backward with create_graph=True through this op) is not supported; "
            "its gradient is computed with NumPy and cannot be differentiated again"
        )


def ntuple(op: str, name: str, value: Any, n: int, minimum: int = 1) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints (each >= minimum) as a tuple of ``n`` ints."""
    values = (value,) * n if is_int(value) else tuple(value) if isinstance(value, (tuple, list)) else None
    if values is None or len(values) != n or not all(is_int(v) for v in values):
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def pad_spatial(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """Channels-last ``x`` with its spatial dims (1 .. len(pads)) padded by (before, after) pairs."""
    if not any(lo or hi for lo, hi in pads):
        return x
    d = len(pads)
    shape = (x.shape[0], *[n + lo + hi for n, (lo, hi) in zip(x.shape[1 : 1 + d], pads)], *x.shape[1 + d :])
    # NOTE: np.pad costs tens of microseconds of Python per call; filling and copying is cheaper
    out = (
        np.zeros_like(x, order="C", shape=shape)
        if value == 0
        else np.full_like(x, value, order="C", shape=shape)
    )
    out[(slice(None), *[slice(lo, lo + n) for n, (lo, _) in zip(x.shape[1 : 1 + d], pads)])] = x
    return out


def crop_spatial(x: np.ndarray, pads: Pads, size: Sequence[int]) -> np.ndarray:
    """The inverse of pad_spatial: the part of channels-last ``x`` at offsets ``lo`` of spatial ``size``."""
    if not any(lo or hi for lo, hi in pads) and tuple(x.shape[1 : 1 + len(size)]) == tuple(size):
        return x
    return x[(slice(None), *[slice(lo, lo + n) for n, (lo, _) in zip(size, pads)])]


def window_slices(
    offset: Sequence[int], stride: Sequence[int], dilation: Sequence[int], out: Sequence[int]
) -> tuple[slice, ...]:
    """Index of the elements found at kernel ``offset`` in every window: one strided slice per spatial dim."""
    return (slice(None),) + tuple(
        slice(o * dl, o * dl + s * (n - 1) + 1, s) for o, dl, s, n in zip(offset, dilation, stride, out)
    )


def windows(
    xp: np.ndarray, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int], out: Sequence[int]
) -> np.ndarray:
    """A read-only view (N, *out, *kernel, C) of channels-last (N, *padded, C): the input under each window.

    ``windows(xp)[n, i, j, p, q, c] == xp[n, i * s0 + p * d0, j * s1 + q * d1, c]`` (s: stride, d: dilation)
    """
    d = len(kernel)
    spatial = xp.strides[1 : 1 + d]
    strides = (
        xp.strides[0],
        *[st * s for st, s in zip(spatial, stride)],
        *[st * dl for st, dl in zip(spatial, dilation)],
        *xp.strides[1 + d :],
    )
    shape = (xp.shape[0], *out, *kernel, *xp.shape[1 + d :])
    return backend.as_strided(xp, shape, strides)  # read-only


def add_windows(
    part: Callable[[int], np.ndarray],
    shape: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    out: Sequence[int],
    dtype: np.dtype,
) -> np.ndarray:
    """The adjoint of :func:`windows`: add every window's elements back where they were read.

    ``part(k)``, of shape (N, *out, ...), holds the k-th element (kernel offsets in C order)
    of every window; the result has ``shape`` (N, *padded, ...). Overlapping windows accumulate.
    """
    x = None
    # one strided slice-add per kernel offset (9 for a 3x3 kernel), each over all windows at once
    for k, offset in enumerate(np.ndindex(*kernel)):
        values = part(k)
        if x is None:  # (made like the parts: on their device)
            x = np.zeros_like(values, dtype, order="C", shape=shape)
        x[window_slices(offset, stride, dilation, out)] += values
    return x


def output_size(
    op: str,
    size: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    pads: Pads,
) -> tuple[int, ...]:
    """floor((n + lo + hi - dilation * (k - 1) - 1) / stride) + 1 per dim; an error if any is < 1."""
    out = tuple(
        (n + lo + hi - dl * (k - 1) - 1) // s + 1
        for n, k, s, dl, (lo, hi) in zip(size, kernel, stride, dilation, pads)
    )
    if any(o < 1 for o in out):
        raise RuntimeError(
            f"{op}: input of spatial size {tuple(size)} (padded by {pads}) is too small for a kernel of "
            f"size {tuple(kernel)} with dilation {tuple(dilation)}: the output size would be {out}"
        )
    return out


# ---- rows: the (groups, N * positions, channels_per_group) layout of the products ------------
def _im2col(
    x: np.ndarray,
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    pads: Pads,
    out: Sequence[int],
    groups: int,
) -> np.ndarray:
    """The im2col matrices of (N, C, *spatial) ``x``: (groups, N * prod(out), prod(kernel) * C/groups).

    Row (n, *position) holds the window at that output position, kernel offset major and
    channel minor: in channels-last memory each (offset, all channels) run is contiguous,
    which makes the one copy here cheap.
    """
    n, c = x.shape[:2]
    win = windows(pad_spatial(channels_last(x), pads), kernel, stride, dilation, out)  # (N, *out, *k, C)
    win = win.reshape(*win.shape[:-1], groups, c // groups)
    d = len(kernel)
    win = win.transpose(1 + 2 * d, *range(1 + 2 * d), 2 + 2 * d)  # (groups, N, *out, *kernel, C/groups)
    return win.reshape(groups, n * math.prod(out), math.prod(kernel) * (c // groups))


def _col2im(
    rows: np.ndarray,
    w: np.ndarray,
    shape: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    pads: Pads,
    out: Sequence[int],
) -> np.ndarray:
    """The adjoint of :func:`_im2col` applied to ``rows @ w``: (N, C, *spatial), a channels-last view.

    ``rows`` is (groups, N * prod(out), A) and ``w`` (groups, A, prod(kernel) * C/groups).
    """
    n, c, spatial = shape[0], shape[1], tuple(shape[2:])
    groups, a, cg = rows.shape[0], rows.shape[2], shape[1] // rows.shape[0]
    size = math.prod(kernel)
    # NOTE: the product is computed kernel offset major, (K, groups, N * positions, C/groups), so
    # that each offset's slice, added back below, is one contiguous block
    parts = rows @ w.reshape(groups, a, size, cg).transpose(2, 0, 1, 3)
    d = len(kernel)
    parts = parts.reshape(size, groups, n, *out, cg).transpose(0, *range(2, 3 + d), 1, 3 + d)
    padded = tuple(m + lo + hi for m, (lo, hi) in zip(spatial, pads))
    x = add_windows(
        parts.__getitem__,  # offset k: (N, *out, groups, C/groups)
        (n, *padded, groups, cg),
        kernel,
        stride,
        dilation,
        out,
        parts.dtype,
    )
    return channels_first(crop_spatial(x.reshape(n, *padded, c), pads, spatial))


def _to_rows(y: np.ndarray, groups: int) -> np.ndarray:
    """(N, C, *spatial) -> (groups, N * prod(spatial), C/groups)."""
    c = y.shape[1]
    return channels_last(y).reshape(-1, groups, c // groups).transpose(1, 0, 2)


def _from_rows(rows: np.ndarray, n: int, spatial: Sequence[int]) -> np.ndarray:
    """(groups, N * prod(spatial), C/groups) -> (N, C, *spatial), a view of channels-last memory."""
    groups, _, cg = rows.shape
    y = backend.ascontiguousarray(rows.transpose(1, 0, 2))  # free for groups == 1
    return channels_first(y.reshape(n, *spatial, groups * cg))


def _weight_rows(weight: np.ndarray, groups: int) -> np.ndarray:
    """(A, B, *kernel) -> (groups, A/groups, prod(kernel) * B): columns ordered as _im2col's."""
    a, b = weight.shape[:2]
    w = weight.reshape(groups, a // groups, b, -1).transpose(0, 1, 3, 2)
    return w.reshape(groups, a // groups, -1)


def _weight_from_rows(rows: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """The inverse of _weight_rows: a C-contiguous array of the weight's ``shape``."""
    a, b = shape[:2]
    w = rows.reshape(a, -1, b).transpose(0, 2, 1)
    return backend.ascontiguousarray(w).reshape(shape)


# ---- the ops ---------------------------------------------------------------------------------
class ConvNd(Function):
    """N-d convolution (cross-correlation, as torch): y_rows = im2col(x) @ weight_rows^T + bias.

    First derivatives only (backward is plain NumPy). The result is an (N, C_out, *out)
    view of channels-last memory (as torch's channels_last format), which the next conv
    or pooling layer reads without a copy.
    """

    @staticmethod
    def forward(
        ctx: Any,
        x: np.ndarray,
        weight: np.ndarray,
        bias: np.ndarray | None,
        stride: tuple[int, ...],
        pads: Pads,
        dilation: tuple[int, ...],
        groups: int,
    ) -> np.ndarray:
        kernel = weight.shape[2:]
        out = output_size("conv", x.shape[2:], kernel, stride, dilation, pads)
        cols = _im2col(x, kernel, stride, dilation, pads, out, groups)
        w = _weight_rows(weight, groups)
        rows = cols @ w.transpose(0, 2, 1)
        if bias is not None:
            rows += bias.reshape(groups, 1, -1)
        ctx.save_for_backward(x, weight)
        ctx.cols = cols if ctx.needs_input_grad[1] else None  # only the weight's gradient needs them
        ctx.w, ctx.options = w, (stride, pads, dilation, groups, out)
        return _from_rows(rows, x.shape[0], out)

    @staticmethod
    def backward(ctx: Any, grad_output: np.ndarray) -> tuple[Any, ...]:
        # y_rows = cols @ w^T  =>  d cols = g_rows @ w  (then col2im),  d w = g_rows^T @ cols
        first_order_only("conv", grad_output)
        x, weight = ctx.saved_tensors
        stride, pads, dilation, groups, out = ctx.options
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        g = _to_rows(grad_output, groups)
        gx = gw = gb = None
        if need_x:
            gx = _col2im(g, ctx.w, x.shape, weight.shape[2:], stride, dilation, pads, out)
        if need_w:
            gw = _weight_from_rows(g.transpose(0, 2, 1) @ ctx.cols, weight.shape)
        if need_b:
            gb = g.sum(axis=1).reshape(-1)
        return gx, gw, gb


class ConvTransposeNd(Function):
    """N-d transposed convolution, the adjoint of ConvNd: y = col2im(x_rows @ weight_rows) + bias.

    First derivatives only (backward is plain NumPy).
    """

    @staticmethod
    def forward(
        ctx: Any,
        x: np.ndarray,
        weight: np.ndarray,
        bias: np.ndarray | None,
        stride: tuple[int, ...],
        pads: Pads,
        dilation: tuple[int, ...],
        groups: int,
        out: tuple[int, ...],
    ) -> np.ndarray:
        kernel = weight.shape[2:]
        shape = (x.shape[0], weight.shape[1] * groups, *out)
        rows = _to_rows(x, groups)
        w = _weight_rows(weight, groups)
        y = _col2im(rows, w, shape, kernel, stride, dilation, pads, x.shape[2:])
        if bias is not None:
            y = y + bias.reshape((-1,) + (1,) * len(kernel))
        ctx.save_for_backward(x, weight)
        ctx.rows, ctx.w, ctx.options = rows, w, (stride, pads, dilation, groups)
        return y

    @staticmethod
    def backward(ctx: Any, grad_output: np.ndarray) -> tuple[Any, ...]:
        # the adjoint's adjoint is the convolution: d x_rows = im2col(g) @ w^T, d w = x_rows^T @ im2col(g)
        first_order_only("conv_transpose", grad_output)
        x, weight = ctx.saved_tensors
        stride, pads, dilation, groups = ctx.options
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        cols = _im2col(grad_output, weight.shape[2:], stride, dilation, pads, x.shape[2:], groups)
        gx = gw = gb = None
        if need_x:
            gx = _from_rows(cols @ ctx.w.transpose(0, 2, 1), x.shape[0], x.shape[2:])
        if need_w:
            gw = _weight_from_rows(ctx.rows.transpose(0, 2, 1) @ cols, weight.shape)
        if need_b:
            gb = grad_output.sum(axis=(0, *range(2, grad_output.ndim)))
        return gx, gw, gb


# ---- argument checks -------------------------------------------------------------------------
def _check_tensors(
    op: str, input: Tensor, weight: Tensor, bias: Tensor | None, d: int, groups: int, transposed: bool
) -> bool:
    """Validate input, weight and bias of a d-dim convolution; return whether input is batched."""
    for name, t in (("input", input), ("weight", weight), ("bias", bias)):
        if not isinstance(t, Tensor) and (t is not None or name != "bias"):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if input.ndim not in (d + 1, d + 2):
        raise RuntimeError(
            f"{op}: expected a {d + 1}-D (unbatched) or {d + 2}-D (batched) input, got shape {input.shape}"
        )
    if weight.ndim != d + 2:
        raise RuntimeError(f"{op}: expected a {d + 2}-D weight, got shape {weight.shape}")
    if input.dtype.kind != "f" or input.dtype != weight.dtype:
        raise TypeError(
            f"{op}: input and weight must have the same floating dtype, got {input.dtype} and {weight.dtype}"
        )
    if bias is not None:
        if bias.dtype != weight.dtype:
            raise TypeError(f"{op}: bias has dtype {bias.dtype} but weight has {weight.dtype}")
        out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
        if bias.shape != (out_channels,):
            raise RuntimeError(f"{op}: expected a bias of shape {(out_channels,)}, got {bias.shape}")
    return input.ndim == d + 2


def _groups(op: str, groups: Any) -> int:
    if not is_int(groups) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    return int(groups)


def _conv(
    op: str,
    d: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
) -> Tensor:
    groups = _groups(op, groups)
    batched = _check_tensors(op, input, weight, bias, d, groups, transposed=False)
    stride = ntuple(op, "stride", stride, d)
    dilation = ntuple(op, "dilation", dilation, d)
    kernel = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads: Pads = ((0, 0),) * d
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
            # total dilation * (k - 1); an odd total puts the extra element after, as torch
            pads = tuple(
                (dl * (k - 1) // 2, dl * (k - 1) - dl * (k - 1) // 2) for k, dl in zip(kernel, dilation)
            )
        else:
            raise ValueError(
                f"{op}: padding must be 'valid', 'same', an int or a tuple of ints, got {padding!r}"
            )
    else:
        pads = tuple((p, p) for p in ntuple(op, "padding", padding, d, minimum=0))
    channels = input.shape[1 if batched else 0]
    if weight.shape[0] % groups:
        raise RuntimeError(
            f"{op}: out_channels ({weight.shape[0]}, weight of shape {weight.shape}) must be divisible "
            f"by groups={groups}"
        )
    if channels != weight.shape[1] * groups:
        raise RuntimeError(
            f"{op}: given groups={groups} and a weight of shape {weight.shape}, expected input of shape "
            f"{input.shape} to have {weight.shape[1] * groups} channels, but got {channels} channels instead"
        )
    x = input if batched else input.unsqueeze(0)
    output_size(op, x.shape[2:], kernel, stride, dilation, pads)  # too-small inputs fail here, named
    y = ConvNd.apply(x, weight, bias, stride=stride, pads=pads, dilation=dilation, groups=groups)
    return y if batched else y.squeeze(0)


def _conv_transpose(
    op: str,
    d: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: Any,
    dilation: Any,
) -> Tensor:
    groups = _groups(op, groups)
    batched = _check_tensors(op, input, weight, bias, d, groups, transposed=True)
    stride = ntuple(op, "stride", stride, d)
    dilation = ntuple(op, "dilation", dilation, d)
    padding = ntuple(op, "padding", padding, d, minimum=0)
    output_padding = ntuple(op, "output_padding", output_padding, d, minimum=0)
    channels = input.shape[1 if batched else 0]
    if channels != weight.shape[0] or weight.shape[0] % groups:
        raise RuntimeError(
            f"{op}: given groups={groups} and a weight of shape {weight.shape} (in_channels first), expected "
            f"input of shape {input.shape} to have {weight.shape[0]} channels, divisible by groups; "
            f"got {channels} channels"
        )
    if any(op_ >= s and op_ >= dl for op_, s, dl in zip(output_padding, stride, dilation)):
        raise ValueError(
            f"{op}: output_padding {output_padding} must be smaller than either stride {stride} or "
            f"dilation {dilation}"
        )
    kernel = weight.shape[2:]
    size = input.shape[-d:]
    out = tuple(
        (n - 1) * s - 2 * p + dl * (k - 1) + op_ + 1
        for n, s, p, dl, k, op_ in zip(size, stride, padding, dilation, kernel, output_padding)
    )
    if any(o < 1 for o in out):
        raise RuntimeError(f"{op}: input of spatial size {size} gives a non-positive output size {out}")
    x = input if batched else input.unsqueeze(0)
    y = ConvTransposeNd.apply(
        x,
        weight,
        bias,
        stride=stride,
        pads=tuple((p, p) for p in padding),
        dilation=dilation,
        groups=groups,
        out=out,
    )
    return y if batched else y.squeeze(0)


# ---- public API ------------------------------------------------------------------------------
def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int] = 1,
    padding: str | int | tuple[int] = 0,
    dilation: int | tuple[int] = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution (cross-correlation), as torch.nn.functional.conv1d.

    y[n, o, l] = bias[o] + sum_{c, k} weight[o, c, k] * x_padded[n, c', l * stride + k * dilation]
    where c' runs over the input channels of output channel o's group.

    Args:
        input: (N, C_in, L) or (C_in, L).
        weight: (C_out, C_in / groups, kernel_size).
        bias: (C_out,) or None.
        stride, dilation: an int or a 1-tuple.
        padding: an int, a 1-tuple, 'valid' (none) or 'same' (output length = input length; stride 1).
        groups: split the channels into this many independent blocks.

    Shape:
        output: (N, C_out, floor((L + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1)
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: str | int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation), as torch.nn.functional.conv2d.

    y[n, o, i, j] = bias[o] + sum_{c, p, q} weight[o, c, p, q] * x_padded[n, c', i sH + p dH, j sW + q dW]
    where c' runs over the input channels of output channel o's group.

    Args:
        input: (N, C_in, H, W) or (C_in, H, W).
        weight: (C_out, C_in / groups, kH, kW).
        bias: (C_out,) or None.
        stride, dilation: an int or a pair (height, width).
        padding: an int, a pair, 'valid' (none) or 'same' (output size = input size; stride 1;
            with an even kernel the extra row/column of padding goes after, as torch).
        groups: split the channels into this many independent blocks.

    Shape:
        output: (N, C_out, H_out, W_out), H_out = floor((H + 2 * padH - dH * (kH - 1) - 1) / sH) + 1.

    Example:
        >>> x = randn(8, 3, 32, 32)
        >>> w = randn(16, 3, 3, 3)
        >>> conv2d(x, w, padding=1).shape
        (8, 16, 32, 32)
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int] = 1,
    padding: int | tuple[int] = 0,
    output_padding: int | tuple[int] = 0,
    groups: int = 1,
    dilation: int | tuple[int] = 1,
) -> Tensor:
    """1-D transposed convolution (the gradient of conv1d with respect to its input), as torch.

    Args:
        input: (N, C_in, L) or (C_in, L).
        weight: (C_in, C_out / groups, kernel_size) -- in_channels first, as torch.
        bias: (C_out,) or None.
        padding: removed from both ends of the output.
        output_padding: extra length added at the end of the output (smaller than stride or dilation).

    Shape:
        output: (N, C_out, (L - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1)
    """
    return _conv_transpose(
        "conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    groups: int = 1,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """2-D transposed convolution (the gradient of conv2d with respect to its input), as torch.

    Each input value scatters ``value * weight[c_in, :, :, :]`` into the output at
    (i * stride, j * stride), overlapping contributions add; then ``padding`` is cropped
    from every side.

    Args:
        input: (N, C_in, H, W) or (C_in, H, W).
        weight: (C_in, C_out / groups, kH, kW) -- in_channels first, as torch.
        bias: (C_out,) or None.
        stride, dilation: an int or a pair.
        padding: rows/columns removed from each side of the output.
        output_padding: extra rows/columns added after (smaller than stride or dilation).
        groups: split the channels into this many independent blocks.

    Shape:
        output: (N, C_out, H_out, W_out), H_out = (H - 1) * sH - 2 * padH + dH * (kH - 1) + output_padH + 1.

    Example:
        >>> x = randn(1, 8, 4, 4)
        >>> w = randn(8, 3, 2, 2)
        >>> conv_transpose2d(x, w, stride=2).shape
        (1, 3, 8, 8)
    """
    return _conv_transpose(
        "conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups, dilation
    )
