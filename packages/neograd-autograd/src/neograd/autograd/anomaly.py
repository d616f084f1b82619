"""Anomaly mode: find the operation whose backward produced the first NaN or infinity.

While anomaly mode is on (``detect_anomaly()``, ``set_detect_anomaly(True)``), every
recorded operation keeps a short traceback of where the forward pass created it, and
backward checks the gradients each node returns. The first node whose gradients are not
finite stops backward with a RuntimeError that names the op and shows where in your code
it was created. The mode is per thread, and off by default: off, it costs one flag check
per recorded op and one per backward call.

Example:
    >>> x = tensor([0.0, 1.0], requires_grad=True)
    >>> with detect_anomaly():
    ...     y = x.sqrt()            # d sqrt(x)/dx = 1 / (2 sqrt(x)) is inf at 0
    ...     y.sum().backward()      # RuntimeError: Function <SqrtBackward> returned ...
"""

from __future__ import annotations

import functools
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from neograd.autograd import backend

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled"]

F = TypeVar("F", bound=Callable[..., Any])

_TRACE_LIMIT = 12  # frames kept per node: enough to see the user's code around the op


class _AnomalyState(threading.local):
    enabled = False  # the default seen by every new thread
    check_nan = True


_state = _AnomalyState()

# NOTE: the idents of the threads that turned anomaly mode on. Function.apply runs for every
# op, so it tests this global set (a few nanoseconds) before the thread-local flag (tens).
_active: set[int] = set()


def _set_state(enabled: bool, check_nan: bool) -> None:
    _state.enabled, _state.check_nan = enabled, check_nan
    if enabled:
        _active.add(threading.get_ident())
    else:
        _active.discard(threading.get_ident())


def is_anomaly_enabled() -> bool:
    """Return True if anomaly mode is on in this thread."""
    return _state.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Return True if anomaly mode, when on, checks backward's gradients for NaN and infinity."""
    return _state.check_nan


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")


class detect_anomaly:
    """Context manager and decorator that turns anomaly mode on (as torch.autograd.detect_anomaly).

    Inside it, backward raises a RuntimeError at the first operation whose gradient is NaN
    or infinite, naming the operation and showing the line of the forward pass that
    created it. Slow (a traceback is recorded per op): use it to debug, not to train.

    Args:
        check_nan: check gradients for NaN and infinity (False records tracebacks only).

    Example:
        >>> with detect_anomaly():
        ...     loss = model(x).log().sum()
        ...     loss.backward()
    """

    def __init__(self, check_nan: bool = True) -> None:
        _check_bool("detect_anomaly: check_nan", check_nan)
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self._previous = (_state.enabled, _state.check_nan)
        _set_state(True, self.check_nan)

    def __exit__(self, *exc_info: object) -> None:
        _set_state(*self._previous)

    def __call__(self, fn: F) -> F:
        check_nan = self.check_nan

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(check_nan):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class set_detect_anomaly:
    """Turn anomaly mode on or off: immediately when called, or for a ``with`` block.

    Args:
        mode: True to turn anomaly mode on, False to turn it off.
        check_nan: check gradients for NaN and infinity while on.

    Example:
        >>> set_detect_anomaly(True)    # on for the rest of this thread's work
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        _check_bool("set_detect_anomaly: mode", mode)
        _check_bool("set_detect_anomaly: check_nan", check_nan)
        self._previous = (_state.enabled, _state.check_nan)
        _set_state(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info: object) -> None:
        _set_state(*self._previous)


def _record_trace() -> tuple[traceback.StackSummary, traceback.FrameSummary | None]:
    """Where the forward pass is now (called by Function.apply for each recorded op).

    Returns the innermost frames, most recent last, and the innermost frame outside
    neograd's packages: the user's line that created the op, however deep in nn it ran.
    """
    frame = sys._getframe(2)  # the caller of Function.apply
    stack = traceback.StackSummary.extract(traceback.walk_stack(frame), limit=_TRACE_LIMIT)
    stack.reverse()
    user: Any = frame
    while user is not None and user.f_globals.get("__name__", "").startswith("neograd."):
        user = user.f_back
    if user is not None:
        user = traceback.FrameSummary(user.f_code.co_filename, user.f_lineno, user.f_code.co_name)
    return stack, user


def _check_gradients(node: Any, grads: Sequence[Any]) -> None:
    """Raise if a gradient that ``node``'s backward returned holds NaN or infinity."""
    if not _state.check_nan:
        return
    for i, g in enumerate(grads):
        if g is None:
            continue
        values = backend.asarray(getattr(g, "data", g))  # (a GPU array stays on its GPU)
        if values.dtype.kind in "fc" and not np.isfinite(values).all():
            what = "nan" if np.isnan(values).any() else "inf"
            raise RuntimeError(
                f"Function {node!r} returned {what} values in its {i}th output (the gradient of "
                f"argument {i} of {type(node).__name__}.forward).\n{_where_created(node)}"
            )


def _where_created(node: Any) -> str:
    recorded = node.__dict__.get("_trace")
    if recorded is None:
        return (
            "No traceback of its forward pass was recorded: run the forward pass inside "
            "detect_anomaly() too, not only backward."
        )
    stack, user = recorded
    lines = []
    if user is not None:
        lines.append(
            f'The op was created in the forward pass at File "{user.filename}", line {user.lineno}, '
            f"in {user.name}"
        )
        if user.line:
            lines.append(f"    {user.line}")
    lines.append("Traceback of the forward call that created it (most recent call last):")
    lines.append("".join(stack.format()).rstrip())
    return "\n".join(lines)
