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
from neograd.autograd import relu as _relu
from neograd.autograd import sigmoid as _sigmoid
from neograd.autograd import softmax as _softmax
from neograd.autograd import tanh as _tanh
from neograd.autograd.ops.elementwise import Exp, Sigmoid, Tanh, Where

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
]

_INV_SQRT_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _check(op: str, input: Any) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(input).__name__}")
    if not input.is_floating_point():
        raise TypeError(f"{op}: expected a floating tensor, got dtype {input.dtype}")


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0), elementwise; its gradient is 1 where x > 0 and 0 elsewhere.

    Example:
        >>> relu(tensor([-1.0, 0.0, 2.0]))
        tensor([0., 0., 2.])
    """
    _check("relu", input)
    return _relu(input)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e^-x)."""
    _check("sigmoid", input)
    return _sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """The hyperbolic tangent."""
    _check("tanh", input)
    return _tanh(input)


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


def _erfc(x: np.ndarray) -> np.ndarray:
    """The complementary error function, to a relative error below 1.2e-7 for every x.

    Chebyshev fit of Numerical Recipes (``erfcc``): erfc(z) = t exp(-z^2 + P(t)) with
    t = 1 / (1 + z/2) for z = |x| >= 0, and erfc(-z) = 2 - erfc(z).
    """
    z = np.abs(x)
    t = 1 / (1 + 0.5 * z)
    p = 0.17087277
    for c in (-0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196):
        p = c + t * p
    p = -1.26551223 + t * (1.00002368 + t * p)
    r = t * np.exp(p - z * z)
    return np.where(x >= 0, r, 2 - r).astype(x.dtype, copy=False)


class NormalCdf(Function):
    """Phi(x) = P(N(0, 1) <= x) = erfc(-x / sqrt 2) / 2; its derivative is the density phi(x)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return (0.5 * _erfc(-_INV_SQRT_2 * x)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (x,) = ctx.saved_tensors
        return grad_output * Exp.apply(x * x * -0.5) * _INV_SQRT_2PI


class Gelu(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return (x * NormalCdf.apply(x)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (x,) = ctx.saved_tensors  # d(x Phi(x))/dx = Phi(x) + x phi(x)
        pdf = Exp.apply(x * x * -0.5) * _INV_SQRT_2PI
        return grad_output * (NormalCdf.apply(x) + x * pdf)


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
    rounding), not to float64 precision.
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
