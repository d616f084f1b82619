"""Checks that need a real NVIDIA GPU: CuPy arrays, parity with torch on CUDA, gradcheck there.

Skipped where CuPy finds no GPU (the CI): the designed skip of the device tests. The rest
of tests/device runs on the fake CuPy everywhere and, where there is a GPU, on it as well
(the ``gpu`` fixture); this file holds what only a real GPU can answer. Run all GPU checks
with ``bash benchmarks/gpu_check.sh`` (see there) or ``python -m pytest tests/device -m cuda``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import neograd as ng
import neograd.nn.functional as F  # noqa: N812
from neograd import nn
from neograd.autograd import backend

if not ng.cuda.is_available():
    pytest.skip("needs CuPy and an NVIDIA GPU", allow_module_level=True)
pytestmark = pytest.mark.cuda


def _torch_cuda() -> Any:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    return torch


def test_cuda_tensors_hold_cupy_arrays() -> None:
    cupy = backend.cupy()
    x = ng.randn(3, 4, device="cuda")
    assert isinstance(x.data, cupy.ndarray) and x.device == ng.device("cuda:0")
    assert ng.cuda.is_available() and ng.cuda.device_count() >= 1
    y = (x @ x.T).relu().sum()
    ng.cuda.synchronize()
    assert isinstance(y.data, cupy.ndarray) and np.isfinite(y.item())
    assert ng.cuda.memory_allocated() > 0


def test_every_gpu_can_be_used() -> None:
    for i in range(ng.cuda.device_count()):
        x = ng.ones(4, device=f"cuda:{i}", requires_grad=True)
        (x * 2).sum().backward()
        assert x.device == ng.device("cuda", i) and x.grad.device == x.device
        assert x.data.device.id == i


# ---- parity with torch on CUDA ---------------------------------------------------------------------
def _pair(shape: tuple[int, ...], seed: int = 0) -> tuple[Any, Any]:
    torch = _torch_cuda()
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return ng.tensor(a, device="cuda", requires_grad=True), torch.tensor(a, device="cuda", requires_grad=True)


def _close(ours: Any, theirs: Any, tol: float = 1e-4) -> None:
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().cpu().numpy(), rtol=tol, atol=tol)


OPS: dict[str, tuple[Callable[[Any, Any], Any], tuple[int, ...]]] = {
    # name: (fn(x, lib) with lib the module, neograd or torch; the input's shape)
    "exp_tanh_sigmoid": (lambda x, lib: (x.exp() * x.tanh() + x.sigmoid()).sum(), (4, 5)),
    "softmax_logsumexp": (lambda x, lib: (x.softmax(-1) * 3).sum() + x.logsumexp(1).sum(), (4, 5)),
    "matmul_relu": (lambda x, lib: (x @ x.T).relu().mean(), (6, 5)),
    "var_max": (lambda x, lib: x.var(0).sum() + x.amax(1).sum(), (4, 5)),
    "cumsum_sort": (lambda x, lib: x.cumsum(1).sum() + x.sort(1).values[:, -1].sum(), (4, 5)),
    "index_gather": (
        lambda x, lib: x[lib.tensor([0, 2, 0], device="cuda")].sum()
        + x.gather(1, lib.tensor([[1], [0], [3], [4]], device="cuda")).sum(),
        (4, 5),
    ),
}


@pytest.mark.parametrize("name", list(OPS))
def test_ops_match_torch_on_cuda(name: str) -> None:
    torch = _torch_cuda()
    fn, shape = OPS[name]
    ours, theirs = _pair(shape)
    a, b = fn(ours, ng), fn(theirs, torch)
    a.backward()
    b.backward()
    _close(a, b)
    _close(ours.grad, theirs.grad)


LAYERS: dict[str, tuple[Callable[[Any], Any], tuple[int, ...]]] = {
    "linear": (lambda nn_: nn_.Linear(5, 3), (4, 5)),
    "conv2d": (lambda nn_: nn_.Conv2d(2, 4, 3, stride=2, padding=1), (2, 2, 7, 7)),
    "max_pool2d": (lambda nn_: nn_.MaxPool2d(2), (2, 3, 6, 6)),
    "batch_norm2d": (lambda nn_: nn_.BatchNorm2d(3), (4, 3, 5, 5)),
    "layer_norm": (lambda nn_: nn_.LayerNorm(6), (3, 6)),
    "lstm": (lambda nn_: nn_.LSTM(4, 6, batch_first=True), (2, 5, 4)),
    "transformer": (
        lambda nn_: nn_.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
        (2, 5, 8),
    ),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layers_match_torch_on_cuda(name: str) -> None:
    torch = _torch_cuda()
    make, shape = LAYERS[name]
    ours_layer, torch_layer = make(nn), make(torch.nn).cuda()
    with ng.no_grad():  # torch's weights into ours, by name
        theirs = {k: v.detach().cpu().numpy() for k, v in torch_layer.state_dict().items()}
        ours_layer.load_state_dict({k: ng.tensor(v) for k, v in theirs.items()}, strict=False)
    ours_layer.cuda()
    x, tx = _pair(shape)
    y, ty = ours_layer(x), torch_layer(tx)
    y, ty = (y[0], ty[0]) if isinstance(y, tuple) else (y, ty)
    y.square().sum().backward()
    ty.square().sum().backward()
    _close(y, ty)
    _close(x.grad, tx.grad, 1e-3)
    for p, tp in zip(ours_layer.parameters(), torch_layer.parameters()):
        _close(p.grad, tp.grad, 1e-3)


def test_mlp_adam_steps_match_torch_on_cuda() -> None:
    torch = _torch_cuda()
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4)).cuda()
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4))
    model.load_state_dict({k: ng.tensor(v.detach().cpu().numpy()) for k, v in tmodel.state_dict().items()})
    model.cuda()
    opt, topt = ng.optim.Adam(model.parameters(), lr=1e-2), torch.optim.Adam(tmodel.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 8)).astype(np.float32), rng.integers(0, 4, 16)
    for _ in range(5):
        opt.zero_grad()
        topt.zero_grad()
        loss = F.cross_entropy(model(ng.tensor(x, device="cuda")), ng.tensor(y, device="cuda"))
        tloss = torch.nn.functional.cross_entropy(
            tmodel(torch.tensor(x, device="cuda")), torch.tensor(y, device="cuda")
        )
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
        _close(loss, tloss)
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        _close(p, tp)


# ---- gradcheck in float64 on the GPU ------------------------------------------------------------------
GRADCHECK: dict[str, tuple[Callable[..., Any], list[tuple[int, ...]]]] = {
    "mul_broadcast": (lambda a, b: a * b, [(2, 3), (3,)]),
    "softmax": (lambda a: a.softmax(-1), [(3, 4)]),
    "matmul": (lambda a, b: a @ b, [(2, 3, 4), (4, 2)]),
    "conv2d": (lambda x, w: F.conv2d(x, w, padding=1), [(1, 2, 4, 4), (2, 2, 3, 3)]),
    "layer_norm": (lambda x, w: F.layer_norm(x, (4,), w), [(3, 4), (4,)]),
    "cross_entropy": (lambda x: F.cross_entropy(x, ng.tensor([0, 2, 1], device="cuda")), [(3, 4)]),
    "max_pool": (lambda x: F.max_pool2d(x, 2), [(1, 1, 4, 4)]),
}


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck_float64_on_the_gpu(name: str) -> None:
    fn, shapes = GRADCHECK[name]
    rng = np.random.default_rng(0)
    inputs = tuple(ng.tensor(rng.standard_normal(s), device="cuda", requires_grad=True) for s in shapes)
    assert all(t.dtype == np.float64 for t in inputs)
    assert ng.gradcheck(fn, inputs)


def test_deepcopy_and_save_of_a_gpu_model(tmp_path: Any) -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).cuda()
    twin = copy.deepcopy(model)
    assert all(p.device == ng.device("cuda:0") for p in twin.parameters())
    ng.save(model.state_dict(), tmp_path / "m.safetensors")
    loaded = ng.load(tmp_path / "m.safetensors", map_location="cuda")
    twin.load_state_dict(loaded)
    x = ng.randn(5, 3, device="cuda")
    _close(model(x), twin(x))
