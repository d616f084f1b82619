"""Parity of neograd.autograd's elementwise ops with torch: values, gradients, dtypes.

Each op runs on the same inputs in float64 (to 1e-10) and float32 (to 1e-5); the parity
fixtures (conftest.py) also compare the output dtype and the gradients' dtypes.
"""

import numpy as np
import pytest
import torch

import neograd.autograd as ng

DTYPES = [np.float64, np.float32]


def randn(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def uniform(lo, hi, *shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(dtype)


# ---- binary arithmetic, broadcasting ---------------------------------------------------

BROADCAST_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), (3, 1)),
    ((5, 1, 4), (3, 1)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((1,), (2, 1, 3)),
    ((2, 1, 3), (2, 4, 1)),
]

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a.abs() ** b,  # a positive base, so that any exponent is defined
    "maximum": lambda a, b: a.maximum(b),
    "minimum": lambda a, b: a.minimum(b),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("op", BINARY, ids=str)
def test_binary_broadcasting(parity_same, op, shapes, dtype):
    a, b = randn(*shapes[0], dtype=dtype, seed=1), randn(*shapes[1], dtype=dtype, seed=2)
    if op == "div":
        b = b + np.sign(b).astype(dtype)  # keep the divisor away from 0
    parity_same(lambda lib, x, y: BINARY[op](x, y), [a, b])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, x: lib.add(x, x, alpha=2.5),
        lambda lib, x: lib.sub(x, x * x, alpha=-0.5),
        lambda lib, x: lib.mul(x, 3.0),
        lambda lib, x: lib.div(x, 2.0),
        lambda lib, x: lib.pow(x, 3),
        lambda lib, x: lib.pow(2.0, x),
        lambda lib, x: lib.neg(x),
    ],
    ids=["add_alpha", "sub_alpha", "mul", "div", "pow", "pow_scalar_base", "neg"],
)
def test_module_functions(parity_same, fn, dtype):
    parity_same(fn, [randn(3, 4, dtype=dtype)])


SCALAR_OPS = {
    "x+s": lambda x: x + 1.5,
    "s+x": lambda x: 1.5 + x,
    "x+int": lambda x: x + 2,
    "x-s": lambda x: x - 1.5,
    "s-x": lambda x: 1.5 - x,
    "x*s": lambda x: x * -2.5,
    "s*x": lambda x: -2.5 * x,
    "x/s": lambda x: x / 4.0,
    "s/x": lambda x: 4.0 / x,
    "int/x": lambda x: 3 / x,
    "x**2": lambda x: x**2,
    "x**3.0": lambda x: x**3.0,
    "x**-1": lambda x: x**-1,
    "x**0.5": lambda x: x.abs() ** 0.5,
    "x**0": lambda x: x**0,
    "2**x": lambda x: 2**x,
    "e**x": lambda x: 2.718281828459045**x,
    "-x": lambda x: -x,
    "+x": lambda x: +x,
    "max(x,s)": lambda x: x.maximum(torch.tensor(0.5, dtype=x.dtype))
    if isinstance(x, torch.Tensor)
    else x.maximum(ng.tensor(0.5, dtype=x.dtype)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", SCALAR_OPS, ids=str)
def test_python_scalar_operands(parity_same, op, dtype):
    x = randn(3, 4, dtype=dtype, seed=3)
    x = x + np.sign(x).astype(dtype)  # away from 0, for the divisions and negative powers
    parity_same(lambda lib, t: SCALAR_OPS[op](t), [x])


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_dim_tensors(parity_same, dtype):
    a, b = np.asarray(randn(1, dtype=dtype)[0]), randn(2, 3, dtype=dtype, seed=1)
    parity_same(lambda lib, s, x: (s * x + s).exp() / (1 + s * s), [a, b])


def test_pow_tensor_exponent_at_zero_base(parity_same):
    # torch takes d(a^b)/db as 0 where a == 0 (and b >= 0), instead of 0 * log(0) = nan
    a = np.array([0.0, 0.0, 1.5, 2.0])
    b = np.array([2.0, 3.0, 0.5, -1.0])
    parity_same(lambda lib, x, y: x**y, [a, b])


def test_pow_zero_exponent_at_zero_base(parity_same):
    # torch: the gradient of x ** 0 is 0 everywhere, also at x = 0 (not 0 * 0^-1)
    x = np.array([0.0, 1.0, -2.0])
    parity_same(lambda lib, t: t**0, [x])
    parity_same(lambda lib, t, e: t**e, [x, np.zeros(3)])


# ---- unary math functions ---------------------------------------------------------------

UNARY = {
    "neg": (lambda lib, x: lib.neg(x), randn),
    "abs": (lambda lib, x: lib.abs(x), randn),
    "exp": (lambda lib, x: lib.exp(x), randn),
    "log": (lambda lib, x: lib.log(x), lambda *s, **k: uniform(0.1, 5.0, *s, **k)),
    "log1p": (lambda lib, x: lib.log1p(x), lambda *s, **k: uniform(-0.9, 5.0, *s, **k)),
    "sqrt": (lambda lib, x: lib.sqrt(x), lambda *s, **k: uniform(0.1, 5.0, *s, **k)),
    "square": (lambda lib, x: lib.square(x), randn),
    "sin": (lambda lib, x: lib.sin(x), randn),
    "cos": (lambda lib, x: lib.cos(x), randn),
    "tanh": (lambda lib, x: lib.tanh(x), randn),
    "sigmoid": (lambda lib, x: lib.sigmoid(x), randn),
    "relu": (lambda lib, x: lib.relu(x), randn),
    "sign": (lambda lib, x: lib.sign(x), randn),
    "clone": (lambda lib, x: lib.clone(x), randn),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("op", UNARY, ids=str)
def test_unary(parity_same, op, shape, dtype):
    fn, make = UNARY[op]
    parity_same(fn, [make(*shape, dtype=dtype, seed=4)])


@pytest.mark.parametrize(
    "method",
    ["neg", "abs", "exp", "log1p", "square", "sin", "cos", "tanh", "sigmoid", "relu", "clone"],
)
def test_unary_methods(parity_same, method):
    parity_same(lambda lib, x: getattr(x, method)(), [uniform(-0.5, 2.0, 3, 4)])


def test_log_sqrt_methods(parity_same):
    parity_same(lambda lib, x: x.log() + x.sqrt(), [uniform(0.1, 3.0, 3, 4)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_abs_and_relu_at_zero(parity_same, dtype):
    # the gradient at 0 is 0 for both, in torch
    x = np.array([-1.0, 0.0, 0.0, 2.0], dtype=dtype)
    parity_same(lambda lib, t: lib.abs(t) + lib.relu(t), [x])


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_and_tanh_at_extreme_logits(parity_same, dtype):
    x = np.array([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4], dtype=dtype)
    parity_same(lambda lib, t: lib.sigmoid(t), [x])
    parity_same(lambda lib, t: lib.tanh(t), [x])
    out = ng.sigmoid(ng.tensor(x, requires_grad=True))
    out.sum().backward()
    assert np.isfinite(out.data).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_log_at_limits(parity_same, dtype):
    parity_same(lambda lib, t: lib.exp(t), [np.array([-1e4, -50.0, 0.0, 50.0], dtype=dtype)], rtol=1e-6)
    parity_same(lambda lib, t: lib.log(t), [np.array([1e-30, 1.0, 1e30], dtype=dtype)], rtol=1e-6)


# ---- maximum, minimum, where, clamp -----------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_minimum_ties_split_the_gradient(parity_same, op, dtype):
    a = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]], dtype=dtype)
    b = np.array([[1.0, 0.0, 4.0], [0.0, -1.0, 6.0]], dtype=dtype)
    parity_same(lambda lib, x, y: getattr(lib, op)(x, y), [a, b])
    parity_same(lambda lib, x, y: getattr(lib, op)(x, y), [a, np.array([2.0, 0.0, 5.0], dtype=dtype)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_maximum_with_itself(parity_same, dtype):
    parity_same(lambda lib, x: lib.maximum(x, x) + lib.minimum(x, x), [randn(4, dtype=dtype)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_where(parity_same, dtype):
    cond = np.array([[True, False, True], [False, False, True]])
    a, b = randn(2, 3, dtype=dtype, seed=1), randn(3, dtype=dtype, seed=2)
    parity_same(lambda lib, c, x, y: lib.where(c, x, y), [cond, a, b])
    parity_same(lambda lib, c, x: lib.where(c, x, 0.0), [cond, a])
    parity_same(lambda lib, c, x: lib.where(c, 2.5, x), [cond, a])
    parity_same(lambda lib, c, x: x.where(c, x * x), [cond[:1], a])  # cond broadcasts
    parity_same(lambda lib, x: lib.where(x > 0, x, -x), [a])


@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_fill(parity_same, dtype):
    mask = np.array([True, False, True, False])
    parity_same(lambda lib, x, m: x.masked_fill(m, -1.5), [randn(3, 4, dtype=dtype), mask])


CLAMPS = {
    "both": {"min": -0.5, "max": 0.5},
    "min": {"min": -0.5},
    "max": {"max": 0.5},
    "min>max": {"min": 1.0, "max": -1.0},
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bounds", CLAMPS, ids=str)
def test_clamp(parity_same, bounds, dtype):
    # includes values exactly on the bounds, where torch lets the gradient through
    x = np.array([-2.0, -0.5, -0.1, 0.0, 0.3, 0.5, 1.0, 3.0], dtype=dtype)
    parity_same(lambda lib, t: lib.clamp(t, **CLAMPS[bounds]), [x])
    parity_same(lambda lib, t: t.clip(**CLAMPS[bounds]), [x])


def test_clamp_tensor_bounds_without_grad(parity):
    x = randn(3, 4)
    lo, hi = np.full(4, -0.3), np.full((3, 1), 0.6)
    parity(
        lambda t: ng.clamp(t, ng.tensor(lo), ng.tensor(hi)),
        lambda t: torch.clamp(t, torch.from_numpy(lo), torch.from_numpy(hi)),
        [x],
    )


# ---- dtype conversion, comparisons, promotion -------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, x: x.double() * 2,
        lambda lib, x: x.float() * 2,
        lambda lib, x: x.to(lib.float64).exp(),
        lambda lib, x: x.to(lib.float32).exp(),
        lambda lib, x: x.type_as(x) * x,
    ],
    ids=["double", "float", "to64", "to32", "type_as"],
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_conversion_passes_the_gradient_back(parity_same, fn, dtype):
    parity_same(fn, [randn(3, 4, dtype=dtype)], atol=1e-5)  # float32 results: float32's tolerance


def test_conversion_to_integer_and_bool(parity_same):
    x = np.array([-1.7, -0.2, 0.0, 0.6, 2.5])
    parity_same(lambda lib, t: t.long(), [x])
    parity_same(lambda lib, t: t.int(), [x])
    parity_same(lambda lib, t: t.bool(), [x])
    parity_same(lambda lib, t: t.float(), [np.arange(4)])


COMPARISONS = ["eq", "ne", "lt", "le", "gt", "ge"]


@pytest.mark.parametrize("op", COMPARISONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_comparisons(parity_same, op, dtype):
    a = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]], dtype=dtype)
    b = np.array([1.0, 0.0, 5.0], dtype=dtype)
    parity_same(lambda lib, x, y: getattr(lib, op)(x, y), [a, b])
    parity_same(lambda lib, x: getattr(x, op)(1.0), [a])
    parity_same(lambda lib, x: getattr(x, op)(2), [a])


def test_comparison_operators(parity_same):
    a, b = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])
    parity_same(lambda lib, x, y: [x == y, x != y, x < y, x <= y, x > y, x >= y], [a, b])
    parity_same(lambda lib, x: [(x > 1) & (x < 3), (x < 2) | (x > 2), ~(x > 1)], [a])
    special = np.array([1.0, np.inf, np.nan])
    parity_same(lambda lib, x: [lib.isnan(x), lib.isinf(x), lib.isfinite(x)], [special])


PROMOTIONS = [
    # (left, right): torch's result dtype is checked by the fixture
    (np.float32, np.float64),
    (np.float64, np.float32),
    (np.int64, np.float32),
    (np.float32, np.int64),
    (np.int32, np.int64),
    (np.int64, np.float64),
    (np.bool_, np.int64),
    (np.bool_, np.float32),
    (np.uint8, np.int64),
]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum"])
@pytest.mark.parametrize("dtypes", PROMOTIONS, ids=lambda d: f"{np.dtype(d[0])}-{np.dtype(d[1])}")
def test_tensor_tensor_promotion(parity_same, dtypes, op):
    a = (np.arange(6).reshape(2, 3) % 3 + 1).astype(dtypes[0])
    b = np.array([2, 1, 3]).astype(dtypes[1])
    if op == "sub":  # torch refuses to subtract bool tensors
        a, b = (x.astype(np.int64) if x.dtype == np.bool_ else x for x in (a, b))
    parity_same(lambda lib, x, y: getattr(lib, op)(x, y), [a, b])
    parity_same(lambda lib, x, y: getattr(lib, op)(x, y), [np.array(a[0, 0]), b])  # a 0-d tensor
    parity_same(lambda lib, x, y: getattr(lib, op)(x, y), [a, np.array(b[0])])


@pytest.mark.parametrize("scalar", [2, 2.5, True], ids=["int", "float", "bool"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_])
def test_tensor_python_scalar_promotion(parity_same, dtype, scalar):
    a = (np.arange(6).reshape(2, 3) % 2).astype(dtype)
    parity_same(lambda lib, x: [x + scalar, scalar * x, x * scalar], [a])
    if dtype != np.bool_ and scalar is not True:  # torch refuses to subtract bools
        parity_same(lambda lib, x: [x / scalar, x - scalar, x**2], [a])


@pytest.mark.parametrize("scalar", [np.float64(2.5), np.float32(2.5), np.int64(2), np.int32(3)], ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32])
def test_tensor_numpy_scalar_promotion(parity_same, dtype, scalar):
    # torch treats NumPy scalars as Python numbers: they do not widen the tensor's dtype
    a = (np.arange(6).reshape(2, 3) % 2).astype(dtype)
    parity_same(lambda lib, x: [x + scalar, scalar * x, x * scalar, x / scalar], [a])


def test_integer_division_gives_the_default_float(parity_same):
    a, b = np.array([1, 2, 7]), np.array([2, 4, 2])
    parity_same(lambda lib, x, y: [x / y, x / 2, 7 / y, lib.div(x, y, rounding_mode="floor")], [a, b])


def test_zero_dim_float64_with_float32_tensor(parity_same):
    # torch: a 0-d tensor does not promote a dimensioned one of the same kind (float32 stays)
    s, x = np.array(2.0), randn(3, dtype=np.float32)
    parity_same(lambda lib, a, b: [a * b, b + a], [s, x], atol=1e-5)


def test_parity_smoke_mul_add_broadcast_tanh(parity):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 1, 4)), rng.standard_normal((5, 4))
    parity(lambda x, y: (x * y + x).tanh(), lambda x, y: (x * y + x).tanh(), [a, b])


def test_math_of_integers_gives_the_default_float(parity_same):
    x = np.array([[0, 1, 2], [3, 1, 5]])
    fns = [
        lambda lib, t: [t.exp(), t.log1p(), t.sqrt(), t.sin(), t.cos(), t.tanh(), t.sigmoid()],
        lambda lib, t: [lib.logsumexp(t, 1)],  # (torch has no softmax of integers)
        lambda lib, t: [t.abs(), -t, t.relu(), t.clamp(1, 3), t.clamp(0.5, 2.5)],
    ]
    for fn in fns:
        parity_same(fn, [x], atol=1e-5)  # float32 results
