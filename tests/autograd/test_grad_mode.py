"""Grad modes: no_grad, enable_grad, set_grad_enabled, no_track; per thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import neograd.autograd as ng


def leaf() -> ng.Tensor:
    return ng.tensor([1.0, 2.0], requires_grad=True)


def test_default_is_enabled() -> None:
    assert ng.is_grad_enabled() is True
    y = leaf() * 2
    assert y.requires_grad and y.grad_fn is not None


def test_no_grad_context_manager() -> None:
    x = leaf()
    with ng.no_grad():
        assert ng.is_grad_enabled() is False
        y = x * 2 + 1
    assert ng.is_grad_enabled() is True
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    np.testing.assert_array_equal(y.numpy(), [3.0, 5.0])


def test_no_grad_restores_mode_after_exception() -> None:
    with pytest.raises(ValueError, match="boom"):
        with ng.no_grad():
            raise ValueError("boom")
    assert ng.is_grad_enabled() is True


def test_no_grad_decorator() -> None:
    @ng.no_grad()
    def double(t: ng.Tensor) -> ng.Tensor:
        assert not ng.is_grad_enabled()
        return t * 2

    y = double(leaf())
    assert not y.requires_grad
    assert ng.is_grad_enabled()
    assert double.__name__ == "double"


def test_enable_grad_inside_no_grad() -> None:
    x = leaf()
    with ng.no_grad():
        with ng.enable_grad():
            assert ng.is_grad_enabled()
            y = x * 3
        assert not ng.is_grad_enabled()
        z = x * 3
    assert y.requires_grad and not z.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_enable_grad_decorator_inside_no_grad() -> None:
    @ng.enable_grad()
    def f(t: ng.Tensor) -> ng.Tensor:
        return t * 2

    with ng.no_grad():
        y = f(leaf())
    assert y.requires_grad


def test_nested_no_grad_restores_outer_mode() -> None:
    with ng.no_grad():
        with ng.no_grad():
            pass
        assert not ng.is_grad_enabled()
    assert ng.is_grad_enabled()


def test_set_grad_enabled_as_function() -> None:
    try:
        ng.set_grad_enabled(False)
        assert not ng.is_grad_enabled()
        assert not (leaf() * 2).requires_grad
        ng.set_grad_enabled(True)
        assert ng.is_grad_enabled()
    finally:
        ng.set_grad_enabled(True)


def test_set_grad_enabled_as_context_manager() -> None:
    with ng.set_grad_enabled(False):
        assert not ng.is_grad_enabled()
        with ng.set_grad_enabled(True):
            assert ng.is_grad_enabled()
        assert not ng.is_grad_enabled()
    assert ng.is_grad_enabled()


def test_set_grad_enabled_as_decorator_does_not_switch_at_definition() -> None:
    @ng.set_grad_enabled(False)
    def f(t: ng.Tensor) -> ng.Tensor:
        return t * 2

    assert ng.is_grad_enabled()
    assert not f(leaf()).requires_grad
    assert ng.is_grad_enabled()


def test_set_grad_enabled_refuses_non_bool() -> None:
    with pytest.raises(TypeError, match="set_grad_enabled"):
        ng.set_grad_enabled(0)  # type: ignore[arg-type]
    assert ng.is_grad_enabled()


def test_no_track_is_no_grad() -> None:
    assert ng.no_track is ng.no_grad
    with ng.no_track():
        y = leaf() * 2
    assert not y.requires_grad


def test_backward_under_no_grad_still_computes_gradients() -> None:
    x = leaf()
    y = (x * x).sum()
    with ng.no_grad():
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_grad_mode_is_thread_local() -> None:
    """A thread inside no_grad does not stop another thread from recording the graph."""
    inside = threading.Event()
    checked = threading.Event()
    results: dict[str, object] = {}

    def evaluator() -> None:
        with ng.no_grad():
            inside.set()
            checked.wait(timeout=10)
            results["evaluator_mode"] = ng.is_grad_enabled()
            results["evaluator_requires_grad"] = (leaf() * 2).requires_grad

    t = threading.Thread(target=evaluator)
    t.start()
    assert inside.wait(timeout=10)
    # the other thread is now inside no_grad; this one must still record
    results["main_mode"] = ng.is_grad_enabled()
    y = leaf() * 2
    results["main_requires_grad"] = y.requires_grad
    checked.set()
    t.join(timeout=10)
    assert results == {
        "main_mode": True,
        "main_requires_grad": True,
        "evaluator_mode": False,
        "evaluator_requires_grad": False,
    }


def test_new_thread_starts_with_grad_enabled() -> None:
    seen: list[bool] = []
    with ng.no_grad():
        t = threading.Thread(target=lambda: seen.append(ng.is_grad_enabled()))
        t.start()
        t.join(timeout=10)
    assert seen == [True]
