"""Python values to bytes and back without pickle, for ``all_gather_object`` / ``broadcast_object_list``.

torch pickles these objects; neograd never unpickles (unpickling runs whatever code the bytes
name, and a message from another process is not something to trust with that). The values
are written as JSON, with a tag for each type JSON lacks; reading them back can only ever
build the types listed here, so a received message cannot run code.

Encoded: None, bool, int, float (nan and inf too), str, bytes, list, tuple, dict (keys of
any of these scalar types), NumPy arrays and scalars of bool, integer, float and complex
dtypes, and neograd Tensors (received as tensors of the same dtype and shape, without grad).
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np

from neograd.autograd import Tensor

__all__ = ["encode", "decode"]

_KINDS = "biufc"  # the NumPy dtype kinds that hold plain numbers


def encode(value: Any, where: str) -> bytes:
    """``value`` as UTF-8 JSON bytes; TypeError naming the part of ``where`` that cannot be encoded."""
    return json.dumps(_to_json(value, where), separators=(",", ":"), allow_nan=False).encode()


def decode(data: bytes) -> Any:
    """The value that :func:`encode` wrote (only the types it encodes are ever built)."""
    return _from_json(json.loads(data.decode()))


def _to_json(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if -(2**53) < value < 2**53 else {"int": str(value)}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode()}
    if isinstance(value, list):
        return [_to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {"tuple": [_to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            if not (k is None or isinstance(k, (bool, int, float, str, bytes, tuple))):
                raise TypeError(f"{where}: dict key {k!r} of type {type(k).__name__} cannot be sent")
            items.append([_to_json(k, f"{where} key"), _to_json(v, f"{where}[{k!r}]")])
        return {"dict": items}
    if isinstance(value, Tensor):
        return {"tensor": _array(value.data, where)}
    if isinstance(value, np.ndarray):
        return {"ndarray": _array(value, where)}
    if isinstance(value, np.generic) and value.dtype.kind in _KINDS:
        return {"scalar": _array(np.asarray(value), where)}
    raise TypeError(
        f"{where}: a {type(value).__name__} cannot be sent between ranks; neograd sends None, bools, "
        "numbers, strings, bytes, lists, tuples, dicts, NumPy arrays and Tensors (never pickles)"
    )


def _array(array: Any, where: str) -> dict[str, Any]:
    array = np.asarray(array)  # a CuPy array would fail here; .cpu() it first
    if array.dtype.kind not in _KINDS:
        raise TypeError(f"{where}: arrays of dtype {array.dtype} cannot be sent (numbers and bools only)")
    data = np.ascontiguousarray(array).tobytes()
    return {"dtype": array.dtype.str, "shape": list(array.shape), "data": base64.b64encode(data).decode()}


def _from_json(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if not isinstance(value, dict):
        return value
    ((tag, inner),) = value.items()
    if tag == "int":
        return int(inner)
    if tag == "float":
        return float(inner)
    if tag == "bytes":
        return base64.b64decode(inner)
    if tag == "tuple":
        return tuple(_from_json(v) for v in inner)
    if tag == "dict":
        return {_from_json(k): _from_json(v) for k, v in inner}
    dtype = np.dtype(inner["dtype"])
    if dtype.kind not in _KINDS:
        raise ValueError(f"received an array of dtype {dtype}, which is never sent")
    array = np.frombuffer(base64.b64decode(inner["data"]), dtype=dtype).reshape(inner["shape"]).copy()
    if tag == "tensor":
        return Tensor._make(array)
    if tag == "ndarray":
        return array
    if tag == "scalar":
        return array[()]
    raise ValueError(f"received an unknown tag {tag!r}")
