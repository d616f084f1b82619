"""Smoke test of neograd-nn installed alone: it pulled the core, not optim; a model trains and round-trips."""

import tempfile
from pathlib import Path

import numpy as np
from smoke_common import check, check_installed, check_no_meta_package, check_pieces, requirement_names

from neograd import nn
from neograd.autograd import manual_seed, no_grad, randn, tensor
from neograd.nn.utils.data import DataLoader, TensorDataset

check_installed({"neograd-nn", "neograd-autograd", "numpy"})
check(
    requirement_names("neograd-nn") == {"neograd-autograd", "numpy"}, "neograd-nn requires more than the core"
)
check_pieces(
    {"neograd.autograd": "neograd-autograd", "neograd.nn": "neograd-nn"},
    absent=["neograd.optim", "neograd.nn.optim"],
)
check_no_meta_package()

# forward and backward: every parameter gets a gradient of its shape
manual_seed(0)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
inputs, targets = randn(32, 4), tensor(np.arange(32) % 3)
loss_fn = nn.CrossEntropyLoss()
loss = loss_fn(model(inputs), targets)
loss.backward()
check(model(inputs).shape == (32, 3), f"output shape {model(inputs).shape}")
for name, p in model.named_parameters():
    check(p.grad is not None and p.grad.shape == p.shape, f"{name}: grad {p.grad} for shape {p.shape}")

# a few steps of hand-written gradient descent (no optimizer without neograd-optim): the loss falls
first = loss.item()
for _ in range(30):
    for batch, labels in DataLoader(TensorDataset(inputs, targets), batch_size=8):
        model.zero_grad()
        loss_fn(model(batch), labels).backward()
        with no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
last = loss_fn(model(inputs), targets).item()
check(last < 0.5 * first, f"training loss went from {first} to {last}")

# the state_dict survives a save/load round trip in both formats
with tempfile.TemporaryDirectory() as tmp:
    for name in ("model.safetensors", "model.npz"):
        nn.save(model.state_dict(), Path(tmp) / name)
        fresh = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
        fresh.load_state_dict(nn.load(Path(tmp) / name))
        check(np.array_equal(fresh(inputs).data, model(inputs).data), f"{name}: the loaded model differs")

print(
    f"smoke neograd-nn: OK (core came, optim did not; loss {first:.3f} -> {last:.3f}; state_dict round trip)"
)
