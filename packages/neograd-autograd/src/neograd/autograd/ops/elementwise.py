"""Elementwise ops: arithmetic, math functions, activations, comparisons.

Binary ops broadcast as NumPy does; their backward returns gradients of the broadcast
shape and the engine sums each back to its input's shape (``sum_to``).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from neograd.autograd import backend
from neograd.autograd.dtypes import as_dtype, get_default_dtype
from neograd.autograd.function import Function
from neograd.autograd.ops._args import not_a_tensor
from neograd.autograd.tensor import Tensor

__all__ = [
    "add",
    "sub",
    "subtract",
    "mul",
    "multiply",
    "div",
    "divide",
    "true_divide",
    "pow",
    "neg",
    "negative",
    "abs",
    "exp",
    "log",
    "log1p",
    "sqrt",
    "square",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "sign",
    "maximum",
    "minimum",
    "where",
    "masked_fill",
    "clamp",
    "clip",
    "clone",
    "to_dtype",
    "to_device",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "logical_not",
    "logical_and",
    "logical_or",
    "isnan",
    "isinf",
    "isfinite",
]


def _operands(a: Any, b: Any) -> tuple[Any, Any]:
    """Give both operands of a binary op the dtypes torch would compute in.

    NOTE: NumPy computes int (op) float in float64 and, in NumPy 1.x, promotes a 0-d
    float32 array with a Python float to float64; torch keeps the tensor's float dtype.
    Python numbers become NumPy scalars of the tensor's dtype, so both agree.
    """
    da = a.data.dtype if isinstance(a, Tensor) else None
    db = b.data.dtype if isinstance(b, Tensor) else None
    if da is db:
        return a, b
    if da is None:
        return _pair_with(b, a, db)[::-1]
    if db is None:
        return _pair_with(a, b, da)
    if da.kind == "f" and db.kind != "f":
        return a, Tensor._make(b.data.astype(da))
    if db.kind == "f" and da.kind != "f":
        return Tensor._make(a.data.astype(db)), b
    # both floating, or both not: NumPy's promotion is torch's, except that in torch a 0-d
    # tensor does not widen a dimensioned one of its kind (float32 array * float64 0-d is float32)
    if (da.kind == "b") == (db.kind == "b") and (a.data.ndim == 0) != (b.data.ndim == 0):
        return (a, to_dtype(b, da)) if a.data.ndim else (to_dtype(a, db), b)
    return a, b


def _pair_with(t: Tensor, other: Any, dtype: np.dtype) -> tuple[Any, Any]:
    """A tensor and a non-tensor operand (Python number or array)."""
    if isinstance(other, np.generic):  # NumPy scalars (np.int64(2)) count as Python numbers, as in torch
        other = other.item()
    if isinstance(other, (bool, int, float)):
        if dtype.kind == "f":
            return t, dtype.type(other)
        if isinstance(other, float):  # int tensor with a float: the default float dtype
            f = get_default_dtype()
            return Tensor._make(t.data.astype(f)), f.type(other)
        return t, other
    if isinstance(other, np.ndarray) and dtype.kind == "f" and other.dtype.kind != "f":
        return t, other.astype(dtype)
    if not isinstance(other, (np.ndarray, list, tuple)):  # numbers were handled above
        if backend.is_device_array(other):  # a GPU array, as an ndarray above
            return t, other.astype(dtype) if dtype.kind == "f" and other.dtype.kind != "f" else other
        raise TypeError(f"unsupported operand of type {type(other).__name__} for a tensor operation")
    return t, other


def _floating(input: Any, op: str) -> Any:
    """An integer or bool tensor as the default float dtype: torch computes exp(int) etc. in float32."""
    if not isinstance(input, Tensor):
        raise not_a_tensor(op, input)
    if input.data.dtype.kind != "f":
        return Tensor._make(input.data.astype(get_default_dtype()))
    return input


class Add(Function):
    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        return grad_output, grad_output


def add(input: Any, other: Any, *, alpha: float = 1) -> Tensor:
    """input + alpha * other, with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return Add.apply(*_operands(input, other))


class Sub(Function):
    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        return grad_output, -grad_output


def sub(input: Any, other: Any, *, alpha: float = 1) -> Tensor:
    """input - alpha * other, with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return Sub.apply(*_operands(input, other))


subtract = sub


class Mul(Function):
    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad_output * b if need_a else None), (grad_output * a if need_b else None)


def mul(input: Any, other: Any) -> Tensor:
    """input * other, elementwise with broadcasting."""
    return Mul.apply(*_operands(input, other))


multiply = mul


class Div(Function):
    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        need_a, need_b = ctx.needs_input_grad
        return (grad_output / b if need_a else None), (-grad_output * a / (b * b) if need_b else None)


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """input / other (true division; integers divide to the default float dtype)."""
    if rounding_mode is not None:
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
        a = input.data if isinstance(input, Tensor) else input
        b = other.data if isinstance(other, Tensor) else other
        q = np.floor_divide(a, b) if rounding_mode == "floor" else np.trunc(np.true_divide(a, b))
        return Tensor._make(backend.asarray(q).astype(np.result_type(a, b), copy=False))
    a, b = _operands(input, other)
    ka = a.data.dtype.kind if isinstance(a, Tensor) else np.asarray(a).dtype.kind
    kb = b.data.dtype.kind if isinstance(b, Tensor) else np.asarray(b).dtype.kind
    if ka != "f" and kb != "f":  # int / int: torch divides in the default float dtype
        a, b = to_dtype(Tensor(a), get_default_dtype()), to_dtype(Tensor(b), get_default_dtype())
    return Div.apply(a, b)


divide = true_divide = div


class Pow(Function):
    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if need_a:  # d(a^b)/da = b a^(b-1)
            grad_a = grad_output * b * a ** (b - 1)
            if (b == 0).any():  # torch: 0 where b == 0, also at a == 0 (not 0 * 0^-1 = nan)
                grad_a = Where.apply(b == 0, 0.0, grad_a)
        if need_b:  # d(a^b)/db = a^b log(a); torch takes it as 0 where a == 0 and b >= 0
            # NOTE: b (a Tensor under create_graph) on the left: a may be a number, and
            # NumPy bool & Tensor has no reflected form to fall back on
            grad_b = Where.apply((b >= 0) & (a == 0), 0.0, grad_output * out * Log.apply(a))
        return grad_a, grad_b


def pow(input: Any, exponent: Any) -> Tensor:
    """input ** exponent, elementwise (either may be a number)."""
    return Pow.apply(*_operands(input, exponent))


class Neg(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        return -x

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return -grad_output


def neg(input: Tensor) -> Tensor:
    """-input."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("neg", input)
    return Neg.apply(input)


negative = neg


def _sign(x: np.ndarray) -> np.ndarray:
    """-1, 0 or 1, and 0 for NaN as torch.sign (NumPy's sign(nan) is nan)."""
    if x.dtype.kind != "f":
        return np.sign(x)
    s = np.sign(x, out=np.empty_like(x))  # out=: an array even for 0-d x
    s[np.isnan(s)] = 0
    return s


class Abs(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.sign = _sign(x)  # the gradient at 0 (and NaN) is 0, as in torch
        return np.abs(x)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return grad_output * ctx.sign


def abs(input: Tensor) -> Tensor:
    """|input|."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("abs", input)
    return Abs.apply(input)


class Exp(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (y,) = ctx.saved_tensors  # d(e^x)/dx = e^x
        return grad_output * y


def exp(input: Tensor) -> Tensor:
    """e ** input."""
    return Exp.apply(_floating(input, "exp"))


class Log(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (x,) = ctx.saved_tensors
        return grad_output / x


def log(input: Tensor) -> Tensor:
    """Natural logarithm."""
    return Log.apply(_floating(input, "log"))


class Log1p(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (x,) = ctx.saved_tensors
        return grad_output / (1 + x)


def log1p(input: Tensor) -> Tensor:
    """log(1 + input), accurate for small inputs."""
    return Log1p.apply(_floating(input, "log1p"))


class Sqrt(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (y,) = ctx.saved_tensors  # d(sqrt x)/dx = 1 / (2 sqrt x)
        return grad_output / (2 * y)


def sqrt(input: Tensor) -> Tensor:
    """Square root."""
    return Sqrt.apply(_floating(input, "sqrt"))


def square(input: Tensor) -> Tensor:
    """input * input."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("square", input)
    return mul(input, input)


class Sin(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (x,) = ctx.saved_tensors
        return grad_output * Cos.apply(x)


def sin(input: Tensor) -> Tensor:
    """Sine."""
    return Sin.apply(_floating(input, "sin"))


class Cos(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (x,) = ctx.saved_tensors
        return -grad_output * Sin.apply(x)


def cos(input: Tensor) -> Tensor:
    """Cosine."""
    return Cos.apply(_floating(input, "cos"))


class Tanh(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (y,) = ctx.saved_tensors  # d(tanh x)/dx = 1 - tanh(x)^2
        return grad_output * (1 - y * y)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return Tanh.apply(_floating(input, "tanh"))


class Sigmoid(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        # NOTE: 1 / (1 + e^-x) overflows for large negative x; this form cannot
        # NOTE: a typed 0.5, as NumPy 1.x computes a 0-d float32 with a Python float in float64
        half = x.dtype.type(0.5)
        y = np.tanh(x * half)  # sigmoid(x) = tanh(x / 2) / 2 + 1 / 2
        y *= half
        y += half
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (y,) = ctx.saved_tensors  # d(sigmoid x)/dx = sigmoid(x) (1 - sigmoid(x))
        return grad_output * y * (1 - y)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e^-input)."""
    return Sigmoid.apply(_floating(input, "sigmoid"))


class Relu(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        y = np.maximum(x, _zero_like(x))
        # NOTE: the output, not a mask: the next op (a Linear) keeps it anyway, so this costs
        # no memory, where a mask would be one more array per layer
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (y,) = ctx.saved_tensors
        # the gradient at 0 is 0, as in torch; at NaN it is 0 too, where torch passes it through
        return grad_output * (y > _zero_like(y))


_ZEROS_MAX = 1 << 15  # elements: the cache below holds at most 8 x 128 KiB of float32


def _zero_like(x: Any) -> Any:
    """A zero to compare ``x`` with: for a small C-ordered NumPy array, cached zeros of its shape.

    NOTE: NumPy's maximum (or comparison) of an array and a scalar takes a loop about twice as
    slow as that of two contiguous arrays (3.6 against 2.0 us for maximum on 750 x 10 float32,
    2.0 against 1.1 for >, numpy 2.4); other layouts keep the scalar (an array of another
    layout would change the result's), and so do GPU arrays.
    """
    if isinstance(x, np.ndarray) and x.size <= _ZEROS_MAX and x.flags.c_contiguous:
        return _zeros(x.shape, x.dtype)
    return x.dtype.type(0)  # typed zero: see Sigmoid


@functools.lru_cache(maxsize=8)
def _zeros(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Zeros of a small shape, read-only and cached (for Relu.forward)."""
    zeros = np.zeros(shape, dtype)
    zeros.flags.writeable = False
    return zeros


def relu(input: Tensor) -> Tensor:
    """max(input, 0)."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("relu", input)
    return Relu.apply(input)


class Sign(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        return _sign(x)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return grad_output * 0


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element (its gradient is zero)."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("sign", input)
    return Sign.apply(input)


class Maximum(Function):
    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.maximum(a, b)
        # a's share of the gradient: 1 where a wins, 1/2 at ties (as torch), 0 where b wins
        ctx.share = np.where(a == b, 0.5, a > b).astype(out.dtype, copy=False)
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        return grad_output * ctx.share, grad_output * (1 - ctx.share)


def maximum(input: Any, other: Any) -> Tensor:
    """The elementwise maximum; at ties each input receives half the gradient."""
    return Maximum.apply(*_operands(input, other))


class Minimum(Function):
    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.minimum(a, b)
        ctx.share = np.where(a == b, 0.5, a < b).astype(out.dtype, copy=False)
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        return grad_output * ctx.share, grad_output * (1 - ctx.share)


def minimum(input: Any, other: Any) -> Tensor:
    """The elementwise minimum; at ties each input receives half the gradient."""
    return Minimum.apply(*_operands(input, other))


class Where(Function):
    @staticmethod
    def forward(ctx: Any, condition: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.condition = condition
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any, Any]:
        c = ctx.condition
        return None, Where.apply(c, grad_output, 0.0), Where.apply(c, 0.0, grad_output)


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` is true, else ``other`` (with broadcasting)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    a, b = _operands(input, other)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(a)
    return Where.apply(cond, a, b)


def masked_fill(input: Tensor, mask: Any, value: Any) -> Tensor:
    """``input`` with ``value`` wherever ``mask`` is true."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("masked_fill", input)
    return where(mask, value, input)


class Clamp(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, min: Any, max: Any) -> np.ndarray:
        inside = np.ones_like(x, dtype=bool)
        if min is not None:
            inside &= x >= min
        if max is not None:
            inside &= x <= max
        ctx.inside = inside  # the gradient passes where min <= x <= max, as in torch
        return np.clip(x, min, max).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, None, None]:
        return grad_output * ctx.inside, None, None


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit values to [min, max] (either bound may be None)."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("clamp", input)
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    bounds = []
    for name, bound in (("min", min), ("max", max)):
        if isinstance(bound, Tensor):
            if bound.requires_grad:
                raise NotImplementedError(
                    f"clamp: a {name} that requires grad is not supported; use maximum/minimum"
                )
            bound = bound.data
        bounds.append(bound)
    if any(np.result_type(b).kind == "f" for b in bounds if b is not None):
        input = _floating(input, "clamp")  # an int tensor clamped to float bounds becomes float, as in torch
    return Clamp.apply(input, *bounds)


clip = clamp


class Clone(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        return x.copy()

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return grad_output


def clone(input: Tensor) -> Tensor:
    """A copy that stays in the graph."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("clone", input)
    return Clone.apply(input)


class ToDtype(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return grad_output  # the engine casts it back to the input's dtype


def to_dtype(input: Tensor, dtype: Any) -> Tensor:
    """``input`` converted to ``dtype`` (the same tensor if it already has it)."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("to_dtype", input)
    d = as_dtype(dtype)
    if input.data.dtype == d:
        return input
    return ToDtype.apply(input, dtype=d)


class ToDevice(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, device: backend.device) -> np.ndarray:
        ctx.source = backend.device_of(x)
        return backend.to_device(x, device)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, None]:
        return ToDevice.apply(grad_output, ctx.source), None  # the gradient goes back where the input was


def to_device(input: Tensor, device: Any) -> Tensor:
    """``input`` on ``device`` (the same tensor if it is there already); gradients flow back across."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("to_device", input)
    dev = backend.as_device(device)
    if dev.type == "cpu" and type(input.data) is np.ndarray:
        return input
    if dev.type == "cuda":
        dev = backend._resolve(dev)
        if input.device == dev:
            return input
    return ToDevice.apply(input, dev)


# torch's names of NumPy's comparisons, for error messages
_COMPARISONS = {
    "equal": "eq",
    "not_equal": "ne",
    "less": "lt",
    "less_equal": "le",
    "greater": "gt",
    "greater_equal": "ge",
}


def _compare(ufunc: np.ufunc, input: Any, other: Any) -> Tensor:
    for x in (input, other):
        if not isinstance(x, (Tensor, np.ndarray, np.generic, bool, int, float)):
            name = _COMPARISONS.get(ufunc.__name__, ufunc.__name__)
            raise TypeError(f"{name}: expected Tensors or numbers, got {type(x).__name__}")
    a = input.data if isinstance(input, Tensor) else input
    b = other.data if isinstance(other, Tensor) else other
    return Tensor._make(backend.asarray(ufunc(a, b)))


def eq(input: Any, other: Any) -> Tensor:
    """input == other, elementwise, as a bool tensor (no gradient)."""
    return _compare(np.equal, input, other)


def ne(input: Any, other: Any) -> Tensor:
    """input != other, elementwise, as a bool tensor (no gradient)."""
    return _compare(np.not_equal, input, other)


def lt(input: Any, other: Any) -> Tensor:
    """input < other, elementwise, as a bool tensor (no gradient)."""
    return _compare(np.less, input, other)


def le(input: Any, other: Any) -> Tensor:
    """input <= other, elementwise, as a bool tensor (no gradient)."""
    return _compare(np.less_equal, input, other)


def gt(input: Any, other: Any) -> Tensor:
    """input > other, elementwise, as a bool tensor (no gradient)."""
    return _compare(np.greater, input, other)


def ge(input: Any, other: Any) -> Tensor:
    """input >= other, elementwise, as a bool tensor (no gradient)."""
    return _compare(np.greater_equal, input, other)


def logical_and(input: Any, other: Any) -> Tensor:
    """input and other (nonzero is true), elementwise, as a bool tensor."""
    return _compare(np.logical_and, input, other)


def logical_or(input: Any, other: Any) -> Tensor:
    """input or other (nonzero is true), elementwise, as a bool tensor."""
    return _compare(np.logical_or, input, other)


def logical_not(input: Tensor) -> Tensor:
    """not input (zero is false), elementwise, as a bool tensor."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("logical_not", input)
    return Tensor._make(np.logical_not(input.data))


def isnan(input: Tensor) -> Tensor:
    """Where input is NaN, as a bool tensor."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("isnan", input)
    return Tensor._make(np.isnan(input.data))


def isinf(input: Tensor) -> Tensor:
    """Where input is +inf or -inf, as a bool tensor."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("isinf", input)
    return Tensor._make(np.isinf(input.data))


def isfinite(input: Tensor) -> Tensor:
    """Where input is neither NaN nor infinite, as a bool tensor."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("isfinite", input)
    return Tensor._make(np.isfinite(input.data))
