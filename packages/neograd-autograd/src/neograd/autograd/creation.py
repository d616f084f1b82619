"""Functions that create tensors: constants, ranges and random values."""

from __future__ import annotations

from typing import Any

import numpy as np

from neograd.autograd import backend
from neograd.autograd.dtypes import as_dtype, get_default_dtype
from neograd.autograd.ops._args import is_int, shape_arg
from neograd.autograd.random import default_generator, device_generator
from neograd.autograd.tensor import Tensor

__all__ = [
    "zeros",
    "ones",
    "full",
    "empty",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "rand",
    "randn",
    "rand_like",
    "randn_like",
    "randint",
    "randint_like",
    "randperm",
    "multinomial",
    "arange",
    "linspace",
    "eye",
]


def _new(op: str, array: np.ndarray, requires_grad: bool) -> Tensor:
    if requires_grad and array.dtype.kind != "f":
        raise TypeError(f"{op}: only floating dtypes can require grad, got dtype={array.dtype}")
    return Tensor._make(array, bool(requires_grad))


def _generator(generator: Any, device: Any) -> Any:
    """The generator to draw from: the one given, else the CPU's or the GPU's default one."""
    return device_generator(device) if generator is None else generator


def _float_dtype(dtype: Any) -> np.dtype:
    return get_default_dtype() if dtype is None else as_dtype(dtype)


def _random_dtype(op: str, dtype: Any) -> np.dtype:
    d = _float_dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"{op}: random values need a floating dtype, got {d}")
    return d


def _size(op: str, size: tuple[Any, ...]) -> tuple[int, ...]:
    shape = shape_arg(op, size)
    if any(n < 0 for n in shape):
        raise ValueError(f"{op}: sizes must be non-negative, got {shape}")
    return shape


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _new(
        "zeros", backend.create(device, "zeros", _size("zeros", size), _float_dtype(dtype)), requires_grad
    )


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return _new(
        "ones", backend.create(device, "ones", _size("ones", size), _float_dtype(dtype)), requires_grad
    )


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor (its values are whatever was in memory)."""
    return _new(
        "empty", backend.create(device, "empty", _size("empty", size), _float_dtype(dtype)), requires_grad
    )


def full(
    size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A tensor filled with ``fill_value`` (bool gives bool, int int64, float the default dtype)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        if isinstance(fill_value, (bool, np.bool_)):
            dtype = np.bool_
        elif is_int(fill_value):
            dtype = np.int64
        elif isinstance(fill_value, (float, np.floating)):
            dtype = get_default_dtype()
        else:
            raise TypeError(f"full: fill_value must be a number, got {type(fill_value).__name__}")
    return _new(
        "full",
        backend.create(device, "full", _size("full", (size,)), fill_value, as_dtype(dtype)),
        requires_grad,
    )


def _like(input: Tensor, dtype: Any, device: Any = None) -> tuple[tuple[int, ...], np.dtype, Any]:
    """The shape, dtype and device of a ``*_like`` result: ``input``'s unless given."""
    if not isinstance(input, Tensor):
        raise TypeError(f"expected a Tensor, got {type(input).__name__}")
    return (
        input.shape,
        input.dtype if dtype is None else as_dtype(dtype),
        input.device if device is None else device,
    )


def zeros_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Zeros of ``input``'s shape and dtype."""
    shape, d, dev = _like(input, dtype, device)
    return _new("zeros_like", backend.create(dev, "zeros", shape, d), requires_grad)


def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of ``input``'s shape and dtype."""
    shape, d, dev = _like(input, dtype, device)
    return _new("ones_like", backend.create(dev, "ones", shape, d), requires_grad)


def empty_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """An uninitialised tensor in ``input``'s shape and dtype."""
    shape, d, dev = _like(input, dtype, device)
    return _new("empty_like", backend.create(dev, "empty", shape, d), requires_grad)


def full_like(
    input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """``fill_value`` in ``input``'s shape and dtype."""
    shape, d, dev = _like(input, dtype, device)
    return _new("full_like", backend.create(dev, "full", shape, fill_value, d), requires_grad)


def rand(
    *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, generator: Any = None
) -> Tensor:
    """Uniform random values in [0, 1), from neograd's generator of ``device`` (see manual_seed)."""
    g = _generator(generator, device)
    d = _random_dtype("rand", dtype)
    values = backend.to_device(g.random(_size("rand", size)), backend.cpu if device is None else device)
    return _new("rand", values.astype(d, copy=False), requires_grad)


def randn(
    *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, generator: Any = None
) -> Tensor:
    """Standard normal random values, from neograd's generator of ``device`` (see manual_seed)."""
    g = _generator(generator, device)
    d = _random_dtype("randn", dtype)
    values = backend.to_device(
        g.standard_normal(_size("randn", size)), backend.cpu if device is None else device
    )
    return _new("randn", values.astype(d, copy=False), requires_grad)


def rand_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1) in ``input``'s shape, dtype and device (neograd's generator)."""
    shape, d, dev = _like(input, dtype, device)
    return rand(shape, dtype=d, device=dev, requires_grad=requires_grad)


def randn_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal samples in ``input``'s shape, dtype and device (neograd's generator)."""
    shape, d, dev = _like(input, dtype, device)
    return randn(shape, dtype=d, device=dev, requires_grad=requires_grad)


def randint(
    *args: Any,
    size: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    generator: Any = None,
    **bounds: Any,
) -> Tensor:
    """Random integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``.

    As torch.randint: low (default 0), high and size may also be given by keyword;
    int64 unless ``dtype`` says otherwise; drawn from neograd's generator (see manual_seed).

    Example:
        >>> randint(0, 10, (2, 3)).shape
        (2, 3)
    """
    if set(bounds) - {"low", "high"}:
        raise TypeError(f"randint: unexpected keyword argument(s) {sorted(set(bounds) - {'low', 'high'})}")
    if size is None and args and not is_int(args[-1]):
        *args, size = args
    if "high" in bounds:
        args = [*args, bounds["high"]]
    if "low" in bounds:
        args = [bounds["low"], *args]
    if ("low" in bounds and "high" not in bounds) or size is None or len(args) not in (1, 2):
        raise TypeError("randint: call it as randint(high, size) or randint(low, high, size)")
    low, high = (0, args[0]) if len(args) == 1 else args
    if not (is_int(low) and is_int(high)):
        raise TypeError(f"randint: low and high must be ints, got {low!r} and {high!r}")
    if not high > low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    g = _generator(generator, device)
    d = np.int64 if dtype is None else as_dtype(dtype)
    values = backend.to_device(
        g.integers(low, high, _size("randint", (size,))), backend.cpu if device is None else device
    )
    values = values.astype(d, copy=False)
    return _new("randint", values, requires_grad)


def randperm(n: int, *, dtype: Any = None, device: Any = None, generator: Any = None) -> Tensor:
    """A random permutation of 0..n-1."""
    if not is_int(n) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative int, got {n!r}")
    g = _generator(generator, device)
    values = backend.to_device(g.permutation(n), backend.cpu if device is None else device)
    return Tensor._make(values.astype(np.int64 if dtype is None else as_dtype(dtype)))


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values from start (inclusive) to end (exclusive) by step; int64 if all are ints."""
    if end is None:
        start, end = 0, start
    for v in (start, end, step):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"arange: start, end and step must be numbers, got {type(v).__name__} {v!r}")
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        dtype = np.int64 if all(is_int(v) for v in (start, end, step)) else get_default_dtype()
    values = backend.create(device, "arange", start, end, step)
    return _new("arange", values.astype(as_dtype(dtype)), requires_grad)


def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``steps`` evenly spaced values from start to end, both included."""
    if not is_int(steps) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    return _new(
        "linspace",
        backend.create(device, "linspace", start, end, steps).astype(_float_dtype(dtype)),
        requires_grad,
    )


def eye(
    n: int, m: int | None = None, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """The n x m identity matrix (n x n by default)."""
    for v in (n, m if m is not None else 0):
        if not is_int(v) or v < 0:
            raise ValueError(f"eye: n and m must be non-negative ints, got {v!r}")
    return _new("eye", backend.create(device, "eye", n, m, dtype=_float_dtype(dtype)), requires_grad)


def randint_like(
    input: Tensor,
    low: int = 0,
    high: int | None = None,
    *,
    dtype: Any = None,
    device: Any = None,
    generator: Any = None,
) -> Tensor:
    """Random integers in [low, high) in ``input``'s shape and dtype: ``randint_like(x, high)`` or
    ``randint_like(x, low, high)``, from neograd's generator."""
    shape, d, dev = _like(input, dtype, device)
    if high is None:
        low, high = 0, low
    return randint(low, high, shape, dtype=d, device=dev, generator=generator)


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None
) -> Tensor:
    """Draw category indices with probabilities proportional to the weights in each row of ``input``.

    Args:
        input: non-negative weights (they need not sum to 1), one row per distribution: (n,) or (rows, n).
        num_samples: how many indices to draw from each row.
        replacement: draw with replacement; without it, no index repeats within a row.
        generator: a NumPy Generator to draw from instead of neograd's (see manual_seed).

    Returns:
        An int64 tensor of shape (num_samples,) or (rows, num_samples); not differentiable.

    Example:
        >>> multinomial(tensor([0., 1., 3.]), 4, replacement=True)   # mostly 2, some 1, never 0
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim not in (1, 2):
        raise ValueError(
            f"multinomial: input must be 1-D or 2-D (one row per distribution), got shape {input.shape}"
        )
    if input.dtype.kind != "f":
        raise TypeError(f"multinomial: input must be floating point, got dtype {input.dtype}")
    if not is_int(num_samples) or num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be a positive int, got {num_samples!r}")
    n = input.shape[-1]
    if not replacement and num_samples > n:
        raise ValueError(
            f"multinomial: cannot draw {num_samples} samples from {n} categories without replacement"
        )
    # NOTE: sampling is a small sequential job; on a GPU it runs on the host copy and moves back
    weights = backend.to_numpy(input.data).reshape(-1, n).astype(np.float64)
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("multinomial: the weights must be finite and non-negative (found inf, nan or < 0)")
    total = weights.sum(axis=1, keepdims=True)
    if np.any(total <= 0):
        raise ValueError("multinomial: every row needs a positive sum of weights (a row sums to 0)")
    g = default_generator if generator is None else generator
    if replacement:  # invert the cumulative distribution at uniform points
        cdf = np.cumsum(weights, axis=1) / total
        u = g.random((len(weights), num_samples))
        out = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u)]) if len(weights) else u
        out = np.minimum(out, n - 1)  # NOTE: rounding can leave cdf[-1] a hair below a u close to 1
    else:
        # NOTE: the k smallest of E_i / w_i (E_i exponential) are a weighted draw without replacement;
        # zero weights give inf and come last, as torch takes them only once the others are used up
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = g.standard_exponential(weights.shape) / weights
        out = np.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    out = out.astype(np.int64).reshape(input.shape[:-1] + (num_samples,))
    return Tensor._make(backend.to_device(out, input.device))
