"""Pooling: values against a direct loop implementation and hand-worked cases, gradients by
finite differences (overlapping windows included), errors, and the pooling layers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neograd.autograd as ng
import neograd.nn as nn
import neograd.nn.functional as F  # noqa: N812 -- torch's F
from neograd.autograd import gradcheck

rng = np.random.default_rng(1)


def t64(*shape: int, requires_grad: bool = True) -> ng.Tensor:
    return ng.tensor(rng.standard_normal(shape), requires_grad=requires_grad)


def _out(n, k, s, p, d, ceil):
    span = n + 2 * p - d * (k - 1) - 1
    o = (math.ceil(span / s) if ceil else span // s) + 1
    return o - 1 if ceil and (o - 1) * s >= n + p else o


def naive_pool(x, kernel, stride, padding, dilation, ceil_mode, reduce):
    """The definition, one window at a time: ``reduce`` gets the list of the window's real elements
    and the number of its positions inside the padded input."""
    n, c, *size = x.shape
    out = [_out(m, k, s, p, d, ceil_mode) for m, k, s, p, d in zip(size, kernel, stride, padding, dilation)]
    y = np.zeros((n, c, *out))
    for idx in np.ndindex(n, c, *out):
        values, padded_count = [], 1
        for offset in np.ndindex(*kernel):
            pos = [i * s - p + o * d for i, s, p, o, d in zip(idx[2:], stride, padding, offset, dilation)]
            if all(0 <= q < m for q, m in zip(pos, size)):
                values.append(x[(idx[0], idx[1], *pos)])
        for i, s, p, k, m in zip(idx[2:], stride, padding, kernel, size):
            start = i * s - p
            padded_count *= min(start + k, m + p) - start
        y[idx] = reduce(values, padded_count)
    return y


MAX_CASES = [
    ((2, 3, 6, 6), {"kernel_size": 2}),
    ((1, 2, 5, 5), {"kernel_size": 3, "stride": 1}),  # overlapping windows
    ((1, 2, 7, 6), {"kernel_size": 3, "stride": 2, "padding": 1}),  # overlapping, padded
    ((1, 2, 7, 7), {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 0), "dilation": (2, 1)}),
    ((1, 2, 6, 7), {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    ((1, 1, 5, 5), {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}),
]


def _geometry(options, d):
    k = options["kernel_size"]
    k = (k,) * d if isinstance(k, int) else k
    s = options.get("stride", k)
    s = (s,) * d if isinstance(s, int) else s
    p = options.get("padding", 0)
    p = (p,) * d if isinstance(p, int) else p
    dl = options.get("dilation", 1)
    dl = (dl,) * d if isinstance(dl, int) else dl
    return k, s, p, dl, options.get("ceil_mode", False)


@pytest.mark.parametrize("shape, options", MAX_CASES)
def test_max_pool2d_values_and_gradcheck(shape, options):
    x = t64(*shape)
    expected = naive_pool(x.data, *_geometry(options, 2), lambda v, _: max(v))
    y = F.max_pool2d(x, **options)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.data, expected)
    assert gradcheck(lambda x: F.max_pool2d(x, **options), (x,))


def test_overlapping_max_windows_accumulate_gradient_at_each_argmax():
    # windows [1, 3, 2] [3, 2, 0] [2, 0, 5]: 3 wins twice, 5 once
    x = ng.tensor([[[1.0, 3.0, 2.0, 0.0, 5.0]]], requires_grad=True)
    y = F.max_pool1d(x, 3, stride=1)
    np.testing.assert_array_equal(y.data, [[[3.0, 3.0, 5.0]]])
    y.backward(np.array([[[1.0, 10.0, 100.0]]], np.float32))
    np.testing.assert_array_equal(x.grad.data, [[[0.0, 11.0, 0.0, 0.0, 100.0]]])


def test_overlapping_2d_windows_accumulate():
    x = ng.tensor(np.array([[[[0, 0, 0], [0, 9, 0], [0, 0, 0]]]], np.float64), requires_grad=True)
    y = F.max_pool2d(x, 2, stride=1)  # the centre is the maximum of all four windows
    np.testing.assert_array_equal(y.data, np.full((1, 1, 2, 2), 9.0))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], [[0, 0, 0], [0, 4, 0], [0, 0, 0]])


def test_ties_send_the_gradient_to_the_first_maximum():
    x = ng.tensor([[[[2.0, 2.0], [2.0, 1.0]]]], requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], [[1.0, 0.0], [0.0, 0.0]])


def test_return_indices_are_flat_positions_in_the_input_plane():
    x = ng.tensor([[[[1.0, 5.0, 2.0], [7.0, 0.0, 3.0], [4.0, 8.0, 6.0]]]])
    y, idx = F.max_pool2d(x, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(y.data[0, 0], [[7.0, 5.0], [8.0, 8.0]])
    np.testing.assert_array_equal(idx.data[0, 0], [[3, 1], [7, 7]])
    assert idx.dtype == np.int64 and not idx.requires_grad
    # with padding the positions still count in the unpadded input
    _, idx = F.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
    np.testing.assert_array_equal(idx.data[0, 0], [[3, 1], [7, 7]])
    _, idx = F.max_pool1d(ng.tensor([[3.0, 1.0, 4.0, 1.0, 5.0]]), 2, return_indices=True)  # unbatched
    np.testing.assert_array_equal(idx.data, [[0, 2]])


def test_one_element_windows_copy_the_input():
    x = ng.randn(2, 3, 4, 4)
    for y in (F.max_pool2d(x, 1), F.avg_pool2d(x, 1)):
        np.testing.assert_array_equal(y.data, x.data)
        assert not np.shares_memory(y.data, x.data)


def test_max_pool1d_gradcheck_and_unbatched():
    x = t64(2, 3, 9)
    assert gradcheck(lambda x: F.max_pool1d(x, 3, 2, 1, 2), (x,))
    x2 = t64(3, 5, 6)
    y = F.max_pool2d(x2, 2, 1)
    assert y.shape == (3, 4, 5)
    np.testing.assert_array_equal(y.data, F.max_pool2d(ng.tensor(x2.data[None]), 2, 1).data[0])


AVG_CASES = [
    ((2, 3, 6, 6), {"kernel_size": 2}),
    ((1, 2, 5, 5), {"kernel_size": 3, "stride": 1}),
    ((1, 2, 7, 6), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((1, 2, 7, 6), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
    ((1, 2, 6, 7), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ((1, 2, 6, 7), {"kernel_size": (3, 2), "stride": (2, 3), "ceil_mode": True, "count_include_pad": False}),
]


@pytest.mark.parametrize("shape, options", AVG_CASES)
def test_avg_pool2d_values_and_gradcheck(shape, options):
    x = t64(*shape)
    k, s, p, dl, ceil = _geometry(options, 2)
    include = options.get("count_include_pad", True)
    expected = naive_pool(x.data, k, s, p, dl, ceil, lambda v, n: sum(v) / (n if include else len(v)))
    y = F.avg_pool2d(x, **options)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.data, expected, atol=1e-12)
    assert gradcheck(lambda x: F.avg_pool2d(x, **options), (x,))


def test_avg_pool_by_hand_divisor_override_and_1d():
    x = ng.tensor([[[[1.0, 2.0], [3.0, 6.0]]]], requires_grad=True)
    y = F.avg_pool2d(x, 2, divisor_override=3)
    np.testing.assert_allclose(y.data, [[[[4.0]]]])
    y.backward(np.ones((1, 1, 1, 1), np.float32))
    np.testing.assert_allclose(x.grad.data, np.full((1, 1, 2, 2), 1 / 3))
    # padding 1 each side: windows [0, 1, 2] and [3, 4, 0] (pads count by default)
    y1 = F.avg_pool1d(ng.tensor([[[1.0, 2.0, 3.0, 4.0]]]), 3, 3, 1)
    np.testing.assert_allclose(y1.data, [[[1.0, 7 / 3]]])
    y1 = F.avg_pool1d(ng.tensor([[[1.0, 2.0, 3.0, 4.0]]]), 3, 3, 1, count_include_pad=False)
    np.testing.assert_allclose(y1.data, [[[1.5, 3.5]]])
    assert gradcheck(lambda x: F.avg_pool1d(x, 3, 2, 1, True, False), (t64(2, 2, 8),))


@pytest.mark.parametrize("output_size", [1, 3, (2, 5), (None, 2), (7, 6), (9, 11)])
def test_adaptive_avg_pool2d_values_and_gradcheck(output_size):
    x = t64(2, 3, 7, 6)
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else output_size
    oh, ow = oh or 7, ow or 6
    expected = np.zeros((2, 3, oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, r1 = (i * 7) // oh, math.ceil((i + 1) * 7 / oh)
            c0, c1 = (j * 6) // ow, math.ceil((j + 1) * 6 / ow)
            expected[:, :, i, j] = x.data[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, output_size).data, expected, atol=1e-12)
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, output_size), (t64(1, 2, 5, 4),))


def test_adaptive_avg_pool1d_by_hand_and_double_backward():
    # length 5 into 3: windows [0:2], [1:4], [3:5]
    x = ng.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]], dtype=ng.float64, requires_grad=True)
    y = F.adaptive_avg_pool1d(x, 3)
    np.testing.assert_allclose(y.data, [[[1.5, 3.0, 4.5]]])
    y.backward(np.ones((1, 1, 3)))
    np.testing.assert_allclose(x.grad.data, [[[0.5, 0.5 + 1 / 3, 1 / 3, 1 / 3 + 0.5, 0.5]]])

    # linear, so its backward supports create_graph: d/dx <grad, grad> through a square
    def gradient(x):
        with ng.enable_grad():  # gradcheck's finite differences run under no_grad
            return ng.grad((F.adaptive_avg_pool1d(x * x, 4) ** 2).sum(), x, create_graph=True)[0]

    assert gradcheck(gradient, (t64(1, 2, 6),))


def test_pooling_keeps_float32():
    x = ng.tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    for y in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 1, 1), F.adaptive_avg_pool2d(x, 4)):
        y.sum().backward()
        assert y.dtype == np.float32 and x.grad.dtype == np.float32


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: F.max_pool2d(t64(1, 1, 5, 5), 2, padding=2), ValueError, "at most half of the kernel"),
        (lambda: F.avg_pool2d(t64(1, 1, 5, 5), 3, padding=2), ValueError, "at most half of the kernel"),
        (lambda: F.max_pool2d(t64(1, 1, 2, 2), 3), RuntimeError, "too small"),
        (lambda: F.max_pool2d(t64(1, 1, 5, 5), 2, dilation=5), RuntimeError, "too small"),
        (lambda: F.max_pool2d(t64(5, 5), 2), RuntimeError, "3-D .unbatched. or 4-D"),
        (lambda: F.max_pool1d(t64(1, 1, 5, 5), 2), RuntimeError, "2-D .unbatched. or 3-D"),
        (lambda: F.max_pool2d(t64(1, 1, 5, 5), 0), ValueError, "kernel_size must be >= 1"),
        (lambda: F.max_pool2d(t64(1, 1, 5, 5), 2, stride=0), ValueError, "stride must be >= 1"),
        (lambda: F.max_pool2d(ng.tensor(np.ones((1, 1, 4, 4), np.int64)), 2), TypeError, "floating"),
        (lambda: F.avg_pool2d(t64(1, 1, 4, 4), 2, divisor_override=0), ValueError, "divisor_override"),
        (lambda: F.adaptive_avg_pool2d(t64(1, 1, 4, 4), 0), ValueError, "output_size"),
        (lambda: F.adaptive_avg_pool2d(t64(1, 1, 4, 4), (2, 2, 2)), ValueError, "output_size"),
        (lambda: F.adaptive_avg_pool2d(t64(4, 4), 2), RuntimeError, "3-D .unbatched. or 4-D"),
    ],
)
def test_bad_pooling_arguments_are_refused(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_pooling_double_backward_is_refused():
    x = t64(1, 1, 4, 4)
    with pytest.raises(RuntimeError, match="double backward"):
        ng.grad(F.max_pool2d(x, 2).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward"):
        ng.grad(F.avg_pool2d(x, 2).sum(), x, create_graph=True)


def test_pooling_layers():
    pool = nn.MaxPool2d(2)
    assert repr(pool) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert pool(ng.randn(2, 3, 8, 8)).shape == (2, 3, 4, 4)
    y, idx = nn.MaxPool2d(3, 1, 1, return_indices=True)(ng.randn(1, 2, 5, 5))
    assert y.shape == idx.shape == (1, 2, 5, 5)
    assert (
        repr(nn.MaxPool1d(3, 1))
        == "MaxPool1d(kernel_size=3, stride=1, padding=0, dilation=1, ceil_mode=False)"
    )
    assert nn.MaxPool1d(3, 1)(ng.randn(2, 4, 10)).shape == (2, 4, 8)
    avg = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
    assert repr(avg) == "AvgPool2d(kernel_size=3, stride=2, padding=1)"
    x = t64(1, 2, 7, 7)
    np.testing.assert_allclose(avg(x).data, F.avg_pool2d(x, 3, 2, 1, count_include_pad=False).data)
    assert nn.AvgPool1d(2)(ng.randn(1, 3, 6)).shape == (1, 3, 3)
    ada = nn.AdaptiveAvgPool2d((1, 1))
    assert repr(ada) == "AdaptiveAvgPool2d(output_size=(1, 1))"
    x = t64(2, 3, 5, 4)
    np.testing.assert_allclose(ada(x).data, x.data.mean(axis=(2, 3), keepdims=True))
    assert nn.AdaptiveAvgPool1d(2)(ng.randn(1, 3, 7)).shape == (1, 3, 2)
    assert list(pool.parameters()) == [] and list(ada.parameters()) == []
