"""The sequence examples (GPTs, LSTM, attention map) run as a user runs them, briefly.

Each is a subprocess on the installed packages: gpt_sort.py in full (it takes seconds and must
sort 99% of the held-out sequences), the others with few epochs and, for gpt.py, a small model
on a small text (its full run takes minutes).
matplotlib belongs to the examples environment, not the test one: where it is missing,
the attention map is drawn on a stand-in that records what it was given.
"""

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ACCURACY = re.compile(r"^test accuracy: ([0-9.]+)$", re.M)
EPOCH_LINE = re.compile(r"^epoch (\d+)/\d+  loss ([0-9.]+)  val ([0-9.]+)$", re.M)
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
PNG = b"\x89PNG\r\n\x1a\n"

# The Zen of Python four times: a small text whose characters a tiny model learns in seconds.
ZEN = "".join(
    {
        c: chr((ord(c) - base + 13) % 26 + base)
        for base in (65, 97)
        for c in map(chr, range(base, base + 26))
    }.get(c, c)
    for c in __import__("this").s
)
# a tiny model that still has every part: 2 blocks of 2 heads
TINY_GPT = ["--n-layer", "2", "--n-head", "2", "--n-embd", "32", "--block-size", "16", "--batch-size", "8"]

# Runs an example with a stand-in for matplotlib that records every imshow, then prints them as JSON.
FAKE_MATPLOTLIB_RUNNER = textwrap.dedent(
    """
    import json, runpy, sys, types
    script, *args = sys.argv[1:]
    sys.modules["tqdm"] = None
    shown = []

    class Axes:
        def imshow(self, data, **kwargs):
            shown.append(data.tolist())
        def __getattr__(self, name):
            return lambda *a, **k: None

    class Figure(Axes):
        def savefig(self, path, **kwargs):
            open(path, "wb").write(b"stand-in")

    def subplots(rows, cols, **kwargs):
        return Figure(), [[Axes() for _ in range(cols)] for _ in range(rows)]

    pyplot = types.ModuleType("matplotlib.pyplot")
    pyplot.subplots = subplots
    matplotlib = types.ModuleType("matplotlib")
    matplotlib.use = lambda backend: None
    matplotlib.pyplot = pyplot
    sys.modules.update({"matplotlib": matplotlib, "matplotlib.pyplot": pyplot})
    sys.path.insert(0, str(__import__("pathlib").Path(script).parent))
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")
    print("shown:", json.dumps(shown))
    """
)


# Runs an example as its script would run, tqdm hidden: one progress line per epoch, tqdm installed or not.
WITHOUT_TQDM_RUNNER = textwrap.dedent(
    """
    import runpy, sys
    script, *args = sys.argv[1:]
    sys.modules["tqdm"] = None  # `import tqdm` now raises ModuleNotFoundError
    sys.path.insert(0, str(__import__("pathlib").Path(script).parent))
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")
    """
)


# The same, but the run dies (KeyboardInterrupt, as a Ctrl-C) right after writing its first checkpoint.
CRASH_RUNNER = WITHOUT_TQDM_RUNNER.replace(
    "runpy.run_path",
    textwrap.dedent(
        """
        from neograd import nn
        add = nn.Checkpoint.add
        def add_then_die(self, *args, **kwargs):
            add(self, *args, **kwargs)
            raise KeyboardInterrupt
        nn.Checkpoint.add = add_then_die
        runpy.run_path"""
    ),
)


# NOTE: one BLAS thread. These models' matrices are small, and OpenBLAS threads that wait on each
# other on a busy machine made the full gpt_sort.py run 20 times slower (200 s instead of 10).
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run(args, cwd):
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, env=ONE_THREAD)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def run_example(name, *args, cwd):
    return run(
        [sys.executable, "-c", WITHOUT_TQDM_RUNNER, str(EXAMPLES / f"{name}.py"), *map(str, args)], cwd
    )


def accuracy_of(stdout):
    (value,) = ACCURACY.findall(stdout)
    return float(value)


@pytest.fixture
def zen(tmp_path):
    path = tmp_path / "zen.txt"
    path.write_text(ZEN * 4, encoding="utf-8")
    return path


def test_lstm_digits_learns_above_chance(tmp_path):
    proc = run_example("lstm_digits", "--epochs", 2, cwd=tmp_path)
    assert 0.5 <= accuracy_of(proc.stdout) <= 1  # chance is 0.1
    assert list(tmp_path.iterdir()) == []  # nothing written without --plot


@pytest.fixture(scope="module")
def sort_run(tmp_path_factory):
    """gpt_sort.py run in full (seconds), its weights saved: (its output, the weights' path)."""
    cwd = tmp_path_factory.mktemp("gpt_sort")
    proc = run_example("gpt_sort", "--save", "sort.safetensors", cwd=cwd)
    return proc.stdout, cwd / "sort.safetensors"


def test_gpt_sort_sorts_99_percent_of_held_out_sequences_and_saves_its_weights(sort_run):
    stdout, weights = sort_run
    assert 0.99 <= accuracy_of(stdout) <= 1  # the target; guessing gets 1 in several hundred
    assert re.search(r"^sorted exactly: \d+ of 182 held-out sequences$", stdout, re.M)
    assert "weights saved to sort.safetensors" in stdout
    assert weights.stat().st_size > 4 * 3 * 12 * 48 * 48  # at least the 3 blocks' weights in float32


def test_attention_map_hooks_catch_causal_weights_of_a_saved_model(sort_run, tmp_path):
    script = str(EXAMPLES / "attention_map.py")
    args = ["--model", str(sort_run[1]), "--sequence", "2", "0", "1", "2", "1", "0", "--out", "map.png"]
    proc = run([sys.executable, "-c", FAKE_MATPLOTLIB_RUNNER, script, *args], tmp_path)
    assert "no --model" not in proc.stdout  # it loaded the weights, it did not train
    assert "caught 3 layers x 3 heads of 11x11 attention weights" in proc.stdout
    (gap,) = re.findall(r"largest difference ([0-9.e+-]+)$", proc.stdout, re.M)
    assert float(gap) < 1e-5  # the weights are those the model used
    shown = json.loads(proc.stdout.splitlines()[-1].removeprefix("shown: "))
    assert len(shown) == 9
    for weights in shown:
        assert len(weights) == 11 and all(len(row) == 11 for row in weights)
        for i, row in enumerate(weights):
            assert math.isclose(sum(row), 1, abs_tol=1e-5)  # each row: a distribution...
            assert all(w == 0 for w in row[i + 1 :])  # ...over the positions up to its own
    assert (tmp_path / "map.png").read_bytes() == b"stand-in"


def test_attention_map_trains_a_model_when_none_is_given_and_draws_a_png(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "attention_map.py"), "--epochs", "1", "--out", "map.png"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=ONE_THREAD,
    )
    if not HAS_MATPLOTLIB:
        assert (
            proc.returncode == 1
            and "attention_map.py needs matplotlib: pip install matplotlib" in proc.stderr
        )
        assert list(tmp_path.iterdir()) == []
    else:
        assert proc.returncode == 0, proc.stderr
        assert "no --model: training the sort model for 1 epochs first" in proc.stdout
        assert (tmp_path / "map.png").read_bytes()[:8] == PNG
        assert "attention map saved to map.png" in proc.stdout


def test_gpt_learns_a_small_text_and_writes_a_sample(tmp_path, zen):
    args = [
        "--text",
        zen,
        *TINY_GPT,
        "--epochs",
        3,
        "--lr",
        "0.01",
        "--sample-length",
        50,
        "--prompt",
        "Beau",
    ]
    proc = run_example("gpt", *args, cwd=tmp_path)
    epochs = [(float(loss), float(val)) for _, loss, val in EPOCH_LINE.findall(proc.stdout)]
    assert len(epochs) == 3
    uniform = math.log(len(set(ZEN)))  # the loss of knowing nothing
    assert epochs[-1][1] < epochs[0][1] and epochs[-1][1] < uniform - 0.5
    sample = proc.stdout.split("sample:\n", 1)[1].rstrip("\n")
    assert sample.startswith("Beau") and len(sample) == 4 + 50
    assert set(sample) <= set(ZEN)
    assert list(tmp_path.iterdir()) == [zen]  # nothing written without --checkpoint or --plot


def test_gpt_resumed_from_its_checkpoint_ends_as_an_uninterrupted_run(tmp_path, zen):
    common = ["--text", zen, *TINY_GPT, "--sample-length", 40, "--dropout", "0.1"]
    whole = run_example("gpt", *common, "--epochs", 2, cwd=tmp_path).stdout
    script = str(EXAMPLES / "gpt.py")
    args = [*map(str, common), "--epochs", "2", "--checkpoint", "ckpt"]
    crash = subprocess.run(
        [sys.executable, "-c", CRASH_RUNNER, script, *args], cwd=tmp_path, capture_output=True, env=ONE_THREAD
    )
    assert crash.returncode != 0 and b"KeyboardInterrupt" in crash.stderr  # killed after epoch 1
    resumed = run_example(
        "gpt", *common, "--epochs", 2, "--checkpoint", "ckpt", "--resume", cwd=tmp_path
    ).stdout
    assert (tmp_path / "ckpt" / "checkpoints.json").exists()
    (val,) = re.findall(r"^resumed after epoch 1 \(validation loss ([0-9.]+)\)$", resumed, re.M)
    assert val == EPOCH_LINE.findall(whole)[0][2]
    assert [line[0] for line in EPOCH_LINE.findall(resumed)] == ["2"]  # only the second epoch ran
    assert EPOCH_LINE.findall(resumed)[0] == EPOCH_LINE.findall(whole)[1]
    # the same weights, random state and therefore the same sample, character for character
    assert resumed.split("sample:\n")[1] == whole.split("sample:\n")[1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--resume"], "--resume needs --checkpoint DIR"),
        (["--n-embd", "32", "--n-head", "3"], "--n-embd (32) must be a multiple of --n-head (3)"),
        (["--temperature", "0"], "must be > 0"),
    ],
)
def test_gpt_refuses_bad_options_before_training(options, message, tmp_path, zen):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "gpt.py"), "--text", str(zen), *options],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=ONE_THREAD,
    )
    assert proc.returncode == 1 and message in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_gpt_plot_draws_training_and_validation_losses_or_says_what_is_missing(tmp_path, zen):
    args = [sys.executable, str(EXAMPLES / "gpt.py"), "--text", str(zen), *TINY_GPT, "--epochs", "2"]
    proc = subprocess.run(
        [*args, "--sample-length", "5", "--plot", "curve.png"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=ONE_THREAD,
    )
    if not HAS_MATPLOTLIB:
        assert proc.returncode == 1 and "--plot needs matplotlib" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "curve.png").read_bytes()[:8] == PNG


def test_gpt_default_text_is_the_python_language_reference_shipped_with_python():
    code = f"import sys; sys.path.insert(0, {str(EXAMPLES)!r}); import gpt; print(gpt.reference_text())"
    text = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert len(text) > 100_000
    assert 'The "assert" statement' in text and "Assignment statements" in text
