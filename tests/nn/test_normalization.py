"""Normalisation: values against NumPy formulas, gradients (first and second order) by finite
differences, running statistics, train/eval modes, errors that change nothing, and the layers."""

from __future__ import annotations

import numpy as np
import pytest

import neograd.autograd as ng
import neograd.nn as nn
import neograd.nn.functional as F  # noqa: N812 -- torch's F
from neograd.autograd import gradcheck

rng = np.random.default_rng(2)


def t64(*shape: int, requires_grad: bool = True) -> ng.Tensor:
    return ng.tensor(rng.standard_normal(shape), requires_grad=requires_grad)


def reference(x, axes, eps, weight=None, bias=None, shape=None):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)  # biased, as used to normalise
    y = (x - mean) / np.sqrt(var + eps)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 2, 4, 3)])
def test_batch_norm_training_values_running_stats_and_gradcheck(shape):
    x, w, b = t64(*shape), t64(shape[1]), t64(shape[1])
    mean, var = ng.tensor(rng.standard_normal(shape[1])), ng.tensor(rng.random(shape[1]) + 0.5)
    mean0, var0 = mean.data.copy(), var.data.copy()
    axes = (0, *range(2, len(shape)))
    y = F.batch_norm(x, mean, var, w, b, training=True, momentum=0.3, eps=1e-3)
    bshape = (1, shape[1]) + (1,) * (len(shape) - 2)
    np.testing.assert_allclose(y.data, reference(x.data, axes, 1e-3, w.data, b.data, bshape), atol=1e-12)
    np.testing.assert_allclose(mean.data, 0.7 * mean0 + 0.3 * x.data.mean(axis=axes), atol=1e-14)
    np.testing.assert_allclose(var.data, 0.7 * var0 + 0.3 * x.data.var(axis=axes, ddof=1), atol=1e-14)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=1e-3), (x, w, b))


def test_batch_norm_eval_uses_the_running_statistics():
    x, w, b = t64(4, 3, 2, 2), t64(3), t64(3)
    mean, var = ng.tensor(rng.standard_normal(3)), ng.tensor(rng.random(3) + 0.5)
    y = F.batch_norm(x, mean, var, w, b, training=False, eps=1e-2)
    s = (1, 3, 1, 1)
    expected = (x.data - mean.data.reshape(s)) / np.sqrt(var.data.reshape(s) + 1e-2) * w.data.reshape(s)
    np.testing.assert_allclose(y.data, expected + b.data.reshape(s), atol=1e-12)
    before = mean.data.copy()
    assert gradcheck(lambda x, w, b: F.batch_norm(x, mean, var, w, b, training=False), (x, w, b))
    np.testing.assert_array_equal(mean.data, before)  # eval never touches the running statistics


def test_batch_norm_training_output_is_standardised():
    x = ng.tensor(rng.standard_normal((64, 4, 3)) * 5 + 2)
    y = F.batch_norm(x, None, None, training=True, eps=0.0).data
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2)), 1, atol=1e-12)


@pytest.mark.parametrize("shape, normalized", [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((2, 3, 2, 3), 3)])
def test_layer_norm_values_and_gradcheck(shape, normalized):
    ns = (normalized,) if isinstance(normalized, int) else normalized
    x, w, b = t64(*shape), t64(*ns), t64(*ns)
    axes = tuple(range(len(shape) - len(ns), len(shape)))
    np.testing.assert_allclose(
        F.layer_norm(x, normalized, w, b).data, reference(x.data, axes, 1e-5, w.data, b.data, ns), atol=1e-12
    )
    assert gradcheck(lambda x, w, b: F.layer_norm(x, normalized, w, b), (x, w, b))
    assert gradcheck(lambda x: F.layer_norm(x, normalized), (x,))


@pytest.mark.parametrize("shape, groups", [((2, 6, 3), 3), ((2, 4, 2, 3), 2), ((3, 4), 4), ((2, 4, 2, 2), 1)])
def test_group_norm_values_and_gradcheck(shape, groups):
    x, w, b = t64(*shape), t64(shape[1]), t64(shape[1])
    grouped = x.data.reshape(shape[0], groups, -1)
    expected = reference(grouped, (2,), 1e-5).reshape(shape)
    s = (1, shape[1]) + (1,) * (len(shape) - 2)
    expected = expected * w.data.reshape(s) + b.data.reshape(s)
    np.testing.assert_allclose(F.group_norm(x, groups, w, b).data, expected, atol=1e-12)
    assert gradcheck(lambda x, w, b: F.group_norm(x, groups, w, b), (x, w, b))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: F.batch_norm(x, None, None, training=True),
        lambda x: F.layer_norm(x, x.shape[-1:]),
        lambda x: F.group_norm(x, 2),
    ],
)
def test_normalisation_second_derivatives(fn):
    # built from neograd's ops, so the gradient itself can be differentiated
    def gradient(x):
        with ng.enable_grad():  # gradcheck's finite differences run under no_grad
            return ng.grad((fn(x) ** 3).sum(), x, create_graph=True)[0]

    assert gradcheck(gradient, (t64(3, 4, 2),))


def composed_layer_norm(x, ns, w=None, b=None, eps=1e-5):
    """layer_norm written with neograd's Tensor ops, as before it was one Function."""
    dims = tuple(range(x.ndim - len(ns), x.ndim))
    centered = x - x.mean(dims, keepdim=True)
    y = centered / ((centered * centered).mean(dims, keepdim=True) + eps).sqrt()
    return y * w if w is not None else y, b


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize(
    "shape, ns, affine", [((4, 6, 8), (8,), "wb"), ((3, 4, 5), (4, 5), "w"), ((2, 7), (7,), "")]
)
def test_layer_norm_fused_equals_the_composed_formula(dtype, tol, shape, ns, affine):
    def leaf(*s):
        return ng.tensor((rng.standard_normal(s) * 3 + 1).astype(dtype), requires_grad=True)

    x, w, b = leaf(*shape), leaf(*ns) if "w" in affine else None, leaf(*ns) if "b" in affine else None
    upstream = ng.tensor(rng.standard_normal(shape).astype(dtype))
    fused = F.layer_norm(x, ns, w, b, eps=1e-3)
    y, bias = composed_layer_norm(x, ns, w, b, eps=1e-3)
    composed = y + bias if bias is not None else y
    assert fused.dtype == dtype
    np.testing.assert_allclose(fused.data, composed.data, rtol=tol, atol=tol)
    leaves = [t for t in (x, w, b) if t is not None]
    for a, c in zip(ng.grad((fused * upstream).sum(), leaves), ng.grad((composed * upstream).sum(), leaves)):
        assert a.dtype == dtype
        np.testing.assert_allclose(a.data, c.data, rtol=tol, atol=tol * 10)


@pytest.mark.parametrize(
    "shape, ns, affine", [((3, 4, 2), (4, 2), "wb"), ((2, 3, 4), (4,), "w"), ((3, 5), (5,), "b")]
)
def test_layer_norm_second_derivatives_of_every_input(shape, ns, affine):
    # under create_graph LayerNorm's backward is written with Tensor ops: its own gradient is checked here
    x, w, b = t64(*shape), t64(*ns) if "w" in affine else None, t64(*ns) if "b" in affine else None
    leaves = [t for t in (x, w, b) if t is not None]

    def gradients(*args):
        with ng.enable_grad():  # gradcheck's finite differences run under no_grad
            xi, rest = args[0], list(args[1:])
            wi = rest.pop(0) if w is not None else None
            bi = rest.pop(0) if b is not None else None
            return ng.grad((F.layer_norm(xi, ns, wi, bi) ** 3).sum(), args, create_graph=True)

    assert gradcheck(gradients, tuple(leaves))


def test_layer_norm_gradients_of_weight_alone_and_of_an_empty_batch():
    x, w, b = t64(3, 4, requires_grad=False), t64(4), t64(4)
    (F.layer_norm(x, 4, w, b) ** 2).sum().backward()
    xhat = reference(x.data, (1,), 1e-5)
    np.testing.assert_allclose(w.grad.data, (2 * (xhat * w.data + b.data) * xhat).sum(0), atol=1e-12)
    np.testing.assert_allclose(b.grad.data, (2 * (xhat * w.data + b.data)).sum(0), atol=1e-12)
    empty, w = t64(0, 4), t64(4)
    y = F.layer_norm(empty, (4,), w)
    y.sum().backward()
    assert y.shape == (0, 4) and empty.grad.shape == (0, 4)
    np.testing.assert_array_equal(w.grad.data, np.zeros(4))


def test_float32_in_float32_out():
    x = ng.tensor(rng.standard_normal((4, 3, 2)).astype(np.float32), requires_grad=True)
    w = ng.tensor(np.ones(3, np.float32), requires_grad=True)
    for y in (
        F.batch_norm(x, None, None, w, training=True),
        F.layer_norm(x, (2,)),
        F.group_norm(x, 3, w),
    ):
        y.sum().backward()
        assert y.dtype == np.float32 and x.grad.dtype == np.float32


@pytest.mark.parametrize(
    "make, error, match",
    [
        (
            lambda m, v: F.batch_norm(t64(1, 3), m, v, training=True),
            ValueError,
            "more than 1 value per channel",
        ),
        (lambda m, v: F.batch_norm(t64(4, 2), m, v, training=True), RuntimeError, "running_mean of shape"),
        (lambda m, v: F.batch_norm(t64(4, 3), m, v, t64(2), training=True), RuntimeError, "weight of shape"),
        (lambda m, v: F.batch_norm(t64(4), m, v, training=True), RuntimeError, "at least 2 dims"),
        (lambda m, v: F.batch_norm(t64(4, 3), None, None, training=False), RuntimeError, "must be given"),
        (lambda m, v: F.layer_norm(t64(2, 3), (4,)), RuntimeError, r"expected input with shape \[\*, 4\]"),
        (lambda m, v: F.layer_norm(t64(2, 3), (3,), t64(2)), RuntimeError, "weight of shape"),
        (lambda m, v: F.layer_norm(t64(2, 3), "3"), TypeError, "normalized_shape"),
        (lambda m, v: F.group_norm(t64(2, 6, 3), 4), RuntimeError, "divisible by num_groups"),
        (lambda m, v: F.group_norm(t64(2, 6, 3), 3, t64(3)), RuntimeError, "weight of shape"),
        (lambda m, v: F.group_norm(ng.tensor(np.ones((2, 4), np.int64)), 2), TypeError, "floating"),
    ],
)
def test_bad_arguments_are_refused_and_change_nothing(make, error, match):
    mean, var = ng.zeros(3), ng.ones(3)
    with pytest.raises(error, match=match):
        make(mean, var)
    np.testing.assert_array_equal(mean.data, 0)
    np.testing.assert_array_equal(var.data, 1)


# ---- layers ---------------------------------------------------------------------------------
def test_batchnorm2d_layer_tracks_statistics_and_switches_to_them_in_eval():
    bn = nn.BatchNorm2d(3, momentum=0.5)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert (
        repr(bn)
        == "BatchNorm2d(3, eps=1e-05, momentum=0.5, affine=True, bias=True, track_running_stats=True)"
    )
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.standard_normal((4, 3, 2, 2)).astype(np.float32) * 3 + 1
        bn(ng.tensor(x))
        mean = 0.5 * mean + 0.5 * x.mean(axis=(0, 2, 3))
        var = 0.5 * var + 0.5 * x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_mean.data, mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, var, rtol=1e-5)
    assert bn.num_batches_tracked.item() == 3 and bn.num_batches_tracked.dtype == np.int64
    bn.eval()
    x = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    expected = (x - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5)
    np.testing.assert_allclose(bn(ng.tensor(x)).data, expected, rtol=1e-4, atol=1e-5)
    assert bn.num_batches_tracked.item() == 3


def test_batchnorm_momentum_none_is_a_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [rng.standard_normal((5, 2)) for _ in range(4)]
    for b in batches:
        bn(ng.tensor(b.astype(np.float32)))
    np.testing.assert_allclose(
        bn.running_mean.data, np.mean([b.mean(axis=0) for b in batches], axis=0), rtol=1e-5
    )
    np.testing.assert_allclose(
        bn.running_var.data, np.mean([b.var(axis=0, ddof=1) for b in batches], axis=0), rtol=1e-5
    )


def test_batchnorm_without_running_stats_or_affine():
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False).eval()
    assert list(bn.parameters()) == [] and list(bn.state_dict()) == []
    x = t64(6, 3, 4)
    # no running statistics: eval mode normalises with the batch's own
    np.testing.assert_allclose(bn.double()(x).data, reference(x.data, (0, 2), 1e-5), atol=1e-12)


def test_batchnorm_refusals_change_no_state():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        bn(ng.randn(2, 3, 2, 2))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(ng.randn(1, 3))
    with pytest.raises(RuntimeError, match="running_mean of shape"):
        bn(ng.randn(4, 5))
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(ng.randn(2, 3))
    assert bn.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(bn.running_mean.data, 0)
    np.testing.assert_array_equal(bn.running_var.data, 1)
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm2d(3, momentum=1.5)
    with pytest.raises(ValueError, match="num_features"):
        nn.BatchNorm2d(0)


def test_batchnorm_reset_and_dtype():
    bn = nn.BatchNorm2d(2, dtype=ng.float64)
    assert bn.weight.dtype == bn.running_mean.dtype == np.float64
    bn(t64(3, 2, 2, 2))
    bn.reset_parameters()
    np.testing.assert_array_equal(bn.running_mean.data, 0)
    assert bn.num_batches_tracked.item() == 0


def test_layernorm_and_groupnorm_layers():
    ln = nn.LayerNorm((3, 4), eps=1e-3)
    assert ln.weight.shape == ln.bias.shape == (3, 4)
    assert repr(ln) == "LayerNorm((3, 4), eps=0.001, elementwise_affine=True, bias=True)"
    x = t64(2, 3, 4)
    np.testing.assert_allclose(ln.double()(x).data, reference(x.data, (1, 2), 1e-3), atol=1e-12)
    assert [n for n, _ in nn.LayerNorm(4, bias=False).named_parameters()] == ["weight"]
    assert list(nn.LayerNorm(4, elementwise_affine=False).parameters()) == []
    gn = nn.GroupNorm(2, 4)
    assert repr(gn) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    assert [n for n, _ in nn.GroupNorm(2, 4, bias=False).named_parameters()] == ["weight"]
    assert [n for n, _ in nn.BatchNorm2d(4, bias=False).named_parameters()] == ["weight"]
    assert gn(ng.randn(3, 4, 5)).shape == (3, 4, 5)
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm(0)
