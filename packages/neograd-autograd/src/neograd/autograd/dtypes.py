"""dtype names (NumPy dtypes under torch's names) and the default floating dtype."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

__all__ = [
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "half",
    "float",
    "double",
    "long",
    "get_default_dtype",
    "set_default_dtype",
    "as_dtype",
]

float16 = half = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)
float = float32

_default = {"dtype": float32}


def get_default_dtype() -> np.dtype:
    """The dtype given to Python floats and to random and floating creation functions."""
    return _default["dtype"]


def set_default_dtype(dtype: Any) -> None:
    """Set the default floating dtype (float32 or float64), as torch.set_default_dtype.

    Example:
        >>> set_default_dtype(float64)   # e.g. for gradient checks
    """
    d = as_dtype(dtype)
    if d not in (float32, float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported, got {d}")
    _default["dtype"] = d


def as_dtype(dtype: Any) -> np.dtype:
    """Turn a dtype-like value (ng.float32, np.float32, 'float32', builtin float) into a np.dtype."""
    if dtype is builtins.float:
        return get_default_dtype()
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"not a dtype: {dtype!r}") from None
    if d.kind not in "biuf":
        raise TypeError(f"unsupported dtype {d}: neograd tensors hold bool, integer or floating data")
    return d
