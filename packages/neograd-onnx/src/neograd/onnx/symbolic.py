"""The ONNX form of each of neograd's Functions: ``REGISTRY[FunctionClass] = symbolic``.

A symbolic has the signature of the Function's forward without ctx: ``symbolic(g, *args,
**kwargs)``, where each tensor argument arrives as the name of an ONNX value and every
other argument as it was given; it adds nodes with ``g.op(...)`` and returns the name of
the result. A user-defined Function supplies its own as a static method ``symbolic``.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neograd.autograd.ops import elementwise as ew
from neograd.autograd.ops import linalg, reduce, shape
from neograd.nn.functional import activation, attention, conv, pooling, sparse
from neograd.onnx.export import Graph
from onnx import helper, numpy_helper

__all__ = ["REGISTRY", "register"]

# NOTE: neograd.nn.functional's `linear` attribute is the function, which hides the module
linear = importlib.import_module("neograd.nn.functional.linear")

REGISTRY: dict[Any, Callable[..., str]] = {}
_INT_MAX = np.iinfo(np.int64).max
_INT_MIN = np.iinfo(np.int64).min


def register(*ops: Any) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Decorator: the symbolic of these Function classes (or composite names)."""

    def add(fn: Callable[..., str]) -> Callable[..., str]:
        for op in ops:
            REGISTRY[op] = fn
        return fn

    return add


def _binary(op_type: str) -> Callable[..., str]:
    def symbolic(g: Graph, a: Any, b: Any) -> str:
        like = a if isinstance(a, str) else b
        return g.op(op_type, g.cast_to_output(g.operand(a, like)), g.cast_to_output(g.operand(b, like)))

    return symbolic


def _unary(op_type: str) -> Callable[..., str]:
    def symbolic(g: Graph, x: str) -> str:
        return g.op(op_type, x)

    return symbolic


for _cls, _op in (
    (ew.Add, "Add"),
    (ew.Sub, "Sub"),
    (ew.Mul, "Mul"),
    (ew.Div, "Div"),
    (ew.Pow, "Pow"),
    (ew.Maximum, "Max"),
    (ew.Minimum, "Min"),
    (linalg.MatMul, "MatMul"),
):
    REGISTRY[_cls] = _binary(_op)
for _cls, _op in (
    (ew.Neg, "Neg"),
    (ew.Abs, "Abs"),
    (ew.Exp, "Exp"),
    (ew.Log, "Log"),
    (ew.Sqrt, "Sqrt"),
    (ew.Sin, "Sin"),
    (ew.Cos, "Cos"),
    (ew.Tanh, "Tanh"),
    (ew.Sigmoid, "Sigmoid"),
    (ew.Relu, "Relu"),
    (ew.Sign, "Sign"),
    (ew.Clone, "Identity"),
    (reduce.StdFromVar, "Sqrt"),
):
    REGISTRY[_cls] = _unary(_op)


@register(ew.Log1p)
def _log1p(g: Graph, x: str) -> str:
    return g.op("Log", g.op("Add", x, g.operand(1.0, x)))


@register(ew.Where)
def _where(g: Graph, condition: Any, a: Any, b: Any) -> str:
    cond = g.operand(condition) if isinstance(condition, str) else g.const(np.asarray(condition, bool))
    return g.op("Where", cond, g.operand(a), g.operand(b))


@register(ew.Clamp)
def _clamp(g: Graph, x: str, min: Any, max: Any) -> str:
    if all(b is None or np.ndim(b) == 0 for b in (min, max)) and not any(
        isinstance(b, str) for b in (min, max)
    ):
        lo = None if min is None else g.operand(min, x)
        hi = None if max is None else g.operand(max, x)
        return g.op("Clip", x, lo, hi)
    if min is not None:
        x = g.op("Max", x, g.operand(min, x))
    if max is not None:
        x = g.op("Min", x, g.operand(max, x))
    return x


@register(ew.ToDtype)
def _to_dtype(g: Graph, x: str, dtype: Any) -> str:
    return g.op("Cast", x, to=helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))


# ---- reductions ----------------------------------------------------------------------------------
def _reduction(op_type: str) -> Callable[..., str]:
    def symbolic(g: Graph, x: str, dims: Sequence[int] | None, keepdim: bool) -> str:
        return g.reduce(op_type, x, dims, keepdim)

    return symbolic


for _cls, _op in (
    (reduce.Sum, "ReduceSum"),
    (reduce.Mean, "ReduceMean"),
    (reduce.Amax, "ReduceMax"),
    (reduce.Amin, "ReduceMin"),
    (reduce.LogSumExp, "ReduceLogSumExp"),
):
    REGISTRY[_cls] = _reduction(_op)


@register(reduce.Var)
def _var(g: Graph, x: str, dims: Sequence[int] | None, correction: float, keepdim: bool) -> str:
    reduced = range(len(g.shape(x))) if dims is None else dims
    if g.dynamic(x) & set(reduced):
        raise RuntimeError(
            "export: var over a dynamic axis is not supported (its divisor would be a constant)"
        )
    n = math.prod(g.shape(x)[d] for d in reduced) - correction
    centered = g.op("Sub", x, g.reduce("ReduceMean", x, dims, True))
    total = g.reduce("ReduceSum", g.op("Mul", centered, centered), dims, keepdim)
    return g.op("Div", total, g.operand(n if n > 0 else 0, x))


@register(reduce.Softmax)
def _softmax(g: Graph, x: str, dim: int) -> str:
    return g.op("Softmax", x, axis=dim)


@register(reduce.LogSoftmax)
def _log_softmax(g: Graph, x: str, dim: int) -> str:
    return g.op("LogSoftmax", x, axis=dim)


# ---- shapes --------------------------------------------------------------------------------------
@register(shape.Reshape)
def _reshape(g: Graph, x: str, shape: Sequence[int]) -> str:
    # the traced result's shape, with each dim that follows the dynamic axes copied from the
    # input's same dim (0) or inferred from the size (-1)
    have, have2 = g.shape(x), g.shape2(x)
    target = []
    for i, (n, n2) in enumerate(zip(g.out_shape, g.out_shape2)):
        if n == n2:
            target.append(n)
        elif i < len(have) and have[i] == n and have2[i] == n2:
            target.append(0)
        else:
            target.append(-1)
    if target.count(-1) <= 1:
        return g.op("Reshape", x, g.ints(target))
    # several: each but the last read from a value that has it ((L * N, E) -> (L, N, E) takes L
    # and N from attention's input), so the shape is computed in the graph
    pieces, unknown = [], 0
    for i, entry in enumerate(target):
        size = g.size(g.out_shape[i], g.out_shape2[i]) if entry == -1 else None
        if size is None and entry == -1:
            unknown += 1
        pieces.append(size if size is not None else g.ints([entry]))
    if unknown > 1:
        raise RuntimeError(
            f"export: reshape of {have} to {g.out_shape} has several dims that follow the dynamic axes, "
            "and no value of the graph has their sizes"
        )
    return g.op("Reshape", x, g.op("Concat", *pieces, axis=0))


@register(shape.Permute)
def _permute(g: Graph, x: str, dims: Sequence[int]) -> str:
    return g.op("Transpose", x, perm=[int(d) for d in dims])


@register(shape.BroadcastTo)
def _broadcast_to(g: Graph, x: str, shape: Sequence[int]) -> str:
    lead = len(g.out_shape) - len(g.shape(x))
    have, have2 = (1,) * lead + g.shape(x), (1,) * lead + g.shape2(x)
    target = []
    for n, n2, m, m2 in zip(g.out_shape, g.out_shape2, have, have2):
        if n == n2:
            target.append(n)
        elif (m, m2) == (n, n2):
            target.append(1)  # Expand keeps the input's own size where the shape says 1
        else:
            raise RuntimeError(f"export: expand of {g.shape(x)} to {g.out_shape} along a dynamic axis")
    return g.op("Expand", x, g.ints(target))


@register(shape.GetItem)
def _getitem(g: Graph, x: str, index: Any) -> str:
    original, rank = x, len(g.shape(x))
    items = list(index) if isinstance(index, tuple) else [index]
    ellipses = [k for k, i in enumerate(items) if i is Ellipsis]
    if len(ellipses) > 1:
        raise RuntimeError(f"export: index {index!r} has more than one Ellipsis")
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
    if ellipses:
        items[ellipses[0] : ellipses[0] + 1] = [slice(None)] * (rank - consumed)
    items += [slice(None)] * (rank - sum(1 for i in items if i is not None))
    arrays = [k for k, i in enumerate(items) if isinstance(i, (np.ndarray, str, list))]
    if arrays:
        axis = arrays[0]
        if len(arrays) > 1 or any(i is None for i in items):
            raise RuntimeError(
                f"export: indexing with {index!r} is not supported (one integer array, with ints and "
                "slices elsewhere, is: x[:, idx], x[idx, 1:])"
            )
        position = sum(1 for i in items[:axis] if i is not None)
        idx = items[axis]
        if isinstance(idx, np.ndarray) and g.value_of(idx) is not None:
            idx = g.value_of(idx)  # an index tensor of the graph, not a constant
        if not isinstance(idx, str):
            idx = np.asarray(idx)
            if idx.dtype.kind not in "iu":
                raise RuntimeError(
                    f"export: indexing with a {idx.dtype} array is not supported (only integers)"
                )
            idx = g.const(np.where(idx < 0, idx + g.shape(x)[position], idx).astype(np.int64))
        if len(g.shape(idx)) != 1 and any(i != slice(None) for k, i in enumerate(items) if k != axis):
            raise RuntimeError(
                f"export: indexing with {index!r}: a multi-dim index array needs full slices elsewhere"
            )
        x = g.op("Gather", x, idx, axis=position)
        if len(g.shape(idx)) != 1:
            return x
        items[axis] = slice(None)  # the rest is basic slicing of the gathered result
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = out_axis = 0
    for item in items:
        if item is None:
            unsqueeze.append(out_axis)
            out_axis += 1
            continue
        if isinstance(item, slice):
            if item != slice(None):
                step = 1 if item.step is None else int(item.step)
                default = (0, _INT_MAX) if step > 0 else (-1, _INT_MIN)
                starts.append(default[0] if item.start is None else int(item.start))
                ends.append(default[1] if item.stop is None else int(item.stop))
                axes.append(axis)
                steps.append(step)
            out_axis += 1
        else:  # an int
            i = int(item)
            starts.append(i)
            ends.append(i + 1 if i != -1 else _INT_MAX)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        axis += 1
    y = x
    if axes:
        y = g.op("Slice", y, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps))
    if squeeze:
        y = g.op("Squeeze", y, g.ints(squeeze))
    if unsqueeze:
        y = g.op("Unsqueeze", y, g.ints(unsqueeze))
    return y if y != original else g.op("Identity", x)


@register(shape.Cat)
def _cat(g: Graph, *arrays: str, dim: int) -> str:
    return g.op("Concat", *[g.operand(a) for a in arrays], axis=dim)


@register(shape.Stack)
def _stack(g: Graph, *arrays: str, dim: int) -> str:
    axis = g.ints([dim])
    return g.op("Concat", *[g.op("Unsqueeze", g.operand(a), axis) for a in arrays], axis=dim)


@register(shape.Pad)
def _pad(g: Graph, x: str, widths: Sequence[tuple[int, int]], value: float) -> str:
    pads = [int(lo) for lo, _ in widths] + [int(hi) for _, hi in widths]
    if any(p < 0 for p in pads):
        return g.op("Pad", x, g.ints(pads))  # negative pads crop, as in ONNX
    return g.op("Pad", x, g.ints(pads), g.operand(value, x), mode="constant")


@register(shape.Repeat)
def _repeat(g: Graph, x: str, sizes: Sequence[int]) -> str:
    extra = len(sizes) - len(g.shape(x))
    if extra:
        x = g.op("Unsqueeze", x, g.ints(range(extra)))
    return g.op("Tile", x, g.ints(sizes))


# ---- nn: activations -----------------------------------------------------------------------------
@register(activation.LeakyRelu)
def _leaky_relu(g: Graph, x: str, negative_slope: float) -> str:
    return g.op("LeakyRelu", x, alpha=float(negative_slope))


@register(activation.Elu)
def _elu(g: Graph, x: str, alpha: float) -> str:
    return g.op("Elu", x, alpha=float(alpha))


@register(activation.NormalCdf)
def _normal_cdf(g: Graph, x: str) -> str:
    erf = g.op("Erf", g.op("Mul", x, g.operand(1 / math.sqrt(2), x)))
    return g.op("Mul", g.op("Add", erf, g.operand(1.0, x)), g.operand(0.5, x))


@register(activation.Gelu)
def _gelu(g: Graph, x: str) -> str:
    if g.opset >= 20:
        return g.op("Gelu", x)
    return g.op("Mul", x, _normal_cdf(g, x))


@register(activation.GeluTanh)
def _gelu_tanh(g: Graph, x: str) -> str:
    if g.opset >= 20:
        return g.op("Gelu", x, approximate="tanh")
    cube = g.op("Mul", g.op("Mul", x, x), x)
    inner = g.op("Add", x, g.op("Mul", cube, g.operand(0.044715, x)))
    t = g.op("Tanh", g.op("Mul", inner, g.operand(math.sqrt(2 / math.pi), x)))
    half = g.op("Mul", x, g.operand(0.5, x))
    return g.op("Mul", half, g.op("Add", t, g.operand(1.0, x)))


@register(activation.Silu)
def _silu(g: Graph, x: str) -> str:
    return g.op("Mul", x, g.op("Sigmoid", x))


@register(activation.Softplus)
def _softplus(g: Graph, x: str, beta: float, threshold: float) -> str:
    # torch: x where beta x > threshold, else log(1 + exp(beta x)) / beta
    bx = x if beta == 1 else g.op("Mul", x, g.operand(beta, x))
    soft = g.op("Softplus", bx)
    if beta != 1:
        soft = g.op("Div", soft, g.operand(beta, x))
    if math.isinf(threshold):
        return soft
    return g.op("Where", g.op("Greater", bx, g.operand(threshold, x)), x, soft)


def _prelu(g: Graph, x: str, weight: str) -> str:
    return g.op("PRelu", x, g.cast_to_output(weight))


def _hardtanh(g: Graph, x: str, min_val: float, max_val: float) -> str:
    return g.op("Clip", x, g.operand(min_val, x), g.operand(max_val, x))


def _hardsigmoid(g: Graph, x: str) -> str:
    return g.op("HardSigmoid", x, alpha=1 / 6, beta=0.5)  # torch's relu6(x + 3) / 6


def _hardswish(g: Graph, x: str) -> str:
    return g.op("HardSwish", x)


def _mish(g: Graph, x: str) -> str:
    if g.opset >= 18:
        return g.op("Mish", x)
    return g.op("Mul", x, g.op("Tanh", g.op("Softplus", x)))


# NOTE: looked up by name: these activations are newer than the ones above
for _name, _fn in (
    ("PRelu", _prelu),
    ("Hardtanh", _hardtanh),
    ("Hardsigmoid", _hardsigmoid),
    ("Hardswish", _hardswish),
    ("Mish", _mish),
):
    if hasattr(activation, _name):
        REGISTRY[getattr(activation, _name)] = _fn


# ---- nn: layers ----------------------------------------------------------------------------------
@register(linear.Linear)
def _linear(g: Graph, x: str, weight: str, bias: str | None) -> str:
    x, weight, bias = g.cast_to_output(x), g.cast_to_output(weight), g.cast_to_output(bias)
    if len(g.shape(x)) == 2:
        return g.op("Gemm", x, weight, bias, transB=1)
    y = g.op("MatMul", x, g.op("Transpose", weight, perm=[1, 0]))
    return y if bias is None else g.op("Add", y, bias)


@register(conv.ConvNd)
def _conv(
    g: Graph, x: str, weight: str, bias: str | None, stride: Any, pads: Any, dilation: Any, groups: int
) -> str:
    return g.op(
        "Conv",
        x,
        weight,
        bias,
        kernel_shape=list(g.shape(weight)[2:]),
        strides=list(stride),
        pads=[p[0] for p in pads] + [p[1] for p in pads],
        dilations=list(dilation),
        group=int(groups),
    )


@register(conv.ConvTransposeNd)
def _conv_transpose(
    g: Graph,
    x: str,
    weight: str,
    bias: str | None,
    stride: Any,
    pads: Any,
    dilation: Any,
    groups: int,
    out: Any,
) -> str:
    kernel = g.shape(weight)[2:]
    size = g.shape(x)[2:]
    natural = [
        (n - 1) * s - lo - hi + dl * (k - 1) + 1
        for n, s, (lo, hi), dl, k in zip(size, stride, pads, dilation, kernel)
    ]
    return g.op(
        "ConvTranspose",
        x,
        weight,
        bias,
        kernel_shape=list(kernel),
        strides=list(stride),
        pads=[p[0] for p in pads] + [p[1] for p in pads],
        dilations=list(dilation),
        group=int(groups),
        output_padding=[o - n for o, n in zip(out, natural)],
    )


@register(pooling.MaxPoolNd)
def _max_pool(g: Graph, x: str, geometry: Any) -> str:
    kernel, stride, dilation, _, pads = geometry
    return g.op(
        "MaxPool",
        x,
        kernel_shape=list(kernel),
        strides=list(stride),
        dilations=list(dilation),
        pads=[p[0] for p in pads] + [p[1] for p in pads],
    )


@register(pooling.AvgPoolNd)
def _avg_pool(g: Graph, x: str, geometry: Any, divisor: np.ndarray) -> str:
    kernel, stride, _, out, pads = geometry
    size = g.shape(x)[2:]
    padding = tuple(lo for lo, _ in pads)
    floor = [(n + 2 * p - k) // s + 1 for n, p, k, s in zip(size, padding, kernel, stride)]
    ceil = list(out) != floor
    for include in (1, 0):
        # NOTE: pooling._divisor is torch's rule, so the divisor tells which option the model used
        expected = pooling._divisor(size, geometry, padding, bool(include), None)
        if expected.shape == divisor.shape and np.array_equal(expected, divisor):
            return g.op(
                "AveragePool",
                x,
                kernel_shape=list(kernel),
                strides=list(stride),
                pads=list(padding) * 2,
                count_include_pad=include,
                ceil_mode=int(ceil),
            )
    raise RuntimeError("export: avg_pool with divisor_override has no ONNX equivalent")


@register(pooling.AdaptivePool)
def _adaptive_pool(g: Graph, x: str, matrices: Sequence[np.ndarray]) -> str:
    if all(p.shape[0] == 1 for p in matrices):
        return g.op("GlobalAveragePool", x)
    # y = P_1 (... (P_d x)): a product with a constant averaging matrix along each spatial dim
    rank = len(g.shape(x))
    dtype = g.dtype(x)
    y = x
    for k, p in enumerate(matrices):
        axis = rank - len(matrices) + k
        if axis == rank - 1:
            y = g.op("MatMul", y, g.const(p.T, dtype))
        else:
            perm = list(range(rank))
            perm[axis], perm[-1] = perm[-1], perm[axis]
            moved = g.op("Transpose", y, perm=perm)
            y = g.op("Transpose", g.op("MatMul", moved, g.const(p.T, dtype)), perm=perm)
    return y


@register(sparse.Embedding)
def _embedding(g: Graph, weight: str, indices: str, padding_idx: int | None) -> str:
    return g.op("Gather", weight, indices, axis=0)


def _causal_condition(g: Graph, q: str, k: str, allowed: np.ndarray) -> str | None:
    """Key j <= query i, written for any sequence lengths when those follow the dynamic axes."""
    length, source = len(g.shape(q)) - 2, len(g.shape(k)) - 2
    if allowed.shape != (g.shape(q)[length], g.shape(k)[source]) or not np.array_equal(
        allowed, np.tril(np.ones(allowed.shape, bool))
    ):
        return None
    if length not in g.dynamic(q) and source not in g.dynamic(k):
        return g.const(allowed)

    def positions(x: str, axis: int) -> str:
        size = g.op("Squeeze", g.op("Shape", x, start=axis, end=axis + 1), g.ints([0]))
        return g.op("Range", g.const(np.int64(0)), size, g.const(np.int64(1)))

    rows = g.op("Unsqueeze", positions(q, length), g.ints([1]))
    return g.op("GreaterOrEqual", rows, positions(k, source))


@register(attention.ScaledDotProductAttention)
def _scaled_dot_product_attention(
    g: Graph, q: str, k: str, v: str, mask: str | None, *, allowed: Any, scale: float, keep: Any
) -> str:
    if keep is not None:
        raise RuntimeError(
            "export: scaled_dot_product_attention with dropout (dropout_p > 0) has no ONNX form; "
            "pass dropout_p=0 outside training"
        )
    rank = len(g.shape(k))
    perm = [*range(rank - 2), rank - 1, rank - 2]
    scores = g.op("Mul", g.op("MatMul", q, g.op("Transpose", k, perm=perm)), g.operand(scale, q))
    if mask is not None:
        scores = g.op("Add", scores, g.cast_to_output(g.operand(mask, q)))
    condition = None
    if allowed is not None:
        condition = g.value_of(allowed)
        if condition is None:
            condition = _causal_condition(g, q, k, allowed)
        if condition is None:
            condition = g.const(np.asarray(allowed, bool))
        # NOTE: the lowest finite float, not -inf: it weighs 0 all the same, and a row that masks
        # every key is then a uniform row (set to 0 below), not a nan from -inf - (-inf)
        scores = g.op("Where", condition, scores, g.operand(np.finfo(g.dtype(q)).min, q))
    p = g.op("Softmax", scores, axis=-1)
    # a row that masks every key is 0 in neograd (and torch's CPU kernels); ONNX's Softmax gives nan
    # for a float mask of -inf there
    if condition is not None:
        p = g.op("Where", condition, p, g.operand(0.0, q))
    elif mask is not None:
        p = g.op("Where", g.op("IsNaN", p), g.operand(0.0, q), p)
    return g.op("MatMul", p, v)


@register("layer_norm")
def _layer_norm(
    g: Graph, input: str, normalized_shape: Any, weight: str | None, bias: str | None, eps: float
) -> str:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if weight is None:
        weight = g.const(np.ones(shape, g.dtype(input)))
    return g.op("LayerNormalization", input, weight, bias, axis=-len(shape), epsilon=float(eps))


@register("batch_norm")
def _batch_norm(
    g: Graph,
    input: str,
    running_mean: str | None,
    running_var: str | None,
    weight: str | None,
    bias: str | None,
    training: bool,
    momentum: float,
    eps: float,
) -> str:
    if training or running_mean is None or running_var is None:
        raise RuntimeError(
            "export: batch_norm with batch statistics (training=True or no running statistics) is not "
            "supported; export the model in eval mode with running statistics"
        )
    channels = g.shape(input)[1]
    dtype = g.dtype(input)
    weight = weight if weight is not None else g.const(np.ones(channels, dtype))
    bias = bias if bias is not None else g.const(np.zeros(channels, dtype))
    return g.op("BatchNormalization", input, weight, bias, running_mean, running_var, epsilon=float(eps))


# ---- nn: recurrent layers and cells, whole (RNNBase.forward, RNNCell.forward, ...) ---------------
# ONNX's LSTM, GRU and RNN ops run one layer, both directions, over a (T, B, I) sequence.
# Each gate's block of rows, in ONNX's order, as torch's block number: ONNX's LSTM gates are
# i, o, f, c where torch's are i, f, g, o; ONNX's GRU z, r, h where torch's are r, z, n.
_RNN_OPS = {
    "LSTM": ("LSTM", (0, 3, 1, 2)),
    "GRU": ("GRU", (1, 0, 2)),
    "RNN_TANH": ("RNN", (0,)),
    "RNN_RELU": ("RNN", (0,)),
}


def _recurrent_node(
    g: Graph, module: Any, mode: str, suffixes: Sequence[str], x: str, initial: Sequence[str]
) -> list[str]:
    """One ONNX LSTM/GRU/RNN node over x (T, B, I) for the parameters ``weight_ih{suffix}``, ...
    of each direction: the parameters are the initializers, their gate blocks reordered in
    the graph (a Gather), so that they keep their names and torch's layout."""
    op_type, order = _RNN_OPS[mode]
    hidden, directions = module.hidden_size, len(suffixes)
    rows = ""
    if len(order) > 1:
        rows = g.const(np.concatenate([np.arange(b * hidden, (b + 1) * hidden) for b in order]))

    def reordered(t: Any) -> str:
        value = g.parameter(t)
        if len(order) > 1:
            value = g.op("Gather", value, rows, axis=0)
        return g.op("Unsqueeze", value, g.ints([0]))  # ONNX's leading direction dim

    def per_direction(values: list[str]) -> str:
        return values[0] if len(values) == 1 else g.op("Concat", *values, axis=0)

    w, r, b = [], [], []
    for suffix in suffixes:
        w.append(reordered(getattr(module, "weight_ih" + suffix)))
        r.append(reordered(getattr(module, "weight_hh" + suffix)))
        if module.bias:
            biases = [reordered(getattr(module, k + suffix)) for k in ("bias_ih", "bias_hh")]
            b.append(g.op("Concat", *biases, axis=1))  # ONNX's B: [Wb, Rb]
    attrs: dict[str, Any] = {"hidden_size": hidden}
    if directions == 2:
        attrs["direction"] = "bidirectional"
    if op_type == "GRU":
        attrs["linear_before_reset"] = 1  # torch's n = tanh(W_in x + b_in + r (W_hn h + b_hn))
    if op_type == "RNN":
        attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"] * directions
    inputs = [x, per_direction(w), per_direction(r), per_direction(b) if b else None, None, *initial]
    return g.op(op_type, *inputs, outputs=3 if op_type == "LSTM" else 2, **attrs)


@register("rnn")
def _rnn(g: Graph, self: Any, input: Any, hx: Any) -> tuple[str, ...]:
    module, name = self, type(self).__name__
    if not isinstance(input, str):
        raise RuntimeError(
            f"export: {name} on a PackedSequence cannot be exported (ONNX's sequence_lens is not "
            "written); pass the padded (T, B, *) tensor"
        )
    if module.proj_size:
        raise RuntimeError(
            f"export: {name} with proj_size={module.proj_size} has no ONNX form: ONNX's LSTM has no "
            "projection of h (export a model with proj_size=0)"
        )
    hidden, directions = module.hidden_size, 2 if module.bidirectional else 1
    batched = len(g.shape(input)) == 3
    # ONNX's recurrent ops read (T, B, I): the batch goes second (layout=1 is not in onnxruntime)
    x = input
    if not batched:
        x = g.op("Unsqueeze", x, g.ints([1]))
    elif module.batch_first:
        x = g.op("Transpose", x, perm=[1, 0, 2])
    states = [] if hx is None else [hx] if isinstance(hx, str) else list(hx)
    if not batched:
        states = [g.op("Unsqueeze", s, g.ints([1])) for s in states]
    finals: list[list[str]] = [[], []]
    for layer in range(module.num_layers):
        suffixes = [f"_l{layer}", f"_l{layer}_reverse"][:directions]
        initial = [
            s
            if module.num_layers == 1
            else g.op(
                "Slice", s, g.ints([layer * directions]), g.ints([(layer + 1) * directions]), g.ints([0])
            )
            for s in states
        ]
        results = _recurrent_node(g, module, module.mode, suffixes, x, initial)
        # Y (T, D, B, H) -> (T, B, D * H): the directions side by side, as torch
        y = g.op("Transpose", results[0], perm=[0, 2, 1, 3])
        x = g.op("Reshape", y, g.ints([0, 0, directions * hidden]))
        for k, final in enumerate(results[1:]):
            finals[k].append(final)
    if not batched:
        x = g.op("Squeeze", x, g.ints([1]))
    elif module.batch_first:
        x = g.op("Transpose", x, perm=[1, 0, 2])
    out = [x]
    for final in finals[: 2 if module.mode == "LSTM" else 1]:
        state = final[0] if len(final) == 1 else g.op("Concat", *final, axis=0)
        out.append(state if batched else g.op("Squeeze", state, g.ints([1])))
    return tuple(out)


@register("rnn_cell")
def _rnn_cell(g: Graph, self: Any, input: str, hx: Any) -> Any:
    module, name = self, type(self).__name__
    mode = {"LSTMCell": "LSTM", "GRUCell": "GRU"}.get(name)
    if mode is None:
        mode = "RNN_TANH" if getattr(module, "nonlinearity", "tanh") == "tanh" else "RNN_RELU"
    # one step of the layer's op: (B, I) -> (1, B, I), the states (B, H) -> (1, B, H)
    axes = g.ints([0] if len(g.shape(input)) == 2 else [0, 1])
    states = [] if hx is None else [hx] if isinstance(hx, str) else list(hx)
    if any(not isinstance(s, str) for s in states):
        raise RuntimeError(f"export: {name} with a partly given hx {hx!r}: give every state or none")
    results = _recurrent_node(
        g, module, mode, [""], g.op("Unsqueeze", input, axes), [g.op("Unsqueeze", s, axes) for s in states]
    )
    finals = tuple(g.op("Squeeze", f, axes) for f in results[1:])
    return finals if mode == "LSTM" else finals[0]


# ---- comparisons (bool results, no gradient) -----------------------------------------------------
def _comparison(op_type: str, negate: bool = False) -> Callable[..., str]:
    def symbolic(g: Graph, input: Any, other: Any) -> str:
        like = input if isinstance(input, str) else other
        y = g.op(op_type, g.operand(input, like), g.operand(other, like))
        return g.op("Not", y) if negate else y

    return symbolic


for _name, _op in (
    ("eq", "Equal"),
    ("lt", "Less"),
    ("le", "LessOrEqual"),
    ("gt", "Greater"),
    ("ge", "GreaterOrEqual"),
):
    REGISTRY[_name] = _comparison(_op)
REGISTRY["ne"] = _comparison("Equal", negate=True)


def _as_bool(g: Graph, x: Any) -> str:
    if not isinstance(x, str):
        return g.const(np.asarray(x, bool))
    return x if g.dtype(x) == np.bool_ else g.op("Not", g.op("Equal", x, g.operand(0, x)))


def _logical(op_type: str) -> Callable[..., str]:
    def symbolic(g: Graph, input: Any, other: Any) -> str:
        return g.op(op_type, _as_bool(g, input), _as_bool(g, other))

    return symbolic


REGISTRY["logical_and"] = _logical("And")
REGISTRY["logical_or"] = _logical("Or")


@register("logical_not")
def _logical_not(g: Graph, input: Any) -> str:
    return g.op("Not", _as_bool(g, input))


@register("_bitwise")
def _bitwise(g: Graph, op: str, ufunc: Any, operands: Sequence[Any]) -> str:
    like = next(x for x in operands if isinstance(x, str))
    names = [g.operand(x, like) for x in operands]
    logical = g.dtype(like) == np.bool_
    if not logical and g.opset < 18:
        constants = {n.output[0]: n.attribute[0].t for n in g.nodes if n.op_type == "Constant"}
        if all(n in constants for n in names):  # on constants only (index arithmetic): its result
            return g.const(ufunc(*[numpy_helper.to_array(constants[n]) for n in names]))
        raise RuntimeError(f"export: {op} on integer tensors needs opset_version >= 18 (BitwiseNot, ...)")
    op_type = {"~": ("Not", "BitwiseNot"), "&": ("And", "BitwiseAnd"), "|": ("Or", "BitwiseOr")}[op]
    return g.op(op_type[0] if logical else op_type[1], *names)
