"""Property tests over random shapes: values equal NumPy's, gradients pass gradcheck.

Hypothesis draws the shapes (broadcast-compatible pairs for binary ops, dims and keepdim
for reductions); the values come from a seeded generator and stay away from kinks and
ties, so that finite differences are meaningful.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import neograd.autograd as ng

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

seeds = st.integers(0, 2**32 - 1)
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
broadcast_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


def values(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    if kind == "pos":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "away0":
        return rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    if kind == "distinct":  # no ties anywhere in the array
        n = int(np.prod(shape, dtype=int))
        return rng.permutation(n).reshape(shape) * 0.25 + rng.uniform(-0.05, 0.05, shape)
    return rng.standard_normal(shape)


BINARY = {
    # name: (neograd, NumPy, kind of a, kind of b)
    "add": (lambda a, b: a + b, np.add, "any", "any"),
    "sub": (lambda a, b: a - b, np.subtract, "any", "any"),
    "mul": (lambda a, b: a * b, np.multiply, "any", "any"),
    "div": (lambda a, b: a / b, np.divide, "any", "away0"),
    "pow": (lambda a, b: a**b, np.power, "pos", "any"),
    "maximum": (ng.maximum, np.maximum, "distinct", "distinct"),
    "minimum": (ng.minimum, np.minimum, "distinct", "distinct"),
}


@pytest.mark.parametrize("op", list(BINARY))
@SETTINGS
@given(shapes=broadcast_pairs, seed=seeds)
def test_binary_ops_broadcast(op: str, shapes: Any, seed: int) -> None:
    fn, ref, ka, kb = BINARY[op]
    (sa, sb), result_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    a_np, b_np = values(rng, sa, ka), values(rng, sb, kb)
    if op in ("maximum", "minimum"):
        b_np = b_np + 0.125  # offsets of 1/8 against steps of 1/4: never a tie
    a = ng.tensor(a_np, requires_grad=True)
    b = ng.tensor(b_np, requires_grad=True)
    out = fn(a, b)
    assert out.shape == result_shape
    np.testing.assert_allclose(out.data, ref(a_np, b_np), rtol=1e-12, atol=0)
    assert ng.gradcheck(fn, (a, b))
    # float32 in, float32 out, with NumPy's values to float32 precision
    out32 = fn(ng.tensor(a_np.astype(np.float32)), ng.tensor(b_np.astype(np.float32)))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32.data, ref(a_np, b_np), rtol=2e-5, atol=1e-6)


UNARY = {
    "neg": (lambda x: -x, np.negative, "any"),
    "abs": (ng.abs, np.abs, "away0"),
    "exp": (ng.exp, np.exp, "any"),
    "log": (ng.log, np.log, "pos"),
    "log1p": (ng.log1p, np.log1p, "pos"),
    "sqrt": (ng.sqrt, np.sqrt, "pos"),
    "square": (ng.square, np.square, "any"),
    "sin": (ng.sin, np.sin, "any"),
    "cos": (ng.cos, np.cos, "any"),
    "tanh": (ng.tanh, np.tanh, "any"),
    "sigmoid": (ng.sigmoid, lambda x: 1 / (1 + np.exp(-x)), "any"),
    "relu": (ng.relu, lambda x: np.maximum(x, 0), "away0"),
}


@pytest.mark.parametrize("op", list(UNARY))
@SETTINGS
@given(shape=shapes, seed=seeds)
def test_unary_ops(op: str, shape: tuple[int, ...], seed: int) -> None:
    fn, ref, kind = UNARY[op]
    x_np = values(np.random.default_rng(seed), shape, kind)
    x = ng.tensor(x_np, requires_grad=True)
    out = fn(x)
    assert out.shape == shape and out.dtype == np.float64
    np.testing.assert_allclose(out.data, ref(x_np), rtol=1e-12, atol=1e-15)
    assert ng.gradcheck(fn, (x,))


@st.composite
def shape_and_dims(draw: Any) -> tuple[tuple[int, ...], Any, bool]:
    """A shape, a dim argument (None, an int, or a tuple of ints, possibly negative) and keepdim."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    nd = len(shape)
    dims = st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True)
    dim = draw(
        st.one_of(
            st.none(),
            st.integers(-nd, nd - 1),
            dims.map(lambda ds: tuple(d - nd if i % 2 else d for i, d in enumerate(ds))),
        )
    )
    return shape, dim, draw(st.booleans())


def _axis(dim: Any) -> Any:
    return dim if dim is None or isinstance(dim, int) else tuple(dim)


def _lse(x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


REDUCTIONS = {
    # name: (neograd, NumPy, kind)
    "sum": (lambda x, d, k: x.sum(d, keepdim=k), lambda x, d, k: x.sum(axis=d, keepdims=k), "any"),
    "mean": (lambda x, d, k: x.mean(d, keepdim=k), lambda x, d, k: x.mean(axis=d, keepdims=k), "any"),
    "var": (
        lambda x, d, k: x.var(d, keepdim=k, correction=0),
        lambda x, d, k: x.var(axis=d, keepdims=k),
        "any",
    ),
    "std": (
        lambda x, d, k: x.std(d, keepdim=k, correction=0),
        lambda x, d, k: x.std(axis=d, keepdims=k),
        "any",
    ),
    "amax": (lambda x, d, k: x.amax(d, keepdim=k), lambda x, d, k: x.max(axis=d, keepdims=k), "distinct"),
    "amin": (lambda x, d, k: ng.amin(x, d, k), lambda x, d, k: x.min(axis=d, keepdims=k), "distinct"),
    "logsumexp": (lambda x, d, k: x.logsumexp(d, keepdim=k), _lse, "any"),
}


@pytest.mark.parametrize("op", list(REDUCTIONS))
@SETTINGS
@given(case=shape_and_dims(), seed=seeds)
def test_reductions(op: str, case: Any, seed: int) -> None:
    shape, dim, keepdim = case
    fn, ref, kind = REDUCTIONS[op]
    x_np = values(np.random.default_rng(seed), shape, kind)
    x = ng.tensor(x_np, requires_grad=True)
    out = fn(x, dim, keepdim)
    expected = np.asarray(ref(x_np, _axis(dim), keepdim))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    assert ng.gradcheck(lambda t: fn(t, dim, keepdim), (x,))


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), seed=seeds, data=st.data())
def test_softmax_and_log_softmax(shape: tuple[int, ...], seed: int, data: Any) -> None:
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x_np = values(np.random.default_rng(seed), shape, "any") * 3
    e = np.exp(x_np - x_np.max(axis=dim, keepdims=True))
    expected = e / e.sum(axis=dim, keepdims=True)
    x = ng.tensor(x_np, requires_grad=True)
    np.testing.assert_allclose(x.softmax(dim).data, expected, rtol=1e-12)
    np.testing.assert_allclose(x.log_softmax(dim).data, np.log(expected), rtol=1e-10, atol=1e-12)
    assert ng.gradcheck(lambda t: t.softmax(dim) * ng.tensor(np.arange(t.data.size).reshape(shape)), (x,))
    assert ng.gradcheck(lambda t: t.log_softmax(dim), (x,))


@SETTINGS
@given(
    shapes=hnp.mutually_broadcastable_shapes(signature="(m?,n),(n,p?)->(m?,p?)", max_dims=4, max_side=3),
    seed=seeds,
)
def test_matmul_random_shapes(shapes: Any, seed: int) -> None:
    (sa, sb), result_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    a_np, b_np = rng.standard_normal(sa), rng.standard_normal(sb)
    a, b = ng.tensor(a_np, requires_grad=True), ng.tensor(b_np, requires_grad=True)
    out = a @ b
    assert out.shape == result_shape
    np.testing.assert_allclose(out.data, np.matmul(a_np, b_np), rtol=1e-12, atol=1e-12)
    assert ng.gradcheck(lambda x, y: x @ y, (a, b))
