"""The examples run as a user runs them (a subprocess on the installed packages); the demo keeps its promise.

Training examples get few epochs here; the demo (`hatch run demo`) runs in full once and
must reach 0.97 test accuracy. tqdm and matplotlib belong to the examples environment,
not the test one, so both ways are checked: with tqdm hidden, with matplotlib present or not.
"""

import importlib.util
import json
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ACCURACY = re.compile(r"^test accuracy: ([0-9.]+)$", re.M)

# Runs an example with some modules made unimportable, then reports which modules it loaded.
HIDING_RUNNER = textwrap.dedent(
    """
    import json, runpy, sys
    script, hidden, *args = sys.argv[1:]
    for name in json.loads(hidden):
        sys.modules[name] = None  # `import name` now raises ModuleNotFoundError
    sys.path.insert(0, str(__import__("pathlib").Path(script).parent))
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")
    print("loaded:", json.dumps(sorted(m for m in sys.modules if sys.modules[m] is not None)))
    """
)


def run(args, cwd, **kwargs):
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def run_example(name, *args, cwd):
    return run([sys.executable, str(EXAMPLES / f"{name}.py"), *args], cwd)


def accuracy_of(stdout):
    (value,) = ACCURACY.findall(stdout)
    return float(value)


@pytest.mark.parametrize(
    ("name", "epochs", "at_least"), [("circles", 3, 0.8), ("digits_mlp", 2, 0.8), ("digits_cnn", 1, 0.5)]
)
def test_a_training_example_runs_and_prints_its_test_accuracy(name, epochs, at_least, tmp_path):
    proc = run_example(name, "--epochs", str(epochs), cwd=tmp_path)
    assert at_least <= accuracy_of(proc.stdout) <= 1
    assert list(tmp_path.iterdir()) == []  # nothing written without --plot


def test_the_demo_command_reaches_97_percent_test_accuracy(tmp_path):
    """`hatch run demo`'s command line, read from hatch.toml, run in full."""
    # the first `demo = ...`: the default environment's (dist:demo comes later)
    command = re.findall(r'^demo = "(.*)"$', (ROOT / "hatch.toml").read_text(), flags=re.M)[0]
    program, *args = shlex.split(command.replace("{args}", ""))
    assert program == "python"
    proc = run([sys.executable, *args], cwd=ROOT)
    assert accuracy_of(proc.stdout) >= 0.97


def test_without_tqdm_the_progress_is_one_line_per_epoch_and_matplotlib_stays_unloaded(tmp_path):
    script = str(EXAMPLES / "circles.py")
    proc = run([sys.executable, "-c", HIDING_RUNNER, script, '["tqdm"]', "--epochs", "2"], tmp_path)
    lines = proc.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines[:2]] == ["epoch 1/2", "epoch 2/2"]
    assert all(0 < float(line.split("loss ")[1]) < 1 for line in lines[:2])
    assert 0.5 <= accuracy_of(proc.stdout) <= 1
    loaded = json.loads(lines[-1].removeprefix("loaded: "))
    assert "neograd" in loaded and "tqdm" not in loaded and "matplotlib" not in loaded


def test_with_tqdm_a_bar_over_the_epochs_shows_the_loss(tmp_path):
    proc = run_example("circles", "--epochs", "2", cwd=tmp_path)
    if importlib.util.find_spec("tqdm") is None:  # the plain fallback
        assert "epoch 2/2  loss " in proc.stdout
    else:  # tqdm draws on stderr
        assert re.search(r"training: 100%.*2/2 .*loss=[0-9.]+", proc.stderr), proc.stderr


def test_plot_saves_the_loss_curve_as_png_or_says_what_is_missing(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "digits_mlp.py"), "--epochs", "1", "--plot", "curve.png"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if importlib.util.find_spec("matplotlib") is None:
        assert proc.returncode != 0 and "--plot needs matplotlib" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "loss curve saved to curve.png" in proc.stdout


def test_plot_without_matplotlib_says_how_to_get_it(tmp_path):
    script = str(EXAMPLES / "digits_mlp.py")
    args = [sys.executable, "-c", HIDING_RUNNER, script, '["matplotlib"]', "--epochs", "1", "--plot"]
    proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "--plot needs matplotlib: pip install matplotlib" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_bad_options_are_refused(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "circles.py"), "--epochs", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "must be positive" in proc.stderr


def test_custom_op_example_passes_gradcheck_and_matches_the_builtin_ops(tmp_path):
    out = run_example("custom_op", cwd=tmp_path).stdout
    assert "gradcheck    : True" in out
    assert "same gradient as x * x.sigmoid(): True" in out
    assert "a gradient reached the first layer: True" in out
    # swish(1) = 1 * sigmoid(1) and its derivative there, s + s(1 - s)
    assert "swish(x)     = tensor([-0.2384,  0.0000,  0.7311,  2.8577]" in out
    assert "d/dx         = tensor([-0.0908,  0.5000,  0.9277,  1.0881])" in out


def test_graph_example_writes_the_dot_text_of_the_seed_model(tmp_path):
    # an empty PATH: no Graphviz, so only the DOT text is written, and the example says so
    proc = run([sys.executable, str(EXAMPLES / "graph.py"), "--out", "g"], tmp_path, env={"PATH": ""})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot"]
    assert "dot is not installed" in proc.stdout
    dot = (tmp_path / "g.dot").read_text()
    assert dot.startswith("digraph neograd {")
    for label in [
        "stack.0.weight\\n(10, 2) float32",
        "stack.2.bias\\n(1,) float32",
        "Relu\\n(8, 10) float32",
    ]:
        assert label in dot
    assert dot.count('label="Linear') == 2 and "BinaryCrossEntropy" in dot
