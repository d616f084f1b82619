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

from neograd.autograd.function import Function
from neograd.autograd.ops._args import dim_alias, normalize_dim, normalize_dims, not_a_tensor
from neograd.autograd.ops.elementwise import Exp, Where, _floating, maximum, minimum
from neograd.autograd.ops.shape import BroadcastTo, gather, squeeze
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
]


def _keep(grad: Any, input_shape: tuple[int, ...], dims: tuple[int, ...] | None) -> Any:
    """Reshape the gradient of a reduction so that its reduced dims are back, with size 1."""
    shape = tuple(1 if dims is None or i in dims else n for i, n in enumerate(input_shape))
    return grad.reshape(shape)


def _expand(grad: Any, shape: tuple[int, ...]) -> Any:
    """Broadcast a gradient up to ``shape``."""
    if isinstance(grad, Tensor):
        return BroadcastTo.apply(grad, shape=shape)
    # NOTE: np.broadcast_to costs ~2.5 us of Python checks per call; filling an array is cheaper
    out = np.empty(shape, grad.dtype)
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
    """What max(dim)/min(dim) return, as torch.return_types.max."""

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
    return Tensor._make(np.asarray(np.argmax(input.data, axis=d, keepdims=keepdim), dtype=np.int64))


def argmin(input: Tensor, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Tensor:
    """The index of the minimum (the first, at ties) over ``dim`` or the flattened tensor."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("argmin", input)
    dim, keepdim = dim_alias("argmin", dim, keepdim, aliases)
    d = None if dim is None else normalize_dim("argmin", dim, input.ndim)
    _check_arg_reduction("argmin", input, d)
    return Tensor._make(np.asarray(np.argmin(input.data, axis=d, keepdims=keepdim), dtype=np.int64))


def _logsumexp(x: np.ndarray, dims: Any) -> np.ndarray:
    """log(sum(exp(x))) over dims, keeping them as size 1."""
    # NOTE: subtract the max so that exp cannot overflow (and skip it where it is infinite)
    m = np.max(x, axis=dims, keepdims=True, initial=-np.inf)  # initial: an empty sum is log(0) = -inf
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
        e = np.exp(x - x.max(axis=dim, keepdims=True, initial=-np.inf))
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
        m = np.max(x, axis=dim, keepdims=True, initial=-np.inf)
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
