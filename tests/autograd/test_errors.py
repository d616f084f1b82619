"""Bad input: each error names the op and the offending shapes or values, and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import neograd.autograd as ng
from neograd.autograd import Function, GradcheckError


def t(*shape: int) -> ng.Tensor:
    return ng.tensor(np.ones(shape))


ERRORS: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    # id, call, exception, message (a regex; shapes are quoted literally)
    ("matmul", lambda: t(3, 4) @ t(5, 2), ValueError, "matmul: shapes (3, 4) and (5, 2) are not aligned"),
    ("matmul-fn", lambda: ng.matmul(t(3), t(4)), ValueError, "matmul: shapes (3,) and (4,) are not aligned"),
    ("matmul-batch", lambda: t(2, 3, 4) @ t(3, 5, 2), ValueError, "matmul: shapes (2, 3, 4) and (3, 5, 2)"),
    ("dot", lambda: ng.dot(t(3), t(4)), ValueError, "dot: .* shapes (3,) and (4,)"),
    ("mm", lambda: ng.mm(t(3), t(3, 4)), ValueError, "mm: .* shapes (3,) and (3, 4)"),
    ("bmm", lambda: ng.bmm(t(2, 3, 4), t(3, 4, 2)), ValueError, "bmm: .* shapes (2, 3, 4) and (3, 4, 2)"),
    (
        "add-broadcast",
        lambda: t(3, 4) + t(4, 3),
        ValueError,
        "add: shapes (3, 4) and (4, 3) cannot be broadcast",
    ),
    ("mul-broadcast", lambda: t(3, 4) * t(2), ValueError, "mul: shapes (3, 4) and (2,)"),
    ("maximum-broadcast", lambda: ng.maximum(t(2), t(3)), ValueError, "maximum: shapes (2,) and (3,)"),
    (
        "reshape",
        lambda: t(3, 4).reshape(5, 3),
        ValueError,
        "reshape: .* shape (3, 4) (12 elements) into (5, 3)",
    ),
    ("view", lambda: t(3, 4).view(-1, 5), ValueError, "reshape: .* shape (3, 4) .* into (-1, 5)"),
    (
        "cat-shapes",
        lambda: ng.cat([t(3, 4), t(5, 2)]),
        ValueError,
        "cat: shapes [(3, 4), (5, 2)] differ outside dim 0",
    ),
    ("cat-ndim", lambda: ng.cat([t(3, 4), t(3)], dim=1), ValueError, "cat: shapes [(3, 4), (3,)]"),
    ("cat-empty", lambda: ng.cat([]), ValueError, "cat: expects a non-empty list"),
    ("cat-tensor", lambda: ng.cat(t(2, 2)), TypeError, "cat: expects a list or tuple of tensors"),
    (
        "stack-shapes",
        lambda: ng.stack([t(3, 4), t(3, 5)]),
        ValueError,
        "stack: .* same shape, got [(3, 4), (3, 5)]",
    ),
    ("sum-dim", lambda: t(3, 4).sum(dim=2), IndexError, "sum: dim 2 is out of range for a tensor with 2 dim"),
    ("mean-dim", lambda: t(3, 4).mean(dim=-3), IndexError, "mean: dim -3 is out of range"),
    ("sum-repeated", lambda: t(3, 4).sum(dim=(0, -2)), ValueError, "sum: dim (0, -2) repeats a dimension"),
    (
        "sum-float-dim",
        lambda: t(3, 4).sum(dim=0.5),
        TypeError,
        "sum: dim must be an int or a tuple of ints, got 0.5",
    ),
    ("softmax-dim", lambda: t(3, 4).softmax(dim=3), IndexError, "softmax: dim 3 is out of range"),
    ("max-dim", lambda: t(3, 4).max(dim=2), IndexError, "max: dim 2 is out of range"),
    ("permute", lambda: t(3, 4).permute(0, 0), ValueError, "permute: (0, 0) is not a permutation .* (3, 4)"),
    ("transpose", lambda: t(3, 4).transpose(0, 2), IndexError, "transpose: dim 2 is out of range"),
    ("squeeze", lambda: t(3, 4).squeeze(5), IndexError, "squeeze: dim 5"),
    ("unsqueeze", lambda: t(3, 4).unsqueeze(4), IndexError, "unsqueeze: dim 4"),
    ("flatten", lambda: t(2, 3, 4).flatten(2, 1), ValueError, "flatten: start_dim 2 comes after end_dim 1"),
    ("expand", lambda: t(3, 4).expand(2, 5), ValueError, "expand: cannot broadcast shape (3, 4) to (2, 5)"),
    ("expand-fewer", lambda: t(3, 4).expand(4), ValueError, "expand: 1 sizes given for a tensor with 2 dims"),
    ("getitem", lambda: t(3, 4)[3], IndexError, "getitem: index 3 for a tensor of shape (3, 4)"),
    ("getitem-too-many", lambda: t(3, 4)[0, 0, 0], IndexError, "getitem: .* shape (3, 4)"),
    (
        "gather-dtype",
        lambda: t(3, 4).gather(1, t(3, 1)),
        TypeError,
        "gather: index must be an integer tensor",
    ),
    (
        "gather-ndim",
        lambda: t(3, 4).gather(1, ng.tensor([0])),
        ValueError,
        "gather: index has 1 dims but input has 2",
    ),
    ("split", lambda: t(3, 4).split([1, 1]), ValueError, "split: sizes [1, 1] do not add up to 3"),
    ("chunk", lambda: t(3, 4).chunk(0), ValueError, "chunk: chunks must be a positive int, got 0"),
    ("pad", lambda: ng.pad(t(3, 4), (1,)), ValueError, "pad: needs pairs for at most 2 dims, got (1,)"),
    ("pad-mode", lambda: ng.pad(t(3, 4), (1, 1), mode="reflect"), ValueError, "pad: only mode='constant'"),
    ("repeat", lambda: t(3, 4).repeat(2), ValueError, "repeat: got 1 sizes for a tensor with 2 dims"),
    (
        "where-cond",
        lambda: ng.where(ng.tensor([1, 0]), t(2), 0.0),
        TypeError,
        "where: condition must be a bool",
    ),
    ("clamp", lambda: ng.clamp(t(2)), ValueError, "clamp: at least one of min and max"),
    (
        "var-args",
        lambda: ng.var(t(3), unbiased=True, correction=1),
        TypeError,
        "var: give correction or unbiased",
    ),
    (
        "amax-empty",
        lambda: ng.amax(ng.zeros(0)),
        ValueError,
        "amax: cannot reduce an empty tensor of shape (0,)",
    ),
    ("max-empty-dim", lambda: ng.zeros(2, 0).max(dim=1), ValueError, "max: cannot reduce dim 1 of size 0"),
    ("t-3d", lambda: t(2, 3, 4).t(), ValueError, "t: expects a tensor with <= 2 dimensions, got 3"),
    ("zeros-negative", lambda: ng.zeros(-1), ValueError, "zeros: sizes must be non-negative, got (-1,)"),
    ("zeros-float", lambda: ng.zeros(2.5), TypeError, "zeros: sizes must be ints"),
    ("randint", lambda: ng.randint(5, 2, (3,)), ValueError, "randint: high (2) must be greater than low (5)"),
    ("arange", lambda: ng.arange(0, 5, 0), ValueError, "arange: step must be nonzero"),
    (
        "linspace",
        lambda: ng.linspace(0, 1, -1),
        ValueError,
        "linspace: steps must be a non-negative int, got -1",
    ),
    ("manual_seed", lambda: ng.manual_seed(-1), ValueError, "manual_seed: seed must be non-negative, got -1"),
    ("full", lambda: ng.full((2,), "x"), TypeError, "full: fill_value must be a number"),
    ("dtype", lambda: ng.tensor([1.0]).to("complex64"), TypeError, "unsupported dtype complex64"),
]


@pytest.mark.parametrize(("case", "call", "exc", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_error_names_op_and_shapes(
    case: str, call: Callable[[], Any], exc: type[Exception], message: str
) -> None:
    pattern = ".*".join(re.escape(part) for part in message.split(".*"))
    with pytest.raises(exc, match=pattern):
        call()


@pytest.mark.parametrize(
    "data",
    ["abc", ["a", "b"], None, {"a": 1}, [[1, 2], [3]], object()],
    ids=["str", "strs", "none", "dict", "ragged", "obj"],
)
def test_non_numeric_data_is_a_type_error(data: Any) -> None:
    with pytest.raises(TypeError, match="tensor: "):
        ng.tensor(data)


@pytest.mark.parametrize("other", ["x", None, object()], ids=["str", "none", "object"])
def test_non_numeric_operand_is_a_type_error(other: Any) -> None:
    with pytest.raises(TypeError):
        t(2) + other


def test_requires_grad_on_integer_dtype_is_refused() -> None:
    with pytest.raises(TypeError, match="only floating dtypes can require grad, got dtype=int64"):
        ng.tensor([1, 2], dtype=ng.int64, requires_grad=True)
    with pytest.raises(TypeError, match="arange: only floating dtypes can require grad"):
        ng.arange(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"requires_grad_: only tensors of floating dtype .* int64"):
        ng.tensor([1, 2]).requires_grad_()


def test_backward_errors_change_nothing() -> None:
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    with pytest.raises(RuntimeError, match=r"gradient 0 has shape \(3,\) but the tensor has shape \(2,\)"):
        y.backward([1.0, 1.0, 1.0])
    with pytest.raises(TypeError, match="backward: gradient 0 is not numeric"):
        y.backward(["a", "b"])
    with pytest.raises(RuntimeError, match="backward: got 2 gradients for 1 tensors"):
        ng.backward([y], [np.ones(2), np.ones(2)])
    with pytest.raises(TypeError, match="backward: element 0 is a list"):
        ng.backward([[1.0]])
    assert x.grad is None
    y.backward([1.0, 1.0])  # the graph was not released by the failed calls
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_failed_op_changes_no_operand() -> None:
    a, b = ng.tensor(np.ones((3, 4)), requires_grad=True), ng.tensor(np.ones((5, 2)), requires_grad=True)
    with pytest.raises(ValueError):
        a @ b
    (a.sum() + b.sum()).backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.ones((3, 4)))


# ---- gradcheck reports the worst element ----------------------------------------------------


class WrongSquare(Function):
    """x^2 with a backward that is wrong at one element only."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (x,) = ctx.saved_tensors
        g = 2 * x * grad_output
        g[1, 2] += 0.5 * grad_output[1, 2]  # the deliberate mistake, at element (1, 2)
        g[0, 0] += 0.01 * grad_output[0, 0]  # a smaller one: not the worst
        return g


class RightSquare(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        (x,) = ctx.saved_tensors
        return 2 * x * grad_output


def test_gradcheck_names_the_worst_element() -> None:
    x = ng.tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input element \(1, 2\) and output element \(1, 2\)") as info:
        ng.gradcheck(WrongSquare.apply, (x,))
    assert "numerical" in str(info.value) and "analytical" in str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert ng.gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False


def test_gradcheck_accepts_correct_functions() -> None:
    x = ng.tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    assert ng.gradcheck(RightSquare.apply, (x,)) is True
    assert ng.gradcheck(RightSquare.apply, x) is True  # a single tensor as inputs


def test_gradcheck_reports_which_input() -> None:
    a = ng.tensor(np.ones(2), requires_grad=True)
    b = ng.tensor(np.ones(2) * 2, requires_grad=True)
    with pytest.raises(GradcheckError, match="with respect to input 1"):
        ng.gradcheck(lambda u, v: u + WrongVector.apply(v), (a, b))


class WrongVector(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        return x * 3

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return grad_output * 2  # should be 3


def test_gradcheck_input_errors() -> None:
    with pytest.raises(ValueError, match="gradcheck: no input is a Tensor that requires grad"):
        ng.gradcheck(lambda u: u * 2, (t(2),))
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="gradcheck: input 0 is float32"):
        assert ng.gradcheck(lambda u: u * 2, (x,), eps=1e-2, atol=1e-2)
