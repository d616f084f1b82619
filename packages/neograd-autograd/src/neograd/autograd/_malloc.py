"""glibc's malloc, told to keep freed memory for the next step (Linux with glibc; a no-op elsewhere).

NOTE: NumPy takes every array from malloc, and a training step makes and frees hundreds of
arrays of a few hundred KiB. With glibc's defaults the heap's free top goes back to the
system once it exceeds about twice the largest array freed so far, so each step the heap
is trimmed and regrown, and every page touched again is a page fault: the tiny GPT of
benchmarks/bench_gpt.py took ~6,000 faults and ~12 ms of system time a step, as long as
its arithmetic. torch avoids this with its own caching allocator; NumPy has none. Fixing
the two thresholds at the values glibc's own heuristic grows towards on 64-bit systems
(arrays under 32 MiB from the heap, up to 64 MiB of free heap kept) lets each step reuse
the pages of the last. The cost: after a peak, up to 64 MiB of freed memory can stay
resident instead of going back to the system. Arrays of 32 MiB or more still get their
own mappings, returned to the system when freed.

This runs once, when neograd.autograd is imported. Whoever sets either threshold
themselves (``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_MMAP_THRESHOLD_``, or their
``GLIBC_TUNABLES`` names) keeps their settings: ``MALLOC_TRIM_THRESHOLD_=131072`` brings
back glibc's default trimming.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__: list[str] = []

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # from glibc's <malloc.h>
TRIM_THRESHOLD = 64 << 20
MMAP_THRESHOLD = 32 << 20
_USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")
_USER_TUNABLES = ("glibc.malloc.trim_threshold", "glibc.malloc.mmap_threshold")


def _user_tuned(environ: Mapping[str, str]) -> bool:
    tunables = environ.get("GLIBC_TUNABLES", "")
    return any(k in environ for k in _USER_SETTINGS) or any(t in tunables for t in _USER_TUNABLES)


def keep_freed_memory() -> bool:
    """Set glibc's trim and mmap thresholds (see the module's NOTE); True if they were set."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):  # None, or ValueError below, off glibc
            return False
    except (AttributeError, ValueError, OSError):  # not POSIX, or a libc without the name
        return False
    if _user_tuned(os.environ):
        return False
    try:
        import ctypes  # NOTE: here, not at the top: a Python built without ctypes still imports neograd

        mallopt = ctypes.CDLL(None).mallopt
    except (ImportError, OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # setting either threshold turns glibc's own heuristic off, so both are set
    mmap_set = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    return bool(mmap_set and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
