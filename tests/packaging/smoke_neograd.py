"""Smoke test of neograd (the meta-package) installed: everything came along; the namespace works."""

import importlib.metadata as md
import tempfile
from pathlib import Path

import numpy as np
from smoke_common import check, check_installed, check_pieces, requirement_names

import neograd as ng
from neograd.nn.loss import BCE
from neograd.nn.optim import GD
from neograd.utils.data import DataLoader, TensorDataset

check_installed({"neograd", "neograd-autograd", "neograd-nn", "neograd-optim", "numpy"})
check(
    requirement_names("neograd") == {"neograd-autograd", "neograd-nn", "neograd-optim"},
    "neograd must require the three packages",
)
check_pieces(
    {
        "neograd": "neograd",
        "neograd.autograd": "neograd-autograd",
        "neograd.nn": "neograd-nn",
        "neograd.optim": "neograd-optim",
    },
    absent=[],
)
versions = {"autograd": ng.version.autograd, "nn": ng.version.nn, "optim": ng.version.optim}
check(versions == {k: md.version(f"neograd-{k}") for k in versions}, f"ng.version says {versions}")

# the torch-like namespace and the seed's paths
check(ng.nn.optim is ng.optim and GD is ng.optim.GD and BCE is ng.nn.loss.BCE, "the seed's paths")
check(all(hasattr(ng, name) for name in ng.autograd.__all__), "a name of neograd.autograd is missing at ng.")
with ng.no_track():
    y = ng.tensor([1.0, 2.0], requires_grad=True) * 2
check(not y.requires_grad, "ng.no_track() still records the graph")

# a seed-style model trains a step with the seed's optimizer, then round-trips through ng.save/ng.load
ng.manual_seed(0)


class NN(ng.nn.Model):
    def __init__(self):
        super().__init__(self)
        self.stack = ng.nn.Sequential(ng.nn.Linear(2, 10), ng.nn.ReLU(), ng.nn.Linear(10, 1), ng.nn.Sigmoid())

    def forward(self, inputs):
        return self.stack(inputs)


model, loss_fn = NN(), BCE()
optim = GD(model.get_params(), 0.15)
inputs, targets = ng.randn(16, 2), ng.tensor(np.arange(16) % 2).reshape(16, 1)
for x, t in DataLoader(TensorDataset(inputs, targets), batch_size=8, shuffle=True):
    optim.zero_grad()
    loss_fn(model(x), t).backward()
    optim.step()
with tempfile.TemporaryDirectory() as tmp:
    for name in ("model.safetensors", "model.npz"):
        ng.save(model.state_dict(), Path(tmp) / name)
        loaded = ng.load(Path(tmp) / name)
        check(all(isinstance(t, ng.Tensor) for t in loaded.values()), f"ng.load({name}) gave {loaded}")
        fresh = NN()
        fresh.load_state_dict(loaded)
        check(np.array_equal(fresh(inputs).data, model(inputs).data), f"{name}: the loaded model differs")

print(f"smoke neograd: OK (all four, versions {ng.__version__} / {versions}; seed paths, ng.save/ng.load)")
