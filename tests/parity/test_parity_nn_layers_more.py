"""More layers against torch: PReLU / Hardtanh / ReLU6 / Hardsigmoid / Hardswish / Mish,
instance norm (functional, layers, running statistics, state_dict), interpolate / Upsample
(nearest, nearest-exact, linear, bilinear, trilinear, area; sizes and scale factors), and the
rule of channel-wise dropout. Values and gradients, float64 (~1e-10) and float32 (~1e-5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF  # noqa: N812

import neograd.autograd as ng
import neograd.nn as nn
import neograd.nn.functional as F  # noqa: N812 -- torch's F

rng = np.random.default_rng(21)
ATOL = {np.float64: 1e-10, np.float32: 1e-5}
DTYPES = [np.float64, np.float32]


# --- activations -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("hardtanh", {}),
        ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
        ("relu6", {}),
        ("hardsigmoid", {}),
        ("hardswish", {}),
        ("mish", {}),
    ],
)
def test_activations(parity, name, kwargs, dtype):
    # exact kinks included: torch's choices of the gradient there must match too
    x = np.concatenate(
        [rng.standard_normal(40) * 4, [-3.0, -1.0, -0.5, 0.0, 1.0, 2.0, 3.0, 6.0, 25.0, -25.0]]
    )
    parity(
        lambda t: getattr(F, name)(t, **kwargs), lambda t: getattr(TF, name)(t, **kwargs), [x.astype(dtype)]
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, channels", [((6,), 1), ((4, 3), 3), ((2, 3, 5), 3), ((2, 2, 3, 3), 2), ((2, 4, 3), 1)]
)
def test_prelu_input_and_weight_gradients(parity, shape, channels, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[0] = 0.0  # torch: the slope applies at 0
    w = rng.uniform(0.05, 0.5, channels).astype(dtype)
    parity(F.prelu, TF.prelu, [x, w])


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda: nn.PReLU(), lambda: torch.nn.PReLU()),
        (lambda: nn.PReLU(3, init=0.1), lambda: torch.nn.PReLU(3, init=0.1)),
        (lambda: nn.Hardtanh(-2.0, 3.0, inplace=True), lambda: torch.nn.Hardtanh(-2.0, 3.0, inplace=True)),
        (lambda: nn.ReLU6(inplace=True), lambda: torch.nn.ReLU6(inplace=True)),
        (lambda: nn.Hardsigmoid(), lambda: torch.nn.Hardsigmoid()),
        (lambda: nn.Hardswish(True), lambda: torch.nn.Hardswish(True)),
        (lambda: nn.Mish(), lambda: torch.nn.Mish()),
    ],
)
def test_activation_layers_reprs_and_state_dicts(ours, theirs):
    a, b = ours(), theirs()
    assert repr(a) == repr(b)
    assert list(a.state_dict()) == list(b.state_dict())
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(value.data, b.state_dict()[key].numpy())
        assert value.dtype == b.state_dict()[key].numpy().dtype


def test_prelu_layer_training_step_matches_torch():
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    ours, theirs = nn.PReLU(3), torch.nn.PReLU(3)
    (ours(ng.tensor(x)) ** 2).sum().backward()
    (theirs(torch.from_numpy(x)) ** 2).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-5, atol=1e-5)


# --- instance norm ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 2, 5), (2, 3, 3, 4)])
def test_instance_norm_functional_and_running_statistics(parity, shape, dtype):
    c = shape[1]
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    w, b = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    start_mean, start_var = rng.standard_normal(c).astype(dtype), (rng.random(c) + 0.5).astype(dtype)
    ng_stats = [ng.tensor(start_mean), ng.tensor(start_var)]
    th_stats = [torch.tensor(start_mean), torch.tensor(start_var)]
    parity(
        lambda x, w, b: F.instance_norm(x, *ng_stats, w, b, momentum=0.3, eps=1e-4),
        lambda x, w, b: TF.instance_norm(x, *th_stats, w, b, momentum=0.3, eps=1e-4),
        [x, w, b],
    )
    for a, t in zip(ng_stats, th_stats):
        np.testing.assert_allclose(a.data, t.numpy(), atol=ATOL[dtype], rtol=1e-6)
    parity(
        lambda x, w, b: F.instance_norm(x, *ng_stats, w, b, use_input_stats=False),
        lambda x, w, b: TF.instance_norm(x, *th_stats, w, b, use_input_stats=False),
        [x, w, b],
    )
    parity(F.instance_norm, TF.instance_norm, [x])


@pytest.mark.parametrize(
    "cls, shape",
    [
        ("InstanceNorm1d", (4, 3, 6)),
        ("InstanceNorm1d", (3, 6)),
        ("InstanceNorm2d", (2, 3, 4, 3)),
        ("InstanceNorm2d", (3, 4, 3)),
    ],
)
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"affine": True},
        {"affine": True, "track_running_stats": True, "momentum": 0.2},
        {"track_running_stats": True, "momentum": None},
    ],
)
def test_instance_norm_layers_train_then_eval(cls, shape, kwargs):
    ours = getattr(nn, cls)(3, **kwargs, dtype=np.float64)
    theirs = getattr(torch.nn, cls)(3, **kwargs, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    if kwargs.get("affine"):
        with torch.no_grad():  # distinct per-channel parameters, so a mixed-up channel would show
            theirs.weight.copy_(torch.from_numpy(rng.standard_normal(3)))
            theirs.bias.copy_(torch.from_numpy(rng.standard_normal(3)))
    ours.load_state_dict({k: ng.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    for mode in ("train", "train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        x = rng.standard_normal(shape) * 3 + 2
        xa, xb = ng.tensor(x, requires_grad=True), torch.from_numpy(x.copy()).requires_grad_()
        ya, yb = ours(xa), theirs(xb)
        np.testing.assert_allclose(ya.data, yb.detach().numpy(), atol=1e-10)
        g = rng.standard_normal(ya.shape)
        ya.backward(ng.tensor(g))
        yb.backward(torch.from_numpy(g))
        np.testing.assert_allclose(xa.grad.data, xb.grad.numpy(), atol=1e-10)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].data, value.numpy(), atol=1e-12, err_msg=key)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), atol=1e-10, err_msg=name)


# --- interpolate / Upsample -------------------------------------------------------------

INTERPOLATE_CASES = [
    ((2, 3, 5), {"size": 8}),
    ((2, 3, 5), {"size": 3}),
    ((2, 3, 5), {"scale_factor": 2}),
    ((2, 3, 5), {"scale_factor": 1.7, "mode": "linear"}),
    ((2, 3, 5), {"size": 9, "mode": "linear", "align_corners": True}),
    ((2, 3, 5), {"size": 2, "mode": "linear"}),
    ((2, 3, 5), {"size": 7, "mode": "nearest-exact"}),
    ((2, 3, 6), {"size": 4, "mode": "area"}),
    ((1, 2, 3, 4), {"scale_factor": 2}),
    ((1, 2, 3, 4), {"size": (5, 7)}),
    ((1, 2, 5, 7), {"size": (3, 2)}),
    (
        (1, 2, 3, 4),
        {"scale_factor": (1.2, 1.5)},
    ),  # an output size equal to the input's (3): torch's special case
    ((1, 2, 4, 6), {"scale_factor": 1 / 3}),
    ((1, 2, 3, 4), {"scale_factor": 3}),
    ((1, 2, 3, 4), {"scale_factor": 2, "mode": "bilinear"}),
    ((1, 2, 3, 4), {"scale_factor": 2, "mode": "bilinear", "align_corners": True}),
    ((2, 2, 3, 4), {"size": (7, 5), "mode": "bilinear"}),
    ((2, 2, 3, 4), {"size": (7, 5), "mode": "bilinear", "align_corners": True}),
    ((1, 2, 6, 7), {"size": (4, 3), "mode": "bilinear"}),
    ((1, 2, 6, 7), {"size": (1, 1), "mode": "bilinear", "align_corners": True}),
    ((1, 2, 5, 5), {"scale_factor": 1.3, "mode": "bilinear"}),
    ((1, 2, 5, 5), {"scale_factor": 1.3, "mode": "bilinear", "recompute_scale_factor": True}),
    ((1, 2, 5, 5), {"scale_factor": 0.6, "mode": "nearest-exact"}),
    ((1, 2, 6, 4), {"size": (3, 2), "mode": "area"}),
    ((1, 2, 2, 3, 2), {"scale_factor": 2, "mode": "trilinear"}),
    ((1, 2, 2, 3, 2), {"size": (3, 5, 4), "mode": "trilinear", "align_corners": True}),
    ((1, 2, 2, 3, 2), {"size": (3, 5, 4)}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, kwargs", INTERPOLATE_CASES)
def test_interpolate(parity, shape, kwargs, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    parity(lambda t: F.interpolate(t, **kwargs), lambda t: TF.interpolate(t, **kwargs), [x])


@pytest.mark.parametrize(
    "ours, theirs, shape",
    [
        (lambda: nn.Upsample(scale_factor=2), lambda: torch.nn.Upsample(scale_factor=2), (1, 2, 3, 3)),
        (
            lambda: nn.Upsample(size=(5, 4), mode="bilinear"),
            lambda: torch.nn.Upsample(size=(5, 4), mode="bilinear"),
            (2, 2, 3, 3),
        ),
        (
            lambda: nn.Upsample(scale_factor=1.5, mode="linear", align_corners=True),
            lambda: torch.nn.Upsample(scale_factor=1.5, mode="linear", align_corners=True),
            (2, 2, 4),
        ),
        (lambda: nn.UpsamplingNearest2d(size=5), lambda: torch.nn.UpsamplingNearest2d(size=5), (1, 3, 2, 3)),
        (
            lambda: nn.UpsamplingBilinear2d(scale_factor=2),
            lambda: torch.nn.UpsamplingBilinear2d(scale_factor=2),
            (1, 3, 2, 3),
        ),
    ],
)
def test_upsample_layers(parity, ours, theirs, shape):
    a, b = ours(), theirs()
    assert repr(a) == repr(b)
    parity(a, b, [rng.standard_normal(shape)])


def test_interpolate_errors_are_raised_where_torch_raises():
    x = rng.standard_normal((1, 2, 3, 3))
    calls = [
        ({"size": 4, "scale_factor": 2}, ValueError),
        ({}, ValueError),
        ({"size": (4, 4, 4)}, ValueError),
        ({"size": 4, "align_corners": True}, ValueError),
        ({"size": 4, "recompute_scale_factor": True}, ValueError),
    ]
    for kwargs, error in calls:
        with pytest.raises(error):
            TF.interpolate(torch.from_numpy(x), **kwargs)
        with pytest.raises(error):
            F.interpolate(ng.tensor(x), **kwargs)
    with pytest.raises(NotImplementedError):
        TF.interpolate(torch.zeros(1, 2, 3), size=4, mode="bilinear")
    with pytest.raises(NotImplementedError):
        F.interpolate(ng.zeros(1, 2, 3), size=4, mode="bilinear")


# --- channel-wise dropout ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name, shape",
    [("dropout1d", (50, 40, 3)), ("dropout1d", (2000, 3)), ("dropout2d", (50, 40, 2, 3))],
)
def test_channel_dropout_follows_torchs_rule(name, shape):
    """Different generators, so compare the rule: whole channels kept or zeroed, the scale, the gradient."""
    p = 0.4
    torch.manual_seed(0)
    x = rng.uniform(1.0, 2.0, shape)
    xa, xb = ng.tensor(x, requires_grad=True), torch.from_numpy(x.copy()).requires_grad_()
    ya, yb = getattr(F, name)(xa, p), getattr(TF, name)(xb, p)
    ya.sum().backward()
    yb.sum().backward()
    channel_ndim = 1 if len(shape) == 2 else 2
    spatial = tuple(range(channel_ndim, len(shape)))
    for out, grad in ((ya.data, xa.grad.data), (yb.detach().numpy(), xb.grad.numpy())):
        kept = out != 0
        np.testing.assert_array_equal(kept.all(axis=spatial), kept.any(axis=spatial))
        np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-12)
        np.testing.assert_allclose(grad, kept / (1 - p), rtol=1e-12)
    assert (ya.data != 0).mean() == pytest.approx((yb.detach().numpy() != 0).mean(), abs=0.06)


def test_channel_dropout_layers_eval_and_reprs():
    x = rng.standard_normal((2, 3, 4, 4))
    for ours, theirs in (
        (nn.Dropout1d(0.3), torch.nn.Dropout1d(0.3)),
        (nn.Dropout2d(inplace=True), torch.nn.Dropout2d(inplace=True)),
    ):
        assert repr(ours) == repr(theirs)
        xs = x[0] if isinstance(ours, nn.Dropout1d) else x
        np.testing.assert_array_equal(
            ours.eval()(ng.tensor(xs)).data, theirs.eval()(torch.from_numpy(xs)).numpy()
        )
    for p in (0.0, 1.0):
        np.testing.assert_array_equal(
            F.dropout2d(ng.tensor(x), p).data, TF.dropout2d(torch.from_numpy(x), p).numpy()
        )
    with pytest.raises(RuntimeError):
        TF.dropout1d(torch.zeros(2, 3, 4, 5))
    with pytest.raises(RuntimeError):
        F.dropout1d(ng.zeros(2, 3, 4, 5))
