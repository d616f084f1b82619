"""Argument handling shared by the ops: torch's dim/keepdim with NumPy's axis/keepdims aliases."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np


def is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def dim_alias(op: str, dim: Any, keepdim: bool, aliases: dict[str, Any]) -> tuple[Any, bool]:
    """Merge NumPy's ``axis``/``keepdims`` into torch's ``dim``/``keepdim``."""
    if aliases:
        unknown = set(aliases) - {"axis", "keepdims"}
        if unknown:
            raise TypeError(f"{op}: unexpected keyword argument(s) {sorted(unknown)}")
        if "axis" in aliases:
            if dim is not None:
                raise TypeError(f"{op}: give dim or its alias axis, not both")
            dim = aliases["axis"]
        keepdim = aliases.get("keepdims", keepdim)
    return dim, keepdim


def normalize_dim(op: str, dim: int, ndim: int) -> int:
    """A dim in [-ndim, ndim) as a non-negative index, or an IndexError naming the op."""
    if not is_int(dim):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    dim = operator.index(dim)
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)  # a 0-d tensor accepts dim 0 and -1
    if not lo <= dim <= hi:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % ndim if ndim else 0


def normalize_dims(op: str, dim: Any, ndim: int) -> tuple[int, ...] | None:
    """None (all dims), an int or a sequence of ints, as a sorted tuple of unique dims."""
    if dim is None:
        return None
    try:
        dims = (dim,) if is_int(dim) else tuple(dim)
    except TypeError:
        raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}") from None
    out = tuple(sorted({normalize_dim(op, d, ndim) for d in dims}))
    if len(out) != len(dims):
        raise ValueError(f"{op}: dim {dim} repeats a dimension")
    # a 0-d tensor accepts dim 0 / -1 (as torch) but has no axis for NumPy to reduce
    return out if ndim else ()


def shape_arg(op: str, shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept f(2, 3), f((2, 3)) and f([2, 3]) as torch does."""
    if len(shape) == 1 and not is_int(shape[0]):
        try:
            shape = tuple(shape[0])
        except TypeError:
            raise TypeError(f"{op}: sizes must be ints, got {shape[0]!r}") from None
    for n in shape:
        if not is_int(n):
            raise TypeError(f"{op}: sizes must be ints, got {shape!r}")
    return tuple(operator.index(n) for n in shape)


def not_a_tensor(op: str, x: Any, name: str = "input") -> TypeError:
    """The error for an argument that should be a Tensor, in torch's words."""
    return TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")
