"""neograd.cuda: the NVIDIA GPUs (through CuPy), as torch.cuda.

Without CuPy installed, ``is_available()`` is False and ``device_count()`` 0; asking for a
GPU tensor then raises a RuntimeError that says how to install it
(``pip install neograd-autograd[cuda13]``).

Example:
    >>> import neograd as ng
    >>> dev = ng.device("cuda" if ng.cuda.is_available() else "cpu")
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neograd.autograd import backend

__all__ = [
    "is_available",
    "device_count",
    "current_device",
    "synchronize",
    "manual_seed",
    "manual_seed_all",
    "memory_allocated",
    "empty_cache",
    "get_device_name",
    "default_generator",
]

# NOTE: torch's CUDA generators start from this seed too until manual_seed is called
_DEFAULT_SEED = 67280421310721
_seed = [_DEFAULT_SEED]
_generators: dict[int, _DeviceGenerator] = {}


def is_available() -> bool:
    """Whether a CUDA GPU can be used (CuPy installed and a GPU found)."""
    return backend.cuda_device_count() > 0


def device_count() -> int:
    """The number of GPUs (0 without CuPy)."""
    return backend.cuda_device_count()


def current_device() -> int:
    """The index of the current GPU."""
    return int(backend.cupy().cuda.runtime.getDevice())


def synchronize(device: Any = None) -> None:
    """Wait until every kernel queued on the GPU (``device``, default the current one) has finished.

    GPU work runs asynchronously: time a GPU computation only after synchronizing.
    """
    cp = backend.cupy()
    index = current_device() if device is None else backend._resolve(backend.as_device(device)).index
    with cp.cuda.Device(index):
        cp.cuda.runtime.deviceSynchronize()


def memory_allocated(device: Any = None) -> int:
    """The bytes of GPU memory held by tensors on ``device`` (CuPy's memory pool, used bytes)."""
    cp = backend.cupy()
    index = current_device() if device is None else backend._resolve(backend.as_device(device)).index
    with cp.cuda.Device(index):
        return int(cp.get_default_memory_pool().used_bytes())


def empty_cache() -> None:
    """Give the GPU memory that CuPy's pool keeps for reuse (freed by tensors) back to the driver."""
    backend.cupy().get_default_memory_pool().free_all_blocks()


def get_device_name(device: Any = None) -> str:
    """The name of a GPU (default the current one), e.g. ``"NVIDIA H200"``."""
    cp = backend.cupy()
    index = current_device() if device is None else backend._resolve(backend.as_device(device)).index
    name = cp.cuda.runtime.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def manual_seed(seed: int) -> None:
    """Seed the random generator of the current GPU (``neograd.manual_seed`` seeds every device)."""
    _check_seed("manual_seed", seed)
    index = current_device()
    _generator(index).seed(int(seed))


def manual_seed_all(seed: int) -> None:
    """Seed the random generators of all GPUs, also those not used yet (CuPy is not imported for it)."""
    _check_seed("manual_seed_all", seed)
    _seed[0] = int(seed)
    for g in _generators.values():
        g.seed(int(seed))


def _check_seed(op: str, seed: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{op}: seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"{op}: seed must be non-negative, got {seed}")


def default_generator(device: Any = None) -> _DeviceGenerator:
    """The generator behind rand, randn, randint, randperm and dropout on one GPU."""
    index = current_device() if device is None else backend._resolve(backend.as_device(device)).index
    return _generator(index)


def _generator(index: int) -> _DeviceGenerator:
    g = _generators.get(index)
    if g is None:
        g = _generators[index] = _DeviceGenerator(index, _seed[0])
    return g


class _DeviceGenerator:
    """The methods of NumPy's Generator that neograd draws with, drawing on one GPU (CuPy's RandomState)."""

    def __init__(self, index: int, seed: int) -> None:
        self.index = index
        self.seed(seed)

    def seed(self, seed: int) -> None:
        cp = backend.cupy()
        with cp.cuda.Device(self.index):
            self._state = cp.random.RandomState(seed)

    def _draw(self, method: str, *args: Any, **kwargs: Any) -> Any:
        cp = backend.cupy()
        with cp.cuda.Device(self.index):
            return getattr(self._state, method)(*args, **kwargs)

    def random(self, size: Any = None, dtype: Any = np.float64) -> Any:
        return self._draw("random_sample", size, dtype)

    def standard_normal(self, size: Any = None, dtype: Any = np.float64) -> Any:
        return self._draw("standard_normal", size, dtype)

    def standard_exponential(self, size: Any = None) -> Any:
        return self._draw("standard_exponential", size)

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None) -> Any:
        return self._draw("uniform", low, high, size)

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: Any = None) -> Any:
        return self._draw("normal", loc, scale, size)

    def integers(self, low: int, high: int | None = None, size: Any = None) -> Any:
        return self._draw("randint", low, high, size, dtype=np.int64)

    def permutation(self, n: int) -> Any:
        return self._draw("permutation", n)
