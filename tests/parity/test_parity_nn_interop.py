"""Weights cross between neograd and torch through safetensors, in both directions.

neograd writes and reads the safetensors format with its own code (no dependency on the
``safetensors`` package); here that package and torch are the judges.
"""

import os

import numpy as np
import pytest
import torch

if os.environ.get("NEOGRAD_REQUIRE_TORCH"):
    import safetensors  # fail loudly: the parity environment must have it
else:
    pytest.importorskip("safetensors")

import safetensors.numpy
import safetensors.torch

import neograd.nn as nn
from neograd.autograd import tensor
from neograd.nn import Flatten, Module, Parameter, Sequential, load, save
from neograd.nn.functional.conv import conv2d


# neograd layers with torch's parameter names, so that the state_dict keys match
class Conv(Module):
    def __init__(self):
        super().__init__()
        self.weight = Parameter(np.zeros((3, 1, 3, 3), np.float32))
        self.bias = Parameter(np.zeros(3, np.float32))

    def forward(self, x):
        return conv2d(x, self.weight, self.bias, padding=1)


class ReLU(Module):
    def forward(self, x):
        return x.relu()


class Dense(Module):
    def __init__(self):
        super().__init__()
        self.weight = Parameter(np.zeros((5, 48), np.float32))
        self.bias = Parameter(np.zeros(5, np.float32))

    def forward(self, x):
        return x @ self.weight.T + self.bias


class BatchNormEval(Module):
    def __init__(self):
        super().__init__()
        self.weight = Parameter(np.ones(5, np.float32))
        self.bias = Parameter(np.zeros(5, np.float32))
        self.register_buffer("running_mean", tensor(np.zeros(5, np.float32)))
        self.register_buffer("running_var", tensor(np.ones(5, np.float32)))
        self.register_buffer("num_batches_tracked", tensor(0))

    def forward(self, x):
        return (x - self.running_mean) / (self.running_var + 1e-5).sqrt() * self.weight + self.bias


def ng_model():
    return Sequential(Conv(), ReLU(), Flatten(), Dense(), BatchNormEval())


def torch_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(48, 5),
        torch.nn.BatchNorm1d(5),
    )
    model.train()
    for _ in range(3):  # give BatchNorm non-trivial running statistics and a count
        model(torch.randn(8, 1, 4, 4))
    return model.eval()


INPUT = np.random.default_rng(0).standard_normal((6, 1, 4, 4)).astype(np.float32)


def test_torch_to_neograd(tmp_path):
    source = torch_model()
    path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file(source.state_dict(), str(path))
    model = ng_model()
    model.load_state_dict(load(path))  # strict: every key, shape and dtype matches
    assert model[4].num_batches_tracked.item() == 3 and model[4].num_batches_tracked.dtype == np.int64
    with torch.no_grad():
        expected = source(torch.from_numpy(INPUT)).numpy()
    np.testing.assert_allclose(model(tensor(INPUT)).data, expected, rtol=1e-5, atol=1e-5)


def test_neograd_to_torch(tmp_path):
    # neograd weights with values of their own (from a torch model's state, scrambled)
    model = ng_model()
    rng = np.random.default_rng(1)
    for value in model.state_dict().values():
        if value.dtype.kind == "f":
            value.data[...] = rng.standard_normal(value.shape).astype(np.float32)
    model[4].running_var.data[...] = np.abs(model[4].running_var.data) + 0.5
    model[4].num_batches_tracked.data[...] = 11
    path = tmp_path / "neograd.safetensors"
    save(model.state_dict(), path)

    target = torch_model()
    target.load_state_dict(safetensors.torch.load_file(str(path)))  # strict by default
    assert target[4].num_batches_tracked.item() == 11
    with torch.no_grad():
        got = target(torch.from_numpy(INPUT)).numpy()
    np.testing.assert_allclose(got, model(tensor(INPUT)).data, rtol=1e-5, atol=1e-5)


DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64,
          np.float16, np.float32, np.float64]  # fmt: skip


def sample(dtype, shape):
    return np.asarray(np.random.default_rng(2).standard_normal(shape) * 50).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 2), (), (0, 4)])
def test_every_dtype_both_ways_with_safetensors_numpy(tmp_path, dtype, shape):
    array = sample(dtype, shape)
    save({"x": array, "y": np.arange(3.0)}, tmp_path / "ng.safetensors", metadata={"k": "v"})
    theirs = safetensors.numpy.load_file(str(tmp_path / "ng.safetensors"))
    assert theirs["x"].dtype == array.dtype and theirs["x"].shape == shape
    np.testing.assert_array_equal(theirs["x"], array)
    with safetensors.safe_open(str(tmp_path / "ng.safetensors"), "np") as f:
        assert f.metadata() == {"k": "v"}

    safetensors.numpy.save_file({"x": array, "y": np.arange(3.0)}, str(tmp_path / "st.safetensors"))
    ours = load(tmp_path / "st.safetensors")
    assert ours["x"].dtype == array.dtype and ours["x"].shape == shape
    np.testing.assert_array_equal(ours["x"].data, array)


def test_torch_bfloat16_loads_as_float32(tmp_path):
    values = torch.randn(4, 3).to(torch.bfloat16)
    safetensors.torch.save_file({"w": values}, str(tmp_path / "bf16.safetensors"))
    out = load(tmp_path / "bf16.safetensors")["w"]
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, values.float().numpy())


def test_the_reference_refuses_nothing_we_write_and_agrees_on_what_we_refuse(tmp_path):
    path = tmp_path / "w.safetensors"
    save({f"t{i}": sample(d, (i, 2)) for i, d in enumerate(DTYPES)}, path)
    safetensors.numpy.load_file(str(path))
    raw = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(raw[:-1])
    with pytest.raises(Exception):  # noqa: B017 -- the reference's own error type
        safetensors.numpy.load_file(str(tmp_path / "cut.safetensors"))
    with pytest.raises(ValueError, match="ends early"):
        load(tmp_path / "cut.safetensors")


# ---- the same with neograd's own layers ---------------------------------------------------------------
def real_pair():
    torch.manual_seed(1)
    source = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.BatchNorm2d(4),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(16, 3),
    )
    source.train()
    for _ in range(2):
        source(torch.randn(8, 1, 4, 4))
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 3)
    )
    return source.eval(), model.eval()


INPUT_2D = np.random.default_rng(3).standard_normal((5, 1, 4, 4)).astype(np.float32)


def test_torch_layers_to_neograd_layers(tmp_path):
    source, model = real_pair()
    safetensors.torch.save_file(source.state_dict(), str(tmp_path / "t.safetensors"))
    model.load_state_dict(load(tmp_path / "t.safetensors"))
    with torch.no_grad():
        expected = source(torch.from_numpy(INPUT_2D)).numpy()
    np.testing.assert_allclose(model(tensor(INPUT_2D)).data, expected, rtol=1e-5, atol=1e-5)


def test_neograd_layers_to_torch_layers(tmp_path):
    target, model = real_pair()
    rng = np.random.default_rng(4)
    for name, value in model.state_dict().items():
        if value.dtype.kind == "f":
            value.data[...] = (
                rng.uniform(0.5, 1.5, value.shape) if "var" in name else rng.standard_normal(value.shape)
            )
    save(model.state_dict(), tmp_path / "n.safetensors")
    target.load_state_dict(safetensors.torch.load_file(str(tmp_path / "n.safetensors")))
    with torch.no_grad():
        got = target(torch.from_numpy(INPUT_2D)).numpy()
    np.testing.assert_allclose(got, model(tensor(INPUT_2D)).data, rtol=1e-5, atol=1e-5)
