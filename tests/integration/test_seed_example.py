"""The original README's example, run verbatim: its loss falls and it learns the circles.

The example sets no seed, so every run has its own train/test split and initialisation;
the promise is a test accuracy of at least 0.90 in at least 9 of 10 such runs.

NOTE: measured over 400 unseeded runs, about 3% of single runs end below 0.90 (they are
under-trained after 1000 steps, not broken), so "9 of 10" fails by chance about 3-4% of
the time. To keep CI reproducible, the runner gives run k the entropy k (for NumPy's
global generator, which train_test_split uses, and for neograd's, which initialises the
layers) instead of the operating system's; the script itself stays unseeded and verbatim.
"""

import hashlib
import json
import math
import re
import subprocess
import sys
import textwrap
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed_readme.py"
# sha256 of the code block under "## Example" in the original README, character for character
SEED_EXAMPLE_SHA256 = "b768329fbe967c4042c674409d19520502da126a6ef3f611d7f54f8fd35f21a6"
LOSS_LINE = re.compile(r"iter (\d+)/1000\nloss: (?:tensor\()?([-+0-9.eE]+)")

# Runs the example in this interpreter several times (imports are paid once), then
# evaluates the trained `model` on the script's own X_test / y_test.
RUNNER = textwrap.dedent(
    """
    import contextlib, io, json, runpy, sys
    import numpy as np
    import neograd as ng
    results = []
    for run in range(int(sys.argv[2])):
        np.random.seed(run)
        ng.manual_seed(run)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            g = runpy.run_path(sys.argv[1], run_name="__main__")
        model = g["model"]
        with model.eval():
            probs = model(g["X_test"])
        accuracy = float(((probs.data > 0.5) == g["y_test"].data).mean())
        results.append({"stdout": out.getvalue(), "accuracy": accuracy, "shape": list(probs.shape)})
    print(json.dumps(results))
    """
)


def losses_of(stdout):
    pairs = LOSS_LINE.findall(stdout)
    assert [int(i) for i, _ in pairs] == list(range(1, 1000, 50)), stdout[:500]
    return [float(v) for _, v in pairs]


def test_the_example_is_the_seed_readme_code_verbatim():
    assert hashlib.sha256(EXAMPLE.read_bytes()).hexdigest() == SEED_EXAMPLE_SHA256


def test_the_example_runs_as_a_script_and_its_loss_falls():
    proc = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    losses = losses_of(proc.stdout)
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.8 * losses[0]
    assert all(b < a for a, b in zip(losses[1:], losses[2:])), losses  # steadily, after the first steps


def test_the_example_reaches_90_percent_test_accuracy_in_9_of_10_runs():
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(EXAMPLE), "10"], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(proc.stdout)
    assert len(runs) == 10
    for run in runs:
        assert run["shape"] == [1, 250]  # the seed's (1, examples) layout
        losses = losses_of(run["stdout"])
        assert losses[-1] < losses[0]
    accuracies = [run["accuracy"] for run in runs]
    assert len(set(accuracies)) > 1, accuracies  # the runs really differ
    assert sum(a >= 0.90 for a in accuracies) >= 9, accuracies
