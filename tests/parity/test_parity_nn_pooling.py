"""Pooling against torch: max (with indices), average and adaptive average pooling, functional and
layers, values and gradients, float64 (~1e-10) and float32 (~1e-5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF  # noqa: N812

import neograd.nn as nn
import neograd.nn.functional as F  # noqa: N812 -- torch's F

rng = np.random.default_rng(11)

MAX2D = [
    ((2, 3, 8, 8), {"kernel_size": 2}),
    ((2, 3, 7, 7), {"kernel_size": 3, "stride": 1}),
    ((2, 3, 9, 8), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((1, 2, 9, 9), {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 1), "dilation": (2, 1)}),
    ((1, 2, 8, 9), {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    ((1, 2, 7, 7), {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}),
    ((1, 2, 8, 8), {"kernel_size": 4, "stride": 3, "padding": 2, "dilation": 2, "ceil_mode": True}),
    ((3, 6, 6), {"kernel_size": 2, "stride": 1}),  # unbatched
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, options", MAX2D)
def test_max_pool2d_with_indices(parity, shape, options, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    parity(
        lambda x: F.max_pool2d(x, **options, return_indices=True),
        lambda x: TF.max_pool2d(x, **options, return_indices=True),
        [x],
    )


def test_max_pool2d_after_relu_has_ties_like_torch(parity):
    # after a ReLU many windows are all zeros: the gradient must go where torch sends it
    x = np.maximum(rng.standard_normal((2, 3, 6, 6)), 0)
    x[0, 0, :2, :2] = 0.0
    parity(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), [x])
    parity(lambda x: F.max_pool2d(x, 3, 1, 1), lambda x: TF.max_pool2d(x, 3, 1, 1), [x])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "shape, args",
    [
        ((2, 3, 10), (2,)),
        ((2, 3, 9), (3, 1)),
        ((2, 3, 11), (3, 2, 1, 2)),
        ((2, 3, 10), (4, 3, 2, 1, True)),
        ((3, 7), (2,)),
    ],
)
def test_max_pool1d_with_indices(parity, shape, args, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    parity(
        lambda x: F.max_pool1d(x, *args, return_indices=True),
        lambda x: TF.max_pool1d(x, *args, return_indices=True),
        [x],
    )


AVG2D = [
    ((2, 3, 8, 8), {"kernel_size": 2}),
    ((2, 3, 7, 7), {"kernel_size": 3, "stride": 1}),
    ((2, 3, 9, 8), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((2, 3, 9, 8), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
    ((1, 2, 8, 9), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    (
        (1, 2, 8, 9),
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    ),
    ((1, 2, 7, 8), {"kernel_size": (3, 2), "stride": (2, 3), "ceil_mode": True}),
    ((1, 2, 6, 6), {"kernel_size": 2, "divisor_override": 3}),
    ((3, 6, 6), {"kernel_size": 3, "stride": 2, "padding": 1}),  # unbatched
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, options", AVG2D)
def test_avg_pool2d(parity, shape, options, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    parity(lambda x: F.avg_pool2d(x, **options), lambda x: TF.avg_pool2d(x, **options), [x])


@pytest.mark.parametrize("args", [(2,), (3, 1), (3, 2, 1), (3, 2, 1, True, False), (4, 3, 2, True)])
def test_avg_pool1d(parity, args):
    x = rng.standard_normal((2, 3, 10))
    parity(lambda x: F.avg_pool1d(x, *args), lambda x: TF.avg_pool1d(x, *args), [x])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("output_size", [1, 3, (2, 5), (None, 3), (7, 6), (10, 13), (4, None)])
def test_adaptive_avg_pool2d(parity, output_size, dtype):
    x = rng.standard_normal((2, 3, 7, 6)).astype(dtype)
    parity(
        lambda x: F.adaptive_avg_pool2d(x, output_size),
        lambda x: TF.adaptive_avg_pool2d(x, output_size),
        [x],
    )


@pytest.mark.parametrize("output_size", [1, 3, 4, 9])
def test_adaptive_avg_pool1d(parity, output_size):
    x = rng.standard_normal((2, 3, 7))
    parity(
        lambda x: F.adaptive_avg_pool1d(x, output_size),
        lambda x: TF.adaptive_avg_pool1d(x, output_size),
        [x],
    )


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda lib: lib.MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 7)),
        (lambda lib: lib.MaxPool2d(2, return_indices=True, ceil_mode=True), (2, 3, 7, 7)),
        (lambda lib: lib.MaxPool1d(3, stride=1, dilation=2), (2, 3, 9)),
        (lambda lib: lib.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 3, 7, 7)),
        (lambda lib: lib.AvgPool2d(2, divisor_override=5), (2, 3, 6, 6)),
        (lambda lib: lib.AvgPool1d(3, stride=2, padding=1), (2, 3, 8)),
        (lambda lib: lib.AdaptiveAvgPool2d((3, None)), (2, 3, 7, 5)),
        (lambda lib: lib.AdaptiveAvgPool1d(4), (2, 3, 7)),
    ],
)
def test_pooling_layers(parity, make, shape):
    ng_layer, th_layer = make(nn), make(torch.nn)
    assert repr(ng_layer) == repr(th_layer)
    parity(ng_layer, th_layer, [rng.standard_normal(shape)])
