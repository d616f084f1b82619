"""Devices: where a tensor's array lives, and the few places where NumPy and CuPy differ.

A tensor on the CPU holds a NumPy ndarray; a tensor on an NVIDIA GPU holds a CuPy ndarray
(CuPy is NumPy's API on the GPU). The ops are written once: NumPy's ufuncs and most ``np.*``
functions hand a CuPy array over to CuPy by themselves (``__array_ufunc__`` and
``__array_function__``), so ``np.exp(x)`` runs on the GPU when ``x`` is there. What does not
dispatch is array *creation* from nothing (``np.zeros(shape)``, ``np.arange``, random draws):
there an op asks :func:`array_module` for the module of its input (``np`` or ``cupy``) and
calls that, or uses ``np.zeros_like``-style calls, which do dispatch. The rest of what
differs is said here, once: scatter-add, strided windows, random generators, moving arrays.

CuPy is optional (``pip install neograd-autograd[cuda13]`` or ``[cuda12]``) and imported
only when a GPU is asked for; without it everything here answers for the CPU alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided as _np_as_strided

__all__ = [
    "device",
    "cpu",
    "as_device",
    "cupy",
    "cuda_device_count",
    "is_device_array",
    "array_module",
    "device_of",
    "to_device",
    "create",
    "asarray",
    "to_numpy",
    "same_device_error",
    "scatter_add",
    "scatter_add_rows",
    "as_strided",
    "ascontiguousarray",
    "mm",
    "sparse_grid",
    "max_or_minus_inf",
]

_INSTALL_HINT = (
    "install CuPy for your CUDA version: pip install neograd-autograd[cuda13] (CUDA 13) "
    "or neograd-autograd[cuda12] (CUDA 12)"
)


class device:
    """Where tensors live: ``device("cpu")``, ``device("cuda")``, ``device("cuda:1")``, ``device("cuda", 1)``.

    As torch.device: ``type`` is ``"cpu"`` or ``"cuda"``, ``index`` the GPU's number (None
    for ``"cuda"``, meaning the current GPU). Anywhere neograd takes a device it also takes
    the string or another device.

    Example:
        >>> d = device("cuda:0")
        >>> d.type, d.index, str(d)
        ('cuda', 0, 'cuda:0')
    """

    __slots__ = ("_index", "_type")

    def __init__(self, type: Any, index: int | None = None) -> None:
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device: an index cannot be given together with a device")
            self._type, self._index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string like 'cuda:0' or a device, got {type!r}")
        kind, sep, number = type.partition(":")
        if sep:
            if index is not None:
                raise RuntimeError(
                    f"device: the string {type!r} must not include an index when index is passed too"
                )
            if not number.isdigit():
                raise RuntimeError(f"device: invalid device string: {type!r}")
            index = int(number)
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(
                f"device: expected 'cpu' or 'cuda' at the start of the device string, got {type!r}"
            )
        if index is not None and (
            isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0
        ):
            raise RuntimeError(f"device: the index must be a non-negative int, got {index!r}")
        self._type = kind
        self._index = None if index is None else int(index)

    @property
    def type(self) -> str:
        """``"cpu"`` or ``"cuda"``."""
        return self._type

    @property
    def index(self) -> int | None:
        """The GPU's number, or None (the current GPU; always None for the CPU)."""
        return self._index

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self) -> str:
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, device) and (self._type, self._index) == (other._type, other._index)

    def __hash__(self) -> int:
        return hash((self._type, self._index))

    def __reduce__(self) -> tuple[Any, ...]:
        return (device, (self._type, self._index))


cpu = device("cpu")
_cuda_devices: dict[int, device] = {}  # one object per GPU, so Tensor.device costs no allocation
_counted: dict[int, int] = {}  # id(CuPy module) -> its number of GPUs

# ---- CuPy, imported on first use ----------------------------------------------------------
# NOTE: the tests replace _cupy by a fake CuPy (tests/device/fake_cupy.py) to run the GPU
# code paths on the CPU; everything below reaches CuPy only through this variable.
_cupy: Any = None
_cupyx: Any = None


def _import_cupy() -> tuple[Any, Any]:
    import cupy
    import cupyx

    return cupy, cupyx


def cupy() -> Any:
    """The CuPy module, imported on first use; a RuntimeError saying how to install it if it is missing."""
    global _cupy, _cupyx
    if _cupy is None:
        try:
            _cupy, _cupyx = _import_cupy()
        except ImportError as e:
            raise RuntimeError(
                f"neograd was installed without CUDA support (CuPy is missing: {e}); {_INSTALL_HINT}"
            ) from None
    return _cupy


def cuda_device_count() -> int:
    """The number of GPUs CuPy can use; 0 without CuPy or without a working driver."""
    try:
        return int(cupy().cuda.runtime.getDeviceCount())
    except Exception:
        return 0


def as_device(value: Any) -> device:
    """A device from a device, a string (``"cuda:0"``) or a GPU number (an int, as torch)."""
    if isinstance(value, device):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return device("cuda", int(value))
    if isinstance(value, str):
        return device(value)
    raise TypeError(f"expected a device, a string like 'cuda:0' or a GPU index, got {value!r}")


def _cuda(index: int) -> device:
    d = _cuda_devices.get(index)
    if d is None:
        d = _cuda_devices[index] = device("cuda", index)
    return d


def _resolve(dev: device) -> device:
    """A cuda device with its index (the current GPU for a bare ``"cuda"``), checked to exist."""
    if dev.type == "cpu":
        return cpu
    cp = cupy()
    count = _counted.get(id(cp))
    if count is None:  # (once per CuPy module: the GPUs of a process do not change)
        count = _counted[id(cp)] = cuda_device_count()
    if count == 0:
        raise RuntimeError(f"{dev}: no CUDA GPU is available (CuPy found no device)")
    index = cp.cuda.runtime.getDevice() if dev.index is None else dev.index
    if index >= count:
        raise RuntimeError(f"{dev}: invalid device ordinal, {count} CUDA device(s) available")
    return _cuda(index)


# ---- arrays and their devices ---------------------------------------------------------------
def is_device_array(array: Any) -> bool:
    """Whether ``array`` is a GPU (CuPy) array."""
    return _cupy is not None and isinstance(array, _cupy.ndarray)


def array_module(array: Any) -> Any:
    """The array module of ``array``: ``numpy`` for NumPy arrays and anything else, ``cupy`` for CuPy arrays.

    Example:
        >>> xp = array_module(x.data)
        >>> out = xp.zeros(shape, x.dtype)   # on x's device
    """
    if type(array) is np.ndarray or _cupy is None:
        return np
    return _cupy if isinstance(array, _cupy.ndarray) else np


def device_of(array: Any) -> device:
    """The device an array lives on (the CPU for NumPy arrays)."""
    if type(array) is np.ndarray or _cupy is None or not isinstance(array, _cupy.ndarray):
        return cpu
    return _cuda(array.device.id)


def to_device(array: Any, dev: Any) -> Any:
    """``array`` on device ``dev`` (itself if it is there already; a copy otherwise)."""
    dev = as_device(dev)
    if dev.type == "cpu":
        return _cupy.asnumpy(array) if is_device_array(array) else array
    dev = _resolve(dev)
    if is_device_array(array) and array.device.id == dev.index:
        return array
    cp = cupy()
    with cp.cuda.Device(dev.index):
        return cp.asarray(array)


def create(dev: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """``np.<name>(*args, **kwargs)`` made directly on device ``dev`` (None: the CPU).

    Example:
        >>> create("cuda", "zeros", (2, 3), np.float32)   # cupy.zeros on the current GPU
    """
    if dev is None or dev is cpu:
        return getattr(np, name)(*args, **kwargs)
    dev = as_device(dev)
    if dev.type == "cpu":
        return getattr(np, name)(*args, **kwargs)
    dev = _resolve(dev)
    cp = cupy()
    with cp.cuda.Device(dev.index):
        return getattr(cp, name)(*args, **kwargs)


def asarray(value: Any, dtype: Any = None, like: Any = None) -> Any:
    """``value`` (an array, a number or nested lists) as an array on the device of ``like``.

    A device array stays where it is; anything else becomes a NumPy array first.
    """
    if is_device_array(value):
        return value if dtype is None else value.astype(dtype, copy=False)
    out = np.asarray(value, dtype=dtype)
    return out if like is None or type(like) is np.ndarray else to_device(out, device_of(like))


def to_numpy(array: Any) -> np.ndarray:
    """A NumPy array with the values of ``array`` (copied from the GPU if it is there)."""
    return _cupy.asnumpy(array) if is_device_array(array) else np.asarray(array)


def same_device_error(op: str, *arrays: Any) -> RuntimeError | None:
    """The error torch gives for an op on arrays of different devices, or None if they agree.

    Called only after an op has failed (NumPy and CuPy refuse to mix), so it costs nothing
    on the fast path.
    """
    devices = []
    for a in arrays:
        if isinstance(a, np.ndarray) or is_device_array(a):
            d = device_of(a)
            if d not in devices:
                devices.append(d)
    if len(devices) < 2:
        return None
    return RuntimeError(
        f"{op}: expected all tensors to be on the same device, but found at least two devices, "
        f"{devices[0]} and {devices[1]}; move them with .to(device), .cuda() or .cpu()"
    )


# ---- where NumPy and CuPy differ ------------------------------------------------------------
def scatter_add(out: Any, index: Any, values: Any) -> None:
    """``out[index] += values``, repeated indices accumulating (np.add.at; on the GPU cupyx.scatter_add)."""
    if is_device_array(out):
        _cupyx.scatter_add(out, index, values)
    else:
        np.add.at(out, index, values)


def scatter_add_rows(out: Any, indices: Any, rows: Any) -> None:
    """``out[indices[i]] += rows[i]`` for a 1-D integer ``indices``, repeated indices accumulating.

    NOTE: on NumPy, sorting by index and summing each index's run with np.add.reduceat is
    several times faster than np.add.at; CuPy has no reduceat and its scatter_add is fast.
    """
    if is_device_array(out):
        _cupyx.scatter_add(out, indices, rows)
        return
    if indices.size:
        order = np.argsort(indices, kind="stable")
        picked = indices[order]
        starts = np.flatnonzero(np.concatenate(([True], picked[1:] != picked[:-1])))
        out[picked[starts]] += np.add.reduceat(rows[order], starts, axis=0)


def as_strided(array: Any, shape: tuple[int, ...], strides: tuple[int, ...]) -> Any:
    """A read-only strided view of ``array`` (sliding windows): np.lib.stride_tricks.as_strided or CuPy's."""
    if is_device_array(array):
        # NOTE: CuPy's as_strided has no writeable flag; the views made here are only read
        return _cupy.lib.stride_tricks.as_strided(array, shape, strides)
    return _np_as_strided(array, shape, strides, writeable=False)


def mm(a: Any, b: Any) -> Any:
    """``a @ b`` for two matrices; on NumPy arrays ``np.dot``, which goes straight to BLAS.

    NOTE: matmul's own dispatch costs about 0.3 us more on small matrices (16 x 16), and with
    an inner dimension of 1 it takes a slow loop: (750, 1) @ (1, 10) takes 10 us against
    dot's 3 (NumPy 2.4, one thread); both give the same bits. Tensors (a backward under
    create_graph) and GPU arrays keep ``@``.
    """
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.dot(a, b)
    return a @ b


def ascontiguousarray(x: Any) -> Any:
    """``np.ascontiguousarray(x)`` on ``x``'s device (NumPy's does not hand CuPy arrays over)."""
    return np.ascontiguousarray(x) if type(x) is np.ndarray else array_module(x).ascontiguousarray(x)


def sparse_grid(shape: tuple[int, ...], like: Any) -> list[Any]:
    """``np.indices(shape, sparse=True)`` on the device of ``like`` (CuPy's indices has no sparse form)."""
    if not is_device_array(like):
        return list(np.indices(shape, sparse=True))
    n = len(shape)
    dev = device_of(like)
    return [
        create(dev, "arange", size).reshape((1,) * i + (size,) + (1,) * (n - i - 1))
        for i, size in enumerate(shape)
    ]


def max_or_minus_inf(x: Any, axis: Any) -> Any:
    """``np.max(x, axis, keepdims=True, initial=-inf)``: -inf over empty dims (CuPy has no ``initial``)."""
    if not is_device_array(x):
        return np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    if x.size:
        return x.max(axis=axis, keepdims=True)
    empty = np.max(np.empty(x.shape, x.dtype), axis=axis, keepdims=True, initial=-np.inf)
    return to_device(empty, device_of(x))
