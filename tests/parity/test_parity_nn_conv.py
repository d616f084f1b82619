"""Convolutions against torch: functional ops (values and gradients of input, weight and bias) and
the Conv layers with the same weights, in float64 (~1e-10) and float32 (~1e-5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF  # noqa: N812

import neograd.autograd as ng
import neograd.nn as nn
import neograd.nn.functional as F  # noqa: N812 -- torch's F

rng = np.random.default_rng(10)

# torch notes that padding="same" with even kernels copies the input; neograd does the same
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

# (input shape, weight shape, options)
CONV2D = [
    ((2, 3, 8, 8), (4, 3, 3, 3), {}),
    ((2, 3, 9, 7), (4, 3, 3, 2), {"stride": 2, "padding": 1}),
    ((2, 2, 9, 8), (3, 2, 3, 3), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)}),
    ((2, 4, 6, 6), (6, 2, 3, 3), {"groups": 2, "padding": 1}),
    ((1, 4, 5, 5), (8, 1, 3, 3), {"groups": 4, "padding": "same"}),
    ((2, 2, 5, 6), (3, 2, 2, 4), {"padding": "same"}),
    ((1, 3, 7, 7), (2, 3, 2, 3), {"padding": "same", "dilation": (3, 2)}),
    ((2, 3, 5, 4), (3, 3, 3, 3), {"padding": "valid"}),
    ((3, 5, 6, 6), (2, 5, 1, 1), {"stride": 3}),
    ((5, 6, 6), (2, 5, 3, 3), {"padding": 2}),  # unbatched
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x_shape, w_shape, options", CONV2D)
def test_conv2d(parity, x_shape, w_shape, options, dtype):
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape, w_shape[:1]))
    parity(
        lambda x, w, b: F.conv2d(x, w, b, **options),
        lambda x, w, b: TF.conv2d(x, w, b, **options),
        [x, w, b],
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "x_shape, w_shape, options",
    [
        ((2, 3, 10), (4, 3, 3), {}),
        ((2, 4, 11), (6, 2, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}),
        ((1, 2, 7), (3, 2, 4), {"padding": "same"}),
        ((3, 9), (2, 3, 2), {"stride": 3}),
    ],
)
def test_conv1d(parity, x_shape, w_shape, options, dtype):
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape, w_shape[:1]))
    parity(
        lambda x, w, b: F.conv1d(x, w, b, **options),
        lambda x, w, b: TF.conv1d(x, w, b, **options),
        [x, w, b],
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "x_shape, w_shape, args",
    [
        ((2, 3, 4, 4), (3, 2, 3, 3), (1, 0, 0, 1, 1)),
        ((2, 4, 3, 5), (4, 3, 2, 2), (2, 0, 0, 1, 1)),
        ((2, 4, 4, 3), (4, 1, 3, 3), (2, 1, 1, 2, 1)),
        ((1, 2, 3, 4), (2, 2, 3, 2), ((3, 1), (1, 0), (2, 0), 1, (1, 2))),
        ((1, 2, 3, 3), (2, 3, 2, 2), (1, 0, 1, 1, 2)),
        ((2, 4, 4), (2, 3, 3, 3), (2, 1, 0, 1, 1)),  # unbatched
    ],
)
def test_conv_transpose2d(parity, x_shape, w_shape, args, dtype):
    groups = args[3]
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape, (w_shape[1] * groups,)))
    parity(
        lambda x, w, b: F.conv_transpose2d(x, w, b, *args),
        lambda x, w, b: TF.conv_transpose2d(x, w, b, *args),
        [x, w, b],
    )


def test_conv_transpose1d(parity):
    x, w, b = rng.standard_normal((2, 4, 6)), rng.standard_normal((4, 3, 3)), rng.standard_normal(6)
    parity(
        lambda x, w, b: F.conv_transpose1d(x, w, b, 2, 1, 1, 2, 2),
        lambda x, w, b: TF.conv_transpose1d(x, w, b, 2, 1, 1, 2, 2),
        [x, w, b],
    )


def test_gradient_of_the_weight_alone(parity):
    # only the weight requires grad: the input's gradient is skipped, the weight's still right
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    parity(
        lambda x, w: F.conv2d(x, w, stride=2, padding=1),
        lambda x, w: TF.conv2d(x, w, stride=2, padding=1),
        [x, w],
        requires_grad=[False, True],
    )


def module_parity(ng_module, th_module, x: np.ndarray, atol: float, **call) -> None:
    """Load torch's weights into the neograd module, run both on x, compare outputs and all gradients."""
    ng_module.load_state_dict({k: v.detach().numpy().copy() for k, v in th_module.state_dict().items()})
    xn, xt = ng.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yn, yt = ng_module(xn, **call), th_module(xt, **call)
    np.testing.assert_allclose(yn.data, yt.detach().numpy(), atol=atol, rtol=1e-6)
    assert yn.dtype == yt.detach().numpy().dtype
    g = rng.standard_normal(yn.shape).astype(x.dtype)
    yn.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), atol=atol, rtol=1e-6)
    th_params = dict(th_module.named_parameters())
    assert [n for n, _ in ng_module.named_parameters()] == list(th_params)
    for name, p in ng_module.named_parameters():
        np.testing.assert_allclose(
            p.grad.data, th_params[name].grad.numpy(), atol=atol, rtol=1e-6, err_msg=name
        )


@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-10), (np.float32, 1e-5)])
@pytest.mark.parametrize(
    "make, shape, call",
    [
        (lambda lib: lib.Conv2d(3, 6, 3, padding=1), (2, 3, 7, 7), {}),
        (
            lambda lib: lib.Conv2d(4, 6, (3, 2), stride=2, dilation=(1, 2), groups=2, bias=False),
            (2, 4, 9, 9),
            {},
        ),
        (lambda lib: lib.Conv2d(2, 3, 4, padding="same"), (1, 2, 6, 5), {}),
        (lambda lib: lib.Conv1d(3, 4, 5, stride=2, padding=2), (2, 3, 11), {}),
        (lambda lib: lib.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1), (2, 4, 4, 4), {}),
        (lambda lib: lib.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2), (1, 4, 4, 4), {}),
        (
            lambda lib: lib.ConvTranspose2d(3, 2, 3, stride=2, padding=1),
            (1, 3, 4, 4),
            {"output_size": (8, 8)},
        ),
        (lambda lib: lib.ConvTranspose1d(2, 3, 3, stride=3), (2, 2, 5), {}),
    ],
)
def test_conv_layers_with_the_same_weights(make, shape, call, dtype, atol):
    th_module = make(torch.nn).to(torch.float64 if dtype == np.float64 else torch.float32)
    ng_module = make(nn).to(dtype)
    assert repr(ng_module) == repr(th_module)
    module_parity(ng_module, th_module, rng.standard_normal(shape).astype(dtype), atol, **call)


def test_a_small_cnn_trains_like_torch():
    """Five SGD steps of conv-relu-maxpool-conv-relu-avgpool-flatten-linear in float64: same weights after."""

    def build(lib):
        return lib.Sequential(
            lib.Conv2d(1, 4, 3, padding=1),
            lib.ReLU(),
            lib.MaxPool2d(3, stride=2, padding=1),
            lib.Conv2d(4, 6, 3, padding=1, groups=2),
            lib.ReLU(),
            lib.AvgPool2d(2),
            lib.Flatten(),
            lib.Linear(6 * 2 * 2, 3),
        )

    th_model, ng_model = build(torch.nn).double(), build(nn).double()
    ng_model.load_state_dict({k: v.detach().numpy().copy() for k, v in th_model.state_dict().items()})
    x, target = rng.standard_normal((8, 1, 8, 8)), rng.integers(0, 3, 8)
    for _ in range(5):
        for model, lib, tensor in ((ng_model, ng, ng.tensor), (th_model, torch, torch.tensor)):
            logits = model(tensor(x))
            loss = -logits.log_softmax(1)[np.arange(8), target].mean()
            for p in model.parameters():
                p.grad = None
            loss.backward()
            with lib.no_grad():
                for p in model.parameters():
                    p -= 0.1 * p.grad
    th_state = th_model.state_dict()
    for name, value in ng_model.state_dict().items():
        np.testing.assert_allclose(value.data, th_state[name].numpy(), atol=1e-10, err_msg=name)
