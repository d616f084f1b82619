"""nn.utils against torch.nn.utils: clip_grad_norm_, clip_grad_value_, parameters_to_vector."""

import numpy as np
import pytest
import torch

from neograd.autograd import tensor
from neograd.nn import Parameter
from neograd.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)

SHAPES = [(3, 4), (5,), (), (2, 1, 3)]


def both(dtype=np.float32, scale=1.0):
    rng = np.random.default_rng(0)
    grads = [np.asarray(rng.standard_normal(s) * scale, dtype) for s in SHAPES]
    ng_params, th_params = [], []
    for g in grads:
        p = Parameter(np.zeros(g.shape, dtype))
        p.grad = tensor(g.copy())
        ng_params.append(p)
        t = torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype, requires_grad=True)
        t.grad = torch.from_numpy(g.copy())
        th_params.append(t)
    return ng_params, th_params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, 0.0, float("inf"), -float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    ng_params, th_params = both(dtype)
    ng_total = clip_grad_norm_(ng_params, max_norm, norm_type)
    th_total = torch.nn.utils.clip_grad_norm_(th_params, max_norm, norm_type)
    assert ng_total.dtype == th_total.numpy().dtype
    np.testing.assert_allclose(ng_total.item(), th_total.item(), rtol=1e-6)
    for a, b in zip(ng_params, th_params):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_non_finite_matches_torch():
    ng_params, th_params = both()
    ng_params[1].grad.data[0] = np.inf
    th_params[1].grad[0] = float("inf")
    for params, clip in ((ng_params, clip_grad_norm_), (th_params, torch.nn.utils.clip_grad_norm_)):
        with pytest.raises(RuntimeError, match="non-finite"):
            clip(params, 1.0, error_if_nonfinite=True)
    assert np.isinf(clip_grad_norm_(ng_params, 1.0).item())
    torch.nn.utils.clip_grad_norm_(th_params, 1.0)
    for a, b in zip(ng_params, th_params):
        np.testing.assert_array_equal(a.grad.data, b.grad.numpy())


def test_clip_grad_value_matches_torch():
    ng_params, th_params = both(scale=3.0)
    clip_grad_value_(ng_params, 1.25)
    torch.nn.utils.clip_grad_value_(th_params, 1.25)
    for a, b in zip(ng_params, th_params):
        np.testing.assert_array_equal(a.grad.data, b.grad.numpy())


def test_parameters_to_vector_and_back_match_torch():
    ng_params, th_params = both(np.float64)
    rng = np.random.default_rng(1)
    for a, b in zip(ng_params, th_params):
        a.data[...] = rng.standard_normal(a.shape)
        with torch.no_grad():
            b.copy_(torch.from_numpy(a.data))
    ng_vec, th_vec = parameters_to_vector(ng_params), torch.nn.utils.parameters_to_vector(th_params)
    np.testing.assert_array_equal(ng_vec.data, th_vec.detach().numpy())
    weights = rng.standard_normal(ng_vec.shape)
    for a in ng_params:
        a.grad = None
    (ng_vec * tensor(weights)).sum().backward()
    for b in th_params:
        b.grad = None
    (th_vec * torch.from_numpy(weights)).sum().backward()
    for a, b in zip(ng_params, th_params):
        np.testing.assert_array_equal(a.grad.data, b.grad.numpy())
    new = rng.standard_normal(ng_vec.shape)
    vector_to_parameters(tensor(new), ng_params)
    torch.nn.utils.vector_to_parameters(torch.from_numpy(new), th_params)
    for a, b in zip(ng_params, th_params):
        np.testing.assert_array_equal(a.data, b.detach().numpy())
