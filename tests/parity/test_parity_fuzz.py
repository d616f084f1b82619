"""Random compositions of ops with broadcasting: the same program on neograd and torch.

Hypothesis draws input shapes that broadcast together and a program of up to six steps
(unary ops, binary ops with broadcasting, reductions along a dim kept as size 1,
softmax); values and the gradients of every input must equal torch's, in float64 and in
float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# name -> (number of operands, whether it takes a dim, fn(lib, *operands, dim)); lib is
# neograd.autograd or torch, which share these names and signatures
OPS: dict[str, tuple[int, bool, Any]] = {
    "tanh": (1, False, lambda lib, x, d: lib.tanh(x)),
    "sigmoid": (1, False, lambda lib, x, d: lib.sigmoid(x)),
    "sin": (1, False, lambda lib, x, d: lib.sin(x)),
    "cos": (1, False, lambda lib, x, d: lib.cos(x)),
    "exp": (1, False, lambda lib, x, d: lib.exp(x * 0.5)),
    "square": (1, False, lambda lib, x, d: x * x),
    "abs": (1, False, lambda lib, x, d: lib.abs(x) + x),
    "relu": (1, False, lambda lib, x, d: lib.relu(x)),
    "log": (1, False, lambda lib, x, d: lib.log(x * x + 1.0)),
    "sqrt": (1, False, lambda lib, x, d: lib.sqrt(x * x + 1.0)),
    "pow": (1, False, lambda lib, x, d: (x * x + 1.0) ** 1.5),
    "add": (2, False, lambda lib, a, b, d: a + b),
    "sub": (2, False, lambda lib, a, b, d: a - b),
    "mul": (2, False, lambda lib, a, b, d: a * b),
    "div": (2, False, lambda lib, a, b, d: a / (b * b + 1.0)),
    "maximum": (2, False, lambda lib, a, b, d: lib.maximum(a, b)),
    "sum": (1, True, lambda lib, x, d: x.sum(d, keepdim=True)),
    "mean": (1, True, lambda lib, x, d: x.mean(d, keepdim=True)),
    "amax": (1, True, lambda lib, x, d: lib.amax(x, d, keepdim=True)),
    "logsumexp": (1, True, lambda lib, x, d: lib.logsumexp(x, d, keepdim=True)),
    "softmax": (1, True, lambda lib, x, d: lib.softmax(x, d)),
    "log_softmax": (1, True, lambda lib, x, d: lib.log_softmax(x, d)),
    "var": (1, True, lambda lib, x, d: x.var(d, keepdim=True, unbiased=False)),
}
NAMES = sorted(OPS)

steps = st.lists(
    st.tuples(st.sampled_from(NAMES), st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)),
    min_size=1,
    max_size=6,
)
input_shapes = hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=1, max_side=3)


def run_program(lib: Any, inputs: tuple[Any, ...], program: list[tuple[str, int, int, int]]) -> Any:
    """Apply the steps, each to earlier values (binary ops to a partner that broadcasts)."""
    values = list(inputs)
    for name, i, j, d in program:
        arity, takes_dim, fn = OPS[name]
        x = values[i % len(values)]
        if takes_dim:
            if x.ndim == 0:
                continue
            values.append(fn(lib, x, d % x.ndim))
        elif arity == 1:
            values.append(fn(lib, x, None))
        else:
            partners = [v for v in values if _broadcastable(tuple(x.shape), tuple(v.shape))]
            values.append(fn(lib, x, partners[j % len(partners)], None))
    return values[-1]


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


@settings(
    max_examples=60,
    deadline=None,
    # the fixture is a plain function (no state to reset between examples)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(shapes=input_shapes, program=steps, seed=st.integers(0, 2**32 - 1), single=st.booleans())
def test_random_compositions_match_torch(
    parity_same: Any, shapes: Any, program: Any, seed: int, single: bool
) -> None:
    rng = np.random.default_rng(seed)
    # distinct values (no exact ties for amax/maximum/relu's kink), away from 0
    arrays = [
        np.asarray(
            rng.uniform(0.1, 1.5, shape) * rng.choice([-1.0, 1.0], shape) + rng.uniform(0, 1e-3, shape)
        )
        for shape in shapes.input_shapes
    ]
    if single:
        arrays = [a.astype(np.float32) for a in arrays]
    tolerance = {"atol": 1e-5, "rtol": 1e-4} if single else {"atol": 1e-10, "rtol": 1e-9}
    parity_same(lambda lib, *xs: run_program(lib, xs, program), arrays, seed_grad=seed % 1000, **tolerance)
