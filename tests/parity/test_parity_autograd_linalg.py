"""Parity of neograd.autograd's matrix products with torch: every operand layout of matmul.

float32 products sum in a different order in NumPy's BLAS and torch's, so float32 is
compared with a relative tolerance of 1e-6 on top of the absolute 1e-5.
"""

import numpy as np
import pytest

DTYPES = [np.float64, np.float32]


def randn(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def rtol(dtype):
    return 1e-6 if dtype == np.float32 else 1e-7


MATMUL_SHAPES = [
    ((4,), (4,)),  # dot product
    ((3, 4), (4, 5)),
    ((4,), (4, 5)),  # 1-D left: a row vector
    ((3, 4), (4,)),  # 1-D right: a column vector
    ((2, 3, 4), (2, 4, 5)),  # batched
    ((2, 3, 4), (4, 5)),  # batch against one matrix
    ((4, 5), (2, 5, 3)),
    ((2, 1, 3, 4), (5, 4, 2)),  # broadcast batch dims
    ((1, 3, 4), (6, 4, 2)),
    ((4,), (2, 4, 3)),  # 1-D with N-D
    ((2, 3, 4), (4,)),
    ((2, 2, 3, 4), (4,)),
    ((1, 4), (4, 1)),
    ((3, 0), (0, 2)),  # empty inner dim: zeros
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(parity_same, shapes, dtype):
    a, b = randn(*shapes[0], dtype=dtype, seed=1), randn(*shapes[1], dtype=dtype, seed=2)
    parity_same(lambda lib, x, y: lib.matmul(x, y), [a, b], rtol=rtol(dtype))
    parity_same(lambda lib, x, y: x @ y, [a, b], rtol=rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_with_only_one_operand_requiring_grad(parity_same, dtype):
    a, b = randn(2, 3, 4, dtype=dtype), randn(4, 5, dtype=dtype, seed=1)
    parity_same(lambda lib, x, y: x.matmul(y), [a, b], requires_grad=[True, False], rtol=rtol(dtype))
    parity_same(lambda lib, x, y: x.matmul(y), [a, b], requires_grad=[False, True], rtol=rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_dot_mm_bmm(parity_same, dtype):
    parity_same(lambda lib, x, y: lib.dot(x, y), [randn(5, dtype=dtype), randn(5, dtype=dtype, seed=1)])
    parity_same(lambda lib, x, y: x.dot(y), [randn(5, dtype=dtype), randn(5, dtype=dtype, seed=1)])
    mats = [randn(3, 4, dtype=dtype), randn(4, 2, dtype=dtype, seed=1)]
    parity_same(lambda lib, x, y: lib.mm(x, y), mats, rtol=rtol(dtype))
    parity_same(
        lambda lib, x, y: lib.bmm(x, y),
        [randn(2, 3, 4, dtype=dtype), randn(2, 4, 2, dtype=dtype, seed=1)],
        rtol=rtol(dtype),
    )


def test_matmul_of_integers(parity_same):
    a, b = np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)
    parity_same(lambda lib, x, y: x @ y, [a, b])


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_layer_composition(parity_same, dtype):
    # x W^T + b, relu, a second layer, log_softmax: the usual small network
    x, w1, b1 = randn(8, 5, dtype=dtype), randn(6, 5, dtype=dtype, seed=1), randn(6, dtype=dtype, seed=2)
    w2, b2 = randn(3, 6, dtype=dtype, seed=3), randn(3, dtype=dtype, seed=4)

    def fn(lib, x, w1, b1, w2, b2):
        h = lib.relu(x @ w1.T + b1)
        return lib.log_softmax(h @ w2.T + b2, dim=1)

    parity_same(fn, [x, w1, b1, w2, b2], rtol=rtol(dtype))
