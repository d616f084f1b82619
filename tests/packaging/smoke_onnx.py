"""Smoke test of neograd-onnx installed alone: it pulled core, nn and onnx, not optim; export, load back."""

import tempfile
from pathlib import Path

import numpy as np
import onnx
from smoke_common import check, check_no_meta_package, check_pieces, requirement_names

from neograd import nn
from neograd.autograd import manual_seed, no_grad, randn
from neograd.onnx import export, load

check(
    requirement_names("neograd-onnx") == {"neograd-autograd", "neograd-nn", "numpy", "onnx"},
    f"neograd-onnx requires {sorted(requirement_names('neograd-onnx'))}",
)
check_pieces(
    {"neograd.autograd": "neograd-autograd", "neograd.nn": "neograd-nn", "neograd.onnx": "neograd-onnx"},
    absent=["neograd.optim"],
)
check_no_meta_package()

manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 3)
)
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "cnn.onnx"
    export(model, randn(2, 1, 8, 8), path, dynamic_axes={"input": [0], "output": [0]})
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    again = load(path)
x = randn(5, 1, 8, 8)
with no_grad():
    difference = np.abs(again(x).numpy() - model(x).numpy()).max()
check(difference < 1e-5, f"the model loaded back differs by {difference}")
check(set(again.state_dict()) == set(model.state_dict()), f"keys {sorted(again.state_dict())}")
print(f"neograd-onnx alone: exported and loaded back a CNN (largest difference {difference:.1e})")
