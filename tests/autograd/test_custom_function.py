"""User-defined Functions: the same public mechanism as the built-in ops."""

from __future__ import annotations

import contextlib
import io
import re
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import neograd.autograd as ng
from neograd.autograd import Function

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_custom_op_runs_verbatim() -> None:
    """The README's custom-op block, line for line after its imports, against the core alone.

    ``ng`` is the core under the meta-package's names (``ng.tensor``, ``ng.autograd``), so
    this runs where only neograd-autograd is installed.
    """
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    (code,) = [b for b in blocks if "class Cube" in b]
    expected = re.search(r"print\(x\.grad\)\s+# (.*)", code).group(1).strip()
    body = "\n".join(line for line in code.splitlines() if not line.startswith("import "))
    assert "import" not in body  # nothing but the two imports was left out
    meta = types.SimpleNamespace(**{k: getattr(ng, k) for k in ng.__all__}, autograd=ng)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(body, str(README), "exec"), {"ng": meta, "np": np})
    assert out.getvalue().strip() == expected == "tensor([ 3., 12.])"


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x**2  # d(x^3)/dx = 3x^2


def f64(values: Any, requires_grad: bool = True) -> ng.Tensor:
    return ng.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_cube_gradient_gradcheck_and_graph() -> None:
    x = f64([1.0, -2.0, 0.5])
    y = Cube.apply(x)
    assert repr(y.grad_fn) == "<CubeBackward>" and not y.is_leaf
    np.testing.assert_array_equal(y.data, x.data**3)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 3 * x.data**2)
    assert ng.gradcheck(Cube.apply, (f64([[0.3, -1.2], [2.0, 0.7]]),))


def test_cube_with_create_graph() -> None:
    x = f64([1.0, -2.0])
    (g,) = ng.grad(Cube.apply(x).sum(), x, create_graph=True)
    (g2,) = ng.grad(g.sum(), x)
    np.testing.assert_array_equal(g2.numpy(), 6 * x.data)


def test_apply_without_tensors_just_computes_on_arrays() -> None:
    out = Cube.apply(np.array([2.0]))
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, [8.0])


def test_apply_under_no_grad_records_nothing() -> None:
    x = f64([2.0])
    with ng.no_grad():
        y = Cube.apply(x)
    assert isinstance(y, ng.Tensor) and not y.requires_grad and y.grad_fn is None


class MulAdd(Function):
    """x * y + y, two inputs that broadcast."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x, y)
        return x * y + y

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return (grad_output * y if need_x else None), (grad_output * (x + 1) if need_y else None)


def test_two_input_function_with_broadcasting() -> None:
    x, y = f64([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), f64([0.5, -1.0, 2.0])
    MulAdd.apply(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(y.data, (2, 3)))
    np.testing.assert_array_equal(y.grad.numpy(), (x.data + 1).sum(axis=0))  # summed to y's shape
    assert ng.gradcheck(MulAdd.apply, (f64(np.ones((2, 3)) * 0.3), f64([0.5, -1.0, 2.0])))
    assert ng.gradcheck(MulAdd.apply, (f64(1.5), f64([[0.5], [2.0]])))


def test_needs_input_grad_follows_requires_grad() -> None:
    seen: list[tuple[bool, ...]] = []

    class Spy(Function):
        @staticmethod
        def forward(ctx: Any, a: np.ndarray, b: np.ndarray, c: Any) -> np.ndarray:
            return a + b + c

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any, Any]:
            seen.append(ctx.needs_input_grad)
            return grad_output, None, None

    a, b = f64([1.0]), f64([1.0], requires_grad=False)
    Spy.apply(a, b, 2.0).sum().backward()
    assert seen == [(True, False, False)]


class Scale(Function):
    """x * factor with torch-style positional non-tensor arguments."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, factor: float, offset: float) -> np.ndarray:
        ctx.factor = factor  # a constant: an attribute of ctx, not saved
        return x * factor + offset

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, None, None]:
        return grad_output * ctx.factor, None, None


def test_positional_non_tensor_arguments() -> None:
    x = f64([1.0, 2.0])
    y = Scale.apply(x, 2.5, 1.0)
    np.testing.assert_array_equal(y.data, [3.5, 6.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.5, 2.5])
    assert ng.gradcheck(lambda t: Scale.apply(t, -0.5, 3.0), (f64([0.2, 0.4]),))


class TakeRows(Function):
    """x[index]; the integer index gets no gradient (None)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, index: np.ndarray) -> np.ndarray:
        ctx.shape, ctx.index = x.shape, index
        return x[index]

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, None]:
        g = np.zeros(ctx.shape)
        np.add.at(g, ctx.index, grad_output)  # plain NumPy: no double backward needed here
        return g, None


def test_none_for_a_non_differentiable_argument() -> None:
    x = f64([[1.0, 2.0], [3.0, 4.0]])
    index = ng.tensor([1, 1, 0])
    TakeRows.apply(x, index).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 1.0], [2.0, 2.0]])
    assert index.grad is None


def test_none_for_an_argument_that_requires_grad_leaves_its_grad_unset() -> None:
    class FirstOnly(Function):
        @staticmethod
        def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return a * 2 + b

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> tuple[Any, None]:
            return grad_output * 2, None

    a, b = f64([1.0]), f64([1.0])
    FirstOnly.apply(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0])
    assert b.grad is None


def test_single_gradient_may_be_returned_bare_or_in_a_tuple() -> None:
    class Double(Function):
        @staticmethod
        def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
            return x * 2

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> tuple[Any]:
            return (grad_output * 2,)

    x = f64([1.0])
    Double.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0])


def test_saving_the_output_works_with_create_graph() -> None:
    class MyExp(Function):
        @staticmethod
        def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
            y = np.exp(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            (y,) = ctx.saved_tensors
            return grad_output * y

    x = f64([0.5, -1.0])
    (g,) = ng.grad(MyExp.apply(x).sum(), x, create_graph=True)
    (g2,) = ng.grad(g.sum(), x)
    np.testing.assert_allclose(g2.numpy(), np.exp(x.data), rtol=1e-15)


# ---- errors -----------------------------------------------------------------------------


class WrongCount(Function):
    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return grad_output  # one gradient for two inputs


def test_wrong_number_of_gradients_is_an_error() -> None:
    a, b = f64([1.0]), f64([2.0])
    with pytest.raises(RuntimeError, match=r"<WrongCountBackward> returned 1 gradients, expected 2"):
        WrongCount.apply(a, b).sum().backward()


def test_gradient_of_wrong_shape_is_an_error() -> None:
    class WrongShape(Function):
        @staticmethod
        def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
            return x * 1

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            return np.ones(5)

    with pytest.raises(
        RuntimeError,
        match=r"<WrongShapeBackward> returned a gradient of shape \(5,\) for an input of shape \(2,\)",
    ):
        WrongShape.apply(f64([1.0, 2.0])).sum().backward()


def test_forward_returning_a_tuple_is_an_error() -> None:
    class Pair(Function):
        @staticmethod
        def forward(ctx: Any, x: np.ndarray) -> Any:
            return x, x

    with pytest.raises(TypeError, match=r"Pair\.forward must return one array, got a tuple"):
        Pair.apply(f64([1.0]))


def test_missing_backward_is_an_error() -> None:
    class NoBackward(Function):
        @staticmethod
        def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
            return x * 2

    y = NoBackward.apply(f64([1.0])).sum()
    with pytest.raises(NotImplementedError, match="backward"):
        y.backward()


def test_saved_tensors_after_backward_point_to_retain_graph() -> None:
    x = f64([1.0])
    y = Cube.apply(x)
    node = y.grad_fn
    y.sum().backward()
    with pytest.raises(RuntimeError, match="Specify retain_graph=True"):
        node.saved_tensors


def test_integer_output_does_not_require_grad() -> None:
    class Floor(Function):
        @staticmethod
        def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
            return np.floor(x).astype(np.int64)

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            raise AssertionError("never called")

    out = Floor.apply(f64([1.5]))
    assert out.dtype == np.int64 and not out.requires_grad
