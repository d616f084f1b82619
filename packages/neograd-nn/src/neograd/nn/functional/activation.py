"""Activation functions, as torch.nn.functional.

relu, sigmoid, tanh, softmax and log_softmax are the core's ops; the others are defined
here. Their backward formulas are written with operators and the core's Functions, so
they work on arrays and, under ``create_graph=True``, on tensors: gradients of any order.
``inplace=True`` is accepted for torch compatibility; the result is always a new tensor.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neograd.autograd import Function, Tensor
from neograd.autograd import log_softmax as _log_softmax
from neograd.autograd import softmax as _softmax
from neograd.autograd.ops.elementwise import Exp, Relu, Sigmoid, Tanh, Where

__all__ = [
    "relu",
    "leaky_relu",
    "elu",
    "gelu",
    "silu",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "softplus",
    "prelu",
    "hardtanh",
    "relu6",
    "hardsigmoid",
    "hardswish",
    "mish",
]

_INV_SQRT_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _check(op: str, input: Any) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(input).__name__}")
    if input.data.dtype.kind != "f":  # (is_floating_point(), without the call: this runs per layer)
        raise TypeError(f"{op}: expected a floating tensor, got dtype {input.dtype}")


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0), elementwise; its gradient is 1 where x > 0 and 0 elsewhere.

    Example:
        >>> relu(tensor([-1.0, 0.0, 2.0]))
        tensor([0., 0., 2.])
    """
    _check("relu", input)
    return Relu.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e^-x)."""
    _check("sigmoid", input)
    return Sigmoid.apply(input)


def tanh(input: Tensor) -> Tensor:
    """The hyperbolic tangent."""
    _check("tanh", input)
    return Tanh.apply(input)


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``dim`` (computed in ``dtype`` if given)."""
    _check("softmax", input)
    return _softmax(input if dtype is None else input.to(dtype), dim)


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """x_i - log(sum_j exp(x_j)) along ``dim``: the log of softmax, without overflow."""
    _check("log_softmax", input)
    return _log_softmax(input if dtype is None else input.to(dtype), dim)


class LeakyRelu(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, *, negative_slope: float) -> np.ndarray:
        ctx.slope = np.where(x > 0, 1, negative_slope).astype(x.dtype)  # the slope at 0 is negative_slope
        return x * ctx.slope

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return grad_output * ctx.slope


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x."""
    _check("leaky_relu", input)
    return LeakyRelu.apply(input, negative_slope=negative_slope)


class Elu(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, *, alpha: float) -> np.ndarray:
        ctx.positive, ctx.alpha = x > 0, alpha
        y = np.where(ctx.positive, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (y,) = ctx.saved_tensors  # for x <= 0: d(alpha (e^x - 1))/dx = alpha e^x = y + alpha
        return grad_output * Where.apply(ctx.positive, 1.0, y + ctx.alpha)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha * (e^x - 1)."""
    _check("elu", input)
    return Elu.apply(input, alpha=alpha)


# Numerical Recipes' Chebyshev fit of erfc (``erfcc``), highest degree first (see _normal_cdf)
_ERFC_COEFFS = (
    0.17087277,
    -0.82215223,
    1.48851587,
    -1.13520398,
    0.27886807,
    -0.18628806,
    0.09678418,
    0.37409196,
    1.00002368,
    -1.26551223,
)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) = erfc(-x / sqrt 2) / 2, to a relative error below 1.2e-7 for every x, in x's dtype.

    With z = |x| / sqrt 2 and t = 1 / (1 + z/2): erfc(z) = t exp(P(t) - z^2), P of degree 9
    (Numerical Recipes' ``erfcc``); Phi(x) = erfc(z) / 2 for x <= 0 and 1 - erfc(z) / 2 for x > 0.
    """
    # NOTE: three arrays, every step written into one of them (out=), instead of ~15
    # temporaries (and out= keeps a 0-d input's results arrays, not NumPy scalars). The sign
    # is mixed in by arithmetic, Phi = |[x > 0] - h| with h = erfc(z) / 2 <= 1/2: np.where
    # on a mask of random signs is many times slower
    z, t, p = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    np.abs(x, out=z)
    z *= _INV_SQRT_2
    np.multiply(z, 0.5, out=t)
    t += 1
    np.divide(1, t, out=t)  # NOTE: twice as fast as np.reciprocal on float32
    np.multiply(t, _ERFC_COEFFS[0], out=p)
    p += _ERFC_COEFFS[1]
    for c in _ERFC_COEFFS[2:]:
        p *= t
        p += c
    z *= z
    p -= z
    np.exp(p, out=p)
    p *= t
    p *= 0.5  # h
    np.subtract(x > 0, p, out=p)
    return np.abs(p, out=p)


# Abramowitz and Stegun 7.1.26: erfc(z) ~ t (a1 + a2 t + ... + a5 t^4) exp(-z^2), t = 1 / (1 + p z),
# z >= 0, absolute error below 1.5e-7; the a's halved here, so the polynomial gives erfc(z) / 2
_AS_P = 0.3275911
_AS_HALF_COEFFS = (1.061405429 / 2, -1.453152027 / 2, 1.421413741 / 2, -0.284496736 / 2, 0.254829592 / 2)


def _normal_cdf_float32(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Phi(x), exp(-x^2 / 2)) for float32 x, Phi to an absolute error below 3e-7.

    float32 needs no more than that (torch's own float32 gelu, 0.5 (1 + erf), is only
    accurate to absolute errors), and A&S's five-term form takes ~12 NumPy passes fewer
    than _normal_cdf's nine terms. Its factor exp(-x^2 / 2) is the density up to
    1/sqrt(2 pi): returned, so that gelu's backward does not compute it again.
    """
    t, q, gauss = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    np.abs(x, out=t)
    t *= _AS_P * _INV_SQRT_2  # z = |x| / sqrt 2
    t += 1
    np.divide(1, t, out=t)
    np.multiply(t, _AS_HALF_COEFFS[0], out=q)
    for c in _AS_HALF_COEFFS[1:]:
        q += c
        q *= t
    np.multiply(x, x, out=gauss)
    gauss *= -0.5
    np.exp(gauss, out=gauss)
    q *= gauss  # h = erfc(|x| / sqrt 2) / 2, and Phi = |[x > 0] - h| as in _normal_cdf
    np.subtract(x > 0, q, out=q)
    return np.abs(q, out=q), gauss


class NormalCdf(Function):
    """Phi(x) = P(N(0, 1) <= x) = erfc(-x / sqrt 2) / 2; its derivative is the density phi(x)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return _normal_cdf(x)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (x,) = ctx.saved_tensors
        return grad_output * Exp.apply(x * x * -0.5) * _INV_SQRT_2PI


class Gelu(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        # kept: the backward needs Phi(x) again, and exp(-x^2 / 2) where it came for free
        if x.dtype == np.float32:
            ctx.cdf, ctx.gauss = _normal_cdf_float32(x)
        else:
            ctx.cdf, ctx.gauss = _normal_cdf(x), None
        return x * ctx.cdf

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (x,) = ctx.saved_tensors  # d(x Phi(x))/dx = Phi(x) + x phi(x)
        if isinstance(grad_output, Tensor):  # create_graph: built from Functions, differentiable again
            pdf = Exp.apply(x * x * -0.5) * _INV_SQRT_2PI
            return grad_output * (NormalCdf.apply(x) + x * pdf)
        # NOTE: plain NumPy in place (out=), and Phi(x) from the forward pass
        if ctx.gauss is not None:
            grad = np.multiply(ctx.gauss, x, out=np.empty_like(x))
        else:
            grad = np.multiply(x, x, out=np.empty_like(x))
            grad *= -0.5
            np.exp(grad, out=grad)
            grad *= x
        grad *= _INV_SQRT_2PI
        grad += ctx.cdf
        grad *= grad_output
        return grad


class GeluTanh(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        y = 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        # y = x (1 + t) / 2 with t = tanh(u), u = c (x + k x^3):
        # dy/dx = (1 + t) / 2 + x (1 - t^2) c (1 + 3 k x^2) / 2
        (x,) = ctx.saved_tensors
        x2 = x * x
        t = Tanh.apply((x + 0.044715 * x2 * x) * _SQRT_2_OVER_PI)
        return grad_output * (0.5 * (1 + t) + 0.5 * _SQRT_2_OVER_PI * x * (1 - t * t) * (1 + 0.134145 * x2))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x), Phi the standard normal CDF; ``approximate="tanh"`` uses
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    The exact form computes Phi from erfc to a relative error below 1.2e-7 (float32's
    rounding), not to float64 precision; on float32 tensors to an absolute error below
    3e-7, as torch's float32 gelu, with fewer NumPy passes.
    """
    _check("gelu", input)
    if approximate == "none":
        return Gelu.apply(input)
    if approximate == "tanh":
        return GeluTanh.apply(input)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


class Silu(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return x * Sigmoid.apply(x)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (x,) = ctx.saved_tensors  # d(x s(x))/dx = s (1 + x (1 - s))
        s = Sigmoid.apply(x)
        return grad_output * s * (1 + x * (1 - s))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    _check("silu", input)
    return Silu.apply(input)


class Softplus(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, *, beta: float, threshold: float) -> np.ndarray:
        ctx.linear, ctx.beta = x * beta > threshold, beta
        ctx.save_for_backward(x)
        # NOTE: logaddexp(0, bx) = log(1 + e^bx) without overflow for large bx
        return np.where(ctx.linear, x, np.logaddexp(0, beta * x) / beta).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (x,) = ctx.saved_tensors  # d(log(1 + e^bx) / b)/dx = sigmoid(bx)
        return grad_output * Where.apply(ctx.linear, 1.0, Sigmoid.apply(x * ctx.beta))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (for accuracy)."""
    _check("softplus", input)
    return Softplus.apply(input, beta=beta, threshold=threshold)


class PRelu(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        ctx.positive = x > 0
        ctx.save_for_backward(x, weight)
        return np.where(ctx.positive, x, weight * x)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        # dy/dx = 1 where x > 0, else weight; dy/dweight = 0 where x > 0, else x
        # (the engine sums the weight's gradient over the dims it was broadcast along)
        x, weight = ctx.saved_tensors
        return grad_output * Where.apply(ctx.positive, 1.0, weight), grad_output * Where.apply(
            ctx.positive, 0.0, x
        )


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight * x, with a learned slope per channel (dim 1) or one shared slope.

    Args:
        input: (N, C, *) or any shape when ``weight`` has one element; an input with
            fewer than 2 dims has one channel.
        weight: (C,) slopes, or one element shared by every channel.

    Example:
        >>> prelu(tensor([-2.0, 3.0]), tensor([0.25]))
        tensor([-0.5000,  3.0000])
    """
    _check("prelu", input)
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu: weight must be a Tensor, got {type(weight).__name__}")
    if weight.numel() == 1:
        return PRelu.apply(input, weight.reshape(()))
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.ndim != 1 or weight.shape[0] != channels:
        raise RuntimeError(
            f"prelu: mismatch of parameter numbers and input channel size: weight of shape {weight.shape} "
            f"for input of shape {input.shape} (channel size {channels}, dim 1)"
        )
    return PRelu.apply(input, weight.reshape((1, channels) + (1,) * (input.ndim - 2)))


class Hardtanh(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, *, min_val: float, max_val: float) -> np.ndarray:
        # NOTE: as torch, the gradient is 0 at the bounds themselves, not only beyond them
        ctx.inside = (x > min_val) & (x < max_val)
        return np.clip(x, min_val, max_val).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return grad_output * ctx.inside


def _check_number(op: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__}")


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """min(max(x, min_val), max_val); the gradient is 1 strictly between the bounds, else 0.

    Example:
        >>> hardtanh(tensor([-3.0, 0.5, 3.0]))
        tensor([-1.0000,  0.5000,  1.0000])
    """
    _check("hardtanh", input)
    _check_number("hardtanh", "min_val", min_val)
    _check_number("hardtanh", "max_val", max_val)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return Hardtanh.apply(input, min_val=min_val, max_val=max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6): hardtanh between 0 and 6."""
    _check("relu6", input)
    return Hardtanh.apply(input, min_val=0.0, max_val=6.0)


class Hardsigmoid(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.inside = (x > -3) & (x < 3)
        return (np.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return grad_output * (ctx.inside / 6)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between."""
    _check("hardsigmoid", input)
    return Hardsigmoid.apply(input)


class Hardswish(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.below, ctx.above = x <= -3, x >= 3
        ctx.save_for_backward(x)
        return (x * np.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        # d(x (x + 3) / 6)/dx = x / 3 + 1/2 inside (-3, 3), 0 below, 1 above (at -3: 0, at 3: 1, as torch)
        (x,) = ctx.saved_tensors
        return grad_output * Where.apply(ctx.below, 0.0, Where.apply(ctx.above, 1.0, x / 3 + 0.5))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6: 0 below -3, x above 3, x (x + 3) / 6 between."""
    _check("hardswish", input)
    return Hardswish.apply(input)


class Mish(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        # NOTE: logaddexp(0, x) = log(1 + e^x) without overflow for large x
        return (x * np.tanh(np.logaddexp(0, x))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        # with t = tanh(softplus(x)): d(x t)/dx = t + x (1 - t^2) sigmoid(x), as softplus' = sigmoid
        (x,) = ctx.saved_tensors
        t = Tanh.apply(Softplus.apply(x, beta=1.0, threshold=20.0))
        return grad_output * (t + x * (1 - t * t) * Sigmoid.apply(x))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)), a smooth, non-monotonic activation.

    Example:
        >>> mish(tensor([0.0, 1.0]))
        tensor([0.0000, 0.8651])
    """
    _check("mish", input)
    return Mish.apply(input)
