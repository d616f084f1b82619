"""Loss functions, as torch.nn.functional, with torch's reductions and weighting rules.

``reduction`` is ``"mean"`` (the default), ``"sum"`` or ``"none"`` (one loss per element
or per example). Floating targets are converted to the input's dtype, so integer labels
(e.g. from scikit-learn) work with the regression and binary losses. The deprecated
``size_average``/``reduce`` arguments are accepted and translated, as torch does.

The cross-entropies are single ops: ``cross_entropy`` computes log_softmax and the
negative log likelihood in one Function whose gradient is ``softmax(x) - target``, and
``binary_cross_entropy_with_logits`` works on logits with a stable softplus; both stay
finite for logits of +-1e4.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from neograd.autograd import Function, Tensor, backend, where
from neograd.autograd.ops.elementwise import Clamp, Log, Log1p, Sigmoid
from neograd.autograd.ops.reduce import LogSoftmax, Softmax
from neograd.nn.functional.activation import Softplus
from neograd.nn.functional.attention import _EXP_SAFE
from neograd.nn.functional.linear import _ones

__all__ = [
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
    "kl_div",
]


# ---- shared argument handling ---------------------------------------------------------------
def _reduction(op: str, reduction: str, size_average: bool | None = None, reduce: bool | None = None) -> str:
    """The reduction to use, translating the deprecated size_average/reduce as torch does."""
    if size_average is not None or reduce is not None:
        warnings.warn(
            f"{op}: size_average and reduce args will be deprecated, please use reduction= instead",
            UserWarning,
            stacklevel=3,
        )
        size_average = True if size_average is None else size_average
        reduction = "none" if reduce is False else ("mean" if size_average else "sum")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(
            f"{op}: {reduction!r} is not a valid value for reduction (use 'mean', 'sum' or 'none')"
        )
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _target(op: str, input: Any, target: Any, warn_size: bool = True) -> Tensor:
    """``target`` as a tensor of ``input``'s dtype, after checking that the shapes can meet."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(input).__name__}")
    # NOTE: the arrays' attributes read directly: every loss checks its target at every step
    x = input.data
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating input, got dtype {input.dtype}")
    if not isinstance(target, Tensor):
        target = Tensor(target)
    y = target.data
    if y.shape != x.shape:
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ValueError(
                f"{op}: target of shape {target.shape} cannot be broadcast to input of shape {input.shape}"
            ) from None
        if warn_size:
            warnings.warn(
                f"{op}: using a target size ({target.shape}) that is different to the input size "
                f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
                "Please ensure they have the same size.",
                UserWarning,
                stacklevel=3,
            )
    return target if y.dtype is x.dtype or y.dtype == x.dtype else target.to(input.dtype)


def _weighted(
    op: str, loss: Tensor, input: Tensor, weight: Any, reduction: str, by_weight_sum: bool
) -> Tensor:
    """Elementwise weights (mse, l1, huber); mse and l1 divide a weighted mean by the weights' sum."""
    if weight is None:
        return _reduce(loss, reduction)
    weight = weight if isinstance(weight, Tensor) else Tensor(weight)
    if weight.shape != input.shape:
        raise ValueError(
            f"{op}: weights and input must have the same size, got {weight.shape} and {input.shape}"
        )
    loss = loss * weight
    if reduction == "mean" and by_weight_sum:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


# ---- regression losses ------------------------------------------------------------------------
class MseLoss(Function):
    """(x - y)^2, reduced ("mean", "sum" or "none") in the same node.

    It saves only its inputs: built as ``diff * diff``, the graph would also keep ``x - y``,
    one more input-sized array, alive until backward.
    """

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, y: np.ndarray, *, reduction: str) -> np.ndarray:
        ctx.save_for_backward(x, y)
        diff = x - y
        loss = np.multiply(diff, diff, out=diff)  # NOTE: in place: diff is this op's own array
        ctx.reduction, ctx.count = reduction, loss.size
        if reduction == "none":
            return loss
        with np.errstate(invalid="ignore", divide="ignore"):  # the mean of nothing is nan, as torch
            return backend.asarray(
                np.add.reduce(loss, axis=None) / (loss.size if reduction == "mean" else 1), x.dtype
            )

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        x, y = ctx.saved_tensors  # d/dx = 2 (x - y) = -d/dy
        need_x, need_y = ctx.needs_input_grad
        grad = (x - y) * (grad_output * (2 / ctx.count) if ctx.reduction == "mean" else grad_output * 2)
        return (grad if need_x else None), (-grad if need_y else None)


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """(x - y)^2 elementwise, reduced.

    Example:
        >>> mse_loss(tensor([1., 2.]), tensor([1., 4.]))
        tensor(2.)
    """
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    target = _target("mse_loss", input, target)
    if weight is None:
        return MseLoss.apply(input, target, reduction=reduction)
    loss = MseLoss.apply(input, target, reduction="none")
    return _weighted("mse_loss", loss, input, weight, reduction, by_weight_sum=True)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """|x - y| elementwise, reduced."""
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    diff = input - _target("l1_loss", input, target)
    return _weighted("l1_loss", diff.abs(), input, weight, reduction, by_weight_sum=True)


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - y); beta = 0 is l1_loss."""
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    diff = input - _target("smooth_l1_loss", input, target)
    ad = diff.abs()
    if beta == 0:
        return _reduce(ad, reduction)
    return _reduce(where(ad < beta, diff * diff * (0.5 / beta), ad - 0.5 * beta), reduction)


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0, weight: Tensor | None = None
) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = x - y): smooth_l1_loss times beta."""
    reduction = _reduction("huber_loss", reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    diff = input - _target("huber_loss", input, target)
    ad = diff.abs()
    loss = where(ad < delta, diff * diff * 0.5, (ad - 0.5 * delta) * delta)
    # NOTE: torch's weighted huber mean is the plain mean of the weighted losses
    return _weighted("huber_loss", loss, input, weight, reduction, by_weight_sum=False)


# ---- binary classification ------------------------------------------------------------------
def _at_least(a: Any, floor: float) -> Any:
    """max(a, floor): one ufunc on arrays, Clamp on tensors (under create_graph, so it differentiates)."""
    return Clamp.apply(a, floor, None) if isinstance(a, Tensor) else np.maximum(a, floor)


class BinaryCrossEntropy(Function):
    """-(y log x + (1 - y) log(1 - x)), each log clamped at -100 as torch, so x = 0 or 1 stays finite.

    The reduction ("mean", "sum" or "none") happens in the same node: one node instead of two.
    """

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, y: np.ndarray, *, reduction: str) -> np.ndarray:
        ctx.save_for_backward(x, y)
        ctx.reduction, ctx.count = reduction, x.size
        # log(0) is -inf (then clamped) and the mean of nothing is nan, as in torch: no warnings
        with np.errstate(divide="ignore", invalid="ignore"):
            log_x, log_1mx = np.maximum(np.log(x), -100), np.maximum(np.log1p(-x), -100)
            loss = (y - 1) * log_1mx - y * log_x
            if reduction == "none":
                return loss
            return backend.asarray(
                np.add.reduce(loss, axis=None) / (x.size if reduction == "mean" else 1), x.dtype
            )

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        g = grad_output / ctx.count if ctx.reduction == "mean" else grad_output
        # d/dx = (x - y) / (x (1 - x)), the denominator kept >= 1e-12 as torch does
        grad_x = (x - y) / _at_least((1 - x) * x, 1e-12) * g if need_x else None
        grad_y = None
        if need_y:  # d/dy = log(1 - x) - log(x), clamped as in forward
            with np.errstate(divide="ignore"):
                log_x, log_1mx = Log.apply(x), Log1p.apply(-x)
            grad_y = g * (Clamp.apply(log_1mx, -100, None) - Clamp.apply(log_x, -100, None))
        return grad_x, grad_y


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x in [0, 1], reduced.

    Args:
        input: probabilities (e.g. the output of a sigmoid).
        target: the labels or target probabilities, of the input's shape (integers are
            converted to the input's dtype).
        weight: a weight per element, broadcast to the input's shape.

    Example:
        >>> binary_cross_entropy(tensor([0.9, 0.2]), tensor([1, 0]))
        tensor(0.1643)
    """
    reduction = _reduction("binary_cross_entropy", reduction, size_average, reduce)
    target = _target("binary_cross_entropy", input, target, warn_size=False)
    if target.data.shape != input.data.shape:
        raise ValueError(
            f"binary_cross_entropy: using a target size ({target.shape}) that is different to the input "
            f"size ({input.shape}) is deprecated. Please ensure they have the same size."
        )
    if weight is None and reduction != "none":
        loss = BinaryCrossEntropy.apply(input, target, reduction=reduction)
        # NOTE: an input outside [0, 1] makes a log nan, so the loss tells when to look for one
        if not math.isfinite(loss.data):
            _check_probabilities(input)
        return loss
    _check_probabilities(input)
    loss = BinaryCrossEntropy.apply(input, target, reduction="none")
    return loss if weight is None else _reduce(loss * weight, reduction)


def _check_probabilities(input: Tensor) -> None:
    x = input.data
    if x.size and (x.min() < 0 or x.max() > 1):
        raise RuntimeError(
            "binary_cross_entropy: all elements of input should be between 0 and 1 "
            f"(got values in [{x.min()}, {x.max()}]); for logits use binary_cross_entropy_with_logits"
        )


class BinaryCrossEntropyWithLogits(Function):
    """(1 - y) x + l softplus(-x) with l = 1 + (pos_weight - 1) y: -(l y log s(x) + (1 - y) log(1 - s(x)))."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, y: np.ndarray, *, pos_weight: np.ndarray | None) -> np.ndarray:
        ctx.save_for_backward(x, y)
        ctx.pos_weight = pos_weight
        # NOTE: softplus(-x) = log(1 + e^-x) computed as logaddexp(0, -x): no overflow at x = -1e4
        sp = Softplus.apply(-x, beta=1.0, threshold=math.inf)
        scale = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
        return ((1 - y) * x + scale * sp).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        pw = ctx.pos_weight
        grad_x = grad_y = None
        if need_x:  # d/dx = (1 - y) - l (1 - s(x)), which is s(x) - y without pos_weight
            s = Sigmoid.apply(x)
            grad_x = grad_output * (s - y if pw is None else (1 - y) - (1 + (pw - 1) * y) * (1 - s))
        if need_y:  # d/dy = -x + (pos_weight - 1) softplus(-x)
            grad_y = -grad_output * x
            if pw is not None:
                grad_y = grad_y + grad_output * (pw - 1) * Softplus.apply(-x, beta=1.0, threshold=math.inf)
        return grad_x, grad_y


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """binary_cross_entropy(sigmoid(x), y) computed from the logits x without overflow, reduced.

    Args:
        input: logits.
        target: labels or probabilities of the input's shape.
        weight: a weight per element, broadcast to the input's shape.
        pos_weight: a weight of the positive term per class (broadcast along the last
            dim), > 1 to favour recall. It is a constant: no gradient flows to it.
    """
    reduction = _reduction("binary_cross_entropy_with_logits", reduction, size_average, reduce)
    target = _target("binary_cross_entropy_with_logits", input, target, warn_size=False)
    if target.shape != input.shape:
        raise ValueError(
            f"binary_cross_entropy_with_logits: target size ({target.shape}) must be the same as input "
            f"size ({input.shape})"
        )
    pw = None
    if pos_weight is not None:
        pw = pos_weight.data if isinstance(pos_weight, Tensor) else pos_weight
        pw = backend.asarray(pw, dtype=input.dtype, like=input.data)
        try:
            np.broadcast_shapes(pw.shape, input.shape)
        except ValueError:
            raise ValueError(
                f"binary_cross_entropy_with_logits: pos_weight of shape {pw.shape} does not broadcast "
                f"to input of shape {input.shape}"
            ) from None
    loss = BinaryCrossEntropyWithLogits.apply(input, target, pos_weight=pw)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ---- multi-class classification -----------------------------------------------------------------
def _class_dim(op: str, input: Tensor) -> int:
    if not isinstance(input, Tensor) or not input.is_floating_point():
        raise TypeError(f"{op}: expected a floating Tensor as input, got {type(input).__name__}")
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, got a 0-d tensor")
    return 0 if input.ndim == 1 else 1


def _class_weights(op: str, weight: Any, num_classes: int, dtype: np.dtype) -> np.ndarray | None:
    if weight is None:
        return None
    w = backend.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=dtype)
    if w.shape != (num_classes,):
        raise ValueError(
            f"{op}: weight should have one value per class, shape ({num_classes},), got {w.shape}"
        )
    return w


def _class_indices(
    op: str, input: Tensor, target: Any, dim: int, ignore_index: int
) -> tuple[np.ndarray, np.ndarray]:
    """The class-index target as an array, checked against the input, and where it is not ignored."""
    idx = target.data if isinstance(target, Tensor) else backend.asarray(target, like=input.data)
    expected = input.shape[:dim] + input.shape[dim + 1 :]
    if idx.shape != expected:
        raise ValueError(
            f"{op}: expected a target of shape {expected} for input of shape {input.shape}, got {idx.shape}"
        )
    num_classes = input.shape[dim]
    valid = idx != ignore_index
    kept = idx[valid]
    if kept.size and (kept.min() < 0 or kept.max() >= num_classes):
        bad = kept.min() if kept.min() < 0 else kept.max()
        raise IndexError(f"{op}: target {bad} is out of bounds for {num_classes} classes")
    return idx, valid


def _index_coefficients(
    op: str,
    input: Tensor,
    target: Any,
    dim: int,
    weight: np.ndarray | None,
    ignore_index: int,
    smoothing: float,
) -> tuple[np.ndarray, float]:
    """For class-index targets: the coefficients A with loss_n = -sum_c A_nc log p_nc, and the mean's divisor.

    A is the (1 - smoothing) one-hot target scaled by the class weight, plus smoothing / C
    times the class weights, and zero at ignored positions; the divisor is the total
    weight of the targets that are not ignored (torch's weighted mean).
    """
    idx, valid = _class_indices(op, input, target, dim, ignore_index)
    num_classes = input.shape[dim]
    safe = np.expand_dims(np.where(valid, idx, 0), dim)
    coef = np.zeros_like(input.data)
    np.put_along_axis(coef, safe, 1, axis=dim)
    picked = (
        valid.astype(input.dtype) if weight is None else np.where(valid, weight[np.where(valid, idx, 0)], 0)
    )
    coef *= np.expand_dims(picked * (1 - smoothing), dim)
    if smoothing:
        spread = np.ones_like(input.data, shape=(num_classes,)) if weight is None else weight
        shape = [1] * input.ndim
        shape[dim] = num_classes
        coef += (smoothing / num_classes) * spread.reshape(shape) * np.expand_dims(valid, dim)
    return coef.astype(input.dtype, copy=False), float(picked.sum())


class CrossEntropy(Function):
    """loss_n = -sum_c A_nc log softmax(x_n)_c, reduced; A holds the (weighted, smoothed) targets.

    The gradient is softmax(x) * sum_c A_c - A: softmax(x) - target for a one-hot target.
    """

    @staticmethod
    def forward(
        ctx: Any, x: np.ndarray, coef: np.ndarray, *, dim: int, reduction: str, divisor: float
    ) -> np.ndarray:
        ctx.save_for_backward(x, coef)
        ctx.dim, ctx.reduction, ctx.divisor = dim, reduction, divisor
        # NOTE: shifted by the max so that exp cannot overflow. The max and the sum of the
        # exponentials are kept (one number per position): the backward's softmax is then
        # exp(x - max) / sum, without the two reductions
        ctx.max = x.max(axis=dim, keepdims=True)
        log_p = x - ctx.max
        ctx.sum = np.exp(log_p).sum(axis=dim, keepdims=True)
        log_p -= np.log(ctx.sum)
        if reduction == "none":
            return -(coef * log_p).sum(axis=dim)
        log_p *= coef
        loss = -log_p.sum()  # NOTE: one pairwise sum over classes and positions at once
        with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: nan, as torch
            return backend.asarray(loss / (divisor if reduction == "mean" else 1), x.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        x, coef = ctx.saved_tensors
        need_x, need_coef = ctx.needs_input_grad
        g = grad_output
        if ctx.reduction == "none":
            g = g.reshape(g.shape[: ctx.dim] + (1,) + g.shape[ctx.dim :])
        elif ctx.reduction == "mean":
            g = g / ctx.divisor if ctx.divisor else g * 0  # all ignored: a nan loss, zero gradients (torch)
        grad_x = None
        if need_x and isinstance(grad_output, Tensor):  # create_graph: built from Functions
            grad_x = g * (Softmax.apply(x, dim=ctx.dim) * coef.sum(axis=ctx.dim, keepdims=True) - coef)
        elif need_x:  # the same in place, softmax from the forward's max and sum
            grad_x = np.exp(x - ctx.max)
            grad_x /= ctx.sum
            grad_x *= coef.sum(axis=ctx.dim, keepdims=True)
            grad_x -= coef
            grad_x *= g
        grad_coef = -g * LogSoftmax.apply(x, dim=ctx.dim) if need_coef else None
        return grad_x, grad_coef


class IndexCrossEntropy(Function):
    """The common case of cross_entropy: (N, C) logits, class indices, no weights, smoothing or ignored rows.

    loss_n = logsumexp(x_n) - x_n[y_n], and the gradient softmax(x_n) - onehot(y_n): the same
    numbers as CrossEntropy without its (N, C) array of target coefficients, which costs as
    much as the rest of the loss on a language model's logits.
    """

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, target: np.ndarray, *, reduction: str) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.target, ctx.reduction = target, reduction
        rows = backend.create(backend.device_of(x), "arange", len(target))  # (on x's device)
        # NOTE: each row shifted by its max, so that exp cannot overflow; when every logit
        # is within +-_EXP_SAFE the shift only changes rounding, and the max over the short
        # rows and the shifted copy cost as much as the rest: then skip them, as attention does
        if x.dtype.itemsize >= 4 and -_EXP_SAFE < x.min() and x.max() < _EXP_SAFE:
            top, exp = 0, np.exp(x)
        else:
            top = x.max(axis=1)
            exp = np.exp(np.subtract(x, top[:, None]))
        # NOTE: row sums by BLAS, see normalization._row_mean
        total = exp @ _ones(x.shape[1], x.dtype, backend.device_of(x))
        ctx.exp, ctx.total = exp, total  # the backward's softmax is exp / total
        loss = np.log(total) + top - x[rows, target]
        if reduction == "none":
            return loss
        with np.errstate(invalid="ignore"):  # no rows: a nan mean, as torch
            return backend.asarray(loss.sum() / (len(loss) if reduction == "mean" else 1), x.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, None]:
        (x,) = ctx.saved_tensors
        n = len(ctx.target)
        g = grad_output.reshape(n, 1) if ctx.reduction == "none" else grad_output
        if ctx.reduction == "mean":
            g = g / n
        values = x.data if isinstance(x, Tensor) else x  # (a Tensor under create_graph)
        rows = backend.create(backend.device_of(values), "arange", n)
        if isinstance(grad_output, Tensor):  # create_graph: built from Functions, differentiable again
            onehot = np.zeros_like(values)
            onehot[rows, ctx.target] = 1
            return g * (Softmax.apply(x, dim=1) - onehot), None
        grad = ctx.exp * (1 / ctx.total)[:, None]  # softmax; a new array, so retain_graph can run this again
        grad[rows, ctx.target] -= 1
        grad *= g
        return grad, None


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """The cross-entropy between softmax(input) over dim 1 and the target, as torch's cross_entropy.

    loss_n = -w_{y_n} log softmax(x_n)_{y_n} for class indices; -sum_c w_c q_nc log softmax(x_n)_c
    for class probabilities q. With label_smoothing eps the target becomes
    (1 - eps) target + eps / C. The mean divides by the summed weights of the targets
    that are not ignored (by the number of positions for probability targets).

    Args:
        input: logits, (N, C), (N, C, d1, ...) or (C,).
        target: class indices (N) / (N, d1, ...) / () of an integer dtype, or class
            probabilities of the input's shape.
        weight: one weight per class.
        ignore_index: a class index whose positions add nothing (index targets only).
        reduction: "mean", "sum" or "none".
        label_smoothing: eps in [0, 1].

    Example:
        >>> cross_entropy(tensor([[2.0, 0.5, -1.0]]), tensor([0]))
        tensor(0.2413)
    """
    reduction = _reduction("cross_entropy", reduction, size_average, reduce)
    dim = _class_dim("cross_entropy", input)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    num_classes = input.shape[dim]
    w = _class_weights("cross_entropy", weight, num_classes, input.dtype)
    if isinstance(target, Tensor) and target.is_floating_point():
        if target.shape != input.shape:
            raise ValueError(
                f"cross_entropy: class-probability targets must have the input's shape {input.shape}, "
                f"got {target.shape} (give integer class indices otherwise)"
            )
        coef = target.to(input.dtype)
        if label_smoothing:
            coef = coef * (1 - label_smoothing) + label_smoothing / num_classes
        if w is not None:
            coef = coef * w.reshape((num_classes,) + (1,) * (input.ndim - dim - 1))
        divisor = float(input.data.size // num_classes) if input.data.size else math.nan
    elif w is None and not label_smoothing and input.ndim == 2:
        idx, valid = _class_indices("cross_entropy", input, target, dim, ignore_index)
        if len(idx) and valid.all():
            return IndexCrossEntropy.apply(input, idx, reduction=reduction)
        coef, divisor = _index_coefficients("cross_entropy", input, target, dim, None, ignore_index, 0.0)
    else:
        coef, divisor = _index_coefficients(
            "cross_entropy", input, target, dim, w, ignore_index, label_smoothing
        )
    return CrossEntropy.apply(input, coef, dim=dim, reduction=reduction, divisor=divisor)


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-w_{y_n} input[n, y_n]: the negative log likelihood of log-probabilities, reduced.

    The mean divides by the summed weights of the targets that are not ignored.

    Args:
        input: log-probabilities (e.g. from log_softmax), (N, C), (N, C, d1, ...) or (C,).
        target: class indices, (N), (N, d1, ...) or ().
        weight: one weight per class.
        ignore_index: a class index whose positions add nothing.
    """
    reduction = _reduction("nll_loss", reduction, size_average, reduce)
    dim = _class_dim("nll_loss", input)
    if isinstance(target, Tensor) and target.is_floating_point():
        raise TypeError(f"nll_loss: expected integer class indices as target, got dtype {target.dtype}")
    w = _class_weights("nll_loss", weight, input.shape[dim], input.dtype)
    coef, divisor = _index_coefficients("nll_loss", input, target, dim, w, ignore_index, 0.0)
    loss = -(input * coef).sum(axis=dim)
    if reduction == "mean":
        # every target ignored: torch gives a nan loss with zero gradients
        return loss.sum() / divisor if divisor else loss.sum() + math.nan
    return _reduce(loss, reduction)


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """The Kullback-Leibler divergence y (log y - x) elementwise, with x = log q given as input.

    Args:
        input: log-probabilities.
        target: probabilities (or log-probabilities with ``log_target=True``).
        reduction: "batchmean" (sum / batch size: the mathematical KL divergence), "sum",
            "none", or "mean" (sum / number of elements, with torch's warning).
    """
    if reduction != "batchmean":
        reduction = _reduction("kl_div", reduction, size_average, reduce)
    if reduction == "mean":
        warnings.warn(
            "kl_div: reduction: 'mean' divides the total loss by both the batch size and the support size. "
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition.",
            UserWarning,
            stacklevel=2,
        )
    target = _target("kl_div", input, target, warn_size=False)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # y log y with 0 log 0 = 0 (xlogy)
        positive = target > 0
        loss = where(positive, target * where(positive, target, 1.0).log(), 0.0) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)
