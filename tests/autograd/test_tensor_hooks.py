"""Tensor.register_hook and register_post_accumulate_grad_hook: when they run, on what, with what effect."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import neograd.autograd as ng
from neograd.autograd import Function
from neograd.autograd.hooks import RemovableHandle


def leaf(values, dtype=np.float64):
    return ng.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ---- register_hook -----------------------------------------------------------------------
def test_leaf_hook_sees_the_summed_gradient_once_and_replaces_it():
    x = leaf([1.0, 2.0])
    seen = []

    def hook(g):
        seen.append(g.data.copy())
        return g * 2

    x.register_hook(hook)
    (x * 3 + x * x).sum().backward()  # x used by three nodes: 3 + 2x
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [5.0, 7.0])
    np.testing.assert_allclose(x.grad.data, [10.0, 14.0])


def test_nonleaf_hook_changes_what_flows_on_and_what_retain_grad_keeps():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: g * 10)  # runs before retain_grad's, as in torch
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.data, 10 * 2 * y.data)
    np.testing.assert_allclose(x.grad.data, 2 * 10 * 2 * y.data)


def test_retain_grad_before_the_hook_also_keeps_the_hooked_gradient():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_allclose(y.grad.data, [10.0, 10.0])
    np.testing.assert_allclose(x.grad.data, [20.0, 20.0])


def test_hooks_run_in_registration_order_each_on_the_previous_result():
    x = leaf([1.0])
    order = []
    x.register_hook(lambda g: order.append(("a", float(g.data[0]))) or g + 1)
    x.register_hook(lambda g: order.append(("b", float(g.data[0]))))  # None: keeps the gradient
    x.register_hook(lambda g: order.append(("c", float(g.data[0]))) or g * 3)
    (x * 1).sum().backward()
    assert order == [("a", 1.0), ("b", 2.0), ("c", 2.0)]
    np.testing.assert_allclose(x.grad.data, [6.0])


def test_remove_and_context_manager():
    x = leaf([1.0])
    handle = x.register_hook(lambda g: g * 100)
    assert isinstance(handle, RemovableHandle)
    handle.remove()
    handle.remove()  # a second remove is a no-op
    with x.register_hook(lambda g: g * 5):
        (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [5.0])
    (x * 1).sum().backward()  # the hook left with the with-block
    np.testing.assert_allclose(x.grad.data, [6.0])


def test_handle_ids_increase():
    x = leaf([1.0])
    a, b = x.register_hook(lambda g: None), x.register_hook(lambda g: None)
    assert b.id > a.id


def test_a_hook_that_removes_itself_still_lets_the_others_run():
    x = leaf([1.0])
    calls = []
    handle = x.register_hook(lambda g: calls.append(1) or handle.remove())
    x.register_hook(lambda g: calls.append(2))
    (x * 1).sum().backward()
    (x * 1).sum().backward()
    assert calls == [1, 2, 2]


def test_hook_not_called_when_no_gradient_reaches_the_tensor():
    a, b = leaf(1.0), leaf(1.0)
    called = []
    a.register_hook(lambda g: called.append(g))
    (b * 2).backward()
    assert called == [] and a.grad is None


def test_hook_on_a_leaf_that_is_itself_the_output():
    a = leaf(1.0)
    a.register_hook(lambda g: g * 4)
    a.backward()
    assert float(a.grad.data) == 4.0


def test_hook_result_is_copied_into_grad():
    x = leaf([1.0, 2.0])
    kept = ng.tensor(np.array([3.0, 4.0]))
    x.register_hook(lambda g: kept)
    (x * 1).sum().backward()
    x.grad.data[0] = 100.0
    assert kept.data[0] == 3.0  # .grad owns its array


@pytest.mark.parametrize(
    ("result", "error", "message"),
    [
        (lambda g: g.sum(), RuntimeError, "changed the size"),
        (lambda g: g.float(), RuntimeError, "changed the type"),
        (lambda g: 3, TypeError, "expected a Tensor or None"),
    ],
)
def test_bad_hook_results(result, error, message):
    x = leaf([1.0, 2.0])
    y = x * 2
    y.register_hook(result)
    with pytest.raises(error, match=message):
        y.sum().backward()


def test_register_hook_errors():
    x = ng.tensor([1.0])
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        x.register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        x.register_post_accumulate_grad_hook(lambda t: None)
    y = leaf([1.0]) * 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError, match="callable"):
        leaf([1.0]).register_hook(3)


def test_create_graph_hook_gets_a_gradient_with_a_graph():
    x = leaf(2.0)
    seen = []

    def hook(g):
        seen.append(g.requires_grad)
        return g * x  # the replacement is part of the graph too

    x.register_hook(hook)
    (dy,) = ng.grad(x**3, x, create_graph=True)  # 3x^2 * x = 3x^3
    assert seen == [True]
    assert float(dy.data) == pytest.approx(24.0)
    (d2y,) = ng.grad(dy, x)  # 9x^2, and the hook again: * x = 9x^3
    assert float(d2y.data) == pytest.approx(72.0)


def test_grad_calls_tensor_hooks_and_returns_their_result():
    x = leaf([1.0, 2.0])
    y = x * 3
    calls = []
    y.register_hook(lambda g: calls.append("y") or g + 1)
    x.register_hook(lambda g: calls.append("x") or g * 2)
    x.register_post_accumulate_grad_hook(lambda t: calls.append("post"))
    (gx,) = ng.grad((y + x).sum(), [x])
    np.testing.assert_allclose(gx.data, [14.0, 14.0])  # ((1 + 1) * 3 + 1) * 2
    assert calls == ["y", "x"] and x.grad is None  # no accumulation: no post-accumulate hook


def test_grad_of_a_nonleaf_input_is_taken_after_its_hooks():
    x = leaf([1.0])
    y = x * 2
    y.register_hook(lambda g: g * 7)
    (gy,) = ng.grad((y * 1).sum(), [y])
    np.testing.assert_allclose(gy.data, [7.0])


def test_grad_of_a_nonleaf_input_whose_node_runs_on_is_taken_before_its_hooks():
    # torch's rule: y's node must run on (towards x), so y's gradient is collected first
    x = leaf([1.0])
    y = x * 2
    y.register_hook(lambda g: g * 7)
    gx, gy = ng.grad((y * 1).sum(), [x, y])
    np.testing.assert_allclose(gy.data, [1.0])
    np.testing.assert_allclose(gx.data, [14.0])


def test_grad_skips_hooks_off_the_way_to_its_inputs():
    a, b = leaf(1.0), leaf(1.0)
    c = a * 2
    called = []
    c.register_hook(lambda g: called.append("c"))
    a.register_hook(lambda g: called.append("a"))
    ng.grad(c + b * 3, [b])
    assert called == []


def test_hooks_survive_retain_graph_and_nonleaf_hooks_leave_with_the_node():
    x = leaf([1.0])
    y = x * 2
    calls = []
    y.register_hook(lambda g: calls.append("y"))
    x.register_hook(lambda g: calls.append("x"))
    loss = (y * 1).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert calls == ["y", "x", "y", "x"]
    (x * 1).sum().backward()  # the leaf keeps its hooks
    assert calls[-1] == "x" and calls.count("y") == 2


def test_hook_on_an_intermediate_is_released_with_the_graph():
    class Probe:
        def __call__(self, g):
            return None

    x = leaf([1.0, 2.0])
    y = x * 2
    probe = Probe()
    y.register_hook(probe)
    ref = weakref.ref(probe)
    loss = (y * y).sum()
    del probe
    gc.collect()
    assert ref() is not None  # the node holds it until backward
    loss.backward()
    assert ref() is None  # released with the node, although y is still alive
    assert y.grad_fn is not None


# ---- register_post_accumulate_grad_hook --------------------------------------------------
def test_post_accumulate_runs_once_after_the_whole_gradient_is_in_grad():
    w = leaf([1.0, 2.0])
    seen = []
    w.register_hook(lambda g: g * 2)
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.data.copy()))
    (w * 3 + w).sum().backward()  # two uses: one call, on the sum (after the tensor hook)
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [8.0, 8.0])
    (w * 1).sum().backward()  # accumulates: the hook sees .grad, not just this backward's part
    np.testing.assert_allclose(seen[1], [10.0, 10.0])


def test_post_accumulate_runs_as_soon_as_the_leaf_is_done():
    # b's gradient is complete before the node that produces a's gradient runs
    order = []

    class Mark(Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad_output):
            order.append("mark")
            return grad_output

    a, b = leaf([1.0]), leaf([2.0])
    a.register_post_accumulate_grad_hook(lambda t: order.append("a"))
    b.register_post_accumulate_grad_hook(lambda t: order.append("b"))
    (Mark.apply(a) * b).sum().backward()
    assert order == ["b", "mark", "a"]


def test_post_accumulate_can_step_and_clear_grad():
    w = leaf([1.0, 2.0])

    def step(p):
        p.data -= 0.5 * p.grad.data
        p.grad = None

    w.register_post_accumulate_grad_hook(step)
    (w * w).sum().backward()
    np.testing.assert_allclose(w.data, [0.0, 0.0])
    assert w.grad is None


def test_post_accumulate_with_create_graph():
    w = leaf(3.0)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.requires_grad))
    (w * w).backward(create_graph=True)
    assert seen == [True] and float(w.grad.data) == 6.0


def test_unhooked_leaves_unaffected_after_hooks_exist():
    # once any leaf hook was registered backward counts hooked leaves: others still accumulate per use
    h = leaf([1.0])
    h.register_post_accumulate_grad_hook(lambda t: None)
    x = leaf([1.0, 2.0])
    (x * 3 + x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [5.0, 7.0])
