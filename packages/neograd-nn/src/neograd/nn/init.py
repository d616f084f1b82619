"""neograd.nn.init: fill a tensor in place with initial values, as torch.nn.init.

Each function changes the tensor's values under ``no_grad`` (so it works on parameters)
and returns the tensor. Randomness comes from neograd's generator (``manual_seed``) or
the ``generator`` given.

Example:
    >>> w = Parameter(empty(10, 2))
    >>> kaiming_normal_(w, nonlinearity="relu")   # std = sqrt(2 / fan_in)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neograd.autograd import Tensor, no_grad
from neograd.autograd.random import default_generator

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "constant_",
    "zeros_",
    "ones_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for an activation: 1 (linear, sigmoid), 5/3 (tanh), sqrt(2) (relu), ...

    Args:
        nonlinearity: the name of the activation, as torch.nn.init.calculate_gain.
        param: the negative slope for ``"leaky_relu"`` (default 0.01).
    """
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _check_tensor(op: str, tensor: Any) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(tensor).__name__}")


def _fill(op: str, tensor: Tensor, values: Any) -> Tensor:
    _check_tensor(op, tensor)
    with no_grad():
        tensor.copy_(values)
    return tensor


def _fans(op: str, tensor: Tensor) -> tuple[int, int]:
    """fan_in and fan_out of a weight of shape (out, in, *kernel), as torch computes them."""
    _check_tensor(op, tensor)
    if tensor.ndim < 2:
        raise ValueError(
            f"{op}: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions, "
            f"got shape {tensor.shape}"
        )
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _generator(generator: np.random.Generator | None) -> np.random.Generator:
    return default_generator if generator is None else generator


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: np.random.Generator | None = None
) -> Tensor:
    """Fill with values drawn from U(a, b)."""
    _check_tensor("uniform_", tensor)
    if not a <= b:
        raise ValueError(f"uniform_: expects a <= b (the range [a, b)), got a={a}, b={b}")
    return _fill("uniform_", tensor, _generator(generator).uniform(a, b, tensor.shape))


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: np.random.Generator | None = None
) -> Tensor:
    """Fill with values drawn from N(mean, std^2)."""
    _check_tensor("normal_", tensor)
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _fill("normal_", tensor, _generator(generator).normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _fill("constant_", tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros."""
    return _fill("zeros_", tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones."""
    return _fill("ones_", tensor, 1)


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None
) -> Tensor:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans("xavier_uniform_", tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill("xavier_uniform_", tensor, _generator(generator).uniform(-a, a, tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans("xavier_normal_", tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill("xavier_normal_", tensor, _generator(generator).normal(0.0, std, tensor.shape))


def _kaiming_std(op: str, tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(op, tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        raise ValueError(f"{op}: cannot initialise a tensor of shape {tensor.shape} with zero {mode}")
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: np.random.Generator | None = None,
) -> Tensor:
    """He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan).

    Args:
        tensor: a weight of shape (out, in, *kernel).
        a: the negative slope of the leaky_relu that follows (gain sqrt(2 / (1 + a^2))).
        mode: ``"fan_in"`` keeps the forward variance, ``"fan_out"`` the backward one.
        nonlinearity: ``"relu"`` or ``"leaky_relu"`` (the gain's activation, see calculate_gain).
    """
    bound = math.sqrt(3.0) * _kaiming_std("kaiming_uniform_", tensor, a, mode, nonlinearity)
    return _fill("kaiming_uniform_", tensor, _generator(generator).uniform(-bound, bound, tensor.shape))


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: np.random.Generator | None = None,
) -> Tensor:
    """He normal: N(0, std^2) with std = gain / sqrt(fan); with relu, std = sqrt(2 / fan_in)."""
    std = _kaiming_std("kaiming_normal_", tensor, a, mode, nonlinearity)
    return _fill("kaiming_normal_", tensor, _generator(generator).normal(0.0, std, tensor.shape))


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix times ``gain`` (tensors of 2+ dims are flattened to rows).

    The QR decomposition of a Gaussian matrix, with signs fixed so that the result is
    uniformly distributed (Saxe et al. 2013).
    """
    _check_tensor("orthogonal_", tensor)
    if tensor.ndim < 2:
        raise ValueError(
            f"orthogonal_: only tensors with 2 or more dimensions are supported, got {tensor.shape}"
        )
    rows = tensor.shape[0]
    cols = tensor.data.size // rows if rows else 0
    if rows == 0 or cols == 0:
        return tensor
    flat = _generator(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill("orthogonal_", tensor, gain * q.reshape(tensor.shape))
