"""The NumPy fast paths of gelu, linear, embedding and cross_entropy agree with the obvious forms.

Each of these ops computes its ordinary backward in place with NumPy and keeps a slower
form built from Functions for ``create_graph``; these tests pin the fast path against
the plain formula, on the shapes and edge cases the fast path handles differently.
"""

import math

import numpy as np
import pytest

import neograd.nn.functional as F  # noqa: N812
from neograd.autograd import enable_grad, grad, gradcheck, tensor
from neograd.nn.functional.activation import _normal_cdf, _normal_cdf_float32

RNG = np.random.default_rng(0)


def _phi(v: float) -> float:
    return 0.5 * math.erfc(-v / math.sqrt(2))


def test_normal_cdf_relative_error_everywhere_and_special_values():
    x = np.linspace(-37, 37, 20001)
    ref = np.array([_phi(v) for v in x])
    got = _normal_cdf(x)
    np.testing.assert_allclose(got, ref, rtol=1.2e-7, atol=0)
    np.testing.assert_array_equal(_normal_cdf(np.array([np.inf, -np.inf, -40.0])), [1.0, 0.0, 0.0])
    assert np.isnan(_normal_cdf(np.array([np.nan])))[0]
    assert _normal_cdf(np.float32([1.0, -1.0])).dtype == np.float32


@pytest.mark.parametrize("shape", [(), (7,), (3, 1, 4)])
def test_gelu_fast_backward_matches_the_formula_with_any_rank(shape):
    x = RNG.standard_normal(shape) * 3
    t = tensor(x, requires_grad=True)
    g = RNG.standard_normal(shape)
    y = F.gelu(t)
    y.backward(tensor(g))
    phi = np.vectorize(_phi)(x)
    pdf = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(y.data, x * phi, rtol=2e-7, atol=1e-12)
    # Phi's relative error (1.2e-7) is the gradient's absolute error over g: Phi + x pdf may cancel
    assert np.all(np.abs(t.grad.data - g * (phi + x * pdf)) <= 1.2e-7 * np.abs(g) * phi + 1e-15)
    assert t.grad.shape == shape


def test_normal_cdf_float32_absolute_error_and_special_values():
    x = np.linspace(-12, 12, 24001, dtype=np.float32)
    cdf, gauss = _normal_cdf_float32(x)
    assert cdf.dtype == gauss.dtype == np.float32
    np.testing.assert_allclose(cdf, [_phi(float(v)) for v in x], rtol=0, atol=3e-7)
    np.testing.assert_allclose(gauss, np.exp(-(x.astype(np.float64) ** 2) / 2), rtol=1e-5, atol=1e-38)
    cdf, gauss = _normal_cdf_float32(np.float32([np.inf, -np.inf, np.nan]))
    np.testing.assert_array_equal(cdf[:2], [1.0, 0.0])
    assert np.isnan(cdf[2])


@pytest.mark.parametrize("shape", [(), (7,), (3, 1, 4)])
def test_gelu_float32_forward_and_backward_match_the_formula(shape):
    x = (RNG.standard_normal(shape) * 3).astype(np.float32)
    g = RNG.standard_normal(shape).astype(np.float32)
    t = tensor(x, requires_grad=True)
    y = F.gelu(t)
    y.backward(tensor(g))
    x64 = x.astype(np.float64)
    phi = np.vectorize(_phi)(x64)
    pdf = np.exp(-x64 * x64 / 2) / math.sqrt(2 * math.pi)
    assert y.dtype == t.grad.dtype == np.float32
    np.testing.assert_allclose(y.data, x64 * phi, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(t.grad.data, g * (phi + x64 * pdf), rtol=1e-6, atol=1e-6)


def test_gelu_create_graph_gradient_equals_the_fast_one():
    x = tensor(RNG.standard_normal((4, 5)), requires_grad=True)
    (fast,) = grad(F.gelu(x).sum(), x)
    with enable_grad():
        (slow,) = grad(F.gelu(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(fast.data, slow.data, rtol=1e-14)


@pytest.mark.parametrize("x_shape", [(3,), (0, 3), (2, 0, 3), (2, 4, 3), (2, 2, 2, 3)])
def test_linear_flattened_batch_dims_keep_shapes_and_values(x_shape):
    x = tensor(RNG.standard_normal(x_shape), requires_grad=True)
    w = tensor(RNG.standard_normal((5, 3)), requires_grad=True)
    b = tensor(RNG.standard_normal(5), requires_grad=True)
    y = F.linear(x, w, b)
    assert y.shape == x_shape[:-1] + (5,)
    np.testing.assert_allclose(y.data, x.data @ w.data.T + b.data)
    g = RNG.standard_normal(y.shape)
    y.backward(tensor(g))
    rows = x.data.reshape(-1, 3)
    np.testing.assert_allclose(x.grad.data, g @ w.data)
    np.testing.assert_allclose(w.grad.data, g.reshape(-1, 5).T @ rows, atol=1e-12)
    np.testing.assert_allclose(b.grad.data, g.reshape(-1, 5).sum(0), atol=1e-12)


def test_linear_on_a_non_contiguous_input():
    x = tensor(RNG.standard_normal((4, 3, 2)), requires_grad=True)
    w = tensor(RNG.standard_normal((5, 3)), requires_grad=True)
    assert gradcheck(lambda a, b: F.linear(a.transpose(1, 2), b), (x, w))


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_backward_sums_repeated_rows_like_add_at(padding_idx):
    weight = tensor(RNG.standard_normal((6, 4)), requires_grad=True)
    idx = RNG.integers(0, 6, (5, 7))
    out = F.embedding(tensor(idx), weight, padding_idx=padding_idx)
    g = RNG.standard_normal(out.shape)
    out.backward(tensor(g))
    expected = np.zeros((6, 4))
    np.add.at(expected, idx.reshape(-1), g.reshape(-1, 4))
    if padding_idx is not None:
        expected[padding_idx] = 0
    np.testing.assert_allclose(weight.grad.data, expected, atol=1e-12)


def test_embedding_backward_of_no_indices_is_zero():
    weight = tensor(RNG.standard_normal((3, 2)), requires_grad=True)
    out = F.embedding(tensor(np.zeros((0,), np.int64)), weight)
    out.backward(tensor(np.zeros((0, 2))))
    np.testing.assert_array_equal(weight.grad.data, np.zeros((3, 2)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape, dim", [((6, 5), 1), ((5,), 0), ((3, 5, 2), 1)])
def test_cross_entropy_backward_is_softmax_minus_target(reduction, shape, dim):
    x = RNG.standard_normal(shape) * 4
    target = RNG.integers(0, 5, shape[:dim] + shape[dim + 1 :])
    t = tensor(x, requires_grad=True)
    loss = F.cross_entropy(t, tensor(target), reduction=reduction)
    g = RNG.standard_normal(loss.shape)
    loss.backward(tensor(g))
    p = np.exp(x - x.max(dim, keepdims=True))
    p /= p.sum(dim, keepdims=True)
    onehot = np.moveaxis(np.eye(5)[target], -1, dim)
    scale = np.expand_dims(g, dim) if reduction == "none" else g / (target.size if reduction == "mean" else 1)
    np.testing.assert_allclose(t.grad.data, scale * (p - onehot), rtol=1e-12, atol=1e-14)
    log_p = np.log(p)
    per = -(onehot * log_p).sum(dim)
    expected = per if reduction == "none" else per.mean() if reduction == "mean" else per.sum()
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)


def test_cross_entropy_create_graph_gradient_equals_the_fast_one():
    x = tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    target = tensor([0, 2, 1, 2])
    (fast,) = grad(F.cross_entropy(x, target, label_smoothing=0.1), x)
    with enable_grad():
        (slow,) = grad(F.cross_entropy(x, target, label_smoothing=0.1), x, create_graph=True)
    np.testing.assert_allclose(fast.data, slow.data, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_of_class_indices_agrees_with_the_general_form(reduction):
    # (N, C) logits with plain class indices take IndexCrossEntropy; class weights of one
    # give the same loss through the general CrossEntropy and its one-hot coefficients
    x = RNG.standard_normal((7, 4)) * 3
    x[0] = [1e4, -1e4, 0.0, 5.0]  # far apart: the max shift must keep it finite
    target = tensor(RNG.integers(0, 4, 7))
    fast, general = tensor(x, requires_grad=True), tensor(x, requires_grad=True)
    loss = F.cross_entropy(fast, target, reduction=reduction)
    ref = F.cross_entropy(general, target, weight=tensor(np.ones(4)), reduction=reduction)
    np.testing.assert_allclose(loss.data, ref.data, rtol=1e-13)
    g = tensor(RNG.standard_normal(loss.shape))
    loss.backward(g, retain_graph=True)
    first = fast.grad.data.copy()
    loss.backward(g)  # the retained graph gives the same gradient again
    ref.backward(g)
    np.testing.assert_allclose(first, general.grad.data, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast.grad.data, 2 * first, rtol=1e-13)


def test_cross_entropy_of_class_indices_has_a_second_derivative():
    x = tensor(RNG.standard_normal((5, 3)), requires_grad=True)
    target = tensor([0, 2, 1, 2, 0])

    def first_derivative(t):
        with enable_grad():
            (g,) = grad(F.cross_entropy(t, target), t, create_graph=True)
        return g

    (fast,) = grad(F.cross_entropy(x, target), x)
    np.testing.assert_allclose(first_derivative(x).data, fast.data, rtol=1e-13, atol=1e-16)
    assert gradcheck(first_derivative, (x,))
