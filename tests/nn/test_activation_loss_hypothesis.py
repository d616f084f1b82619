"""Property tests over random shapes for the nn functional ops: gradients pass gradcheck.

Hypothesis draws the shapes; the values come from a seeded generator and stay away from
the kinks at 0 (relu, leaky_relu, elu), where finite differences would straddle them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import neograd.nn.functional as F  # noqa: N812
from neograd.autograd import enable_grad, grad, gradcheck, tensor

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 2**32 - 1)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)

ELEMENTWISE = {
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.1),
    "elu": F.elu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "softplus": F.softplus,
    "softmax": lambda x: F.softmax(x, -1),
    "log_softmax": lambda x: F.log_softmax(x, 0),
    "dropout_eval": lambda x: F.dropout(x, 0.3, training=False),
}


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(0.1, 3.0, shape) * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("name", list(ELEMENTWISE))
@SETTINGS
@given(shape=shapes, seed=seeds)
def test_activation_gradients_over_random_shapes(name: str, shape: Any, seed: int) -> None:
    x = tensor(away_from_zero(np.random.default_rng(seed), shape), requires_grad=True)
    assert ELEMENTWISE[name](x).shape == shape
    assert gradcheck(ELEMENTWISE[name], (x,))


@SETTINGS
@given(
    n=st.integers(1, 4),
    c=st.integers(2, 4),
    extra=hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3),
    smoothing=st.sampled_from([0.0, 0.2]),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    seed=seeds,
)
def test_cross_entropy_gradients_over_random_shapes(n, c, extra, smoothing, reduction, seed) -> None:
    rng = np.random.default_rng(seed)
    x = tensor(rng.standard_normal((n, c) + extra), requires_grad=True)
    target = tensor(rng.integers(0, c, (n,) + extra))
    weight = tensor(rng.uniform(0.5, 2.0, c))

    def fn(v):
        return F.cross_entropy(v, target, weight=weight, label_smoothing=smoothing, reduction=reduction)

    assert fn(x).shape == (() if reduction != "none" else (n,) + extra)
    assert gradcheck(fn, (x,))


@SETTINGS
@given(shape=shapes, seed=seeds, reduction=st.sampled_from(["mean", "sum", "none"]))
def test_binary_and_regression_losses_over_random_shapes(shape, seed, reduction) -> None:
    rng = np.random.default_rng(seed)
    x = tensor(rng.standard_normal(shape), requires_grad=True)
    p = tensor(rng.uniform(0.05, 0.95, shape), requires_grad=True)
    y = tensor(rng.random(shape), requires_grad=True)
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction), (x, y))
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction), (p, y))
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), (x, y))


@pytest.mark.parametrize(
    "loss",
    [
        lambda x, y: F.cross_entropy(x, y.argmax(-1), label_smoothing=0.1),
        lambda x, y: F.cross_entropy(x, y.softmax(-1)),
        lambda x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid(), pos_weight=tensor([2.0, 1.0, 0.5])),
        lambda x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid()),
        lambda x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid(), reduction="sum"),
        lambda x, y: F.mse_loss(x.tanh(), y),
        lambda x, y: F.mse_loss(x.tanh(), y.sigmoid(), reduction="none").sum(),
    ],
)
def test_fused_losses_have_second_derivatives(loss):
    rng = np.random.default_rng(0)
    x = tensor(rng.standard_normal((4, 3)), requires_grad=True)
    y = tensor(rng.standard_normal((4, 3)))

    def input_gradient(v):
        with enable_grad():  # gradcheck evaluates fn under no_grad for its finite differences
            (g,) = grad(loss(v, y), v, create_graph=True)
        return g

    assert gradcheck(input_gradient, (x,))
