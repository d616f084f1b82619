"""Grad mode: whether operations record the graph that backward needs.

The switch is per thread, so one thread evaluating under ``no_grad()`` does not stop
another thread from training.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "no_track"]

F = TypeVar("F", bound=Callable[..., Any])


class _GradState(threading.local):
    enabled = True  # the default seen by every new thread


_state = _GradState()


def is_grad_enabled() -> bool:
    """Return True if operations in this thread currently record the graph."""
    return _state.enabled


class _GradModeContext:
    """Sets grad mode on entry and restores the previous mode on exit; also a decorator."""

    mode: bool

    def __enter__(self) -> None:
        self._previous = _state.enabled
        _state.enabled = self.mode

    def __exit__(self, *exc_info: object) -> None:
        _state.enabled = self._previous

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeContext):
    """Context manager and decorator that turns graph recording off.

    Results computed inside have ``requires_grad=False``; use it for evaluation and
    for updating parameters in place.

    Example:
        >>> x = tensor([1.0, 2.0], requires_grad=True)
        >>> with no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    mode = False


class enable_grad(_GradModeContext):
    """Context manager and decorator that turns graph recording back on inside ``no_grad``."""

    mode = True


no_track = no_grad
"""The original neograd's name for :class:`no_grad`."""


class set_grad_enabled(_GradModeContext):
    """Set grad mode to ``mode``: immediately when called, or for a ``with`` block.

    Args:
        mode: True to record the graph, False not to.
    """

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {type(mode).__name__}")
        self._previous = _state.enabled
        self.mode = mode
        _state.enabled = mode

    def __enter__(self) -> None:
        _state.enabled = self.mode

    def __call__(self, fn: F) -> F:
        _state.enabled = self._previous  # used as a decorator: undo the immediate switch
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
