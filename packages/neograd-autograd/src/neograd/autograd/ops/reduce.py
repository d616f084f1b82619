"""Reductions (sum, mean, var, max, ...) and the normalisations built on them (softmax).

Each takes torch's ``dim``/``keepdim`` (NumPy's ``axis``/``keepdims`` too). In backward
the gradient of the reduced result is first given back its reduced dims as size 1
(``_keep``), then broadcasts against the input.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import numpy as np

from neograd.autograd import backend
from neograd.autograd.function import Function
from neograd.autograd.ops._args import dim_alias, normalize_dim, normalize_dims, not_a_tensor
from neograd.autograd.ops.elementwise import Exp, Where, _floating, clone, maximum, minimum
from neograd.autograd.ops.shape import BroadcastTo, Flip, gather, squeeze
from neograd.autograd.tensor import Tensor

__all__ = [
    "sum",
    "mean",
    "var",
    "std",
    "max",
    "min",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "logsumexp",
    "softmax",
    "log_softmax",
    "cumsum",
    "cumprod",
    "sort",
    "argsort",
    "topk",
]


def _keep(grad: Any, input_shape: tuple[int, ...], dims: tuple[int, ...] | None) -> Any:
    """Reshape the gradient of a reduction so that its reduced dims are back, with size 1."""
    shape = tuple(1 if dims is None or i in dims else n for i, n in enumerate(input_shape))
    return grad.reshape(shape)


def _expand(grad: Any, shape: tuple[int, ...]) -> Any:
    """Broadcast a gradient up to ``shape``."""
    if isinstance(grad, Tensor):
        return BroadcastTo.apply(grad, shape=shape)
    # NOTE: np.broadcast_to costs ~2.5 us of Python checks per call; filling an array is cheaper.
    # empty_like, not empty: an array made from grad, which ng.compile's tracer sees (0.2 us more)
    out = (np if type(grad) is np.ndarray else backend.array_module(grad)).empty_like(grad, shape=shape)
    out[...] = grad
    return out


def _count(shape: tuple[int, ...], dims: tuple[int, ...] | None) -> int:
    return math.prod(shape if dims is None else [shape[d] for d in dims])


class Sum(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dims: tuple[int, ...] | None, keepdim: bool) -> np.ndarray:
        ctx.input_shape, ctx.dims = x.shape, dims
        return np.add.reduce(x, axis=dims, keepdims=keepdim)  # x.sum without its Python layer

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return _expand(_keep(grad_output, ctx.input_shape, ctx.dims), ctx.input_shape)


def sum(
    input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, **aliases: Any
) -> Tensor:
    """The sum over ``dim`` (an int, a tuple, or None for all dims).

    Example:
        >>> tensor([[1., 2.], [3., 4.]]).sum(dim=0)
        tensor([4., 6.])
    """
    if not isinstance(input, Tensor):
        raise not_a_tensor("sum", input)
    dim, keepdim = dim_alias("sum", dim, keepdim, aliases)
    if dtype is not None:
        input = input.to(dtype)
    return Sum.apply(input, dims=normalize_dims("sum", dim, input.ndim), keepdim=keepdim)


class Mean(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dims: tuple[int, ...] | None, keepdim: bool) -> np.ndarray:
        ctx.input_shape, ctx.dims = x.shape, dims
        # x.mean without its Python layer (the same pairwise sum, divided by the count)
        return np.add.reduce(x, axis=dims, keepdims=keepdim) / x.dtype.type(_count(x.shape, dims))

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        g = _keep(grad_output, ctx.input_shape, ctx.dims) / _count(ctx.input_shape, ctx.dims)
        return _expand(g, ctx.input_shape)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Tensor:
    """The mean over ``dim`` (an int, a tuple, or None for all dims)."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("mean", input)
    dim, keepdim = dim_alias("mean", dim, keepdim, aliases)
    if input.data.dtype.kind != "f":
        raise TypeError(f"mean: needs a floating tensor, got dtype {input.dtype}; use .float() first")
    return Mean.apply(input, dims=normalize_dims("mean", dim, input.ndim), keepdim=keepdim)


class Var(Function):
    @staticmethod
    def forward(
        ctx: Any, x: np.ndarray, dims: tuple[int, ...] | None, correction: float, keepdim: bool
    ) -> np.ndarray:
        ctx.save_for_backward(x)
        # torch divides by max(0, N - correction): inf or nan, never a negative variance
        n = _count(x.shape, dims) - correction
        ctx.dims, ctx.divisor = dims, n if n > 0 else 0
        centered = x - x.mean(axis=dims, keepdims=True)
        # NOTE: a typed divisor: NumPy 1.x divides a float32 scalar by a Python int in float64
        return (centered * centered).sum(axis=dims, keepdims=keepdim) / x.dtype.type(ctx.divisor)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (x,) = ctx.saved_tensors  # d var / dx = 2 (x - mean) / (N - correction)
        centered = x - Mean.apply(x, dims=ctx.dims, keepdim=True)
        # NOTE: N - correction == 0 (e.g. var of one element) gives inf/nan as in torch, not ZeroDivisionError
        scale = 2 / ctx.divisor if ctx.divisor else math.inf
        return _keep(grad_output, x.shape, ctx.dims) * scale * centered


def var(
    input: Tensor,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
    **aliases: Any,
) -> Tensor:
    """The variance over ``dim``, dividing by N - correction (correction=1 by default, as torch)."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("var", input)
    dim, keepdim = dim_alias("var", dim, keepdim, aliases)
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    elif unbiased is not None:
        raise TypeError("var: give correction or unbiased, not both")
    if input.data.dtype.kind != "f":
        raise TypeError(f"var: needs a floating tensor, got dtype {input.dtype}")
    return Var.apply(
        input, dims=normalize_dims("var", dim, input.ndim), correction=correction, keepdim=keepdim
    )


class StdFromVar(Function):
    """sqrt(var) for std: its gradient is 0 where the std is 0, as torch's std (sqrt's is inf)."""

    @staticmethod
    def forward(ctx: Any, v: np.ndarray) -> np.ndarray:
        y = np.sqrt(v)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (y,) = ctx.saved_tensors  # d sqrt(v)/dv = 1 / (2 sqrt v)
        with np.errstate(divide="ignore", invalid="ignore"):
            return Where.apply(y == 0, 0.0, grad_output / (2 * y))


def std(
    input: Tensor,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
    **aliases: Any,
) -> Tensor:
    """The standard deviation: sqrt of :func:`var` with the same arguments."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("std", input)
    return StdFromVar.apply(var(input, dim, unbiased, keepdim, correction=correction, **aliases))


class _Extreme(Function):
    """amax/amin: the gradient is shared evenly between tied extremes, as in torch."""

    reduce: Any = None
    name = ""

    @classmethod
    def forward(cls, ctx: Any, x: np.ndarray, dims: tuple[int, ...] | None, keepdim: bool) -> np.ndarray:
        if x.size == 0:
            raise ValueError(f"{cls.name}: cannot reduce an empty tensor of shape {x.shape}")
        out = cls.reduce(x, axis=dims, keepdims=True)
        winners = x == out
        ctx.input_shape, ctx.dims = x.shape, dims
        ctx.share = (winners / winners.sum(axis=dims, keepdims=True)).astype(x.dtype, copy=False)
        return out if keepdim else out.reshape(_reduced_shape(x.shape, dims))

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return _keep(grad_output, ctx.input_shape, ctx.dims) * ctx.share


class Amax(_Extreme):
    reduce = staticmethod(np.max)
    name = "amax"


class Amin(_Extreme):
    reduce = staticmethod(np.min)
    name = "amin"


def _reduced_shape(shape: tuple[int, ...], dims: tuple[int, ...] | None) -> tuple[int, ...]:
    return () if dims is None else tuple(n for i, n in enumerate(shape) if i not in dims)


def amax(input: Tensor, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Tensor:
    """The maximum over ``dim``; tied maxima share the gradient evenly."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("amax", input)
    dim, keepdim = dim_alias("amax", dim, keepdim, aliases)
    return Amax.apply(input, dims=normalize_dims("amax", dim, input.ndim), keepdim=keepdim)


def amin(input: Tensor, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Tensor:
    """The minimum over ``dim``; tied minima share the gradient evenly."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("amin", input)
    dim, keepdim = dim_alias("amin", dim, keepdim, aliases)
    return Amin.apply(input, dims=normalize_dims("amin", dim, input.ndim), keepdim=keepdim)


class ValuesIndices(NamedTuple):
    """What max(dim)/min(dim), sort and topk return, as torch.return_types.max (.sort, .topk)."""

    values: Tensor
    indices: Tensor


def _extreme_along(
    op: str, input: Tensor, dim: Any, keepdim: bool, aliases: dict[str, Any], pick: Any
) -> Any:
    if isinstance(dim, Tensor):  # torch.max(input, other) is the elementwise maximum
        return (maximum if op == "max" else minimum)(input, dim)
    dim, keepdim = dim_alias(op, dim, keepdim, aliases)
    if dim is None:
        return (amax if op == "max" else amin)(input)
    d = normalize_dim(op, dim, input.ndim)
    if input.ndim and input.shape[d] == 0:
        raise ValueError(f"{op}: cannot reduce dim {dim} of size 0 (shape {input.shape})")
    # the gradient goes to the one element whose index is returned, as in torch
    idx = pick(input.data, axis=d, keepdims=True)
    values = gather(input, d, idx) if input.ndim else input.clone()
    if not keepdim:
        values, idx = squeeze(values, d), idx.reshape(_reduced_shape(input.shape, (d,)))
    return ValuesIndices(values, Tensor._make(idx.astype(np.int64, copy=False)))


def max(input: Tensor, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Any:
    """As torch.max: the maximum of all elements; with ``dim``, (values, indices) along it;
    with a tensor as second argument, the elementwise maximum."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("max", input)
    return _extreme_along("max", input, dim, keepdim, aliases, np.argmax)


def min(input: Tensor, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Any:
    """As torch.min: see :func:`max`."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("min", input)
    return _extreme_along("min", input, dim, keepdim, aliases, np.argmin)


def _check_arg_reduction(op: str, input: Tensor, dim: int | None) -> None:
    """argmax/argmin need an element to point at (torch's errors)."""
    if dim is None and input.data.size == 0:
        raise IndexError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0.")
    if dim is not None and input.ndim and input.shape[dim] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {dim} to have non-zero size.")


def argmax(input: Tensor, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Tensor:
    """The index of the maximum (the first, at ties) over ``dim`` or the flattened tensor."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("argmax", input)
    dim, keepdim = dim_alias("argmax", dim, keepdim, aliases)
    d = None if dim is None else normalize_dim("argmax", dim, input.ndim)
    _check_arg_reduction("argmax", input, d)
    return Tensor._make(backend.asarray(np.argmax(input.data, axis=d, keepdims=keepdim), dtype=np.int64))


def argmin(input: Tensor, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Tensor:
    """The index of the minimum (the first, at ties) over ``dim`` or the flattened tensor."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("argmin", input)
    dim, keepdim = dim_alias("argmin", dim, keepdim, aliases)
    d = None if dim is None else normalize_dim("argmin", dim, input.ndim)
    _check_arg_reduction("argmin", input, d)
    return Tensor._make(backend.asarray(np.argmin(input.data, axis=d, keepdims=keepdim), dtype=np.int64))


def _logsumexp(x: np.ndarray, dims: Any) -> np.ndarray:
    """log(sum(exp(x))) over dims, keeping them as size 1."""
    # NOTE: subtract the max so that exp cannot overflow (and skip it where it is infinite)
    m = backend.max_or_minus_inf(x, dims)  # -inf over nothing: an empty sum is log(0) = -inf
    m = np.where(np.isfinite(m), m, m.dtype.type(0))  # typed zero: NumPy 1.x widens 0-d float32 with 0
    with np.errstate(divide="ignore"):  # log(0) = -inf for an all -inf row, as torch
        return np.log(np.exp(x - m).sum(axis=dims, keepdims=True)) + m


class LogSumExp(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dims: tuple[int, ...] | None, keepdim: bool) -> np.ndarray:
        out = _logsumexp(x, dims)
        if not keepdim:
            out = out.reshape(_reduced_shape(x.shape, dims))
        ctx.dims = dims
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        x, out = ctx.saved_tensors  # d lse / dx = exp(x - lse) = softmax(x)
        return _keep(grad_output, x.shape, ctx.dims) * Exp.apply(x - _keep(out, x.shape, ctx.dims))


def logsumexp(input: Tensor, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Tensor:
    """log(sum(exp(input))) over ``dim``, computed without overflow."""
    dim, keepdim = dim_alias("logsumexp", dim, keepdim, aliases)
    input = _floating(input, "logsumexp")
    return LogSumExp.apply(input, dims=normalize_dims("logsumexp", dim, input.ndim), keepdim=keepdim)


def _softmax_dim(op: str, dim: Any, aliases: dict[str, Any], ndim: int) -> int:
    dim, _ = dim_alias(op, dim, False, aliases)
    if dim is None:  # torch's legacy choice, with its warning
        warnings.warn(
            f"{op}: implicit dimension choice is deprecated; pass dim explicitly", UserWarning, stacklevel=3
        )
        dim = 0 if ndim in (0, 1, 3) else 1
    return normalize_dim(op, dim, ndim)


class Softmax(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dim: int) -> np.ndarray:
        # NOTE: shifted so exp cannot overflow (initial: a dim of size 0 has no max)
        e = np.exp(x - backend.max_or_minus_inf(x, dim))
        y = e / e.sum(axis=dim, keepdims=True)
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (y,) = ctx.saved_tensors  # J^T g = y * (g - sum(g * y))
        return y * (grad_output - (grad_output * y).sum(axis=ctx.dim, keepdims=True))


def softmax(input: Tensor, dim: Any = None, **aliases: Any) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``."""
    input = _floating(input, "softmax")
    return Softmax.apply(input, dim=_softmax_dim("softmax", dim, aliases, input.ndim))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dim: int) -> np.ndarray:
        # NOTE: (x - max) - log(sum(exp(x - max))), as torch: x - logsumexp(x) would lose the
        # digits of a large logsumexp to rounding (float32 logits of 1e4 keep only ~3 digits)
        m = backend.max_or_minus_inf(x, dim)
        shifted = x - np.where(np.isfinite(m), m, m.dtype.type(0))
        with np.errstate(divide="ignore"):  # an all -inf row gives nan, as torch
            y = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (y,) = ctx.saved_tensors  # J^T g = g - softmax(x) * sum(g)
        return grad_output - Exp.apply(y) * grad_output.sum(axis=ctx.dim, keepdims=True)


def log_softmax(input: Tensor, dim: Any = None, **aliases: Any) -> Tensor:
    """x - logsumexp(x) along ``dim``: log of softmax, computed stably."""
    input = _floating(input, "log_softmax")
    return LogSoftmax.apply(input, dim=_softmax_dim("log_softmax", dim, aliases, input.ndim))


def _cumulative_args(
    op: str, input: Any, dim: Any, dtype: Any, aliases: dict[str, Any]
) -> tuple[Tensor, int]:
    if not isinstance(input, Tensor):
        raise not_a_tensor(op, input)
    dim, _ = dim_alias(op, dim, False, aliases)
    if dim is None:
        raise TypeError(f"{op}: missing the required argument dim")
    d = normalize_dim(op, dim, input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    elif input.data.dtype.kind in "biu":  # as torch: bool and integer tensors accumulate in int64
        input = input.to(np.int64)
    return input, d


def _reverse_cumsum(x: Any, dim: int) -> Any:
    """sum_{k >= j} x_k along dim (arrays or tensors)."""
    return Flip.apply(CumSum.apply(Flip.apply(x, dims=(dim,)), dim=dim), dims=(dim,))


class CumSum(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dim: int) -> np.ndarray:
        ctx.dim = dim
        return np.cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return _reverse_cumsum(grad_output, ctx.dim)  # y_k = sum_{j<=k} x_j, so dx_j = sum_{k>=j} dy_k


def cumsum(input: Tensor, dim: Any = None, *, dtype: Any = None, **aliases: Any) -> Tensor:
    """The running sum along ``dim``: ``y_k = x_0 + ... + x_k``.

    Args:
        input: the tensor (bool and integer tensors give int64, as torch).
        dim: the dim to accumulate along (required).
        dtype: convert input to this dtype first.

    Example:
        >>> cumsum(tensor([1., 2., 3.]), dim=0)
        tensor([1., 3., 6.])
    """
    input, d = _cumulative_args("cumsum", input, dim, dtype, aliases)
    return clone(input) if input.ndim == 0 else CumSum.apply(input, dim=d)


class CumProd(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dim: int) -> np.ndarray:
        y = np.cumprod(x, axis=dim)
        ctx.dim = dim
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        # y_k = prod_{j<=k} x_j, so dx_i = sum_{k>=i} dy_k prod_{j<=k, j!=i} x_j = sum_{k>=i} dy_k y_k / x_i
        x, y = ctx.saved_tensors
        d = ctx.dim
        zero = (x.data if isinstance(x, Tensor) else x) == 0
        if not zero.any():
            return _reverse_cumsum(grad_output * y, d) / x
        if isinstance(grad_output, Tensor):  # create_graph: a form whose own derivative is right at zeros
            return _cumprod_grad_by_rows(grad_output, x, d)
        # NOTE: at a zero y_k / x_i is 0 / 0. Only elements up to the first zero get a gradient:
        # before it, the formula above; at it, sum_{k>=z} dy_k y'_k with y' the cumprod that skips x_z
        seen = np.cumsum(zero, axis=d)
        before, first = seen == 0, zero & (seen == 1)
        g_before = _reverse_cumsum(grad_output * y, d) / np.where(before, x, 1)
        g_first = _reverse_cumsum(grad_output * np.cumprod(np.where(first, 1, x), axis=d), d)
        return np.where(before, g_before, np.where(first, g_first, 0))


def _cumprod_grad_by_rows(grad_output: Any, x: Any, dim: int) -> Any:
    """dx_i = sum_{k>=i} dy_k prod_{j<=k, j!=i} x_j with row i the cumprod of x where x_i is 1: O(n^2)."""
    n = x.shape[dim]
    xs, gs = x.swapaxes(dim, -1), grad_output.swapaxes(dim, -1)
    dev = backend.device_of(x.data if isinstance(x, Tensor) else x)
    rows = Where.apply(backend.create(dev, "eye", n, dtype=bool), 1.0, xs.reshape(xs.shape[:-1] + (1, n)))
    products = CumProd.apply(rows, dim=rows.ndim - 1)  # [..., i, k] = prod_{j<=k, j!=i} x_j
    later = np.triu(backend.create(dev, "ones", (n, n), dtype=x.dtype))  # k >= i
    g = (products * later * gs.reshape(gs.shape[:-1] + (1, n))).sum(axis=-1)
    return g.swapaxes(dim, -1)


def cumprod(input: Tensor, dim: Any = None, *, dtype: Any = None, **aliases: Any) -> Tensor:
    """The running product along ``dim``: ``y_k = x_0 * ... * x_k``.

    The gradient is right where input has zeros too, as torch's (and so is the second
    derivative, at O(n^2) memory along dim where there are zeros).

    Example:
        >>> cumprod(tensor([1., 2., 3.]), dim=0)
        tensor([1., 2., 6.])
    """
    input, d = _cumulative_args("cumprod", input, dim, dtype, aliases)
    return clone(input) if input.ndim == 0 else CumProd.apply(input, dim=d)


def _sort_indices(x: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """The stable sorting order along dim; NaN counts as the largest value, as in torch."""
    if not descending:
        return np.argsort(x, axis=dim, kind="stable")
    # NOTE: -x would break ties the wrong way round (and fail on bool): sort the reversed
    # array ascending, then read that order backwards
    order = np.argsort(np.flip(x, dim), axis=dim, kind="stable")
    return x.shape[dim] - 1 - np.flip(order, dim)


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> ValuesIndices:
    """Sort along ``dim``: (values, indices) with ``values = input.gather(dim, indices)``.

    Equal elements keep their order (the sort is always stable); NaN sorts as the largest
    value. The gradient of each value goes to the element it came from.

    Args:
        input: the tensor.
        dim: the dim to sort along (the last by default).
        descending: largest first.
        stable: accepted for torch's signature; the sort is stable either way.

    Returns:
        A named tuple (values, indices), indices int64.

    Example:
        >>> sort(tensor([3., 1., 2.]))
        ValuesIndices(values=tensor([1., 2., 3.]), indices=tensor([1, 2, 0]))
    """
    if not isinstance(input, Tensor):
        raise not_a_tensor("sort", input)
    d = normalize_dim("sort", dim, input.ndim)
    if input.ndim == 0:
        return ValuesIndices(input.clone(), Tensor._make(np.zeros_like(input.data, np.int64)))
    idx = _sort_indices(input.data, d, descending)
    return ValuesIndices(gather(input, d, idx), Tensor._make(idx.astype(np.int64, copy=False)))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (see :func:`sort`), as an int64 tensor."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("argsort", input)
    d = normalize_dim("argsort", dim, input.ndim)
    if input.ndim == 0:
        return Tensor._make(np.zeros_like(input.data, np.int64))
    return Tensor._make(_sort_indices(input.data, d, descending).astype(np.int64, copy=False))


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
    """The ``k`` largest (or smallest) elements along ``dim``, as (values, indices).

    Args:
        input: the tensor.
        k: how many, 0 <= k <= input.shape[dim].
        dim: the dim to search (the last by default).
        largest: the largest (True) or the smallest (False) elements; NaN counts as largest.
        sorted: accepted for torch's signature; the result is always in sorted order.

    Example:
        >>> topk(tensor([1., 5., 3., 4.]), 2)
        ValuesIndices(values=tensor([5., 4.]), indices=tensor([1, 3]))
    """
    if not isinstance(input, Tensor):
        raise not_a_tensor("topk", input)
    d = normalize_dim("topk", dim, input.ndim)
    size = input.shape[d] if input.ndim else 1
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"topk: k must be an int, got {k!r}")
    if not 0 <= k <= size:
        raise ValueError(f"topk: k={k} is out of range for dim {d} of size {size} (shape {input.shape})")
    if input.ndim == 0:
        return sort(input)
    idx = _sort_indices(input.data, d, largest)[(slice(None),) * d + (slice(0, int(k)),)]
    return ValuesIndices(gather(input, d, idx), Tensor._make(idx.astype(np.int64, copy=False)))
