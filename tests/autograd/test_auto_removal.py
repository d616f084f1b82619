"""Auto-removal, proven: what the graph saved is freed during backward, not after.

The probe is a custom Function placed first in a chain, so that its backward runs last:
from inside it, weak references show which arrays saved by the nodes downstream are still
alive while backward is still running. The cyclic garbage collector is switched off in
every test, so anything freed here was freed by reference counting alone (no cycles).
"""

from __future__ import annotations

import gc
import tracemalloc
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import neograd.autograd as ng
from neograd.autograd import Function


@pytest.fixture(autouse=True)
def no_cyclic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Probe(Function):
    """The identity; its backward calls ``callback()`` (the moment to look at memory)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, callback: Callable[[], None]) -> np.ndarray:
        ctx.callback = callback
        return x.copy()

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        ctx.callback()
        return grad_output


def f64(shape: tuple[int, ...] = (4,), requires_grad: bool = True) -> ng.Tensor:
    return ng.tensor(np.random.default_rng(0).uniform(0.5, 1.5, shape), requires_grad=requires_grad)


def test_saved_arrays_are_freed_before_backward_returns() -> None:
    seen: dict[str, list[bool]] = {}
    x = f64()
    p = Probe.apply(x, callback=lambda: seen.setdefault("alive", [r() is not None for r in refs]))
    e = p.exp()  # Exp saves its output e
    t = e.tanh()  # Tanh saves its output t
    a, b = t.sin(), t.cos()
    m = a * b  # Mul saves both of its inputs a and b
    loss = m.sum()
    refs = [weakref.ref(v.data) for v in (e, t, a, b)]
    del e, t, a, b, m  # from here on only the graph holds those arrays
    assert all(r() is not None for r in refs), "the graph must keep what backward needs"
    loss.backward()
    assert seen["alive"] == [False, False, False, False], "saved arrays outlived their node's backward"
    # and the gradient is still right
    xv = x.data
    tv = np.tanh(np.exp(xv))
    dm_dt = np.cos(tv) ** 2 - np.sin(tv) ** 2
    np.testing.assert_allclose(x.grad.numpy(), dm_dt * (1 - tv**2) * np.exp(xv))


def test_nodes_drop_links_into_the_graph() -> None:
    x = f64()
    h = x.exp()
    node = weakref.ref(h.grad_fn)
    y = (h * 2).sum()
    del h
    assert node() is not None  # y's graph reaches it
    y.backward()
    assert node() is None, "a node stayed reachable after backward released the graph"


def test_unsaved_intermediates_are_freed_during_forward() -> None:
    x = f64()
    a = x + 1  # Add saves nothing
    r_add = weakref.ref(a.data)
    b = a + 2
    del a
    assert r_add() is None, "an intermediate nobody saved was kept alive by the graph"
    h = b * 3  # Mul saves b (an input) but not its own output h
    r_mul_out = weakref.ref(h.data)
    y = h.relu()  # Relu keeps a mask, not its input
    del h
    assert r_mul_out() is None
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(4, 3.0))


def test_memory_falls_during_backward() -> None:
    n, size = 12, 250_000  # twelve saved outputs of 2 MB each
    level: dict[str, int] = {}
    tracemalloc.start()
    try:
        x = ng.tensor(np.full(size, 0.1), requires_grad=True)
        y = Probe.apply(x, callback=lambda: level.setdefault("during", tracemalloc.get_traced_memory()[0]))
        for _ in range(n):
            y = y.exp() * 0.1  # Exp saves its 2 MB output, Mul saves Exp's output too
        loss = y.sum()
        del y
        before = tracemalloc.get_traced_memory()[0]
        loss.backward()
    finally:
        tracemalloc.stop()
    saved = n * size * 8
    assert before > saved  # the graph holds at least one saved array per Exp
    # when the last node runs, at most a few arrays (gradients in flight) remain
    assert before - level["during"] > saved - 6 * size * 8


def test_retain_graph_keeps_saved_arrays() -> None:
    x = f64()
    e = x.exp()
    loss = (e * e).sum()
    ref = weakref.ref(e.data)
    del e
    loss.backward(retain_graph=True)
    assert ref() is not None, "retain_graph=True must keep what the graph saved"
    loss.backward()  # the second backward works ...
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * np.exp(2 * x.data))
    assert ref() is None  # ... and releases


def test_dropped_graph_is_freed_by_refcounting() -> None:
    x = f64((3, 3))
    h = x.exp()
    k = h @ h.T
    out = (k.log_softmax(dim=1) * h).sum()
    refs = [weakref.ref(h.data), weakref.ref(k.grad_fn), weakref.ref(out.grad_fn), weakref.ref(h.grad_fn)]
    del h, k
    assert all(r() is not None for r in refs)
    del out  # no backward at all
    assert all(r() is None for r in refs), "the graph holds a reference cycle"


def test_retain_grad_does_not_create_cycles() -> None:
    x = f64()
    h = x * 2
    h.retain_grad()
    node = weakref.ref(h.grad_fn)
    y = (h * h).sum()
    r = weakref.ref(h)
    del h, y
    assert r() is None and node() is None


def test_graph_of_tensor_kept_after_backward_holds_nothing() -> None:
    x = f64()
    e = x.exp()
    y = (e * 3).sum()
    ref = weakref.ref(e.data)
    del e
    y.backward()
    assert ref() is None
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.grad_fn.saved_tensors
