"""In-place operations: they work, or are refused before changing anything; stale saved arrays are caught."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import neograd.autograd as ng


def plain(values: Any = (1.0, 2.0, 3.0)) -> ng.Tensor:
    return ng.tensor(np.asarray(values, dtype=np.float64))


def leaf(values: Any = (1.0, 2.0, 3.0)) -> ng.Tensor:
    return ng.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def _iadd(t: ng.Tensor, v: Any) -> Any:
    t += v
    return t


def _isub(t: ng.Tensor, v: Any) -> Any:
    t -= v
    return t


def _imul(t: ng.Tensor, v: Any) -> Any:
    t *= v
    return t


def _idiv(t: ng.Tensor, v: Any) -> Any:
    t /= v
    return t


def _setitem(t: ng.Tensor, v: Any) -> Any:
    t[1] = v
    return t


def _setitem_mask(t: ng.Tensor, v: Any) -> Any:
    t[t.data > 1.5] = v
    return t


INPLACE: dict[str, tuple[Callable[[ng.Tensor, Any], Any], Any, list[float]]] = {
    # name: (operation, operand, expected result on [1, 2, 3])
    "+=": (_iadd, 2.0, [3.0, 4.0, 5.0]),
    "+=tensor": (_iadd, plain([1.0, 0.0, -1.0]), [2.0, 2.0, 2.0]),
    "-=": (_isub, 1.0, [0.0, 1.0, 2.0]),
    "*=": (_imul, plain([2.0, 3.0, 4.0]), [2.0, 6.0, 12.0]),
    "/=": (_idiv, 2.0, [0.5, 1.0, 1.5]),
    "x[i]=v": (_setitem, 7.0, [1.0, 7.0, 3.0]),
    "x[mask]=v": (_setitem_mask, 0.0, [1.0, 0.0, 0.0]),
    "zero_": (lambda t, v: t.zero_(), None, [0.0, 0.0, 0.0]),
    "fill_": (lambda t, v: t.fill_(v), 4.5, [4.5, 4.5, 4.5]),
    "fill_tensor": (lambda t, v: t.fill_(v), ng.tensor(2.0), [2.0, 2.0, 2.0]),
    "copy_": (lambda t, v: t.copy_(v), plain([9.0, 8.0, 7.0]), [9.0, 8.0, 7.0]),
    "copy_broadcast": (lambda t, v: t.copy_(v), np.array(5.0), [5.0, 5.0, 5.0]),
    "add_": (lambda t, v: t.add_(v), plain([1.0, 1.0, 1.0]), [2.0, 3.0, 4.0]),
    "add_alpha": (lambda t, v: t.add_(v, alpha=-0.5), plain([2.0, 2.0, 2.0]), [0.0, 1.0, 2.0]),
    "sub_": (lambda t, v: t.sub_(v), 1.0, [0.0, 1.0, 2.0]),
    "mul_": (lambda t, v: t.mul_(v), 3.0, [3.0, 6.0, 9.0]),
    "div_": (lambda t, v: t.div_(v), 4.0, [0.25, 0.5, 0.75]),
    "clamp_": (lambda t, v: t.clamp_(min=1.5, max=2.5), None, [1.5, 2.0, 2.5]),
}


@pytest.mark.parametrize("op", list(INPLACE))
def test_inplace_on_plain_tensor_works_and_is_seen_later(op: str) -> None:
    fn, operand, expected = INPLACE[op]
    t = plain()
    alias = t
    result = fn(t, operand)
    assert result is alias, "an in-place op returns the same tensor"
    np.testing.assert_array_equal(alias.numpy(), expected)
    np.testing.assert_array_equal((alias * 2).numpy(), np.array(expected) * 2)  # later ops see it


@pytest.mark.parametrize("op", list(INPLACE))
def test_inplace_on_leaf_requiring_grad_is_refused_before_changing(op: str) -> None:
    fn, operand, _ = INPLACE[op]
    t = leaf()
    with pytest.raises(RuntimeError, match=r"leaf Tensor that requires grad.*in-place"):
        fn(t, operand)
    np.testing.assert_array_equal(t.data, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("op", list(INPLACE))
def test_inplace_on_leaf_under_no_grad_works(op: str) -> None:
    fn, operand, expected = INPLACE[op]
    t = leaf()
    with ng.no_grad():
        fn(t, operand)
    np.testing.assert_array_equal(t.data, expected)
    assert t.requires_grad and t.is_leaf


def test_inplace_on_non_leaf_requiring_grad_is_refused() -> None:
    h = leaf() * 2
    with pytest.raises(RuntimeError, match="requires grad"):
        h += 1
    np.testing.assert_array_equal(h.data, [2.0, 4.0, 6.0])


def test_inplace_with_operand_requiring_grad_is_refused() -> None:
    t = plain()
    with pytest.raises(RuntimeError, match="operand that requires grad"):
        t += leaf()
    with pytest.raises(RuntimeError, match="operand that requires grad"):
        t[0] = leaf([5.0])[0]
    np.testing.assert_array_equal(t.data, [1.0, 2.0, 3.0])


def test_inplace_shape_or_dtype_mismatch_is_refused_before_changing() -> None:
    t = plain()
    with pytest.raises(RuntimeError, match=r"add_.*shape \(3,\).*shape \(2,\)"):
        t += np.ones(2)
    i = ng.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="int64"):
        i += 1.5
    with pytest.raises(IndexError, match=r"shape \(3,\)"):
        t[5] = 1.0
    np.testing.assert_array_equal(t.data, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(i.data, [1, 2, 3])


def test_grad_zero_and_optimizer_like_update() -> None:
    w = leaf([1.0, -1.0])
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        with ng.no_grad():
            w -= 0.25 * w.grad
        w.grad.zero_()
        np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])
    np.testing.assert_allclose(w.data, np.array([1.0, -1.0]) * 0.5**3)


# ---- the version check ------------------------------------------------------------------


def test_saved_input_changed_directly_makes_backward_raise() -> None:
    x, c = leaf(), plain([2.0, 2.0, 2.0])
    y = (x * c).sum()  # Mul saves c for x's gradient
    c += 1
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()
    assert x.grad is None


def test_saved_input_changed_through_a_view_makes_backward_raise() -> None:
    x, c = leaf(), plain([2.0, 2.0, 2.0])
    y = (x * c).sum()
    view = c[:2]
    view += 1
    assert c.data[0] == 3.0  # the view really shares memory
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_saved_view_changed_through_its_base_makes_backward_raise() -> None:
    x, c = leaf([1.0, 2.0]), plain([2.0, 2.0, 2.0])
    y = (x * c[1:]).sum()  # the saved array is a view of c
    c[2] = 10.0
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_saved_output_of_exp_changed_under_no_grad_makes_backward_raise() -> None:
    x = leaf()
    e = x.exp()  # Exp saves its output
    y = (e * 2).sum()
    with ng.no_grad():
        e.mul_(0.0)
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_leaf_updated_before_backward_makes_backward_raise() -> None:
    w = leaf()
    loss = (w * w).sum()  # Mul saves w's data
    with ng.no_grad():
        w -= 1  # an optimizer step at the wrong moment
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


def test_changing_an_unsaved_input_does_not_raise() -> None:
    x, c = leaf(), plain([2.0, 2.0, 2.0])
    y = (x + c).sum()  # Add saves nothing
    c += 5
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0])


def test_changing_an_unrelated_array_does_not_raise() -> None:
    x, c, other = leaf(), plain([2.0, 2.0, 2.0]), plain()
    y = (x * c).sum()
    other += 1
    other[0] = 5.0
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_change_before_the_forward_does_not_raise() -> None:
    x, c = leaf(), plain([2.0, 2.0, 2.0])
    c += 1
    y = (x * c).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0, 3.0])


def test_version_check_with_retain_graph_on_second_backward() -> None:
    x, c = leaf(), plain([2.0, 2.0, 2.0])
    y = (x * c).sum()
    y.backward(retain_graph=True)
    c.fill_(0.0)
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])  # only the first backward counted
