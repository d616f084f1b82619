"""Numerics at the edges against torch: logits of +-1e4, ties, infinities and NaN.

softmax, log_softmax, logsumexp, cross_entropy, binary_cross_entropy_with_logits,
sigmoid and tanh (and the other elementwise ops on NaN and infinity): the same values
and gradients as torch, in float32 and float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import neograd.autograd as ng
from neograd.nn import functional as F  # noqa: N812 -- torch's F

BIG = 1e4
EDGE_LOGITS = {
    "huge": [[BIG, -BIG, 0.0], [-BIG, -BIG, BIG], [BIG, BIG - 1, -BIG]],
    "ties": [[3.0, 3.0, 3.0], [BIG, BIG, BIG], [-BIG, -BIG, -BIG]],
    "mixed": [[BIG, 0.0, BIG], [1.0, -BIG, 1.0], [0.0, 0.0, -BIG]],
}
DTYPES = [np.float32, np.float64]


def logits(case: str, dtype: type) -> np.ndarray:
    return np.array(EDGE_LOGITS[case], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(EDGE_LOGITS))
@pytest.mark.parametrize("dim", [0, 1])
def test_softmax_family_at_the_edges(parity_same: Any, case: str, dtype: type, dim: int) -> None:
    x = logits(case, dtype)
    atol = 1e-6 if dtype == np.float32 else 1e-10
    parity_same(lambda lib, t: lib.softmax(t, dim), [x], atol=atol, rtol=1e-6)
    parity_same(lambda lib, t: lib.log_softmax(t, dim), [x], atol=atol, rtol=1e-6)
    parity_same(lambda lib, t: lib.logsumexp(t, dim), [x], atol=atol, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(EDGE_LOGITS))
@pytest.mark.parametrize(
    "options", [{}, {"label_smoothing": 0.2}, {"reduction": "none"}, {"reduction": "sum"}]
)
def test_cross_entropy_at_the_edges(parity: Any, case: str, dtype: type, options: dict[str, Any]) -> None:
    x, target = logits(case, dtype), np.array([0, 1, 2])
    atol = 1e-3 if dtype == np.float32 else 1e-8  # losses of ~2e4 in float32: a step of 0.002
    parity(
        lambda t, y: F.cross_entropy(t, y, **options),
        lambda t, y: torch.nn.functional.cross_entropy(t, y, **options),
        [x, target],
        atol=atol,
        rtol=1e-6,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pos_weight", [None, 2.5])
def test_bce_with_logits_at_the_edges(parity: Any, dtype: type, pos_weight: float | None) -> None:
    x = np.array([BIG, -BIG, BIG, -BIG, 0.0, 30.0, -30.0], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5, 0.0, 1.0], dtype=dtype)
    weight = None if pos_weight is None else np.array([pos_weight], dtype=dtype)

    def ng_fn(t: Any, target: Any) -> Any:
        w = None if weight is None else ng.tensor(weight)
        return F.binary_cross_entropy_with_logits(t, target, pos_weight=w, reduction="none")

    def torch_fn(t: Any, target: Any) -> Any:
        w = None if weight is None else torch.from_numpy(weight)
        return torch.nn.functional.binary_cross_entropy_with_logits(t, target, pos_weight=w, reduction="none")

    parity(
        ng_fn,
        torch_fn,
        [x, y],
        atol=1e-3 if dtype == np.float32 else 1e-9,
        rtol=1e-6,
        requires_grad=[True, False],
    )


SPECIAL = [-BIG, -30.0, -1.0, 0.0, 1.0, 30.0, BIG]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
def test_sigmoid_and_tanh_at_the_edges(parity_same: Any, op: str, dtype: type) -> None:
    parity_same(lambda lib, t: getattr(lib, op)(t), [np.array(SPECIAL, dtype=dtype)], atol=1e-7, rtol=1e-6)


NAN_INF = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "op",
    ["neg", "abs", "exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "sign", "square"],
)
def test_nan_and_inf_through_elementwise_ops(parity_same: Any, op: str, dtype: type) -> None:
    """Values (NaN where torch gives NaN, the same infinities) and gradients, as torch's."""
    with np.errstate(all="ignore"):
        parity_same(lambda lib, t: getattr(lib, op)(t), [NAN_INF.astype(dtype)], atol=0, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, t: lib.maximum(t, t.flip(0) if hasattr(t, "flip") else t[::-1]),
        lambda lib, t: lib.clamp(t, -1.0, 1.0),
        lambda lib, t: lib.relu(t),  # relu's gradient at NaN is 0 in neograd: torch passes it through
        lambda lib, t: t.sum(),
        lambda lib, t: t.amax(0),
        lambda lib, t: lib.softmax(t, 0),
    ],
    ids=["maximum", "clamp", "relu", "sum", "amax", "softmax"],
)
def test_nan_and_inf_through_other_ops(dtype: type, fn: Any) -> None:
    """Forward values with NaN and infinities, as torch's (gradients through NaN are not compared)."""
    x = NAN_INF.astype(dtype)
    with np.errstate(all="ignore"):
        ours = fn(ng, ng.tensor(x)).data
    theirs = fn(torch, torch.from_numpy(x.copy())).numpy()
    np.testing.assert_array_equal(ours, theirs)
