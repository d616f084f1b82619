"""linear and bilinear (functional and modules): values, shapes, finite-difference gradients, init."""

import math

import numpy as np
import pytest

import neograd.nn.functional as F  # noqa: N812
from neograd.autograd import enable_grad, grad, gradcheck, manual_seed, randn, tensor
from neograd.nn import Bilinear, Linear

RNG = np.random.default_rng(0)


def t64(*shape, requires_grad=True):
    return tensor(RNG.standard_normal(shape), requires_grad=requires_grad)


@pytest.mark.parametrize("x_shape", [(5, 3), (3,), (2, 4, 3)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_values_and_gradients(x_shape, with_bias):
    x, w = t64(*x_shape), t64(2, 3)
    b = t64(2) if with_bias else None
    expected = x.data @ w.data.T + (b.data if with_bias else 0)
    np.testing.assert_allclose(F.linear(x, w, b).data, expected)
    assert gradcheck(lambda *a: F.linear(*a), (x, w, b) if with_bias else (x, w))


def test_linear_second_derivatives():
    x, w, b = t64(4, 3), t64(2, 3), t64(2)

    def weight_grad(x, w, b):
        with enable_grad():
            (gw,) = grad((F.linear(x, w, b) ** 2).sum(), w, create_graph=True)
        return gw

    assert gradcheck(weight_grad, (x, w, b))


def test_linear_checks_shapes_and_dtypes():
    with pytest.raises(ValueError, match=r"\(4, 5\).*in_features=3"):
        F.linear(randn(4, 5), randn(2, 3))
    with pytest.raises(ValueError, match="bias must have shape"):
        F.linear(randn(4, 3), randn(2, 3), randn(3))
    with pytest.raises(ValueError, match="2-D"):
        F.linear(randn(4, 3), randn(3))
    with pytest.raises(TypeError, match="floating"):
        F.linear(tensor([[1, 2, 3]]), randn(2, 3))


def test_linear_module_shapes_parameters_and_repr():
    fc = Linear(20, 30)
    assert fc.weight.shape == (30, 20) and fc.bias.shape == (30,)
    assert fc(randn(128, 20)).shape == (128, 30)
    assert fc(randn(2, 5, 20)).shape == (2, 5, 30)
    assert repr(fc) == "Linear(in_features=20, out_features=30, bias=True)"
    no_bias = Linear(3, 2, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]


def test_linear_default_init_is_he_normal_with_zero_bias():
    manual_seed(0)
    fc = Linear(500, 400)
    w = fc.weight.data
    assert fc.weight.dtype == np.float32
    assert abs(w.mean()) < 0.005
    assert w.std() == pytest.approx(math.sqrt(2 / 500), rel=0.02)
    assert not fc.bias.data.any()


def test_linear_init_is_reproducible_with_manual_seed():
    manual_seed(3)
    a = Linear(4, 4).weight.data.copy()
    manual_seed(3)
    np.testing.assert_array_equal(Linear(4, 4).weight.data, a)


def test_linear_dtype_argument_and_bad_sizes():
    assert Linear(2, 3, dtype=np.float64).weight.dtype == np.float64
    with pytest.raises(ValueError, match="in_features"):
        Linear(-1, 3)
    with pytest.raises(ValueError, match="CPU"):
        Linear(2, 3, device="cuda")


def test_bilinear_values_and_gradients():
    x1, x2, w, b = t64(4, 3), t64(4, 2), t64(5, 3, 2), t64(5)
    expected = np.einsum("ni,kij,nj->nk", x1.data, w.data, x2.data) + b.data
    np.testing.assert_allclose(F.bilinear(x1, x2, w, b).data, expected)
    assert gradcheck(F.bilinear, (x1, x2, w, b))


def test_bilinear_keeps_leading_dims_and_checks_shapes():
    assert F.bilinear(randn(2, 3, 4), randn(2, 3, 5), randn(6, 4, 5)).shape == (2, 3, 6)
    with pytest.raises(ValueError, match="do not match weight"):
        F.bilinear(randn(2, 4), randn(3, 5), randn(6, 4, 5))


def test_bilinear_module():
    layer = Bilinear(3, 2, 4)
    assert layer.weight.shape == (4, 3, 2) and layer.bias.shape == (4,)
    bound = 1 / math.sqrt(3)
    assert np.abs(layer.weight.data).max() <= bound
    assert layer(randn(5, 3), randn(5, 2)).shape == (5, 4)
    assert repr(layer) == "Bilinear(in1_features=3, in2_features=2, out_features=4, bias=True)"
