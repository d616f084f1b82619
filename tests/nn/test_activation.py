"""Activations: values from their formulas, float64 finite-difference gradients, second derivatives."""

import math

import numpy as np
import pytest

import neograd.nn.functional as F  # noqa: N812
from neograd.autograd import enable_grad, grad, gradcheck, tensor
from neograd.nn import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh

RNG = np.random.default_rng(0)
# values away from the kinks at 0 (relu, leaky_relu, elu), where finite differences straddle them
X = np.array([-3.1, -1.2, -0.4, 0.3, 0.9, 2.7])


def phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


REFERENCE = {
    "relu": (F.relu, lambda x: max(x, 0.0)),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), lambda x: x if x > 0 else 0.2 * x),
    "elu": (lambda t: F.elu(t, alpha=1.5), lambda x: x if x > 0 else 1.5 * math.expm1(x)),
    "gelu": (F.gelu, lambda x: x * phi(x)),
    "gelu_tanh": (
        lambda t: F.gelu(t, approximate="tanh"),
        lambda x: 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    ),
    "silu": (F.silu, lambda x: x / (1 + math.exp(-x))),
    "sigmoid": (F.sigmoid, lambda x: 1 / (1 + math.exp(-x))),
    "tanh": (F.tanh, math.tanh),
    "softplus": (lambda t: F.softplus(t, beta=2.0), lambda x: math.log1p(math.exp(2 * x)) / 2),
}


@pytest.mark.parametrize("name", REFERENCE)
def test_values_match_the_formula(name):
    fn, ref = REFERENCE[name]
    out = fn(tensor(X))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, [ref(v) for v in X], rtol=2e-7, atol=1e-12)


@pytest.mark.parametrize("name", REFERENCE)
@pytest.mark.parametrize("shape", [(6,), (2, 3), (2, 1, 3)])
def test_gradients_match_finite_differences(name, shape):
    fn = REFERENCE[name][0]
    x = tensor(X.reshape(shape), requires_grad=True)
    assert gradcheck(fn, (x,))


@pytest.mark.parametrize("name", ["elu", "gelu", "gelu_tanh", "silu", "softplus", "sigmoid", "tanh"])
def test_second_derivatives_match_finite_differences(name):
    fn = REFERENCE[name][0]
    x = tensor(X, requires_grad=True)

    def first_derivative(t):
        with enable_grad():  # gradcheck evaluates fn under no_grad for its finite differences
            (g,) = grad(fn(t).sum(), t, create_graph=True)
        return g

    assert gradcheck(first_derivative, (x,))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_log_softmax_values_and_gradients(dim):
    x = RNG.standard_normal((3, 4))
    e = np.exp(x - x.max(dim, keepdims=True))
    p = e / e.sum(dim, keepdims=True)
    np.testing.assert_allclose(F.softmax(tensor(x), dim).data, p)
    np.testing.assert_allclose(F.log_softmax(tensor(x), dim=dim).data, np.log(p))
    t = tensor(x, requires_grad=True)
    assert gradcheck(lambda v: F.softmax(v, dim), (t,))
    assert gradcheck(lambda v: F.log_softmax(v, dim), (t,))


def test_softmax_dtype_argument_computes_in_that_dtype():
    out = F.softmax(tensor([1.0, 2.0]), 0, dtype=np.float64)
    assert out.dtype == np.float64


def test_softplus_is_linear_above_the_threshold_and_never_overflows():
    out = F.softplus(tensor([30.0, 1e4, -1e4]))
    np.testing.assert_allclose(out.data, [30.0, 1e4, 0.0])
    assert np.isfinite(out.data).all()


def test_gelu_is_accurate_in_the_tails():
    x = np.array([-8.0, -5.0, 5.0])
    expected = [v * phi(v) if v > 0 else v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x]
    np.testing.assert_allclose(F.gelu(tensor(x)).data, expected, rtol=2e-7)


def test_gelu_rejects_an_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(tensor([1.0]), approximate="fast")
    with pytest.raises(ValueError, match="approximate"):
        GELU("fast")


def test_float32_in_float32_out():
    x = tensor(X.astype(np.float32))
    for name, (fn, _) in REFERENCE.items():
        assert fn(x).dtype == np.float32, name


def test_activations_refuse_non_tensors_and_integers():
    with pytest.raises(TypeError, match="gelu: expected a Tensor"):
        F.gelu(np.zeros(3))
    with pytest.raises(TypeError, match="floating"):
        F.silu(tensor([1, 2]))


@pytest.mark.parametrize(
    "module, fn",
    [
        (ReLU(), F.relu),
        (LeakyReLU(0.3), lambda t: F.leaky_relu(t, 0.3)),
        (ELU(0.5), lambda t: F.elu(t, 0.5)),
        (GELU("tanh"), lambda t: F.gelu(t, approximate="tanh")),
        (SiLU(), F.silu),
        (Sigmoid(), F.sigmoid),
        (Tanh(), F.tanh),
        (Softmax(dim=1), lambda t: F.softmax(t, 1)),
        (LogSoftmax(dim=0), lambda t: F.log_softmax(t, 0)),
        (Softplus(2.0, 5.0), lambda t: F.softplus(t, 2.0, 5.0)),
    ],
)
def test_modules_call_their_functions(module, fn):
    x = tensor(X.reshape(2, 3))
    np.testing.assert_array_equal(module(x).data, fn(x).data)
    assert list(module.parameters()) == []


def test_module_reprs_follow_torch():
    assert repr(ReLU()) == "ReLU()"
    assert repr(LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(ELU(inplace=True)) == "ELU(alpha=1.0, inplace=True)"
    assert repr(GELU()) == "GELU(approximate='none')"
    assert repr(Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
