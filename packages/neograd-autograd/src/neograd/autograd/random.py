"""neograd's own random number generator: reproducible with manual_seed, independent of np.random."""

from __future__ import annotations

from typing import Any

import numpy as np

from neograd.autograd import backend

__all__ = [
    "default_generator",
    "device_generator",
    "manual_seed",
    "seed",
    "get_rng_state",
    "set_rng_state",
    "check_rng_state",
]

default_generator = np.random.Generator(np.random.PCG64())
"""The generator behind rand, randn, randint, randperm and neograd.nn's initialisation."""


def device_generator(device: Any = None) -> Any:
    """The generator random values on ``device`` come from: the CPU's :data:`default_generator`
    (``device`` None or the CPU), or the GPU's (see ``neograd.cuda.default_generator``)."""
    if device is None or device is backend.cpu or backend.as_device(device).type == "cpu":
        return default_generator
    from neograd.autograd import cuda

    return cuda.default_generator(device)


def manual_seed(seed: int) -> np.random.Generator:
    """Seed neograd's generators (the CPU's and every GPU's) so that what follows is reproducible.

    Returns the CPU's generator.

    Example:
        >>> manual_seed(0); a = randn(3)
        >>> manual_seed(0); b = randn(3)   # a and b are equal
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be non-negative, got {seed}")
    default_generator.bit_generator.state = np.random.PCG64(int(seed)).state
    from neograd.autograd import cuda

    cuda.manual_seed_all(seed)  # as torch.manual_seed: every device
    return default_generator


def seed() -> int:
    """Seed neograd's generator from the operating system's entropy; returns the seed used."""
    s = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(s)
    return s


def get_rng_state() -> dict[str, Any]:
    """The generator's state as a plain dict of ints and strings (JSON-safe, no pickle)."""
    return default_generator.bit_generator.state


def check_rng_state(state: Any) -> None:
    """Raise ValueError unless ``state`` is a valid state for neograd's generator (changes nothing)."""
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise ValueError("invalid random state: expected a PCG64 state dict returned by get_rng_state()")
    # NOTE: NumPy 1.x accepts out-of-range words (a negative state) without a word; check them here
    inner = state.get("state")
    words = [inner.get("state"), inner.get("inc")] if isinstance(inner, dict) else [None]
    if not all(isinstance(w, int) and not isinstance(w, bool) and 0 <= w < 2**128 for w in words):
        raise ValueError("invalid random state: the PCG64 state and inc must be ints in [0, 2**128)")
    try:  # NumPy checks the rest; a throwaway generator keeps the real one untouched
        np.random.PCG64().state = state
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise ValueError(f"invalid random state ({type(e).__name__}: {e})") from None


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a state returned by get_rng_state() (a ValueError, and no change, if it is invalid)."""
    try:
        check_rng_state(state)
    except ValueError as e:
        raise ValueError(f"set_rng_state: {e}") from None
    default_generator.bit_generator.state = state
