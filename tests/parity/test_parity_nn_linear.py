"""linear and bilinear against torch: functional values and gradients, modules with the same weights."""

import numpy as np
import pytest
import torch

import neograd.nn.functional as F  # noqa: N812
from neograd import nn
from neograd.autograd import tensor

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x_shape", [(6, 3), (3,), (2, 5, 3)])
@pytest.mark.parametrize("out_features", [4, 1])  # 1: the input's gradient is an outer product
def test_linear_parity(parity, x_shape, dtype, out_features):
    x = RNG.standard_normal(x_shape).astype(dtype)
    w = RNG.standard_normal((out_features, 3)).astype(dtype)
    b = RNG.standard_normal(out_features).astype(dtype)
    parity(F.linear, torch.nn.functional.linear, [x, w, b], atol=1e-5 if dtype == np.float32 else None)
    parity(lambda x, w: F.linear(x, w), lambda x, w: torch.nn.functional.linear(x, w), [x, w])


def test_bilinear_parity(parity):
    x1, x2 = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 3, 5))
    w, b = RNG.standard_normal((6, 4, 5)), RNG.standard_normal(6)
    parity(F.bilinear, torch.nn.functional.bilinear, [x1, x2, w, b])


def copy_into_torch(ours, theirs):
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert name == tname
            tp.copy_(torch.from_numpy(p.data.copy()))


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.Linear(3, 4),
        lambda m: m.Linear(3, 4, bias=False),
        lambda m: m.Sequential(m.Linear(3, 8), m.ReLU(), m.Linear(8, 2)),
    ],
)
def test_linear_modules_with_the_same_weights(make):
    ours, theirs = make(nn), make(torch.nn)
    ours.double()
    theirs.double()
    copy_into_torch(ours, theirs)
    assert repr(ours) == repr(theirs)
    x = RNG.standard_normal((5, 3))
    out = ours(tensor(x))
    ref = theirs(torch.from_numpy(x))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
    g = RNG.standard_normal(out.shape)
    out.backward(g)
    ref.backward(torch.from_numpy(g))
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_bilinear_module_with_the_same_weights():
    ours, theirs = nn.Bilinear(3, 2, 4).double(), torch.nn.Bilinear(3, 2, 4).double()
    copy_into_torch(ours, theirs)
    assert repr(ours) == repr(theirs)
    x1, x2 = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 2))
    out = ours(tensor(x1), tensor(x2))
    ref = theirs(torch.from_numpy(x1), torch.from_numpy(x2))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    ref.sum().backward()
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-10)


def test_seed_layout_gives_torchs_result_transposed():
    ours, theirs = nn.Linear(2, 3).double(), torch.nn.Linear(2, 3).double()
    copy_into_torch(ours, theirs)
    x = RNG.standard_normal((2, 6))  # the seed's (features, examples)
    with pytest.warns(UserWarning):
        out = ours(tensor(x))
    np.testing.assert_allclose(out.data, theirs(torch.from_numpy(x.T.copy())).detach().numpy().T, rtol=1e-12)
