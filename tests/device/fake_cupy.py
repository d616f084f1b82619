"""A fake CuPy for the CPU: "GPU" arrays that behave like CuPy's where it matters to neograd.

``ndarray`` wraps a NumPy array but is a type of its own, and like CuPy's it refuses to
become a NumPy array implicitly (``np.asarray(x)`` raises TypeError) and refuses NumPy
arrays as operands. NumPy's ufuncs and functions called on it (``np.exp(x)``,
``np.where(c, x, y)``) work as on CuPy: ``__array_ufunc__`` and ``__array_function__``
unwrap, call NumPy and wrap the result. Results of reductions are 0-d arrays, never NumPy
scalars, as in CuPy. ``ufunc.at`` is refused (use cupyx.scatter_add, as neograd's backend
does). So any neograd code path that silently makes a NumPy array from a device array, or
mixes the two, fails here the way it would fail on a GPU.

``install(monkeypatch)`` makes neograd's backend use this module as CuPy (one GPU, id 0;
``DEVICE_COUNT`` can be raised for tests of several devices).
"""

from __future__ import annotations

import sys
import types
import weakref
from typing import Any

import numpy as np

DEVICE_COUNT = 1
_current = [0]
_used_bytes = [0]
# id(a NumPy array that owns its memory) -> the fake array wrapping it
_owners: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()


class _DeviceId:
    def __init__(self, id: int) -> None:
        self.id = id

    def __enter__(self) -> _DeviceId:
        self._previous = _current[0]
        _current[0] = self.id
        return self

    def __exit__(self, *exc: Any) -> None:
        _current[0] = self._previous

    def use(self) -> None:
        _current[0] = self.id

    def synchronize(self) -> None:
        pass

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _DeviceId) and other.id == self.id

    def __hash__(self) -> int:
        return self.id


def _release(nbytes: int) -> None:
    _used_bytes[0] -= nbytes


class ndarray:
    """A "GPU" array: a NumPy array that does not let itself be converted to NumPy implicitly."""

    __array_priority__ = 100

    def __init__(self, array: np.ndarray, device_id: int | None = None) -> None:
        if not isinstance(array, np.ndarray):
            raise TypeError(f"fake cupy: wrapping a {type(array).__name__}")
        self._a = array
        self._device = _DeviceId(_current[0] if device_id is None else device_id)
        if array.base is None:
            _owners[id(array)] = self
            if array.nbytes:  # count owners only, as a memory pool would
                _used_bytes[0] += array.nbytes
                weakref.finalize(self, _release, array.nbytes)

    # ---- CuPy's explicit conversions ----
    def get(self) -> np.ndarray:
        return self._a.copy()

    @property
    def device(self) -> _DeviceId:
        return self._device

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:  # what marks GPU arrays (CuPy's, torch's, ...)
        raise TypeError("fake cupy: no device memory to describe")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. "
            "Please use `.get()` to construct a NumPy array explicitly."
        )

    # ---- NumPy protocol ----
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method in ("at", "reduceat"):
            raise TypeError(f"fake cupy: ufunc.{method} is not supported (use cupyx.scatter_add)")
        args = [_unwrap(x, ufunc.__name__) for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o, ufunc.__name__) for o in kwargs["out"])
        with np.errstate(all="ignore"):  # CuPy computes inf and nan without warnings
            result = getattr(ufunc, method)(*args, **kwargs)
        if "out" in kwargs and len(inputs) and method == "__call__":
            outs = [o for o in (self, *inputs) if isinstance(o, ndarray)]
            for o in outs:
                if o._a is kwargs["out"][0]:
                    return o
        return _wrap(result, self._device.id)

    def __array_function__(self, func: Any, types_: Any, args: Any, kwargs: Any) -> Any:
        name = getattr(func, "__name__", str(func))
        if name in _REFUSED_FUNCTIONS:
            return NotImplemented
        result = func(*_unwrap(args, name), **_unwrap(kwargs, name))
        return _wrap(result, self._device.id)

    # ---- attributes: delegated to the NumPy array, results wrapped ----
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self._a, name)
        if callable(value):

            def method(*args: Any, **kwargs: Any) -> Any:
                return _wrap(value(*_unwrap(args, name), **_unwrap(kwargs, name)), self._device.id)

            return method
        return _wrap(value, self._device.id) if isinstance(value, np.ndarray) else value

    @property
    def base(self) -> Any:
        """The array owning the memory of this view (None for an owner), as CuPy's base."""
        return None if self._a.base is None else _owners.get(id(self._a.base))

    @property
    def T(self) -> ndarray:
        return ndarray(self._a.T, self._device.id)

    @property
    def real(self) -> ndarray:
        return ndarray(self._a.real, self._device.id)

    def item(self) -> Any:
        return self._a.item()

    def tolist(self) -> Any:
        return self._a.tolist()

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(self._a)

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __index__(self) -> int:
        return self._a.__index__()

    def __complex__(self) -> complex:
        return complex(self._a)

    def __repr__(self) -> str:
        return f"fake_cupy.array({self._a!r})"

    __str__ = __repr__

    def __getitem__(self, index: Any) -> Any:
        return _wrap(self._a[_unwrap(index, "__getitem__")], self._device.id)

    def __setitem__(self, index: Any, value: Any) -> None:
        self._a[_unwrap(index, "__setitem__")] = _unwrap(value, "__setitem__")

    def __copy__(self) -> ndarray:
        return ndarray(self._a.copy(), self._device.id)

    def __deepcopy__(self, memo: Any) -> ndarray:
        return ndarray(self._a.copy(), self._device.id)

    def __reduce__(self) -> Any:
        raise TypeError("fake cupy arrays are not pickled (neograd must move them to the host first)")


def _binary(ufunc: np.ufunc, reflected: bool = False, inplace: bool = False) -> Any:
    def op(self: ndarray, other: Any) -> Any:
        if getattr(type(other), "__array_ufunc__", False) is None:
            return NotImplemented  # as NumPy and CuPy: let other's reflected operator answer
        if inplace:
            return ufunc(self, other, out=(self,))
        return ufunc(other, self) if reflected else ufunc(self, other)

    return op


for _name, _ufunc in {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "truediv": np.true_divide,
    "floordiv": np.floor_divide,
    "mod": np.remainder,
    "pow": np.power,
    "matmul": np.matmul,
    "and": np.bitwise_and,
    "or": np.bitwise_or,
    "xor": np.bitwise_xor,
}.items():
    setattr(ndarray, f"__{_name}__", _binary(_ufunc))
    setattr(ndarray, f"__r{_name}__", _binary(_ufunc, reflected=True))
    setattr(ndarray, f"__i{_name}__", _binary(_ufunc, inplace=True))
for _name, _ufunc in {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}.items():
    setattr(ndarray, f"__{_name}__", _binary(_ufunc))
ndarray.__neg__ = lambda self: np.negative(self)  # type: ignore[method-assign]
ndarray.__pos__ = lambda self: self  # type: ignore[method-assign]
ndarray.__abs__ = lambda self: np.absolute(self)  # type: ignore[method-assign]
ndarray.__invert__ = lambda self: np.invert(self)  # type: ignore[method-assign]
ndarray.__hash__ = None  # type: ignore[assignment]

# NumPy functions CuPy does not implement (they return NotImplemented there, a TypeError)
_REFUSED_FUNCTIONS = {"ndindex", "save", "savez", "tofile"}


def _unwrap(x: Any, op: str) -> Any:
    """Fake arrays to their NumPy arrays; NumPy arrays refused, as CuPy refuses them."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray):
        raise TypeError(
            f"fake cupy: {op}: unsupported type {type(x)} (a NumPy array mixed with a device array)"
        )
    if isinstance(x, tuple):
        return tuple(_unwrap(i, op) for i in x)
    if isinstance(x, list):
        return [_unwrap(i, op) for i in x]
    if isinstance(x, dict):
        return {k: _unwrap(v, op) for k, v in x.items()}
    return x


def _wrap(x: Any, device_id: int) -> Any:
    """NumPy results to fake arrays (NumPy scalars to 0-d arrays, as CuPy returns them)."""
    if isinstance(x, np.ndarray):
        known = _owners.get(id(x)) if x.base is None else None
        if known is not None and known._a is x:  # the same memory: the same array (as astype(copy=False))
            return known
        return ndarray(x, device_id)
    if isinstance(x, np.generic):
        return ndarray(np.asarray(x), device_id)
    if isinstance(x, tuple):
        return tuple(_wrap(i, device_id) for i in x)
    if isinstance(x, list):
        return [_wrap(i, device_id) for i in x]
    return x


# ---- module-level API ----
def asarray(x: Any, dtype: Any = None, order: Any = None) -> ndarray:
    if isinstance(x, ndarray):
        if x.device.id == _current[0]:
            return x if dtype is None else x.astype(dtype, copy=False)
        return ndarray(np.array(x._a, dtype=dtype), _current[0])
    return ndarray(np.array(x, dtype=dtype, order=order or "K"))


def array(x: Any, dtype: Any = None, copy: bool = True, order: str = "K", ndmin: int = 0) -> ndarray:
    if isinstance(x, ndarray):
        x = x._a
    return ndarray(np.array(x, dtype=dtype, copy=True, order=order, ndmin=ndmin))


def asnumpy(x: Any) -> np.ndarray:
    return x.get() if isinstance(x, ndarray) else np.asarray(x)


def get_array_module(*args: Any) -> Any:
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else np


class _Module(types.ModuleType):
    pass


def _function(name: str) -> Any:
    f = getattr(np, name)

    def call(*args: Any, **kwargs: Any) -> Any:
        return _wrap(f(*_unwrap(args, name), **_unwrap(kwargs, name)), _current[0])

    call.__name__ = name
    return call


def __getattr__(name: str) -> Any:
    value = getattr(np, name)  # AttributeError for what NumPy lacks too
    if isinstance(value, (type, np.dtype)) or not callable(value):
        return value
    return _function(name)


# cupy.cuda
class _Runtime:
    @staticmethod
    def getDeviceCount() -> int:
        return DEVICE_COUNT

    @staticmethod
    def getDevice() -> int:
        return _current[0]

    @staticmethod
    def deviceSynchronize() -> None:
        pass

    @staticmethod
    def getDeviceProperties(device: int) -> dict[str, Any]:
        return {"name": b"fake GPU (tests/device/fake_cupy.py)"}


cuda = types.SimpleNamespace(Device=_DeviceId, runtime=_Runtime())


class _MemoryPool:
    def used_bytes(self) -> int:
        return _used_bytes[0]

    def total_bytes(self) -> int:
        return _used_bytes[0]

    def free_all_blocks(self) -> None:
        pass


_pool = _MemoryPool()


def get_default_memory_pool() -> _MemoryPool:
    return _pool


# cupy.random
class RandomState:
    def __init__(self, seed: int | None = None) -> None:
        self._rs = np.random.RandomState(None if seed is None else seed % 2**32)

    def _call(self, name: str, *args: Any, dtype: Any = None, **kwargs: Any) -> ndarray:
        out = getattr(self._rs, name)(*args, **kwargs)
        out = np.asarray(out) if dtype is None else np.asarray(out).astype(dtype)
        return ndarray(out)

    def random_sample(self, size: Any = None, dtype: Any = float) -> ndarray:
        return self._call("random_sample", size, dtype=dtype)

    def standard_normal(self, size: Any = None, dtype: Any = float) -> ndarray:
        return self._call("standard_normal", size, dtype=dtype)

    def standard_exponential(self, size: Any = None, dtype: Any = float) -> ndarray:
        return self._call("standard_exponential", size, dtype=dtype)

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None, dtype: Any = float) -> ndarray:
        return self._call("uniform", low, high, size, dtype=dtype)

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: Any = None, dtype: Any = float) -> ndarray:
        return self._call("normal", loc, scale, size, dtype=dtype)

    def randint(self, low: int, high: int | None = None, size: Any = None, dtype: Any = int) -> ndarray:
        return self._call("randint", low, high, size, dtype=dtype)

    def permutation(self, n: int) -> ndarray:
        return self._call("permutation", n)


random = types.SimpleNamespace(RandomState=RandomState)


# cupy.lib.stride_tricks
def _as_strided(x: ndarray, shape: Any = None, strides: Any = None) -> ndarray:
    if not isinstance(x, ndarray):
        raise TypeError("fake cupy: as_strided needs a device array")
    view = np.lib.stride_tricks.as_strided(x._a, shape, strides, writeable=False)
    return ndarray(view, x.device.id)


lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))


# cupyx
def _scatter_add(a: ndarray, slices: Any, value: Any) -> None:
    if not isinstance(a, ndarray):
        raise TypeError("fake cupyx.scatter_add: a must be a device array")
    np.add.at(a._a, _unwrap(slices, "scatter_add"), _unwrap(value, "scatter_add"))


cupyx = types.SimpleNamespace(scatter_add=_scatter_add)


def install(monkeypatch: Any) -> Any:
    """Make neograd's backend use this fake CuPy (undone when the test ends)."""
    from neograd.autograd import backend
    from neograd.autograd import cuda as ng_cuda

    module = sys.modules[__name__]
    monkeypatch.setattr(backend, "_cupy", module)
    monkeypatch.setattr(backend, "_cupyx", cupyx)
    monkeypatch.setattr(ng_cuda, "_generators", {})
    return module
