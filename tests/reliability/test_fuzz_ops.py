"""Hypothesis fuzzing of random compositions of ops with broadcasting.

Hypothesis draws three mutually broadcastable input shapes and a program of up to six
steps; each step applies an op (unary, binary with broadcasting, or a reduction along a
dim kept as size 1, so that the result broadcasts on) to earlier values. The program
runs on neograd and on a NumPy reference written independently here: the values must
agree, and the gradients of a weighted sum of the result with respect to every input
must pass gradcheck (central differences in float64). tests/parity/test_parity_fuzz.py
runs the same kind of programs against torch.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import neograd.autograd as ng


def _np_softmax(x: np.ndarray, dim: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _np_logsumexp(x: np.ndarray, dim: int, keepdim: bool) -> np.ndarray:
    m = x.max(axis=dim, keepdims=True)
    out = np.log(np.exp(x - m).sum(axis=dim, keepdims=True)) + m
    return out if keepdim else out.squeeze(dim)


# NumPy written out: the reference the programs are checked against
NUMPY = types.SimpleNamespace(
    tanh=np.tanh,
    sigmoid=lambda x: 1 / (1 + np.exp(-x)),
    sin=np.sin,
    exp=np.exp,
    log=np.log,
    sqrt=np.sqrt,
    sum=lambda x, dim, keepdim: np.sum(x, axis=dim, keepdims=keepdim),
    mean=lambda x, dim, keepdim: np.mean(x, axis=dim, keepdims=keepdim),
    logsumexp=_np_logsumexp,
    softmax=_np_softmax,
)

# name -> (number of operands, whether it takes a dim, fn(lib, *operands, dim))
OPS: dict[str, tuple[int, bool, Any]] = {
    "tanh": (1, False, lambda lib, x, d: lib.tanh(x)),
    "sigmoid": (1, False, lambda lib, x, d: lib.sigmoid(x)),
    "sin": (1, False, lambda lib, x, d: lib.sin(x)),
    "exp": (1, False, lambda lib, x, d: lib.exp(x * 0.5)),
    "square": (1, False, lambda lib, x, d: x * x),
    "neg": (1, False, lambda lib, x, d: -x),
    "log": (1, False, lambda lib, x, d: lib.log(x * x + 1.0)),
    "sqrt": (1, False, lambda lib, x, d: lib.sqrt(x * x + 1.0)),
    "add": (2, False, lambda lib, a, b, d: a + b),
    "sub": (2, False, lambda lib, a, b, d: a - b),
    "mul": (2, False, lambda lib, a, b, d: a * b),
    "div": (2, False, lambda lib, a, b, d: a / (b * b + 1.0)),
    "sum": (1, True, lambda lib, x, d: lib.sum(x, d, keepdim=True)),
    "mean": (1, True, lambda lib, x, d: lib.mean(x, d, keepdim=True)),
    "logsumexp": (1, True, lambda lib, x, d: lib.logsumexp(x, d, keepdim=True)),
    "softmax": (1, True, lambda lib, x, d: lib.softmax(x, d)),
}
NAMES = sorted(OPS)

steps = st.lists(
    st.tuples(st.sampled_from(NAMES), st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)),
    min_size=1,
    max_size=6,
)
input_shapes = hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=1, max_side=3)


def run_program(lib: Any, inputs: list[Any], program: list[tuple[str, int, int, int]]) -> Any:
    """Apply the steps to the inputs; each step uses earlier values. Returns the last value.

    Binary steps pick a second operand whose shape broadcasts with the first; a step whose
    op cannot apply (a dim op on a 0-d value) is skipped, the same way on every library.
    """
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
            candidates = [v for v in values if _broadcastable(x.shape, v.shape)]
            values.append(fn(lib, x, candidates[j % len(candidates)], None))
    return values[-1]


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(tuple(a), tuple(b))
    except ValueError:
        return False
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=input_shapes, program=steps, seed=st.integers(0, 2**32 - 1))
def test_random_compositions_match_numpy_and_finite_differences(shapes: Any, program: Any, seed: int) -> None:
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(rng.uniform(-1.5, 1.5, shape)) for shape in shapes.input_shapes]
    expected = run_program(NUMPY, arrays, program)
    inputs = [ng.tensor(a, requires_grad=True) for a in arrays]
    out = run_program(ng, inputs, program)
    assert out.shape == np.shape(expected) and out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)

    weights = ng.tensor(rng.uniform(0.5, 1.5, out.shape))  # no symmetric cancellation of gradients
    assert ng.gradcheck(lambda *xs: (run_program(ng, list(xs), program) * weights).sum(), tuple(inputs))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=input_shapes, program=steps, seed=st.integers(0, 2**32 - 1))
def test_random_compositions_in_float32_stay_close_to_float64(shapes: Any, program: Any, seed: int) -> None:
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(rng.uniform(-1.5, 1.5, shape)) for shape in shapes.input_shapes]
    out64 = run_program(ng, [ng.tensor(a) for a in arrays], program)
    out32 = run_program(ng, [ng.tensor(a.astype(np.float32)) for a in arrays], program)
    assert out32.dtype == np.float32  # float32 in, float32 out: nothing widened on the way
    np.testing.assert_allclose(out32.data, out64.data, rtol=1e-4, atol=1e-5)
