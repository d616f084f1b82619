"""Normalisation: batch_norm, layer_norm, group_norm and instance_norm.

Each normalises to zero mean and unit variance over some dims, then scales and shifts
per channel (or per element of normalized_shape):

    y = (x - mean) / sqrt(var + eps) * weight + bias        (var: the biased variance)

They differ only in the dims the statistics run over: batch_norm over the batch and
spatial dims (one mean per channel), layer_norm over the trailing normalized_shape (one
mean per sample), group_norm over each group of channels of each sample, instance_norm over each
channel of each sample (its spatial dims). The formula is
written with neograd's own ops, so its gradients (of any order) come from them; layer_norm,
once per block in a Transformer, is one Function instead (LayerNorm), whose backward is the
closed form, or the same formula in Tensor ops under create_graph.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from neograd.autograd import Function, Tensor, backend, no_grad
from neograd.autograd.ops._args import is_int
from neograd.nn.functional.linear import _ones

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm"]


def _normalize(x: Tensor, dims: tuple[int, ...], eps: float) -> Tensor:
    """(x - mean) / sqrt(var + eps) over ``dims``, with the biased variance."""
    centered = x - x.mean(dims, keepdim=True)
    var = (centered * centered).mean(dims, keepdim=True)
    return centered / (var + eps).sqrt()


def _affine(y: Tensor, weight: Tensor | None, bias: Tensor | None, shape: tuple[int, ...]) -> Tensor:
    """y * weight + bias, with weight and bias reshaped to broadcast as ``shape``."""
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def _check_vector(op: str, name: str, t: Any, shape: tuple[int, ...]) -> None:
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(t).__name__}")
    if t.shape != shape:
        raise RuntimeError(f"{op}: expected {name} of shape {shape}, got {t.shape}")


def _check_input(op: str, input: Any, min_ndim: int) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < min_ndim:
        raise RuntimeError(f"{op}: expected an input with at least {min_ndim} dims, got shape {input.shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating input, got dtype {input.dtype}")


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation, as torch.nn.functional.batch_norm: one mean and variance per channel.

    In training, the statistics are those of this batch (over every dim but dim 1), and the
    running statistics, when given, are updated in place:
    ``running = (1 - momentum) * running + momentum * batch_stat``, using the unbiased
    variance (divided by n - 1) for running_var, as torch does. Otherwise the running
    statistics normalise.

    Args:
        input: (N, C, *).
        running_mean, running_var: (C,) tensors, or None (then training must be True).
        weight, bias: (C,) per-channel scale and shift, or None.
        training: use (and track) the batch's statistics.
        momentum: the weight of the new batch in the running statistics.
        eps: added to the variance for numerical stability.

    Example:
        >>> x = randn(8, 3, 4, 4)
        >>> mean, var = zeros(3), ones(3)
        >>> y = batch_norm(x, mean, var, training=True)   # updates mean and var in place
    """
    op = "batch_norm"
    _check_input(op, input, 2)
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        _check_vector(op, name, t, (channels,))
    _check_vector(op, "weight", weight, (channels,))
    _check_vector(op, "bias", bias, (channels,))
    shape = (1, channels) + (1,) * (input.ndim - 2)
    dims = (0, *range(2, input.ndim))
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"{op}: running_mean and running_var must be given when training=False")
        # the running statistics are constants here: no gradient flows into them
        scale = 1 / np.sqrt(running_var.data + eps)
        y = (input - running_mean.data.reshape(shape)) * scale.reshape(shape).astype(input.dtype)
        return _affine(y, weight, bias, shape)
    count = input.data.size // channels
    if count <= 1:
        raise ValueError(
            f"{op}: expected more than 1 value per channel when training, got input of shape {input.shape}"
        )
    y = _normalize(input, dims, eps)
    if running_mean is not None or running_var is not None:
        with no_grad():
            mean = input.data.mean(axis=dims)
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
            if running_var is not None:
                unbiased = input.data.var(axis=dims) * (count / (count - 1))
                running_var.mul_(1 - momentum).add_(unbiased, alpha=momentum)
    return _affine(y, weight, bias, shape)


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalisation, as torch.nn.functional.layer_norm: statistics over the trailing dims.

    Every sample is normalised over its last ``len(normalized_shape)`` dims, then scaled
    and shifted elementwise by weight and bias (of shape normalized_shape).

    Args:
        input: (*, *normalized_shape).
        normalized_shape: an int or the shape of the trailing dims to normalise over.
        weight, bias: tensors of shape normalized_shape, or None.
        eps: added to the variance for numerical stability.

    Example:
        >>> layer_norm(randn(2, 5, 16), (16,)).shape
        (2, 5, 16)
    """
    op = "layer_norm"
    shape = (normalized_shape,) if is_int(normalized_shape) else tuple(normalized_shape)
    if not shape or not all(is_int(n) for n in shape):
        raise TypeError(
            f"{op}: normalized_shape must be an int or a non-empty tuple of ints, got {normalized_shape!r}"
        )
    shape = tuple(int(n) for n in shape)
    _check_input(op, input, len(shape))
    if input.shape[-len(shape) :] != shape:
        raise RuntimeError(
            f"{op}: given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(map(str, shape))}], but got input of shape {input.shape}"
        )
    _check_vector(op, "weight", weight, shape)
    _check_vector(op, "bias", bias, shape)
    return LayerNorm.apply(input, weight, bias, ndim=len(shape), eps=eps)


def _row_mean(a: np.ndarray) -> np.ndarray:
    """The mean of each row of a 2-d array."""
    if a.dtype.kind == "f" and a.dtype.itemsize >= 4:
        # NOTE: NumPy's reduction over a short last axis (GPT widths of 64) costs ~5x a
        # matrix-vector product with ones, which BLAS runs at full speed
        return a @ _ones(a.shape[1], a.dtype, backend.device_of(a)) / max(a.shape[1], 1)
    return a.mean(axis=1)


class LayerNorm(Function):
    """layer_norm fused: a few NumPy passes each way instead of a graph of ~10 ops.

    The leading dims are rows, the ``ndim`` normalised dims columns. Backward reuses x-hat
    and 1 / std from forward; under create_graph it recomputes them with Tensor ops, so the
    gradient can be differentiated again.
    """

    @staticmethod
    def forward(
        ctx: Any, x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None, *, ndim: int, eps: float
    ) -> np.ndarray:
        shape = x.shape[x.ndim - ndim :]
        x2 = x.reshape(math.prod(x.shape[: x.ndim - ndim]), math.prod(shape))
        xhat = x2 - _row_mean(x2)[:, None]  # centred first: the variance without cancellation
        rstd = _row_mean(np.square(xhat)) + eps
        np.sqrt(rstd, out=rstd)
        np.divide(1, rstd, out=rstd)
        xhat *= rstd[:, None]
        ctx.save_for_backward(x, weight)  # x for create_graph (and the in-place check), as torch keeps it
        ctx.xhat, ctx.rstd, ctx.shape, ctx.eps = xhat, rstd, shape, eps
        y = xhat * weight.reshape(-1) if weight is not None else xhat.copy()  # never the saved xhat itself
        if bias is not None:
            y = np.add(y, bias.reshape(-1), out=y if y.dtype == np.result_type(y, bias) else None)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any, Any]:
        # y = xhat w + b with xhat = (x - mean) rstd, per row: dw = sum_rows(g xhat), db = sum_rows(g),
        # and with gh = g w: dx = rstd (gh - mean_row(gh) - xhat mean_row(gh xhat))
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        xhat, rstd, shape = ctx.xhat, ctx.rstd, ctx.shape
        m, d = xhat.shape
        if isinstance(grad_output, Tensor):  # create_graph: built from Functions, differentiable again
            return _layer_norm_grad(grad_output, x, weight, ctx.eps, (m, d), shape, ctx.needs_input_grad)
        g = grad_output.reshape(m, d)
        rows = _ones(m, g.dtype, backend.device_of(g))  # column sums as a product with ones: see _row_mean
        gw = (rows @ (g * xhat)).reshape(shape) if need_w else None
        gb = (rows @ g).reshape(shape) if need_b else None
        if not need_x:
            return None, gw, gb
        gx = g * weight.reshape(-1) if weight is not None else g.copy()
        dot = _row_mean(gx * xhat)
        gx -= _row_mean(gx)[:, None]
        xhat = xhat * dot[:, None]
        gx -= xhat
        gx *= rstd[:, None]
        return gx.reshape(x.shape), gw, gb


def _layer_norm_grad(
    g: Tensor,
    x: Any,
    weight: Any,
    eps: float,
    rows_cols: tuple[int, int],
    shape: tuple[int, ...],
    needs: tuple[bool, ...],
) -> tuple[Any, Any, Any]:
    """LayerNorm's gradients written with Tensor ops (recorded under create_graph)."""
    m, d = rows_cols
    x2 = (x if isinstance(x, Tensor) else Tensor._make(x)).reshape(m, d)
    g = g.reshape(m, d)
    centered = x2 - x2.mean(1, keepdim=True)
    std = ((centered * centered).mean(1, keepdim=True) + eps).sqrt()
    xhat = centered / std
    gx = gw = gb = None
    if needs[0]:
        gh = g * weight.reshape(d) if weight is not None else g
        gx = ((gh - gh.mean(1, keepdim=True) - xhat * (gh * xhat).mean(1, keepdim=True)) / std).reshape(
            x.shape
        )
    if needs[1]:
        gw = (g * xhat).sum(0).reshape(shape)
    if needs[2]:
        gb = g.sum(0).reshape(shape)
    return gx, gw, gb


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Group normalisation, as torch.nn.functional.group_norm: statistics per sample and group of channels.

    The C channels are split into ``num_groups`` groups of C / num_groups; each group of
    each sample (with all its spatial positions) is normalised on its own, then every
    channel is scaled and shifted by weight and bias.

    Args:
        input: (N, C, *).
        num_groups: the number of groups; must divide C.
        weight, bias: (C,) per-channel scale and shift, or None.
        eps: added to the variance for numerical stability.

    Example:
        >>> group_norm(randn(2, 6, 4, 4), 3).shape
        (2, 6, 4, 4)
    """
    op = "group_norm"
    _check_input(op, input, 2)
    n, channels = input.shape[:2]
    if not is_int(num_groups) or num_groups < 1 or channels % num_groups:
        raise RuntimeError(
            f"{op}: expected the number of channels ({channels}, input of shape {input.shape}) to be "
            f"divisible by num_groups, got num_groups={num_groups!r}"
        )
    _check_vector(op, "weight", weight, (channels,))
    _check_vector(op, "bias", bias, (channels,))
    if input.data.size == 0:
        raise RuntimeError(f"{op}: input of shape {input.shape} has no values to normalise")
    y = _normalize(input.reshape(n, int(num_groups), -1), (2,), eps).reshape(input.shape)
    return _affine(y, weight, bias, (1, channels) + (1,) * (input.ndim - 2))


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Instance normalisation, as torch.nn.functional.instance_norm: statistics per sample and channel.

    With ``use_input_stats`` each channel of each sample is normalised over its spatial
    dims, and the running statistics, when given, are updated in place with the average
    over the batch of the per-instance statistics (the unbiased variance for running_var):
    ``running = (1 - momentum) * running + momentum * mean_n(stat[n])``. Otherwise the
    running statistics normalise, as batch_norm in eval mode.

    Args:
        input: (N, C, *), with more than one spatial position when using input statistics.
        running_mean, running_var: (C,) tensors, or None.
        weight, bias: (C,) per-channel scale and shift, or None.
        use_input_stats: normalise with each instance's own statistics.
        momentum: the weight of the new batch in the running statistics.
        eps: added to the variance for numerical stability.

    Example:
        >>> instance_norm(randn(2, 3, 8, 8)).shape   # every [n, c] map: mean 0, variance 1
        (2, 3, 8, 8)
    """
    op = "instance_norm"
    _check_input(op, input, 2)
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        _check_vector(op, name, t, (channels,))
    _check_vector(op, "weight", weight, (channels,))
    _check_vector(op, "bias", bias, (channels,))
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"{op}: running_mean and running_var must be given when use_input_stats=False")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    count = int(np.prod(input.shape[2:]))
    if count <= 1:
        raise ValueError(
            f"{op}: expected more than 1 spatial element when training, got input of shape {input.shape}"
        )
    dims = tuple(range(2, input.ndim))
    y = _normalize(input, dims, eps)
    with no_grad():
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(input.data.mean(axis=dims).mean(axis=0), alpha=momentum)
        if running_var is not None:
            running_var.mul_(1 - momentum).add_(
                input.data.var(axis=dims, ddof=1).mean(axis=0), alpha=momentum
            )
    return _affine(y, weight, bias, (1, channels) + (1,) * (input.ndim - 2))
