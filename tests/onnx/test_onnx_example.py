"""examples/onnx_digits.py runs as a user runs it: trains, exports, and onnxruntime agrees with neograd."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_onnx_example_trains_exports_and_agrees_with_onnxruntime(tmp_path: Path) -> None:
    script = ROOT / "examples" / "onnx_digits.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--epochs", "1", "--out", "cnn.onnx"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ours = float(re.search(r"^neograd +test accuracy: ([0-9.]+)$", proc.stdout, re.M).group(1))
    theirs = float(re.search(r"^onnxruntime test accuracy: ([0-9.]+)$", proc.stdout, re.M).group(1))
    difference = float(
        re.search(r"largest difference between the logits: (\S+)$", proc.stdout, re.M).group(1)
    )
    assert ours >= 0.5 and abs(ours - theirs) <= 1 / 360  # at most one image on a knife's edge
    assert difference < 1e-4
    assert (tmp_path / "cnn.onnx").is_file()
