"""Layers, losses, optimizers, Module.to and saving on a GPU (fake, and real if any), against the CPU.

Each layer runs on the CPU and, with a copy of the same weights moved by ``Module.to``,
on "cuda"; outputs, input gradients and parameter gradients must agree. Then whole
training steps (an MLP with Adam, a CNN with SGD) and saving and loading from the GPU.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import neograd as ng
import neograd.nn.functional as F  # noqa: N812
from neograd import nn
from neograd.autograd import backend

CUDA = ng.device("cuda:0")


def _host(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy()


def _tol(gpu: Any) -> float:
    """float32 tolerance: a real GPU adds in another order than the CPU (cuBLAS, reductions)."""
    return 1e-5 if gpu.__name__ == "fake_cupy" else 1e-4


def _compare_module(
    make: Callable[[], nn.Module], shape: tuple[int, ...], target: Any = None, tol: float = 1e-5
) -> None:
    ng.manual_seed(0)
    cpu_model = make()
    gpu_model = copy.deepcopy(cpu_model).to("cuda")
    for p in gpu_model.parameters():
        assert p.device == CUDA
    for b in gpu_model.buffers():
        assert b.device == CUDA
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32) if target != "index" else rng.integers(0, 10, shape)
    results = []
    for model, device in ((cpu_model, "cpu"), (gpu_model, "cuda")):
        inp = ng.tensor(x, device=device, requires_grad=target != "index")
        out = model(inp)
        out = out[0] if isinstance(out, tuple) else out
        assert out.device == inp.device
        weight = ng.tensor(
            np.linspace(-1, 1, out.numel()).reshape(out.shape).astype(np.float32), device=device
        )
        (out * weight).sum().backward()
        grads = [_host(p.grad) for p in model.parameters() if p.grad is not None]
        assert all(p.grad.device == inp.device for p in model.parameters() if p.grad is not None)
        input_grad = None if inp.grad is None else _host(inp.grad)
        results.append((_host(out), input_grad, grads))
    (out_c, gin_c, g_c), (out_g, gin_g, g_g) = results
    assert out_g.dtype == out_c.dtype
    np.testing.assert_allclose(out_g, out_c, rtol=tol, atol=tol)
    if gin_c is not None:
        np.testing.assert_allclose(gin_g, gin_c, rtol=tol, atol=tol)
    assert len(g_c) == len(g_g)
    for a, b in zip(g_c, g_g):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)


MODULES: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "linear": (lambda: nn.Linear(5, 3), (4, 5)),
    "linear_1_output": (lambda: nn.Linear(5, 1), (4, 5)),
    "linear_no_bias": (lambda: nn.Linear(5, 3, bias=False), (2, 4, 5)),
    "mlp": (
        lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2)),
        (4, 5),
    ),
    "conv2d": (lambda: nn.Conv2d(2, 3, 3), (2, 2, 6, 6)),
    "conv2d_stride_pad": (lambda: nn.Conv2d(2, 4, 3, stride=2, padding=1), (2, 2, 7, 7)),
    "conv2d_groups_dilation": (lambda: nn.Conv2d(4, 4, 3, groups=2, dilation=2, padding=2), (1, 4, 6, 6)),
    "conv1d": (lambda: nn.Conv1d(2, 3, 3, padding=1), (2, 2, 8)),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(2, 3, 3, stride=2), (1, 2, 4, 4)),
    "max_pool2d": (lambda: nn.MaxPool2d(2), (2, 3, 6, 6)),
    "avg_pool2d": (lambda: nn.AvgPool2d(3, stride=2, padding=1), (2, 3, 7, 7)),
    "adaptive_avg_pool2d": (lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 7, 8)),
    "batch_norm2d": (lambda: nn.BatchNorm2d(3), (4, 3, 5, 5)),
    "batch_norm1d": (lambda: nn.BatchNorm1d(3), (4, 3)),
    "layer_norm": (lambda: nn.LayerNorm(6), (3, 6)),
    "group_norm": (lambda: nn.GroupNorm(2, 4), (2, 4, 3, 3)),
    "flatten": (lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 16, 3)), (2, 1, 6, 6)),
    "activations": (
        lambda: nn.Sequential(
            nn.GELU(), nn.LeakyReLU(0.1), nn.ELU(), nn.Softplus(), nn.SiLU(), nn.Softmax(-1)
        ),
        (3, 5),
    ),
    "multihead_attention": (lambda: _SelfAttention(), (2, 5, 8)),
    "transformer_layer": (
        lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
        (2, 5, 8),
    ),
    "lstm": (lambda: nn.LSTM(4, 6, batch_first=True), (2, 5, 4)),
    "gru": (lambda: nn.GRU(4, 6), (5, 2, 4)),
    "embedding": (lambda: nn.Embedding(10, 4), "index"),
    "embedding_padding_idx": (lambda: nn.Embedding(10, 4, padding_idx=0), "index"),
    "instance_norm2d": (lambda: nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 4)),
    "prelu_hardswish_mish": (
        lambda: nn.Sequential(nn.PReLU(), nn.Hardswish(), nn.Mish(), nn.ReLU6()),
        (3, 5),
    ),
    "bilinear": (lambda: _Bilinear(), (3, 4)),
    "conv_transpose1d": (lambda: nn.ConvTranspose1d(2, 3, 3, stride=2, padding=1), (2, 2, 5)),
    "avg_pool1d_adaptive1d": (lambda: nn.Sequential(nn.AvgPool1d(2), nn.AdaptiveAvgPool1d(3)), (2, 3, 9)),
    "upsample_nearest": (lambda: nn.Upsample(scale_factor=2, mode="nearest"), (1, 2, 3, 3)),
    "upsample_bilinear": (
        lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        (1, 2, 3, 3),
    ),
    "pad_reflect_replicate": (lambda: _Pads(), (1, 2, 4, 4)),
    "rnn_relu_bidirectional": (
        lambda: nn.RNN(4, 5, num_layers=2, nonlinearity="relu", bidirectional=True),
        (6, 2, 4),
    ),
    "lstm_proj": (lambda: nn.LSTM(4, 6, proj_size=3), (5, 2, 4)),
    "lstm_cell_gru_cell": (lambda: _Cells(), (3, 4)),
    "transformer_decoder": (lambda: _Decoder(), (2, 5, 8)),
    "unflatten_identity": (
        lambda: nn.Sequential(nn.Unflatten(1, (2, 3)), nn.Identity(), nn.Flatten()),
        (4, 6),
    ),
    "max_pool1d_instance_norm1d": (lambda: nn.Sequential(nn.MaxPool1d(2), nn.InstanceNorm1d(3)), (2, 3, 8)),
    "more_activations": (
        lambda: nn.Sequential(nn.Hardtanh(), nn.Hardsigmoid(), nn.Sigmoid(), nn.LogSoftmax(-1)),
        (3, 5),
    ),
    "rnn_cell": (lambda: nn.RNNCell(4, 5), (3, 4)),
    "transformer_encoder": (
        lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2),
        (2, 5, 8),
    ),
    "module_list_dict": (lambda: _Containers(), (3, 4)),
    "seed_model_layer": (lambda: _SeedStyle(), (3, 4)),
}


class _Containers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 2), "b": nn.Linear(4, 2)})

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x).relu()
        return self.heads["a"](x) + self.heads["b"](x)


class _SeedStyle(nn.Model):
    """The original project's names: nn.Model, nn.Layer (as in the seed example)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid())

    def forward(self, x: Any) -> Any:
        return self.stack(x)


class _Bilinear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Bilinear(4, 4, 3)

    def forward(self, x: Any) -> Any:
        return self.layer(x, x * 2)


class _Pads(nn.Module):
    def forward(self, x: Any) -> Any:
        return F.pad(x, (1, 2, 2, 1), mode="reflect").sum() + F.pad(x, (1, 1, 1, 1), mode="replicate").sum(0)


class _Cells(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm, self.gru = nn.LSTMCell(4, 5), nn.GRUCell(5, 4)

    def forward(self, x: Any) -> Any:
        h, c = self.lstm(x)
        return self.gru(h + c)


class _Decoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.decoder = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True)

    def forward(self, x: Any) -> Any:
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1]).to(x.device)
        return self.decoder(x, x * 0.5, tgt_mask=mask, tgt_is_causal=True)


class _SelfAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x: Any) -> Any:
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1]).to(x.device)
        return self.attn(x, x, x, attn_mask=mask, need_weights=False)[0]


@pytest.mark.parametrize("name", list(MODULES))
def test_module_on_the_gpu_matches_cpu(name: str, gpu: Any) -> None:
    make, shape = MODULES[name]
    if shape == "index":
        _compare_module(make, (3, 4), target="index", tol=_tol(gpu))
    else:
        _compare_module(make, shape, tol=_tol(gpu))


def _loss_cases() -> dict[str, Callable[[Any, Any], Any]]:
    return {
        "mse": lambda x, d: F.mse_loss(x, ng.ones(x.shape, device=d)),
        "l1": lambda x, d: F.l1_loss(x, ng.zeros(x.shape, device=d)),
        "cross_entropy": lambda x, d: F.cross_entropy(x, ng.tensor([0, 2, 1, 4], device=d)),
        "cross_entropy_smooth_weight": lambda x, d: F.cross_entropy(
            x,
            ng.tensor([0, 2, 1, 4], device=d),
            weight=ng.linspace(0.5, 1.5, 5, device=d),
            label_smoothing=0.1,
        ),
        "cross_entropy_probs": lambda x, d: F.cross_entropy(x, ng.softmax(ng.ones(4, 5, device=d), -1)),
        "nll": lambda x, d: F.nll_loss(F.log_softmax(x, -1), ng.tensor([0, 2, 1, 4], device=d)),
        "bce_logits": lambda x, d: F.binary_cross_entropy_with_logits(x, ng.ones(x.shape, device=d) * 0.3),
        "bce": lambda x, d: F.binary_cross_entropy(x.sigmoid(), ng.ones(x.shape, device=d) * 0.3),
        "smooth_l1": lambda x, d: F.smooth_l1_loss(x, ng.zeros(x.shape, device=d)),
        "huber": lambda x, d: F.huber_loss(x, ng.zeros(x.shape, device=d), delta=0.5),
        "kl_div": lambda x, d: F.kl_div(
            F.log_softmax(x, -1), F.softmax(ng.ones(4, 5, device=d), -1), reduction="batchmean"
        ),
    }


@pytest.mark.parametrize("name", list(_loss_cases()))
def test_loss_on_the_gpu_matches_cpu(name: str, gpu: Any) -> None:
    fn = _loss_cases()[name]
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    results = []
    for d in ("cpu", "cuda"):
        t = ng.tensor(x, device=d, requires_grad=True)
        loss = fn(t, d)
        assert loss.device == t.device
        loss.backward()
        results.append((_host(loss), _host(t.grad)))
    assert results[1][0].dtype == results[0][0].dtype and results[1][1].dtype == results[0][1].dtype
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=_tol(gpu), atol=_tol(gpu) / 10)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=_tol(gpu), atol=_tol(gpu) / 10)


def _train(
    model: nn.Module, optimizer_cls: Any, x: np.ndarray, y: np.ndarray, device: str, steps: int = 3
) -> list[float]:
    model = model.to(device)
    optimizer = optimizer_cls(model.parameters())
    scheduler = ng.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.5)
    xs, ys = ng.tensor(x).to(device), ng.tensor(y).to(device)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xs), ys)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    for state in optimizer.state.values():
        for value in state.values():
            if hasattr(value, "shape") and getattr(value, "ndim", 0):
                assert backend.is_device_array(value) == (device == "cuda")
    return losses


OPTIMIZERS = {
    "adam": lambda p: ng.optim.Adam(p, lr=1e-2),
    "adamw_amsgrad": lambda p: ng.optim.AdamW(p, lr=1e-2, amsgrad=True),
    "sgd_momentum": lambda p: ng.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
    "rmsprop": lambda p: ng.optim.RMSprop(p, lr=1e-2, momentum=0.5, centered=True),
    "adagrad": lambda p: ng.optim.Adagrad(p, lr=0.1),
    "adadelta": lambda p: ng.optim.Adadelta(p),
    "nadam": lambda p: ng.optim.NAdam(p),
    "radam": lambda p: ng.optim.RAdam(p),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_mlp_training_steps_on_the_gpu_match_cpu(name: str, gpu: Any) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 6)).astype(np.float32), rng.integers(0, 3, 16)
    ng.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.0), nn.Linear(16, 3))
    twin = copy.deepcopy(model)
    cpu_losses = _train(model, OPTIMIZERS[name], x, y, "cpu")
    gpu_losses = _train(twin, OPTIMIZERS[name], x, y, "cuda")
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=_tol(gpu))
    for a, b in zip(model.parameters(), twin.parameters()):
        assert b.dtype == a.dtype
        np.testing.assert_allclose(_host(b), _host(a), rtol=_tol(gpu), atol=_tol(gpu) / 10)


def test_cnn_training_steps_on_the_gpu_match_cpu(gpu: Any) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 1, 8, 8)).astype(np.float32), rng.integers(0, 10, 8)
    ng.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 16, 10),
    )
    twin = copy.deepcopy(model)
    sgd = lambda p: ng.optim.SGD(p, lr=0.05, momentum=0.9)  # noqa: E731
    np.testing.assert_allclose(
        _train(twin, sgd, x, y, "cuda"), _train(model, sgd, x, y, "cpu"), rtol=_tol(gpu)
    )


def test_dropout_on_the_gpu_draws_on_the_gpu(gpu: Any) -> None:
    x = ng.ones(1000, device="cuda", requires_grad=True)
    y = F.dropout(x, 0.5)
    assert y.device == CUDA
    kept = _host(y)
    assert set(np.unique(kept)) <= {0.0, 2.0} and 300 < (kept > 0).sum() < 700
    y.sum().backward()
    assert x.grad.device == CUDA
    assert (
        F.dropout(x, 1.0).device == CUDA
        and F.dropout2d(ng.ones(2, 3, 4, 4, device="cuda"), 0.5).device == CUDA
    )


def test_module_to_cuda_and_back_in_place(gpu: Any) -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    params = list(model.parameters())
    assert model.cuda() is model and model.to("cuda:0") is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(t.device == CUDA for t in [*model.parameters(), *model.buffers()])
    model(ng.randn(2, 3, device="cuda")).sum().backward()
    assert all(p.grad.device == CUDA for p in model.parameters())
    model.cpu()
    assert all(t.device == ng.device("cpu") for t in [*model.parameters(), *model.buffers()])
    assert all(p.grad.device == ng.device("cpu") for p in model.parameters())
    model.to("cuda", ng.float64)
    assert all(p.dtype == np.float64 and p.device == CUDA for p in model.parameters())
    assert model.to(ng.ones(1)).parameters().__next__().device == ng.device("cpu")
    with pytest.raises(TypeError, match="floating"):
        model.to(ng.int64)


def test_save_and_load_from_the_gpu(gpu: Any, tmp_path: Path) -> None:
    ng.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).cuda()
    state = model.state_dict()
    assert all(t.device == CUDA for t in state.values())
    for ext in ("safetensors", "npz"):
        path = tmp_path / f"model.{ext}"
        ng.save(state, path)
        on_cpu = ng.load(path)
        assert all(t.device == ng.device("cpu") for t in on_cpu.values())
        for key, t in state.items():
            np.testing.assert_array_equal(on_cpu[key].numpy(), _host(t))
        for where in ("cuda", CUDA, "cuda:0", {"cpu": "cuda:0"}, lambda t, loc: t.cuda()):
            loaded = ng.load(path, map_location=where)
            assert all(t.device == CUDA for t in loaded.values()), where
        assert all(t.device == ng.device("cpu") for t in ng.load(path, map_location="cpu").values())
    twin = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    twin.load_state_dict(ng.load(tmp_path / "model.safetensors"))  # a CPU model from GPU weights
    gpu_twin = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).cuda()
    gpu_twin.load_state_dict(ng.load(tmp_path / "model.safetensors"))  # CPU values into a GPU model
    assert all(p.device == CUDA for p in gpu_twin.parameters())
    for a, b in zip(twin.parameters(), gpu_twin.parameters()):
        np.testing.assert_array_equal(_host(b), a.detach().numpy())
    with pytest.raises(TypeError, match="map_location"):
        ng.load(tmp_path / "model.safetensors", map_location=3.5)


def test_optimizer_state_dict_round_trip_on_the_gpu(gpu: Any) -> None:
    model = nn.Linear(3, 2).cuda()
    optimizer = ng.optim.Adam(model.parameters())
    model(ng.randn(4, 3, device="cuda")).sum().backward()
    optimizer.step()
    state = optimizer.state_dict()
    fresh = ng.optim.Adam(model.parameters())
    fresh.load_state_dict(state)
    for p in model.parameters():
        assert backend.is_device_array(fresh.state[p]["exp_avg"])
    # a CPU copy of the state (as read from disk) is moved to the parameters' device
    host_state = copy.deepcopy(state)
    for s in host_state["state"].values():
        s.update({k: v.get() for k, v in s.items() if hasattr(v, "get") and not isinstance(v, dict)})
    fresh.load_state_dict(host_state)
    for p in model.parameters():
        assert backend.is_device_array(fresh.state[p]["exp_avg_sq"])


def test_checkpoint_of_gpu_training(gpu: Any, tmp_path: Path) -> None:
    model = nn.Linear(3, 2).cuda()
    optimizer = ng.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(ng.randn(4, 3, device="cuda")).sum().backward()
    optimizer.step()
    ckpt = nn.Checkpoint(model, tmp_path, optimizer)
    ckpt.add(step=1, loss=0.5)
    weights = [_host(p) for p in model.parameters()]
    with ng.no_grad():
        for p in model.parameters():
            p.zero_()
    ckpt.resume()
    for p, w in zip(model.parameters(), weights):
        assert p.device == CUDA
        np.testing.assert_array_equal(_host(p), w)
    for state in optimizer.state.values():
        assert backend.is_device_array(state["momentum_buffer"])


def test_packed_sequences_on_the_gpu(gpu: Any) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    lengths = ng.tensor([5, 3, 2])  # lengths stay on the CPU, as torch requires
    ng.manual_seed(0)
    lstm = nn.LSTM(4, 6)
    twin = copy.deepcopy(lstm).cuda()
    results = []
    for model, device in ((lstm, "cpu"), (twin, "cuda")):
        inp = ng.tensor(x, device=device, requires_grad=True)
        packed = nn.utils.rnn.pack_padded_sequence(inp, lengths)
        out, (h, c) = model(packed)
        padded, _ = nn.utils.rnn.pad_packed_sequence(out)
        assert padded.device == inp.device and h.device == inp.device
        (padded.sum() + h.sum() + c.sum()).backward()
        results.append((_host(padded), _host(inp.grad), _host(h)))
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=_tol(gpu), atol=_tol(gpu) / 10)
    seqs = [ng.ones(n, 2, device="cuda") for n in (3, 1)]
    assert nn.utils.rnn.pad_sequence(seqs).device == CUDA


def test_one_hot_and_functional_extras_on_the_gpu(gpu: Any) -> None:
    idx = ng.tensor([0, 2, 1], device="cuda")
    assert F.one_hot(idx, 3).device == CUDA and F.one_hot(idx).cpu().tolist() == [
        [1, 0, 0],
        [0, 0, 1],
        [0, 1, 0],
    ]
    x = ng.randn(2, 3, 4, 4, device="cuda")
    assert F.interpolate(x, size=(6, 6), mode="bilinear").device == CUDA
    _, indices = F.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(
        indices.cpu().numpy(), F.max_pool2d(x.cpu(), 2, return_indices=True)[1].numpy()
    )


def test_dataloader_batches_move_to_the_gpu(gpu: Any) -> None:
    data = ng.utils.data.TensorDataset(ng.randn(10, 3), ng.arange(10))
    for x, y in ng.utils.data.DataLoader(data, batch_size=4, shuffle=True):
        x, y = x.to("cuda"), y.to("cuda")
        assert x.device == CUDA and y.device == CUDA and y.dtype == np.int64
    # a dataset already on the GPU gives GPU batches
    on_gpu = ng.utils.data.TensorDataset(ng.randn(10, 3, device="cuda"), ng.arange(10, device="cuda"))
    batches = list(ng.utils.data.DataLoader(on_gpu, batch_size=4, shuffle=True))
    assert len(batches) == 3 and all(x.device == CUDA and y.device == CUDA for x, y in batches)
    assert sorted(int(v) for _, y in batches for v in y.cpu().tolist()) == list(range(10))


def test_init_on_a_gpu_tensor(gpu: Any) -> None:
    w = ng.empty(4, 5, device="cuda")
    for init in (nn.init.kaiming_uniform_, nn.init.xavier_normal_, nn.init.orthogonal_, nn.init.zeros_):
        assert init(w) is w and w.device == CUDA
    nn.init.normal_(w, 0.0, 0.1)
    nn.init.constant_(w, 0.3)
    np.testing.assert_allclose(_host(w), 0.3)


def test_compile_runs_a_gpu_step_eagerly_and_says_so(gpu: Any) -> None:
    # the capture traces NumPy arrays only: a step on the GPU must not be replayed with its
    # parameters taken for constants; it runs eagerly, with the device named
    model = nn.Linear(3, 1).to(CUDA)
    opt = ng.optim.SGD(model.parameters(), lr=0.1)
    x = ng.randn(4, 3).to(CUDA)

    def step(x: Any) -> Any:
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    compiled = ng.compile(step)
    before = _host(model.weight).copy()
    with pytest.warns(ng.CompileWarning, match="on cuda:0"):
        compiled(x)
    compiled(x)  # eager again: the weights keep moving
    assert not np.allclose(_host(model.weight), before)
    assert np.isfinite(_host(model.weight)).all()
    with pytest.raises(ng.CompileError, match="on cuda:0"):
        ng.compile(step, check=True)(x)
