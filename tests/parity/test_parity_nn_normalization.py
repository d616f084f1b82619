"""Normalisation against torch: batch_norm (training, eval, running statistics), layer_norm and
group_norm, functional and layers; float64 (~1e-10) and float32 (~1e-5); the running statistics
of the layers after several training steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF  # noqa: N812

import neograd.autograd as ng
import neograd.nn as nn
import neograd.nn.functional as F  # noqa: N812 -- torch's F

rng = np.random.default_rng(12)
ATOL = {np.float64: 1e-10, np.float32: 1e-5}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (3, 3, 4, 2)])
def test_batch_norm_training_and_running_statistics(parity, shape, dtype):
    c = shape[1]
    x, w, b = rng.standard_normal(shape).astype(dtype) * 2 + 1, rng.standard_normal(c), rng.standard_normal(c)
    w, b = w.astype(dtype), b.astype(dtype)
    start_mean, start_var = rng.standard_normal(c).astype(dtype), (rng.random(c) + 0.5).astype(dtype)
    ng_stats = [ng.tensor(start_mean), ng.tensor(start_var)]
    th_stats = [torch.tensor(start_mean), torch.tensor(start_var)]
    parity(
        lambda x, w, b: F.batch_norm(x, *ng_stats, w, b, training=True, momentum=0.3, eps=1e-4),
        lambda x, w, b: TF.batch_norm(x, *th_stats, w, b, training=True, momentum=0.3, eps=1e-4),
        [x, w, b],
    )
    for a, t in zip(ng_stats, th_stats):
        np.testing.assert_allclose(a.data, t.numpy(), atol=ATOL[dtype], rtol=1e-6)
        assert a.dtype == t.numpy().dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batch_norm_eval_and_without_affine(parity, dtype):
    x = rng.standard_normal((4, 3, 2, 3)).astype(dtype)
    w, b = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
    mean, var = rng.standard_normal(3).astype(dtype), (rng.random(3) + 0.5).astype(dtype)
    parity(
        lambda x, w, b: F.batch_norm(x, ng.tensor(mean), ng.tensor(var), w, b, training=False),
        lambda x, w, b: TF.batch_norm(x, torch.tensor(mean), torch.tensor(var), w, b, training=False),
        [x, w, b],
    )
    parity(
        lambda x: F.batch_norm(x, None, None, training=True),
        lambda x: TF.batch_norm(x, None, None, training=True),
        [x],
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, normalized", [((4, 6), (6,)), ((2, 3, 4), (3, 4)), ((2, 3, 2, 5), 5)])
def test_layer_norm(parity, shape, normalized, dtype):
    ns = (normalized,) if isinstance(normalized, int) else normalized
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (shape, ns, ns))
    parity(
        lambda x, w, b: F.layer_norm(x, normalized, w, b, 1e-3),
        lambda x, w, b: TF.layer_norm(x, ns, w, b, 1e-3),
        [x, w, b],
    )
    parity(lambda x: F.layer_norm(x, ns), lambda x: TF.layer_norm(x, ns), [x])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, groups", [((2, 6, 5), 3), ((2, 4, 3, 3), 2), ((3, 4), 4), ((2, 4, 2, 2), 1)])
def test_group_norm(parity, shape, groups, dtype):
    c = shape[1]
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (shape, (c,), (c,)))
    parity(
        lambda x, w, b: F.group_norm(x, groups, w, b, 1e-4),
        lambda x, w, b: TF.group_norm(x, groups, w, b, 1e-4),
        [x, w, b],
    )


def _compare(ng_module, th_module, atol):
    th_state = th_module.state_dict()
    for name, value in ng_module.state_dict().items():
        np.testing.assert_allclose(value.data, th_state[name].numpy(), atol=atol, rtol=1e-6, err_msg=name)
        assert value.dtype == th_state[name].numpy().dtype, name


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda lib: lib.BatchNorm1d(3), (6, 3)),
        (lambda lib: lib.BatchNorm1d(3, momentum=0.3, eps=1e-3), (4, 3, 5)),
        (lambda lib: lib.BatchNorm2d(4), (3, 4, 3, 3)),
        (lambda lib: lib.BatchNorm2d(4, momentum=None), (3, 4, 2, 3)),
        (lambda lib: lib.BatchNorm2d(4, affine=False), (3, 4, 2, 2)),
        (lambda lib: lib.BatchNorm2d(4, track_running_stats=False), (3, 4, 2, 2)),
        (lambda lib: lib.LayerNorm((4, 3)), (2, 5, 4, 3)),
        (lambda lib: lib.LayerNorm(3, elementwise_affine=False), (2, 5, 3)),
        (lambda lib: lib.GroupNorm(2, 4), (3, 4, 5)),
    ],
)
def test_layers_over_training_steps_then_eval(make, shape, dtype):
    """Five training steps (forward, backward, an SGD step on both), then eval: outputs, gradients,
    parameters and running statistics stay equal to torch's at every step."""
    atol = ATOL[dtype]
    th_module = make(torch.nn).to(torch.float64 if dtype == np.float64 else torch.float32)
    ng_module = make(nn).to(dtype)
    assert repr(ng_module) == repr(th_module)
    with torch.no_grad():  # non-trivial weights, the same on both sides
        for p in th_module.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(dtype)))
    ng_module.load_state_dict({k: v.numpy().copy() for k, v in th_module.state_dict().items()})
    for step in range(6):
        if step == 5:
            ng_module.eval()
            th_module.eval()
        x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
        xn, xt = ng.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yn, yt = ng_module(xn), th_module(xt)
        np.testing.assert_allclose(yn.data, yt.detach().numpy(), atol=atol, rtol=1e-6, err_msg=f"step {step}")
        g = rng.standard_normal(shape).astype(dtype)
        yn.backward(g)
        yt.backward(torch.from_numpy(g))
        np.testing.assert_allclose(
            xn.grad.data, xt.grad.numpy(), atol=atol * 10, rtol=1e-5, err_msg=f"step {step}"
        )
        with torch.no_grad():
            for p in th_module.parameters():
                p -= 0.1 * p.grad
                p.grad = None
        with ng.no_grad():
            for p in ng_module.parameters():
                p -= 0.1 * p.grad
                p.grad = None
        _compare(ng_module, th_module, atol * 10)
