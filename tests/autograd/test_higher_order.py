"""Higher-order gradients: create_graph=True makes the backward pass differentiable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import neograd.autograd as ng

X = np.array([-1.3, -0.4, 0.2, 0.9, 1.7])


def f64(values: Any) -> ng.Tensor:
    return ng.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def second_derivative(fn: Callable[[ng.Tensor], ng.Tensor], values: np.ndarray) -> np.ndarray:
    """d2 fn / dx2 elementwise, by two calls of autograd.grad."""
    x = f64(values)
    (dy,) = ng.grad(fn(x).sum(), x, create_graph=True)
    assert dy.requires_grad, "the first gradient must be part of a graph under create_graph"
    (d2y,) = ng.grad(dy.sum(), x)
    return d2y.numpy()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


SECOND_DERIVATIVES: dict[str, tuple[Callable[[Any], Any], Callable[[np.ndarray], np.ndarray]]] = {
    "tanh": (ng.tanh, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    "sin": (ng.sin, lambda x: -np.sin(x)),
    "cos": (ng.cos, lambda x: -np.cos(x)),
    "exp": (ng.exp, np.exp),
    "sigmoid": (ng.sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x)) * (1 - 2 * _sigmoid(x))),
    "cube": (lambda t: t**3, lambda x: 6 * x),
    "square": (ng.square, lambda x: np.full_like(x, 2.0)),
    "reciprocal": (lambda t: 1.0 / t, lambda x: 2 / x**3),
    "x*exp(x)": (lambda t: t * t.exp(), lambda x: (x + 2) * np.exp(x)),
}


@pytest.mark.parametrize("op", list(SECOND_DERIVATIVES))
def test_second_derivative_analytic(op: str) -> None:
    fn, d2 = SECOND_DERIVATIVES[op]
    np.testing.assert_allclose(second_derivative(fn, X), d2(X), rtol=1e-12, atol=1e-12)


PIECEWISE_LINEAR: dict[str, tuple[Callable[[Any], Any], Callable[[np.ndarray], np.ndarray]]] = {
    "relu": (ng.relu, lambda x: (x > 0) * 1.0),
    "abs": (ng.abs, np.sign),
    "linear": (lambda t: 3 * t - 1, lambda x: np.full_like(x, 3.0)),
}


@pytest.mark.parametrize("op", list(PIECEWISE_LINEAR))
def test_piecewise_linear_second_derivative_is_zero(op: str) -> None:
    fn, slope = PIECEWISE_LINEAR[op]
    x = f64(X)
    (dy,) = ng.grad(fn(x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(dy.data, slope(X))
    # the first gradient is constant in x: either outside the graph (as torch for the linear
    # case), or in it with a zero gradient
    if dy.requires_grad:
        (d2y,) = ng.grad(dy.sum(), x, allow_unused=True)
        assert d2y is None or not d2y.numpy().any()


def test_second_derivative_of_log_and_sqrt() -> None:
    pos = np.abs(X) + 0.5
    np.testing.assert_allclose(second_derivative(ng.log, pos), -1 / pos**2, rtol=1e-12)
    np.testing.assert_allclose(second_derivative(ng.sqrt, pos), -0.25 * pos**-1.5, rtol=1e-12)


def test_third_derivative_of_x_to_the_fourth() -> None:
    x = f64([1.5, -2.0])
    (d1,) = ng.grad((x**4).sum(), x, create_graph=True)
    (d2,) = ng.grad(d1.sum(), x, create_graph=True)
    (d3,) = ng.grad(d2.sum(), x)
    np.testing.assert_allclose(d1.data, 4 * x.data**3)
    np.testing.assert_allclose(d2.data, 12 * x.data**2)
    np.testing.assert_allclose(d3.numpy(), 24 * x.data)


def test_log_softmax_hessian() -> None:
    # f(x) = sum_i w_i log_softmax(x)_i; grad = w - p sum(w); Hessian = -sum(w) (diag(p) - p p^T)
    xv = np.array([0.3, -1.2, 2.0, 0.5])
    w = np.array([1.0, -2.0, 0.5, 3.0])
    x = f64(xv)
    (g,) = ng.grad((x.log_softmax(dim=0) * ng.tensor(w)).sum(), x, create_graph=True)
    p = np.exp(xv) / np.exp(xv).sum()
    np.testing.assert_allclose(g.data, w - p * w.sum(), rtol=1e-12)
    hessian = np.stack([ng.grad(g[i], x, retain_graph=True)[0].numpy() for i in range(4)])
    np.testing.assert_allclose(hessian, -w.sum() * (np.diag(p) - np.outer(p, p)), rtol=1e-10, atol=1e-14)


def test_hessian_vector_product() -> None:
    # f(x) = x^T A x + sum(x^3): H = A + A^T + diag(6 x)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    v = rng.standard_normal(4)
    x = f64(rng.standard_normal(4))
    f = x @ ng.tensor(a) @ x + (x**3).sum()
    (g,) = ng.grad(f, x, create_graph=True)
    np.testing.assert_allclose(g.data, (a + a.T) @ x.data + 3 * x.data**2, rtol=1e-12)
    (hv,) = ng.grad(g, x, grad_outputs=ng.tensor(v))
    np.testing.assert_allclose(hv.numpy(), (a + a.T + np.diag(6 * x.data)) @ v, rtol=1e-12)


def test_backward_create_graph_then_backward_of_grad() -> None:
    x = f64([0.5, -1.0])
    (x.sin() * x).sum().backward(create_graph=True)
    g = x.grad  # cos(x) x + sin(x), differentiable
    assert g.requires_grad
    np.testing.assert_allclose(g.data, np.cos(x.data) * x.data + np.sin(x.data))
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -np.sin(x.data) * x.data + 2 * np.cos(x.data))


def test_create_graph_accumulates_into_existing_grad() -> None:
    x = f64([2.0])
    (x * x).sum().backward(create_graph=True)
    (x * x * x).sum().backward(create_graph=True)
    np.testing.assert_allclose(x.grad.data, [2 * 2.0 + 3 * 4.0])
    (dgrad,) = ng.grad(x.grad.sum(), x)  # d/dx (2x + 3x^2) = 2 + 6x
    np.testing.assert_allclose(dgrad.numpy(), [14.0])


def gradgradcheck(fn: Callable[..., Any], inputs: tuple[ng.Tensor, ...]) -> bool:
    """gradcheck of the gradients themselves: checks the second derivatives of ``fn``."""
    weight_rng = np.random.default_rng(1)

    def first_gradients(*ts: ng.Tensor) -> tuple[ng.Tensor, ...]:
        with ng.enable_grad():  # gradcheck evaluates fn under no_grad for the finite differences
            out = fn(*ts)
            w = ng.tensor(weights.setdefault("w", weight_rng.standard_normal(out.shape)))
            return ng.grad((out * w).sum(), list(ts), create_graph=True, allow_unused=True)

    weights: dict[str, np.ndarray] = {}
    return ng.gradcheck(first_gradients, inputs)


def _a(*shape: int, low: float = -1.5, high: float = 1.5, seed: int = 0) -> ng.Tensor:
    return f64(np.random.default_rng(seed + len(shape)).uniform(low, high, shape))


GRADGRAD_CASES: dict[str, tuple[Callable[..., Any], Callable[[], tuple[ng.Tensor, ...]]]] = {
    "mul_broadcast": (lambda a, b: a * b, lambda: (_a(2, 3), _a(3, seed=1))),
    "div_broadcast": (lambda a, b: a / b, lambda: (_a(2, 3), _a(2, 1, low=0.5, high=2.0))),
    "pow_both": (lambda a, b: a**b, lambda: (_a(3, low=0.5, high=2.0), _a(3, seed=2))),
    "matmul_2d": (lambda a, b: a @ b, lambda: (_a(2, 3), _a(3, 2, seed=1))),
    "matmul_batched_broadcast": (lambda a, b: (a @ b).tanh(), lambda: (_a(2, 2, 3), _a(3, 2, seed=1))),
    "matmul_vec": (lambda a, b: (a @ b).sin(), lambda: (_a(3), _a(3, 2, seed=1))),
    "mlp": (
        lambda x, w, b: (x @ w + b).tanh(),
        lambda: (_a(4, 3), _a(3, 2, seed=1), _a(2, seed=2)),
    ),
    "softmax": (lambda a: a.softmax(dim=-1), lambda: (_a(2, 3),)),
    "log_softmax": (lambda a: a.log_softmax(dim=1), lambda: (_a(2, 3),)),
    "logsumexp": (lambda a: a.logsumexp(dim=0), lambda: (_a(3, 2),)),
    "var": (lambda a: a.var(dim=1), lambda: (_a(2, 4),)),
    "std": (lambda a: a.std(), lambda: (_a(5),)),
    "mean_keepdim": (lambda a: (a - a.mean(dim=1, keepdim=True)) ** 2, lambda: (_a(2, 3),)),
    "sigmoid_sum": (lambda a: a.sigmoid().sum(dim=0), lambda: (_a(3, 2),)),
    "getitem_then_exp": (lambda a: a[np.array([0, 2, 0])].exp(), lambda: (_a(3, 2),)),
    "cat_stack": (lambda a, b: ng.cat([a, b * b]).sin(), lambda: (_a(2, 2), _a(1, 2, seed=3))),
    "maximum": (lambda a, b: ng.maximum(a, b) ** 2, lambda: (_a(4), _a(4, seed=5))),
    "amax": (lambda a: a.amax(dim=1) ** 2, lambda: (_a(2, 3),)),
    "where": (lambda a: ng.where(a > 0, a * a, a.exp()), lambda: (_a(5),)),
    "permute_reshape": (lambda a: a.permute(1, 0).reshape(6).exp(), lambda: (_a(2, 3),)),
    "expand_pad": (lambda a: ng.pad(a.expand(2, 3), (1, 1)) ** 3, lambda: (_a(1, 3),)),
}


@pytest.mark.parametrize("case", list(GRADGRAD_CASES))
def test_gradgradcheck(case: str) -> None:
    fn, make = GRADGRAD_CASES[case]
    assert gradgradcheck(fn, make())


def test_grad_of_grad_through_matmul_and_broadcasting() -> None:
    # z = |d loss / dW|^2 with loss = sum(tanh(x W + b)); its gradient w.r.t. W and b
    x = ng.tensor(np.random.default_rng(0).standard_normal((4, 3)))

    def z(w: ng.Tensor, b: ng.Tensor) -> ng.Tensor:
        with ng.enable_grad():
            (gw,) = ng.grad((x @ w + b).tanh().sum(), w, create_graph=True)
            return (gw * gw).sum()

    w, b = _a(3, 2), _a(2, seed=4)
    assert ng.gradcheck(z, (w, b))
    gw, gb = ng.grad(z(w, b), [w, b])
    assert gw.shape == (3, 2) and gb.shape == (2,)
    assert w.grad is None and b.grad is None
