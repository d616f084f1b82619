"""Convolutions: values against a direct loop implementation, gradients by finite differences,
errors, and the Conv layers (shapes, initialisation, repr)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neograd.autograd as ng
import neograd.nn as nn
import neograd.nn.functional as F  # noqa: N812 -- torch's F
from neograd.autograd import gradcheck

rng = np.random.default_rng(0)


def t64(*shape: int, requires_grad: bool = True) -> ng.Tensor:
    return ng.tensor(rng.standard_normal(shape), requires_grad=requires_grad)


def same_pads(kernel: tuple[int, ...], dilation: tuple[int, ...]) -> list[tuple[int, int]]:
    # torch's rule: total dilation * (k - 1), the odd one after
    return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]


def naive_conv(x, w, b, stride, pads, dilation, groups):
    """The definition, one output element at a time (any number of spatial dims)."""
    x = np.pad(x, [(0, 0), (0, 0), *pads])
    n, _, *size = x.shape
    o, cg, *kernel = w.shape
    out = [(s - d * (k - 1) - 1) // st + 1 for s, k, st, d in zip(size, kernel, stride, dilation)]
    y = np.zeros((n, o, *out))
    for idx in np.ndindex(n, o, *out):
        g = idx[1] // (o // groups)
        window = tuple(
            slice(i * st, i * st + d * (k - 1) + 1, d)
            for i, st, d, k in zip(idx[2:], stride, dilation, kernel)
        )
        patch = x[(idx[0], slice(g * cg, (g + 1) * cg), *window)]
        y[idx] = (patch * w[idx[1]]).sum() + (0 if b is None else b[idx[1]])
    return y


def naive_conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation):
    """Scatter every input element times the kernel into the output, then crop the padding."""
    n, cin, *size = x.shape
    _, cog, *kernel = w.shape
    full = [
        (s - 1) * st + d * (k - 1) + 1 + op
        for s, st, d, k, op in zip(size, stride, dilation, kernel, output_padding)
    ]
    y = np.zeros((n, cog * groups, *full))
    for idx in np.ndindex(n, cin, *size):
        g = idx[1] // (cin // groups)
        for offset in np.ndindex(*kernel):
            pos = tuple(i * st + o * d for i, st, o, d in zip(idx[2:], stride, offset, dilation))
            y[(idx[0], slice(g * cog, (g + 1) * cog), *pos)] += x[idx] * w[(idx[1], slice(None), *offset)]
    crop = tuple(slice(p, f - p) for p, f in zip(padding, full))
    y = y[(slice(None), slice(None), *crop)]
    return y if b is None else y + b.reshape((-1,) + (1,) * len(size))


# (input shape, weight shape, options)
CONV2D = [
    ((2, 3, 5, 5), (4, 3, 3, 3), {}),
    ((2, 3, 6, 5), (4, 3, 3, 2), {"stride": 2, "padding": 1}),
    ((1, 2, 7, 6), (3, 2, 3, 3), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)}),
    ((2, 4, 5, 5), (6, 2, 3, 3), {"groups": 2, "padding": 1}),
    ((1, 4, 4, 4), (4, 1, 3, 3), {"groups": 4, "padding": "same"}),  # depthwise
    ((1, 2, 5, 6), (3, 2, 2, 4), {"padding": "same"}),  # even kernels: the extra padding goes after
    ((1, 2, 6, 6), (2, 2, 2, 3), {"padding": "same", "dilation": (3, 2)}),
    ((1, 2, 5, 4), (3, 2, 3, 3), {"padding": "valid"}),
    ((2, 3, 5, 5), (2, 3, 1, 1), {"stride": 3}),
]


def _pads(x_shape, w_shape, options):
    d = len(w_shape) - 2
    dilation = options.get("dilation", 1)
    dilation = (dilation,) * d if isinstance(dilation, int) else dilation
    padding = options.get("padding", 0)
    if padding == "same":
        return same_pads(w_shape[2:], dilation)
    if padding == "valid":
        return [(0, 0)] * d
    padding = (padding,) * d if isinstance(padding, int) else padding
    return [(p, p) for p in padding]


def _tuple(v, d):
    return (v,) * d if isinstance(v, int) else v


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape, w_shape, options", CONV2D)
def test_conv2d_matches_the_definition(x_shape, w_shape, options, bias):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0]) if bias else None
    y = F.conv2d(ng.tensor(x), ng.tensor(w), None if b is None else ng.tensor(b), **options)
    expected = naive_conv(
        x,
        w,
        b,
        _tuple(options.get("stride", 1), 2),
        _pads(x_shape, w_shape, options),
        _tuple(options.get("dilation", 1), 2),
        options.get("groups", 1),
    )
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.data, expected, atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, options", CONV2D)
def test_conv2d_gradcheck(x_shape, w_shape, options):
    x, w, b = t64(*x_shape), t64(*w_shape), t64(w_shape[0])
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, **options), (x, w, b))


CONV1D = [
    ((2, 3, 7), (4, 3, 3), {}),
    ((2, 4, 9), (2, 2, 3), {"stride": 2, "padding": 2, "dilation": 2, "groups": 2}),
    ((1, 2, 6), (3, 2, 4), {"padding": "same"}),
]


@pytest.mark.parametrize("x_shape, w_shape, options", CONV1D)
def test_conv1d_values_and_gradcheck(x_shape, w_shape, options):
    x, w, b = t64(*x_shape), t64(*w_shape), t64(w_shape[0])
    expected = naive_conv(
        x.data,
        w.data,
        b.data,
        _tuple(options.get("stride", 1), 1),
        _pads(x_shape, w_shape, options),
        _tuple(options.get("dilation", 1), 1),
        options.get("groups", 1),
    )
    np.testing.assert_allclose(F.conv1d(x, w, b, **options).data, expected, atol=1e-12)
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, **options), (x, w, b))


# (input shape, weight shape, stride, padding, output_padding, groups, dilation)
CONV_T2D = [
    ((2, 3, 3, 3), (3, 2, 3, 3), 1, 0, 0, 1, 1),
    ((1, 2, 3, 2), (2, 3, 2, 2), 2, 0, 0, 1, 1),
    ((2, 4, 3, 3), (4, 1, 3, 3), 2, 1, 1, 2, 1),
    ((1, 2, 2, 3), (2, 2, 3, 2), (3, 1), (1, 0), (2, 0), 1, (1, 2)),
    ((1, 2, 3, 3), (2, 2, 2, 2), 1, 0, 1, 1, 2),  # output_padding < dilation, with stride 1
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, output_padding, groups, dilation", CONV_T2D)
def test_conv_transpose2d_values_and_gradcheck(
    x_shape, w_shape, stride, padding, output_padding, groups, dilation
):
    x, w, b = t64(*x_shape), t64(*w_shape), t64(w_shape[1] * groups)
    args = (stride, padding, output_padding, groups, dilation)
    y = F.conv_transpose2d(x, w, b, *args)
    expected = naive_conv_transpose(
        x.data,
        w.data,
        b.data,
        _tuple(stride, 2),
        _tuple(padding, 2),
        _tuple(output_padding, 2),
        groups,
        _tuple(dilation, 2),
    )
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.data, expected, atol=1e-12)
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, *args), (x, w, b))


def test_conv_transpose1d_values_and_gradcheck():
    x, w = t64(2, 4, 5), t64(4, 3, 3)
    y = F.conv_transpose1d(x, w, None, 2, 1, 1, 2, 1)
    expected = naive_conv_transpose(x.data, w.data, None, (2,), (1,), (1,), 2, (1,))
    np.testing.assert_allclose(y.data, expected, atol=1e-12)
    assert gradcheck(lambda x, w: F.conv_transpose1d(x, w, None, 2, 1, 1, 2, 1), (x, w))


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    # <conv(x), y> == <x, conv_transpose(y)> for the same weight, stride and padding
    x, w = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3))
    y = F.conv2d(ng.tensor(x), ng.tensor(w), stride=2, padding=1)
    g = rng.standard_normal(y.shape)
    back = F.conv_transpose2d(ng.tensor(g), ng.tensor(w), stride=2, padding=1, output_padding=0)
    assert back.shape == x.shape
    np.testing.assert_allclose((y.data * g).sum(), (x * back.data).sum(), rtol=1e-12)


def test_conv2d_unbatched_input_and_weight_only_gradients():
    x, w = t64(3, 5, 5, requires_grad=False), t64(2, 3, 3, 3)
    y = F.conv2d(x, w, padding=1)
    assert y.shape == (2, 5, 5)
    np.testing.assert_allclose(
        y.data, naive_conv(x.data[None], w.data, None, (1, 1), [(1, 1)] * 2, (1, 1), 1)[0]
    )
    assert gradcheck(lambda w: F.conv2d(x, w, padding=1), (w,))


def test_chained_convolutions_read_channels_last_outputs_correctly():
    # a conv's result is a view of channels-last memory; the next conv and pooling must read it right
    x, w1, w2 = (
        rng.standard_normal((2, 3, 6, 6)),
        rng.standard_normal((5, 3, 3, 3)),
        rng.standard_normal((4, 5, 3, 3)),
    )
    h = F.conv2d(ng.tensor(x), ng.tensor(w1), padding=1)
    y = F.conv2d(h.relu(), ng.tensor(w2), stride=2)
    h_expected = naive_conv(x, w1, None, (1, 1), [(1, 1)] * 2, (1, 1), 1)
    expected = naive_conv(np.maximum(h_expected, 0), w2, None, (2, 2), [(0, 0)] * 2, (1, 1), 1)
    np.testing.assert_allclose(y.data, expected, atol=1e-12)
    x_, w1_, w2_ = t64(1, 2, 5, 5), t64(3, 2, 3, 3), t64(2, 3, 2, 2)
    assert gradcheck(
        lambda x, a, b: F.max_pool2d(F.conv2d(F.conv2d(x, a, padding=1).relu(), b), 2, 1), (x_, w1_, w2_)
    )


def test_float32_stays_float32():
    x = ng.tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32), requires_grad=True)
    w = ng.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    b = ng.tensor(np.zeros(4, np.float32), requires_grad=True)
    y = F.conv2d(x, w, b, padding=1)
    y.sum().backward()
    assert y.dtype == np.float32
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_double_backward_is_refused_with_a_clear_error():
    x, w = t64(1, 2, 4, 4), t64(2, 2, 3, 3)
    with pytest.raises(RuntimeError, match="double backward"):
        ng.grad(F.conv2d(x, w).sum(), x, create_graph=True)
    (gx,) = ng.grad(F.conv2d(x, w).sum(), x)  # first derivatives are fine
    assert gx.shape == x.shape


# ---- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: F.conv2d(t64(1, 4, 5, 5), t64(2, 3, 3, 3)), RuntimeError, "to have 3 channels, but got 4"),
        (lambda: F.conv2d(t64(1, 4, 5, 5), t64(3, 2, 3, 3), groups=2), RuntimeError, "divisible by groups"),
        (lambda: F.conv2d(t64(1, 3, 5, 5), t64(2, 1, 3, 3), groups=2), RuntimeError, "channels"),
        (lambda: F.conv2d(t64(1, 3, 2, 2), t64(2, 3, 3, 3)), RuntimeError, "too small"),
        (lambda: F.conv2d(t64(1, 3, 5, 5), t64(2, 3, 3, 3), dilation=3), RuntimeError, "too small"),
        (lambda: F.conv2d(t64(3, 5), t64(2, 3, 3, 3)), RuntimeError, "3-D .unbatched. or 4-D"),
        (lambda: F.conv2d(t64(1, 1, 3, 5, 5), t64(2, 3, 3, 3)), RuntimeError, "got shape"),
        (lambda: F.conv2d(t64(1, 3, 5, 5), t64(2, 3, 3)), RuntimeError, "4-D weight"),
        (lambda: F.conv2d(t64(1, 3, 5, 5), t64(2, 3, 3, 3), t64(3)), RuntimeError, "bias of shape"),
        (lambda: F.conv2d(t64(1, 3, 5, 5), t64(2, 3, 3, 3), stride=2, padding="same"), ValueError, "strided"),
        (lambda: F.conv2d(t64(1, 3, 5, 5), t64(2, 3, 3, 3), padding="full"), ValueError, "padding"),
        (lambda: F.conv2d(t64(1, 3, 5, 5), t64(2, 3, 3, 3), stride=0), ValueError, "stride must be >= 1"),
        (lambda: F.conv2d(t64(1, 3, 5, 5), t64(2, 3, 3, 3), padding=-1), ValueError, "padding must be >= 0"),
        (lambda: F.conv2d(t64(1, 3, 5, 5), t64(2, 3, 3, 3), stride=(1, 2, 3)), TypeError, "tuple of 2 ints"),
        (lambda: F.conv2d(t64(1, 3, 5, 5), t64(2, 3, 3, 3), groups=0), ValueError, "groups"),
        (
            lambda: F.conv2d(t64(1, 3, 5, 5), ng.tensor(np.ones((2, 3, 3, 3), np.float32))),
            TypeError,
            "same floating dtype",
        ),
        (
            lambda: F.conv2d(ng.tensor(np.ones((1, 3, 5, 5), np.int64)), t64(2, 3, 3, 3)),
            TypeError,
            "floating",
        ),
        (lambda: F.conv1d(t64(1, 3, 5, 5), t64(2, 3, 3)), RuntimeError, "2-D .unbatched. or 3-D"),
        (
            lambda: F.conv_transpose2d(t64(1, 3, 4, 4), t64(3, 2, 3, 3), stride=2, output_padding=2),
            ValueError,
            "output_padding",
        ),
        (lambda: F.conv_transpose2d(t64(1, 2, 4, 4), t64(3, 2, 3, 3)), RuntimeError, "3 channels"),
        (
            lambda: F.conv_transpose2d(t64(1, 3, 1, 1), t64(3, 2, 1, 1), padding=1),
            RuntimeError,
            "output size",
        ),
    ],
)
def test_bad_arguments_are_refused(make, error, match):
    with pytest.raises(error, match=match):
        make()


# ---- layers ---------------------------------------------------------------------------------
def test_conv2d_layer_shapes_initialisation_and_repr():
    ng.manual_seed(0)
    conv = nn.Conv2d(8, 64, 3, stride=2, padding=1, groups=2)
    assert conv.weight.shape == (64, 4, 3, 3) and conv.bias.shape == (64,)
    # He-normal, as Linear: std sqrt(2 / fan_in), fan_in = in_channels / groups * kH * kW; zero bias
    np.testing.assert_allclose(conv.weight.data.std(), math.sqrt(2 / (4 * 3 * 3)), rtol=0.1)
    assert abs(conv.weight.data.mean()) < 0.05
    np.testing.assert_array_equal(conv.bias.data, 0)
    assert conv.weight.dtype == np.float32
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]
    assert repr(conv) == "Conv2d(8, 64, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=2)"
    assert conv(ng.randn(2, 8, 9, 9)).shape == (2, 64, 5, 5)
    with pytest.raises(ValueError, match="CPU only"):
        nn.Conv2d(1, 1, 1, device="cuda")


def test_conv_layers_without_bias_and_with_string_padding():
    conv = nn.Conv2d(3, 5, (2, 4), padding="same", bias=False, dtype=ng.float64)
    assert conv.bias is None and [n for n, _ in conv.named_parameters()] == ["weight"]
    assert conv.weight.dtype == np.float64
    assert repr(conv) == "Conv2d(3, 5, kernel_size=(2, 4), stride=(1, 1), padding=same, bias=False)"
    x = t64(2, 3, 6, 7)
    np.testing.assert_allclose(
        conv(x).data, naive_conv(x.data, conv.weight.data, None, (1, 1), same_pads((2, 4), (1, 1)), (1, 1), 1)
    )
    assert (
        repr(nn.Conv1d(2, 4, 3, dilation=2)) == "Conv1d(2, 4, kernel_size=(3,), stride=(1,), dilation=(2,))"
    )
    assert nn.Conv1d(2, 4, 3, padding="valid")(ng.randn(1, 2, 10)).shape == (1, 4, 8)


def test_conv_transpose2d_layer():
    ng.manual_seed(1)
    up = nn.ConvTranspose2d(4, 64, 3, stride=2, padding=1, groups=2)
    assert up.weight.shape == (4, 32, 3, 3) and up.bias.shape == (64,)
    # torch's fan_in for transposed weights: weight.shape[1] * kernel
    np.testing.assert_allclose(up.weight.data.std(), math.sqrt(2 / (32 * 3 * 3)), rtol=0.1)
    up = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)
    x = ng.randn(1, 4, 5, 5)
    assert up(x).shape == (1, 6, 9, 9)
    assert up(x, output_size=(10, 10)).shape == (1, 6, 10, 10)
    assert up(x, output_size=(1, 6, 9, 10)).shape == (1, 6, 9, 10)
    with pytest.raises(ValueError, match="valid sizes"):
        up(x, output_size=(11, 11))
    assert repr(up) == "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=2)"
    assert repr(nn.ConvTranspose1d(2, 2, 2, output_padding=1, stride=2)) == (
        "ConvTranspose1d(2, 2, kernel_size=(2,), stride=(2,), output_padding=(1,))"
    )


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: nn.Conv2d(3, 4, 3, groups=2), "in_channels .3. must be divisible by groups"),
        (lambda: nn.Conv2d(4, 3, 3, groups=2), "out_channels .3. must be divisible by groups"),
        (lambda: nn.Conv2d(0, 3, 3), "in_channels must be a positive int"),
        (lambda: nn.Conv2d(3, 3, 3, stride=2, padding="same"), "strided"),
        (lambda: nn.Conv2d(3, 3, 3, padding_mode="reflect"), "padding_mode"),
        (lambda: nn.ConvTranspose2d(3, 3, 3, padding="same"), "invalid padding"),
    ],
)
def test_conv_layer_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_conv_layer_trains_like_any_module():
    conv = nn.Conv2d(2, 3, 3, padding=1)
    x = ng.randn(4, 2, 5, 5)
    conv(x).sum().backward()
    assert conv.weight.grad.shape == conv.weight.shape and conv.bias.grad.shape == (3,)
    # d sum(y) / d bias = number of output positions per channel
    np.testing.assert_allclose(conv.bias.grad.data, np.full(3, 4 * 5 * 5))
