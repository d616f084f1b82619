"""Which arrays were changed in place, and when: so that backward never uses a stale saved array.

In-place operations are rare and every op saves arrays, so the cost sits with the rare
side. Each in-place change stamps the changed array (and the array whose memory it views)
with a new epoch; a node remembers the epoch at its forward; backward checks whether any
array the node saved was stamped later.
"""

from __future__ import annotations

import itertools
import threading
import weakref

import numpy as np

from neograd.autograd import backend

__all__ = ["mark_changed", "changed_since", "epoch"]

_counter = itertools.count(1)
_current = [0]
_lock = threading.Lock()
# id(array) -> (weak reference to the array, epoch of its last in-place change)
_stamps: dict[int, tuple[weakref.ref, int]] = {}


def epoch() -> int:
    """The epoch now: later in-place changes get larger epochs."""
    return _current[0]


def mark_changed(*arrays: np.ndarray) -> None:
    """Record that each of ``arrays`` (and the memory it views) was just changed in place."""
    # NOTE: written out for the array and its base, not a loop over both, and with the globals
    # in locals: the optimizer calls this every step
    stamps, ref, ndarray, is_device = _stamps, weakref.ref, np.ndarray, backend.is_device_array
    with _lock:
        e = _current[0] = next(_counter)
        for array in arrays:
            if isinstance(array, ndarray) or is_device(array):
                stamps[id(array)] = (ref(array), e)
            base = array.base
            if base is not None and (isinstance(base, ndarray) or is_device(base)):
                stamps[id(base)] = (ref(base), e)
        if len(_stamps) > 4096:  # forget arrays that no longer exist
            for k in [k for k, (ref, _) in _stamps.items() if ref() is None]:
                del _stamps[k]


def changed_since(array: np.ndarray, since: int) -> bool:
    """Whether ``array``, or memory it shares with a changed array, changed after epoch ``since``."""
    if _current[0] <= since:  # nothing at all changed in place since
        return False
    for a in (array, array.base):
        stamp = _stamps.get(id(a)) if a is not None else None
        if stamp is not None and stamp[0]() is a and stamp[1] > since:
            return True
    return False
