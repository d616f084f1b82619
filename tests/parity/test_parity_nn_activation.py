"""Activations against torch: values and gradients, float64 and float32, functional and modules."""

import numpy as np
import pytest
import torch

import neograd.nn.functional as F  # noqa: N812
from neograd import nn

RNG = np.random.default_rng(0)

CASES = {
    "relu": (F.relu, torch.nn.functional.relu),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: torch.nn.functional.leaky_relu(x, 0.2)),
    "elu": (lambda x: F.elu(x, 1.3), lambda x: torch.nn.functional.elu(x, 1.3)),
    "gelu": (F.gelu, torch.nn.functional.gelu),
    "gelu_tanh": (
        lambda x: F.gelu(x, approximate="tanh"),
        lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
    ),
    "silu": (F.silu, torch.nn.functional.silu),
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
    "softplus": (F.softplus, torch.nn.functional.softplus),
    "softplus_beta": (
        lambda x: F.softplus(x, beta=3.0, threshold=4.0),
        lambda x: torch.nn.functional.softplus(x, beta=3.0, threshold=4.0),
    ),
    "softmax": (lambda x: F.softmax(x, dim=1), lambda x: torch.softmax(x, dim=1)),
    "log_softmax": (lambda x: F.log_softmax(x, dim=-1), lambda x: torch.log_softmax(x, dim=-1)),
}
# the exact GELU computes the normal CDF from erfc to ~1e-7 relative, not to float64 precision
RTOL64 = {"gelu": 2e-7}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", CASES)
def test_activation_parity(parity, name, dtype):
    x = (RNG.standard_normal((4, 5)) * 3).astype(dtype)
    x[0, :3] = [0.0, 30.0, -30.0]
    ng_fn, torch_fn = CASES[name]
    if dtype == np.float64:
        parity(ng_fn, torch_fn, [x], rtol=RTOL64.get(name, 1e-7), atol=1e-10)
    else:
        parity(ng_fn, torch_fn, [x], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "silu", "gelu", "elu", "log_softmax"])
def test_activation_parity_for_huge_inputs(parity, name):
    x = np.array([[-1e4, -100.0, 100.0, 1e4]], dtype=np.float32)
    ng_fn, torch_fn = CASES[name]
    parity(ng_fn, torch_fn, [x], rtol=1e-6, atol=1e-6)


MODULES = [
    (nn.ReLU(), torch.nn.ReLU()),
    (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)),
    (nn.ELU(alpha=0.5), torch.nn.ELU(alpha=0.5)),
    (nn.GELU(approximate="tanh"), torch.nn.GELU(approximate="tanh")),
    (nn.SiLU(), torch.nn.SiLU()),
    (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Tanh(), torch.nn.Tanh()),
    (nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
    (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
    (nn.Softplus(beta=2.0), torch.nn.Softplus(beta=2.0)),
]


@pytest.mark.parametrize("pair", MODULES, ids=lambda p: type(p[0]).__name__)
def test_activation_module_parity_and_repr(parity, pair):
    ours, theirs = pair
    parity(ours, theirs, [RNG.standard_normal((3, 4))])
    assert repr(ours) == repr(theirs)


def test_repr_with_inplace_matches_torch():
    assert repr(nn.ReLU(inplace=True)) == repr(torch.nn.ReLU(inplace=True))
    assert repr(nn.LeakyReLU(0.2, inplace=True)) == repr(torch.nn.LeakyReLU(0.2, inplace=True))
    assert repr(nn.SiLU(inplace=True)) == repr(torch.nn.SiLU(inplace=True))
