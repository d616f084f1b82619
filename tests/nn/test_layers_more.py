"""More layers: channel-wise dropout, instance norm, upsampling, PReLU / Hardtanh / ReLU6 /
Hardsigmoid / Hardswish / Mish. Values against NumPy formulas, float64 finite-difference
gradients (first and second order), running statistics, unbatched inputs, errors, reprs."""

from __future__ import annotations

import numpy as np
import pytest

import neograd.autograd as ng
import neograd.nn as nn
import neograd.nn.functional as F  # noqa: N812 -- torch's F
from neograd.autograd import gradcheck

rng = np.random.default_rng(7)


def t64(*shape: int, requires_grad: bool = True) -> ng.Tensor:
    return ng.tensor(rng.standard_normal(shape), requires_grad=requires_grad)


def away_from(x: ng.Tensor, points: tuple[float, ...], gap: float = 1e-3) -> ng.Tensor:
    """x with every element moved at least ``gap`` away from the kinks at ``points`` (finite differences)."""
    data = x.data.copy()
    for p in points:
        near = np.abs(data - p) < gap
        data[near] = p + 2 * gap
    return ng.tensor(data, requires_grad=True)


def second_order_ok(fn, x: ng.Tensor) -> bool:
    def first(t):
        with ng.enable_grad():  # gradcheck's finite differences run under no_grad
            (g,) = ng.grad((fn(t) ** 2).sum(), t, create_graph=True)
        return g

    return gradcheck(first, (x,))


# --- activations -----------------------------------------------------------------------

KINKS = {"hardtanh": (-1.0, 1.0), "relu6": (0.0, 6.0), "hardsigmoid": (-3.0, 3.0), "hardswish": (-3.0, 3.0)}
FORMULAS = {
    "hardtanh": lambda x: np.clip(x, -1, 1),
    "relu6": lambda x: np.clip(x, 0, 6),
    "hardsigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "hardswish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_activation_values_and_gradients(name):
    fn = getattr(F, name)
    x = away_from(ng.tensor(rng.standard_normal((4, 5)) * 4), KINKS.get(name, ()))
    np.testing.assert_allclose(fn(x).data, FORMULAS[name](x.data), atol=1e-12)
    assert fn(x.float()).dtype == np.float32
    assert gradcheck(fn, (x,))
    assert second_order_ok(fn, x)


def test_hardtanh_gradient_is_zero_outside_and_at_the_bounds():
    x = ng.tensor([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0], requires_grad=True)
    F.hardtanh(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0, 1, 1, 0, 0])
    y = ng.tensor([-1.0, 0.0, 3.0, 6.0, 7.0], requires_grad=True)
    F.hardtanh(y, -0.5, 5.0).sum().backward()
    np.testing.assert_array_equal(y.grad.data, [0, 1, 1, 0, 0])
    z = ng.tensor([-3.0, 3.0], requires_grad=True)
    F.hardswish(z).sum().backward()  # torch's choice at the ends: the outer pieces' slopes
    np.testing.assert_array_equal(z.grad.data, [0.0, 1.0])


def test_mish_is_finite_for_large_inputs():
    x = ng.tensor(np.array([-1000.0, -30.0, 30.0, 1000.0]), requires_grad=True)
    y = F.mish(x)
    y.sum().backward()
    np.testing.assert_allclose(
        y.data, [0.0, -30 * np.tanh(np.log1p(np.exp(-30.0))), 30.0, 1000.0], rtol=1e-12
    )
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0, 1.0, 1.0], atol=1e-11)


@pytest.mark.parametrize(
    "shape, channels", [((5,), 1), ((4, 3), 3), ((2, 3, 4), 3), ((2, 2, 3, 3), 2), ((3, 4), 1)]
)
def test_prelu_values_and_gradients(shape, channels):
    x = away_from(t64(*shape), (0.0,))
    w = ng.tensor(rng.uniform(0.05, 0.5, channels), requires_grad=True)
    wb = w.data.reshape((1, channels) + (1,) * (len(shape) - 2)) if channels > 1 else w.data
    np.testing.assert_allclose(F.prelu(x, w).data, np.where(x.data > 0, x.data, wb * x.data), atol=1e-15)
    assert gradcheck(F.prelu, (x, w))
    assert second_order_ok(lambda t: F.prelu(t, w), x)


def test_prelu_layer_learns_its_weight_and_resets():
    layer = nn.PReLU(3, init=0.1, dtype=np.float64)
    assert layer.weight.shape == (3,) and np.all(layer.weight.data == 0.1)
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    x = t64(2, 3, 4, requires_grad=False)
    layer(x).sum().backward()
    expected = np.where(x.data > 0, 0, x.data).sum(axis=(0, 2))
    np.testing.assert_allclose(layer.weight.grad.data, expected, atol=1e-12)
    with ng.no_grad():
        layer.weight.fill_(0.7)
    layer.reset_parameters()
    assert np.all(layer.weight.data == 0.1)
    assert nn.PReLU().weight.dtype == np.float32


def test_activation_errors():
    with pytest.raises(RuntimeError, match=r"prelu.*\(2,\).*\(4, 3\)"):
        F.prelu(t64(4, 3), ng.ones(2))
    with pytest.raises(RuntimeError, match="channel size 1"):
        F.prelu(t64(3), ng.ones(3))
    with pytest.raises(RuntimeError, match=r"PReLU|prelu"):
        nn.PReLU(3)(ng.randn(2, 4))
    with pytest.raises(TypeError, match="prelu: weight"):
        F.prelu(t64(2, 3), 0.25)
    with pytest.raises(ValueError, match="num_parameters"):
        nn.PReLU(0)
    with pytest.raises(ValueError, match=r"min_val \(2\).*max_val \(1\)"):
        F.hardtanh(t64(3), 2, 1)
    with pytest.raises(ValueError, match="Hardtanh: max_val"):
        nn.Hardtanh(1.0, 1.0)
    with pytest.raises(TypeError, match="mish"):
        F.mish(ng.tensor([1, 2]))
    with pytest.raises(TypeError, match="hardswish: expected a Tensor"):
        F.hardswish([1.0])


def test_activation_reprs():
    assert repr(nn.PReLU()) == "PReLU(num_parameters=1)"
    assert repr(nn.PReLU(3, init=0.1)) == "PReLU(num_parameters=3)"
    assert repr(nn.Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)"
    assert repr(nn.Hardtanh(-2.0, 3.0, inplace=True)) == "Hardtanh(min_val=-2.0, max_val=3.0, inplace=True)"
    assert repr(nn.ReLU6()) == "ReLU6()" and repr(nn.ReLU6(True)) == "ReLU6(inplace=True)"
    assert repr(nn.Mish()) == "Mish()" and repr(nn.Mish(inplace=True)) == "Mish(inplace=True)"
    assert repr(nn.Hardsigmoid()) == "Hardsigmoid()" and repr(nn.Hardswish(inplace=True)) == "Hardswish()"


# --- channel-wise dropout ----------------------------------------------------------------


@pytest.mark.parametrize(
    "fn, shape, channel_axes",
    [
        (F.dropout1d, (40, 30, 5), (0, 1)),
        (F.dropout1d, (300, 5), (0,)),
        (F.dropout2d, (30, 40, 3, 2), (0, 1)),
    ],
)
def test_channel_dropout_zeroes_whole_channels(fn, shape, channel_axes):
    ng.manual_seed(3)
    x = ng.tensor(rng.uniform(1, 2, shape), requires_grad=True)
    y = fn(x, p=0.3)
    kept = y.data != 0
    spatial = tuple(range(len(channel_axes), len(shape)))
    per_channel = kept.all(axis=spatial)
    np.testing.assert_array_equal(per_channel, kept.any(axis=spatial))  # all or nothing per channel
    assert per_channel.mean() == pytest.approx(0.7, abs=0.05)
    np.testing.assert_allclose(y.data[kept], x.data[kept] / 0.7, rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, kept / 0.7, rtol=1e-12)


def test_channel_dropout_is_reproducible_and_off_in_eval():
    x = ng.ones(4, 6, 3)
    ng.manual_seed(5)
    a = F.dropout1d(x).data
    ng.manual_seed(5)
    np.testing.assert_array_equal(a, nn.Dropout1d()(x).data)
    x4 = ng.ones(2, 3, 2, 2)
    assert (
        nn.Dropout2d().eval()(x4) is x4 and F.dropout1d(x, training=False) is x and F.dropout2d(x4, 0.0) is x4
    )
    np.testing.assert_array_equal(F.dropout2d(ng.ones(2, 3, 2, 2), p=1.0).data, 0)
    gen = np.random.default_rng(0)
    first = F.dropout2d(ng.ones(8, 8, 2, 2), generator=gen).data
    assert np.array_equal(first, F.dropout2d(ng.ones(8, 8, 2, 2), generator=np.random.default_rng(0)).data)


def test_dropout2d_warns_as_torch_on_3d_input():
    ng.manual_seed(1)
    with pytest.warns(UserWarning, match=r"\(N, C, L\)"):
        y = F.dropout2d(ng.ones(20, 10, 4))
    assert (y.data.all(axis=2) == y.data.any(axis=2)).all()  # channels are dim 1, as torch
    with pytest.warns(UserWarning, match="2D input"):
        F.dropout2d(ng.ones(5, 4))


def test_channel_dropout_errors_and_reprs():
    with pytest.raises(RuntimeError, match=r"dropout1d: expected 2D or 3D input.*\(2, 3, 4, 5\)"):
        F.dropout1d(ng.ones(2, 3, 4, 5))
    with pytest.raises(RuntimeError, match="dropout1d"):
        nn.Dropout1d()(ng.ones(4))
    with pytest.raises(ValueError, match=r"dropout2d: probability.*1\.5"):
        F.dropout2d(ng.ones(2, 3, 4, 5), 1.5)
    with pytest.raises(ValueError, match=r"Dropout1d: probability.*-0\.1"):
        nn.Dropout1d(-0.1)
    with pytest.raises(TypeError, match="dropout1d: expected a Tensor"):
        F.dropout1d(np.ones((2, 3)))
    assert repr(nn.Dropout1d()) == "Dropout1d(p=0.5, inplace=False)"
    assert repr(nn.Dropout2d(0.3, inplace=True)) == "Dropout2d(p=0.3, inplace=True)"
    assert not isinstance(nn.Dropout1d(), nn.Dropout)


# --- instance norm ---------------------------------------------------------------------


def instance_reference(x, eps, weight=None, bias=None):
    axes = tuple(range(2, x.ndim))
    y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(shape) + bias.reshape(shape)
    return y


@pytest.mark.parametrize("shape", [(3, 2, 5), (2, 3, 3, 4), (1, 2, 2)])
def test_instance_norm_values_and_gradients(shape):
    x, w, b = t64(*shape), t64(shape[1]), t64(shape[1])
    np.testing.assert_allclose(
        F.instance_norm(x, weight=w, bias=b, eps=1e-3).data,
        instance_reference(x.data, 1e-3, w.data, b.data),
        atol=1e-12,
    )
    assert gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b, eps=1e-3), (x, w, b))
    assert second_order_ok(lambda t: F.instance_norm(t, eps=1e-3), x)


def test_instance_norm_running_statistics_and_eval():
    x = ng.tensor(rng.standard_normal((4, 3, 6)) * 2 + 1)
    mean, var = ng.tensor(rng.standard_normal(3)), ng.tensor(rng.random(3) + 0.5)
    mean0, var0 = mean.data.copy(), var.data.copy()
    F.instance_norm(x, mean, var, momentum=0.2)
    np.testing.assert_allclose(mean.data, 0.8 * mean0 + 0.2 * x.data.mean(axis=2).mean(axis=0), atol=1e-14)
    np.testing.assert_allclose(
        var.data, 0.8 * var0 + 0.2 * x.data.var(axis=2, ddof=1).mean(axis=0), atol=1e-14
    )
    y = F.instance_norm(x, mean, var, use_input_stats=False, eps=1e-2)
    expected = (x.data - mean.data[:, None]) / np.sqrt(var.data[:, None] + 1e-2)
    np.testing.assert_allclose(y.data, expected, atol=1e-12)


def test_instance_norm_layers_train_eval_unbatched_and_state_dict():
    layer = nn.InstanceNorm1d(3, affine=True, track_running_stats=True, momentum=0.5, dtype=np.float64)
    assert list(layer.state_dict()) == [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    assert list(nn.InstanceNorm2d(3).state_dict()) == [] and nn.InstanceNorm2d(3).weight is None
    x = t64(2, 3, 5, requires_grad=False)
    y = layer(x)
    np.testing.assert_allclose(y.data, instance_reference(x.data, 1e-5, np.ones(3), np.zeros(3)), atol=1e-12)
    np.testing.assert_allclose(layer.running_mean.data, 0.5 * x.data.mean(axis=2).mean(axis=0), atol=1e-14)
    assert layer.num_batches_tracked.item() == 0  # as torch: instance norm keeps no batch count
    layer.eval()
    rm, rv = layer.running_mean.data[:, None], layer.running_var.data[:, None]
    np.testing.assert_allclose(layer(x).data, (x.data - rm) / np.sqrt(rv + 1e-5), atol=1e-12)
    # unbatched (C, L): the same as a batch of one
    single = t64(3, 5, requires_grad=False)
    np.testing.assert_allclose(layer(single).data, layer(single.unsqueeze(0)).data[0], atol=1e-15)
    free = nn.InstanceNorm2d(2)
    z = t64(2, 4, 3)
    np.testing.assert_allclose(free(z).data, instance_reference(z.data[None], 1e-5)[0], atol=1e-12)
    free.eval()  # without running statistics eval still uses the input's own
    np.testing.assert_allclose(free(z).data, instance_reference(z.data[None], 1e-5)[0], atol=1e-12)
    assert gradcheck(nn.InstanceNorm2d(2, affine=True, dtype=np.float64), (t64(2, 2, 2, 3),))
    with ng.no_grad():
        layer.weight.fill_(3.0)
    layer.reset_parameters()
    np.testing.assert_array_equal(layer.running_mean.data, 0)
    np.testing.assert_array_equal(layer.running_var.data, 1)
    np.testing.assert_array_equal(layer.weight.data, 1)


def test_instance_norm_errors_change_nothing():
    layer = nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
    before = layer.running_mean.data.copy()
    with pytest.raises(ValueError, match=r"InstanceNorm2d: expected 3D or 4D input \(got 2D input"):
        layer(ng.randn(2, 3))
    with pytest.raises(ValueError, match=r"dim=1 to match num_features \(3\).*\(2, 4, 3, 3\)"):
        layer(ng.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        layer(ng.randn(2, 3, 1, 1))
    np.testing.assert_array_equal(layer.running_mean.data, before)
    with pytest.warns(UserWarning, match="num_features"):
        nn.InstanceNorm1d(3)(ng.randn(2, 4, 5))
    with pytest.raises(RuntimeError, match=r"instance_norm: expected weight of shape \(3,\)"):
        F.instance_norm(ng.randn(2, 3, 4), weight=ng.ones(4))
    with pytest.raises(RuntimeError, match="use_input_stats=False"):
        F.instance_norm(ng.randn(2, 3, 4), use_input_stats=False)
    with pytest.raises(ValueError, match="num_features"):
        nn.InstanceNorm1d(0)
    assert repr(nn.InstanceNorm1d(3)) == (
        "InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)"
    )


# --- upsampling ------------------------------------------------------------------------


def bilinear_reference(x, out_h, out_w, align_corners):
    """Textbook bilinear resampling, one output pixel at a time."""

    def source(i, n, o):
        if align_corners:
            return i * (n - 1) / (o - 1) if o > 1 else 0.0
        return max((i + 0.5) * n / o - 0.5, 0.0)

    n, c, h, w = x.shape
    y = np.zeros((n, c, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            sy, sx = source(i, h, out_h), source(j, w, out_w)
            y0, x0 = min(int(sy), h - 1), min(int(sx), w - 1)
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            dy, dx = sy - y0, sx - x0
            top = x[:, :, y0, x0] * (1 - dx) + x[:, :, y0, x1] * dx
            bottom = x[:, :, y1, x0] * (1 - dx) + x[:, :, y1, x1] * dx
            y[:, :, i, j] = top * (1 - dy) + bottom * dy
    return y


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("out", [(7, 9), (2, 3), (1, 1), (3, 5)])
def test_bilinear_values_and_gradients(out, align_corners):
    x = t64(2, 2, 3, 5)
    y = F.interpolate(x, size=out, mode="bilinear", align_corners=align_corners)
    np.testing.assert_allclose(y.data, bilinear_reference(x.data, *out, align_corners), atol=1e-12)
    assert gradcheck(lambda t: F.interpolate(t, size=out, mode="bilinear", align_corners=align_corners), (x,))


def test_nearest_values_and_gradients():
    x = t64(1, 2, 3, 4)
    y = F.interpolate(x, scale_factor=2)
    np.testing.assert_array_equal(y.data, x.data.repeat(2, axis=2).repeat(2, axis=3))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, 4.0)  # every input copied to 4 outputs
    z = F.interpolate(x, size=(2, 6))
    np.testing.assert_array_equal(z.data, x.data[:, :, [0, 1]][:, :, :, [0, 0, 1, 2, 2, 3]])
    exact = F.interpolate(x, size=(2, 6), mode="nearest-exact")
    np.testing.assert_array_equal(exact.data, x.data[:, :, [0, 2]][:, :, :, [0, 1, 1, 2, 3, 3]])
    for kwargs in ({"size": (5, 7)}, {"scale_factor": (0.7, 1.6), "mode": "nearest-exact"}):
        assert gradcheck(lambda t, kw=kwargs: F.interpolate(t, **kw), (x,))


def test_linear_trilinear_and_area():
    x = t64(2, 3, 4)
    y = F.interpolate(x, size=6, mode="linear", align_corners=True)
    expected = np.stack([np.interp(np.linspace(0, 3, 6), np.arange(4), row) for row in x.data.reshape(6, 4)])
    np.testing.assert_allclose(y.data, expected.reshape(2, 3, 6), atol=1e-12)
    assert gradcheck(lambda t: F.interpolate(t, scale_factor=1.5, mode="linear"), (x,))
    v = t64(1, 1, 2, 3, 2)
    w = F.interpolate(v, size=(3, 4, 3), mode="trilinear", align_corners=True)
    assert w.shape == (1, 1, 3, 4, 3)
    corners = np.ix_([0, -1], [0, -1], [0, -1])  # align_corners: the corners are copied
    np.testing.assert_allclose(w.data[0, 0][corners], v.data[0, 0][corners], atol=1e-12)
    assert gradcheck(lambda t: F.interpolate(t, scale_factor=2, mode="trilinear"), (v,))
    a = F.interpolate(t64(1, 1, 4, 6), scale_factor=0.5, mode="area")
    assert a.shape == (1, 1, 2, 3)
    assert second_order_ok(lambda t: F.interpolate(t, size=(4, 5), mode="bilinear") ** 2, t64(1, 1, 3, 2))


def test_upsample_layers():
    x = t64(1, 2, 3, 3, requires_grad=False)
    np.testing.assert_array_equal(nn.Upsample(scale_factor=2)(x).data, F.interpolate(x, scale_factor=2).data)
    np.testing.assert_array_equal(
        nn.UpsamplingNearest2d(size=(4, 5))(x).data, F.interpolate(x, size=(4, 5)).data
    )
    np.testing.assert_allclose(
        nn.UpsamplingBilinear2d(scale_factor=2)(x).data,
        F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True).data,
    )
    assert list(nn.Upsample(size=4).state_dict()) == []
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert repr(nn.Upsample(size=(3, 4), mode="bilinear")) == "Upsample(size=(3, 4), mode='bilinear')"
    assert (
        repr(nn.UpsamplingNearest2d(scale_factor=2))
        == "UpsamplingNearest2d(scale_factor=2.0, mode='nearest')"
    )
    assert repr(nn.UpsamplingBilinear2d(size=5)) == "UpsamplingBilinear2d(size=5, mode='bilinear')"


def test_upsampling_errors():
    x = ng.randn(1, 2, 3, 3)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=4, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match=r"Upsample: exactly one of size or scale_factor.*neither"):
        nn.Upsample()
    with pytest.raises(ValueError, match=r"Upsample: exactly one of size or scale_factor.*both"):
        nn.Upsample(size=3, scale_factor=2)
    with pytest.raises(ValueError, match=r"spatial dims \[3, 3\] and size=\(4, 4, 4\)"):
        F.interpolate(x, size=(4, 4, 4))
    with pytest.raises(ValueError, match="scale_factor"):
        F.interpolate(x, scale_factor=(2, 2, 2))
    with pytest.raises(
        NotImplementedError, match=r"3D input of shape \(1, 2, 3\), but bilinear mode needs 4D"
    ):
        F.interpolate(ng.randn(1, 2, 3), size=4, mode="bilinear")
    with pytest.raises(NotImplementedError, match=r"3D, 4D or 5D input.*\(2, 3\)"):
        F.interpolate(ng.randn(2, 3), size=4)
    with pytest.raises(ValueError, match="align_corners can only be set"):
        F.interpolate(x, size=4, align_corners=True)
    with pytest.raises(ValueError, match="align_corners can only be set"):
        nn.Upsample(size=4, align_corners=False)
    with pytest.raises(ValueError, match="mode must be one of"):
        nn.Upsample(size=4, mode="cubic")
    with pytest.raises(ValueError, match="greater than 0"):
        F.interpolate(x, scale_factor=0.2)
    with pytest.raises(ValueError, match="scale_factor must be positive"):
        F.interpolate(x, scale_factor=-1)
    with pytest.raises(TypeError, match="size must be an int"):
        F.interpolate(x, size=2.5)
    with pytest.raises(ValueError, match="recompute_scale_factor"):
        F.interpolate(x, size=4, recompute_scale_factor=True)
