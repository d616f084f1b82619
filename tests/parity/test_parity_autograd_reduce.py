"""Parity of neograd.autograd's reductions and softmaxes with torch: values, indices, gradients.

Ties matter here: torch shares the gradient of amax/amin and of the whole-tensor max/min
evenly between tied elements, but sends the gradient of max/min along a dim to the one
element whose index it returns (the first).
"""

import numpy as np
import pytest
import torch

import neograd.autograd as ng

DTYPES = [np.float64, np.float32]


def randn(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def with_ties(dtype=np.float64):
    """A (3, 4) array whose rows and columns repeat their extremes."""
    return np.array(
        [[1.0, 3.0, 3.0, -2.0], [0.0, 0.0, 0.0, 0.0], [-5.0, 2.0, -5.0, 2.0]],
        dtype=dtype,
    )


DIMS = [
    {},
    {"dim": 0},
    {"dim": -1},
    {"dim": 1, "keepdim": True},
    {"dim": (0, 2)},
    {"dim": (-1, 0), "keepdim": True},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", DIMS, ids=str)
@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin", "logsumexp"])
def test_reductions_over_dims(parity_same, op, kwargs, dtype):
    if op == "logsumexp" and not kwargs:
        kwargs = {"dim": (0, 1, 2)}  # torch's logsumexp needs dim
    parity_same(lambda lib, x: getattr(lib, op)(x, **kwargs), [randn(2, 3, 4, dtype=dtype)])
    parity_same(lambda lib, x: getattr(x, op)(**kwargs), [randn(2, 3, 4, dtype=dtype, seed=1)])


VAR_ARGS = [
    {},
    {"dim": 1},
    {"dim": (0, 2), "keepdim": True},
    {"dim": -1, "correction": 0},
    {"dim": 0, "correction": 2},
    {"dim": 1, "unbiased": False},
    {"dim": 1, "unbiased": True, "keepdim": True},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", VAR_ARGS, ids=str)
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std(parity_same, op, kwargs, dtype):
    parity_same(lambda lib, x: getattr(lib, op)(x, **kwargs), [randn(3, 4, 5, dtype=dtype)])
    parity_same(lambda lib, x: getattr(x, op)(**kwargs), [randn(3, 4, 5, dtype=dtype, seed=1)])


def test_var_positional_unbiased(parity_same):
    parity_same(lambda lib, x: [lib.var(x, 1, False), lib.std(x, 0, True, True)], [randn(3, 4)])


def test_std_of_a_constant_row(parity_same):
    # torch gives 0 (not 0/0 = nan) as the gradient of a zero standard deviation
    x = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]])
    parity_same(lambda lib, t: lib.std(t, dim=1), [x])


def test_sum_mean_of_integers(parity_same):
    x = np.arange(12).reshape(3, 4)
    parity_same(lambda lib, t: [t.sum(), t.sum(dim=0), lib.sum(t, 1, dtype=lib.float64)], [x])
    parity_same(lambda lib, t: [t.sum(), t.sum(dim=1, keepdim=True)], [x.astype(np.int32)])
    parity_same(lambda lib, t: [t.sum(), t.sum(0)], [x > 5])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_of_all_with_ties(parity_same, op, dtype):
    parity_same(lambda lib, x: getattr(x, op)(), [with_ties(dtype)])
    parity_same(lambda lib, x: getattr(lib, op)(x), [randn(3, 4, dtype=dtype)])
    parity_same(lambda lib, x: getattr(lib, op)(x), [np.full((2, 3), 1.5, dtype=dtype)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [{"dim": 0}, {"dim": 1}, {"dim": -1, "keepdim": True}], ids=str)
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_along_dim_give_values_and_indices(parity_same, op, kwargs, dtype):
    for x in (with_ties(dtype), randn(3, 4, dtype=dtype)):
        parity_same(lambda lib, t: getattr(lib, op)(t, **kwargs), [x])
        parity_same(lambda lib, t: getattr(t, op)(**kwargs), [x])


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_named_fields(op):
    x = with_ties()
    ours, theirs = getattr(ng, op)(ng.tensor(x), dim=1), getattr(torch, op)(torch.from_numpy(x), dim=1)
    np.testing.assert_array_equal(ours.values.data, theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.data, theirs.indices.numpy())


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_with_a_tensor_are_elementwise(parity_same, op):
    a, b = with_ties(), np.array([1.0, 0.0, 3.0, 2.0])
    parity_same(lambda lib, x, y: getattr(lib, op)(x, y), [a, b])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [{}, {"dim": 0}, {"dim": 1}, {"dim": -1, "keepdim": True}], ids=str)
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin_take_the_first_tie(parity_same, op, kwargs, dtype):
    parity_same(lambda lib, x: getattr(lib, op)(x, **kwargs), [with_ties(dtype)])
    parity_same(lambda lib, x: getattr(x, op)(**kwargs), [randn(3, 4, dtype=dtype)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [{}, {"dim": 0}, {"dim": 1}, {"dim": (0, 1), "keepdim": True}], ids=str)
@pytest.mark.parametrize("op", ["amax", "amin"])
def test_amax_amin_share_ties(parity_same, op, kwargs, dtype):
    parity_same(lambda lib, x: getattr(lib, op)(x, **kwargs), [with_ties(dtype)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_of_large_values(parity_same, dtype):
    x = np.array([[1e4, 1e4 - 1, 0.0], [-1e4, -1e4, -1e4 + 2], [1.0, 2.0, 3.0]], dtype=dtype)
    parity_same(lambda lib, t: lib.logsumexp(t, dim=1), [x], rtol=1e-6)
    parity_same(lambda lib, t: lib.logsumexp(t, dim=0, keepdim=True), [x], rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_with_minus_infinity(parity_same, dtype):
    # a row with some -inf entries, and one that is all -inf (its result is -inf)
    x = np.array([[0.5, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0]], dtype=dtype)
    parity_same(lambda lib, t: lib.logsumexp(t, dim=1), [x])


SOFTMAX_CASES = [
    ((4,), 0),
    ((3, 5), 1),
    ((3, 5), 0),
    ((2, 3, 4), 1),
    ((2, 3, 4), -1),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SOFTMAX_CASES, ids=str)
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_log_softmax(parity_same, op, case, dtype):
    shape, dim = case
    parity_same(lambda lib, x: getattr(lib, op)(x, dim=dim), [randn(*shape, dtype=dtype)])
    parity_same(lambda lib, x: getattr(x, op)(dim), [randn(*shape, dtype=dtype, seed=1)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_of_extreme_logits(parity_same, op, dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4], [3.0, 1.0, 0.2]], dtype=dtype)
    parity_same(lambda lib, t: getattr(lib, op)(t, dim=1), [x], rtol=1e-6)
    out = getattr(ng, op)(ng.tensor(x), dim=1)
    assert np.isfinite(out.data).all()


def test_numpy_aliases_axis_keepdims(parity):
    x = randn(3, 4)
    parity(
        lambda t: [t.sum(axis=0, keepdims=True), t.mean(axis=1), t.max(axis=1)[0], t.softmax(axis=1)],
        lambda t: [t.sum(dim=0, keepdim=True), t.mean(dim=1), t.max(dim=1)[0], t.softmax(dim=1)],
        [x],
    )
