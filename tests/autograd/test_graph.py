"""The graph and backward: fan-out, diamonds, accumulation, retain_graph, autograd.grad."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import neograd.autograd as ng


def f64(values, requires_grad: bool = True) -> ng.Tensor:
    return ng.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_fan_out_gradients_add_up() -> None:
    x = f64([1.0, 2.0, 3.0])
    y = x * 2 + x * x + x.exp()  # x used three times: d/dx = 2 + 2x + e^x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 + 2 * np.array([1, 2, 3]) + np.exp([1, 2, 3]))


def test_same_tensor_as_both_operands() -> None:
    x = f64(3.0)
    (x * x).backward()
    assert x.grad.item() == 6.0
    x.grad = None
    (x + x).backward()
    assert x.grad.item() == 2.0


def test_diamond_graph() -> None:
    # x -> a, x -> b, (a, b) -> c: the node of x must wait for both branches
    x = f64([0.5, -1.0])
    a = x.sin()
    b = x * 3
    c = a * b
    c.sum().backward()
    xv = np.array([0.5, -1.0])
    np.testing.assert_allclose(x.grad.numpy(), np.cos(xv) * 3 * xv + np.sin(xv) * 3)


def test_diamond_through_intermediate_with_unequal_depths() -> None:
    x = f64(2.0)
    h = x * x  # shared intermediate node
    long = (((h + 1) * 2 - 2) * 0.5).exp().log() * 2  # 2h, through a longer path
    y = long * h + h
    y.backward()
    # y = (2h) h + h = 2h^2 + h with h = x^2: dy/dx = (4h + 1) * 2x
    assert x.grad.item() == pytest.approx((4 * 4 + 1) * 2 * 2)


def test_leaves_accumulate_across_backward_calls() -> None:
    x = f64([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_repeated_backward_with_retain_graph_accumulates() -> None:
    x = f64([1.0, -2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * 2 * np.array([1.0, -2.0]))


def test_grad_is_a_new_array_each_first_time() -> None:
    # x.grad must not alias the gradient flowing through the graph (Add passes it through)
    x = f64([1.0, 2.0])
    g = np.ones(2)
    (x + 1).backward(g)
    x.grad.data[0] = 100.0
    assert g[0] == 1.0
    w = f64([1.0, 2.0])
    v = f64([1.0, 2.0])
    (w + v).sum().backward()
    w.grad.data[0] = 5.0
    assert v.grad.data[0] == 1.0


@pytest.mark.parametrize(
    "make",
    [lambda x: x, lambda x: x.reshape(2, 1), lambda x: x.T, lambda x: x * 1.0],
    ids=["leaf", "view", "T", "mul"],
)
def test_grad_does_not_alias_the_user_gradient(make) -> None:
    x = f64([1.0, 2.0])
    g = np.array([3.0, 4.0]).reshape(make(x).shape)
    make(x).backward(g)
    g[...] = 100.0
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    old = x.grad
    make(x).backward(g)  # accumulation changes the same Tensor, as in torch
    assert x.grad is old
    np.testing.assert_array_equal(old.numpy(), [103.0, 104.0])


def test_non_leaf_grad_is_none_unless_retain_grad() -> None:
    x = f64([1.0, 2.0])
    h = x * 2
    k = x * 3
    k.retain_grad()
    assert not h.is_leaf and h.grad_fn is not None and x.grad_fn is None
    (h * k).sum().backward()
    assert h.grad is None
    assert k.retains_grad and not h.retains_grad
    np.testing.assert_allclose(k.grad.numpy(), h.data)  # d(h k)/dk = h
    np.testing.assert_allclose(x.grad.numpy(), 2 * 3 * x.data * 2)


def test_retain_grad_on_leaf_is_harmless() -> None:
    x = f64([1.0])
    x.retain_grad()
    (x * 5).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0])


def test_retain_grad_accumulates_fan_out() -> None:
    x = f64([1.0, 2.0])
    h = x * 1
    h.retain_grad()
    (h * 2 + h * 3).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [5.0, 5.0])


def test_non_scalar_backward_needs_gradient_of_its_shape() -> None:
    x = f64([[1.0, 2.0], [3.0, 4.0]])
    y = x * 2
    with pytest.raises(RuntimeError, match=r"implicitly created only for one-element.*\(2, 2\)"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"gradient 0 has shape \(2,\) but the tensor has shape \(2, 2\)"):
        y.backward(np.ones(2))
    assert x.grad is None  # nothing moved
    y.backward([[1.0, 0.0], [0.5, 2.0]])
    np.testing.assert_allclose(x.grad.numpy(), [[2.0, 0.0], [1.0, 4.0]])


def test_one_element_non_scalar_gets_implicit_gradient() -> None:
    x = f64([[3.0]])
    (x * x).backward()
    assert x.grad.item() == 6.0


def test_gradient_as_tensor_list_and_seed_snippet() -> None:
    a = ng.tensor(3, requires_grad=True)
    b = ng.tensor([1, 2, 3], requires_grad=True)
    c = a + b
    c.backward(ng.tensor([1.0, 1.0, 1.0]))
    assert a.grad.item() == 3.0
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0, 1.0])


def test_backward_on_a_leaf_root() -> None:
    x = f64([1.0, 2.0])
    x.backward([3.0, 4.0])
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    s = f64(2.0)
    s.backward()
    assert s.grad.item() == 1.0


def test_backward_on_tensor_without_grad_raises() -> None:
    x = f64([1.0], requires_grad=False)
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward()


def test_long_chain_has_no_recursion_limit() -> None:
    assert sys.getrecursionlimit() < 20_000
    x = f64(0.5)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001**10_000, rel=1e-9)


def test_long_chain_of_additions_keeps_value() -> None:
    x = f64([1.0, 2.0])
    y = x
    for _ in range(10_000):
        y = y + x
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [10_001.0, 10_001.0])


def test_second_backward_through_released_graph_raises() -> None:
    x = f64([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_released_error_also_for_partially_shared_graph() -> None:
    x = f64([1.0, 2.0])
    h = x.tanh()
    (h * 2).sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        (h * 3).sum().backward()  # h's node was released by the first backward


def test_retain_graph_keeps_graph_usable_for_other_outputs() -> None:
    x = f64([1.0, 2.0])
    h = x.tanh()
    (h * 2).sum().backward(retain_graph=True)
    (h * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 5 * (1 - np.tanh([1.0, 2.0]) ** 2))


def test_no_gradient_to_branch_that_does_not_require_grad() -> None:
    x = f64([1.0, 2.0])
    c = f64([5.0, 6.0], requires_grad=False)
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 6.0])


def test_backward_with_multiple_roots() -> None:
    x = f64([1.0, 2.0])
    a, b = (x * 2).sum(), (x * x).sum()
    ng.backward([a, b])
    np.testing.assert_allclose(x.grad.numpy(), 2 + 2 * x.data)
    y = f64([1.0, 2.0])
    u, v = y * 3, y.exp()
    ng.backward((u, v), (np.ones(2), np.array([1.0, 0.0])))
    np.testing.assert_allclose(y.grad.numpy(), [3 + np.e, 3.0])


def test_intermediate_root_and_unreached_branch() -> None:
    # backward from a tensor in the middle does not touch the inputs of later ops
    x, w = f64([1.0, 2.0]), f64([3.0, 4.0])
    h = x * 2
    _ = h * w
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    assert w.grad is None


# ---- autograd.grad --------------------------------------------------------------------


def test_grad_returns_gradients_without_touching_dot_grad() -> None:
    x, w = f64([1.0, 2.0]), f64([3.0, -1.0])
    y = (x * w).sum()
    gx, gw = ng.grad(y, [x, w])
    np.testing.assert_array_equal(gx.numpy(), [3.0, -1.0])
    np.testing.assert_array_equal(gw.numpy(), [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_grad_single_input_returns_tuple() -> None:
    x = f64(2.0)
    result = ng.grad(x**3, x)
    assert isinstance(result, tuple) and len(result) == 1
    assert result[0].item() == pytest.approx(12.0)


def test_grad_with_respect_to_non_leaf() -> None:
    x = f64([1.0, 2.0])
    h = x * 3
    y = (h * h).sum()
    (gh,) = ng.grad(y, h)
    np.testing.assert_allclose(gh.numpy(), 2 * h.data)
    assert h.grad is None and x.grad is None


def test_grad_with_respect_to_non_leaf_with_fan_out() -> None:
    x = f64([1.0, 2.0])
    h = x.exp()
    y = (h * 2 + h.sin()).sum()
    gh, gx = ng.grad(y, [h, x])
    np.testing.assert_allclose(gh.numpy(), 2 + np.cos(h.data))
    np.testing.assert_allclose(gx.numpy(), (2 + np.cos(h.data)) * h.data)


def test_grad_allow_unused() -> None:
    x, z = f64([1.0]), f64([2.0])
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        ng.grad(y, [x, z], retain_graph=True)
    gx, gz = ng.grad(y, [x, z], allow_unused=True)
    assert gz is None
    np.testing.assert_array_equal(gx.numpy(), [2.0])


def test_grad_with_grad_outputs() -> None:
    x = f64([1.0, 2.0, 3.0])
    y = x * x
    (gx,) = ng.grad(y, x, grad_outputs=np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(gx.numpy(), [2.0, 0.0, -6.0])
    y2 = x * 4
    (gx2,) = ng.grad([y2], [x], grad_outputs=[ng.tensor(np.array([0.5, 1.0, 2.0]))])
    np.testing.assert_array_equal(gx2.numpy(), [2.0, 4.0, 8.0])


def test_grad_non_scalar_output_without_grad_outputs_raises() -> None:
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="one-element"):
        ng.grad(x * 2, x)


def test_grad_input_that_does_not_require_grad_raises() -> None:
    x = f64([1.0], requires_grad=False)
    w = f64([1.0])
    with pytest.raises(RuntimeError, match="input 0"):
        ng.grad((x * w).sum(), x)


def test_grad_releases_graph_unless_retained() -> None:
    x = f64([1.0, 2.0])
    y = (x.sin() * x).sum()
    ng.grad(y, x, retain_graph=True)
    g1 = ng.grad(y, x)[0].numpy().copy()
    with pytest.raises(RuntimeError, match="retain_graph"):
        ng.grad(y, x)
    np.testing.assert_allclose(g1, np.cos([1.0, 2.0]) * [1.0, 2.0] + np.sin([1.0, 2.0]))


def test_grad_of_leaf_input_used_as_output() -> None:
    x = f64([1.0, 2.0])
    (gx,) = ng.grad(x, x, grad_outputs=np.array([3.0, 4.0]))
    np.testing.assert_array_equal(gx.numpy(), [3.0, 4.0])
