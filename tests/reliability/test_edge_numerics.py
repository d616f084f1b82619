"""Numerics at the edges: logits of +-1e4 and ties stay finite, with the exact limits as values.

softmax, log_softmax, logsumexp, cross_entropy, binary_cross_entropy_with_logits, sigmoid
and tanh, in float32 and float64, forward and backward. Every expected value here is
the mathematical limit worked out by hand (tests/parity/test_parity_edge_numerics.py
compares the same calls with torch).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator

import numpy as np
import pytest

import neograd.autograd as ng
from neograd.nn import functional as F  # noqa: N812 -- torch's F

DTYPES = [np.float32, np.float64]
BIG = 1e4


@pytest.fixture(autouse=True)
def _numpy_stays_quiet() -> Iterator[None]:
    """No overflow or invalid-value warning on the way: the stable formulas never produce one."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def leaf(values: list, dtype: type) -> ng.Tensor:
    return ng.tensor(np.array(values, dtype=dtype), requires_grad=True)


def assert_finite_grad(x: ng.Tensor) -> None:
    assert x.grad is not None and np.all(np.isfinite(x.grad.data)), x.grad


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_huge_logits_is_one_hot(dtype: type) -> None:
    x = leaf([[BIG, -BIG, 0.0], [-BIG, -BIG, BIG]], dtype)
    y = ng.softmax(x, dim=1)
    np.testing.assert_array_equal(y.data, [[1, 0, 0], [0, 0, 1]])
    (y * ng.tensor(np.array([[1.0, 2.0, 3.0]], dtype))).sum().backward()
    assert_finite_grad(x)
    np.testing.assert_allclose(x.grad.data, 0, atol=1e-30)  # a saturated softmax passes no gradient


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_keeps_the_digits_of_huge_logits(dtype: type) -> None:
    x = leaf([BIG, -BIG, BIG - 1], dtype)
    y = ng.log_softmax(x, dim=0)
    # log(1 + e^-1) for the largest, itself minus 1 for the next, -2e4 - that for the smallest
    first = -math.log1p(math.exp(-1))
    np.testing.assert_allclose(y.data, [first, -2 * BIG + first, first - 1], rtol=1e-6)
    y.sum().backward()
    assert_finite_grad(x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_of_huge_and_tied_values(dtype: type) -> None:
    x = leaf([BIG, BIG, -BIG], dtype)
    y = ng.logsumexp(x, dim=0)
    np.testing.assert_allclose(y.item(), BIG + math.log(2), rtol=1e-7)
    y.backward()
    # ties share the gradient; NOTE: exp(x - lse) with lse rounded to float32 near 1e4 (a step
    # of 0.001) is 0.49989, as torch's is
    np.testing.assert_allclose(x.grad.data, [0.5, 0.5, 0.0], atol=1e-7 if dtype == np.float64 else 2e-4)
    neg = leaf([-BIG, -BIG], dtype)
    out = ng.logsumexp(neg, dim=0)
    np.testing.assert_allclose(out.item(), -BIG + math.log(2), rtol=1e-7)
    out.backward()
    np.testing.assert_allclose(neg.grad.data, [0.5, 0.5], rtol=1e-7 if dtype == np.float64 else 4e-4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ties_give_uniform_softmax(dtype: type) -> None:
    for value in (BIG, -BIG, 0.0):
        x = leaf([value] * 4, dtype)
        y = ng.softmax(x, dim=0)
        np.testing.assert_allclose(y.data, 0.25, rtol=1e-7)
        np.testing.assert_allclose(ng.log_softmax(x, dim=0).data, -math.log(4), rtol=1e-6)
        (y * ng.tensor(np.arange(4, dtype=dtype))).sum().backward()
        # d/dx_i sum_j c_j y_j = y_i (c_i - mean c), with c = 0..3
        np.testing.assert_allclose(x.grad.data, 0.25 * (np.arange(4) - 1.5), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_of_huge_logits(dtype: type) -> None:
    x = leaf([[BIG, -BIG], [BIG, -BIG], [0.0, 0.0]], dtype)
    target = ng.tensor([0, 1, 1])
    losses = F.cross_entropy(x, target, reduction="none")
    np.testing.assert_allclose(losses.data, [0.0, 2 * BIG, math.log(2)], rtol=1e-6)
    F.cross_entropy(x, target).backward()
    assert_finite_grad(x)
    # (softmax - onehot) / N
    np.testing.assert_allclose(x.grad.data, np.array([[0, 0], [1, -1], [0.5, -0.5]]) / 3, atol=1e-7)
    smoothed = F.cross_entropy(x.detach(), target, label_smoothing=0.1, reduction="none")
    assert np.all(np.isfinite(smoothed.data))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_of_huge_logits(dtype: type) -> None:
    x = leaf([BIG, -BIG, BIG, -BIG, 0.0], dtype)
    target = ng.tensor(np.array([1.0, 0.0, 0.0, 1.0, 1.0], dtype))
    losses = F.binary_cross_entropy_with_logits(x, target, reduction="none")
    np.testing.assert_allclose(losses.data, [0.0, 0.0, BIG, BIG, math.log(2)], rtol=1e-6)
    losses.sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0, 1.0, -1.0, -0.5], atol=1e-7)  # sigmoid(x) - y
    weighted = F.binary_cross_entropy_with_logits(
        x.detach(), target, pos_weight=ng.tensor(np.array([3.0], dtype)), reduction="none"
    )
    np.testing.assert_allclose(weighted.data, [0.0, 0.0, BIG, 3 * BIG, 3 * math.log(2)], rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
def test_sigmoid_and_tanh_saturate_cleanly(dtype: type, op: str) -> None:
    x = leaf([-BIG, -30.0, 0.0, 30.0, BIG], dtype)
    y = getattr(ng, op)(x)
    low = 0.0 if op == "sigmoid" else -1.0
    assert y.data[0] == low and y.data[-1] == 1.0
    assert y.data[2] == (0.5 if op == "sigmoid" else 0.0)
    y.sum().backward()
    assert_finite_grad(x)
    assert x.grad.data[0] == 0.0 and x.grad.data[-1] == 0.0
    assert x.grad.data[2] == (0.25 if op == "sigmoid" else 1.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nn_softmax_and_log_softmax_modules_agree(dtype: type) -> None:
    x = ng.tensor(np.array([[BIG, 0.0, -BIG]], dtype))
    np.testing.assert_array_equal(F.softmax(x, dim=1).data, [[1, 0, 0]])
    np.testing.assert_allclose(F.log_softmax(x, dim=1).data, [[0.0, -BIG, -2 * BIG]], rtol=1e-7, atol=1e-30)
