"""The digits CNN: training time of a small convolutional network, neograd against torch.

The workload (issue 3, section 8): scikit-learn's ``load_digits`` as (N, 1, 8, 8) float32
scaled to [0, 1], a fixed 80/20 train/test split, and

    Conv2d(1, 16, 3, padding=1) - ReLU - MaxPool2d(2) - Conv2d(16, 32, 3, padding=1) - ReLU -
    MaxPool2d(2) - Flatten - Linear(128, 10)

trained with cross-entropy and Adam(lr=1e-2), batch 64, 5 epochs, float32. Both frameworks
start from the same initial weights (torch's default initialisation, drawn once with NumPy
from a fixed seed) and see the same batches in the same order, so their test accuracies
should agree closely. Targets: neograd's training time at most 2x torch's, test accuracy
at least 0.95.

Each framework runs in a fresh subprocess with the same thread count (the OMP, OpenBLAS
and MKL variables are set before NumPy or torch is imported; torch also gets
``set_num_threads``). A repeat builds the model from the initial weights and times the 5
training epochs (not the data loading or the evaluation); the median of the repeats is
kept. The frameworks take turns for a few rounds, and the median over the rounds is
reported, so that a busy spell of a shared machine is spread over both.

Usage:
    python benchmarks/bench_digits_cnn.py [--threads 1] [--repeats 5] [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from bench_ops import run_worker  # the same subprocesses and thread settings as the others

FRAMEWORKS = ("neograd", "torch")
EPOCHS, BATCH, LR, SEED = 5, 64, 1e-2, 0
TARGET_RATIO, TARGET_ACCURACY = 2.0, 0.95


def load_data() -> dict[str, Any]:
    """The digits as float32 (N, 1, 8, 8) in [0, 1], split 80/20 with a fixed seed, and the batch order."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)
    rng = np.random.default_rng(SEED)
    n = len(x_train)
    batches = [
        order[i : i + BATCH]
        for order in (rng.permutation(n) for _ in range(EPOCHS))
        for i in range(0, n, BATCH)
    ]
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test, "batches": batches}


def initial_weights() -> dict[str, Any]:
    """torch's default initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases),
    drawn with NumPy, under the Sequential's state_dict names."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    shapes = {"0": (16, 1, 3, 3), "3": (32, 16, 3, 3), "7": (10, 128)}
    weights = {}
    for layer, shape in shapes.items():
        bound = 1 / np.sqrt(np.prod(shape[1:]))
        weights[f"{layer}.weight"] = rng.uniform(-bound, bound, shape).astype(np.float32)
        weights[f"{layer}.bias"] = rng.uniform(-bound, bound, shape[0]).astype(np.float32)
    return weights


def build(lib: Any) -> Any:
    """The network, from ``lib.nn`` (neograd.nn or torch.nn)."""
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128, 10),
    )


def worker(framework: str, threads: int, repeats: int) -> dict[str, Any]:
    """Run in the subprocess: train ``repeats`` times from the same start; times, loss and accuracy."""
    import numpy as np

    if framework == "torch":
        import torch as lib

        lib.set_num_threads(threads)
        to_tensor = lib.from_numpy
    elif framework == "neograd":
        import neograd as lib

        to_tensor = lib.from_numpy
    else:
        raise ValueError(f"unknown framework {framework!r}; expected one of {FRAMEWORKS}")
    data = load_data()
    weights = initial_weights()
    x_train, y_train = data["x_train"], data["y_train"]

    def train() -> tuple[Any, float, float]:
        model = build(lib)
        model.load_state_dict({k: to_tensor(v.copy()) for k, v in weights.items()})
        optimizer = lib.optim.Adam(model.parameters(), lr=LR)
        start = time.perf_counter()
        for idx in data["batches"]:
            loss = lib.nn.functional.cross_entropy(model(to_tensor(x_train[idx])), to_tensor(y_train[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return model, time.perf_counter() - start, float(loss.item())

    seconds = []
    for _ in range(repeats):
        model, elapsed, last_loss = train()
        seconds.append(elapsed)
    model.eval()
    with lib.no_grad():
        logits = model(to_tensor(data["x_test"]))
    accuracy = float((np.asarray(logits.numpy()).argmax(axis=1) == data["y_test"]).mean())
    return {"seconds": statistics.median(seconds), "last_loss": last_loss, "accuracy": accuracy}


def run(threads: int = 1, repeats: int = 5, rounds: int = 3) -> dict[str, Any]:
    """Train with every framework (taking turns, ``rounds`` fresh subprocesses each) and compare.

    Returns:
        ``{"benchmark", "threads", "repeats", "rounds", "unit", "times": {framework: seconds},
        "accuracy": {framework: ...}, "last_loss": {framework: ...}, "ratios": {"neograd/torch"},
        "target"}``; a framework that is not installed is missing.
    """
    rounds_of: dict[str, list[dict[str, Any]]] = {fw: [] for fw in FRAMEWORKS}
    for _ in range(rounds):
        for fw in list(rounds_of):
            result = run_worker(__file__, fw, threads, repeats)
            if result is None:
                del rounds_of[fw]
            else:
                rounds_of[fw].append(result)
    times = {fw: statistics.median(r["seconds"] for r in rs) for fw, rs in rounds_of.items()}
    return {
        "benchmark": "bench_digits_cnn",
        "description": f"digits CNN, {EPOCHS} epochs of Adam(lr={LR}), batch {BATCH}, float32",
        "threads": threads,
        "repeats": repeats,
        "rounds": rounds,
        "unit": "seconds of training",
        "times": times,
        "accuracy": {fw: rs[-1]["accuracy"] for fw, rs in rounds_of.items()},
        "last_loss": {fw: rs[-1]["last_loss"] for fw, rs in rounds_of.items()},
        "ratios": {"neograd/torch": times["neograd"] / times["torch"] if "torch" in times else None},
        "target": {"neograd/torch": TARGET_RATIO, "accuracy": TARGET_ACCURACY},
    }


def format_table(results: dict[str, Any]) -> str:
    """The results as a text table."""
    lines = [
        f"bench_digits_cnn: {results['description']}, {results['threads']} thread(s), "
        f"median of {results['rounds']} rounds x {results['repeats']} repeats",
        f"{'framework':<10}{'train (s)':>12}{'test accuracy':>15}{'last loss':>12}",
    ]
    lines.append("-" * len(lines[-1]))
    for fw, seconds in results["times"].items():
        lines.append(
            f"{fw:<10}{seconds:>12.3f}{results['accuracy'][fw]:>15.4f}{results['last_loss'][fw]:>12.4f}"
        )
    ratio = results["ratios"]["neograd/torch"]
    lines.append(f"neograd/torch: {'n/a' if ratio is None else f'{ratio:.2f}'}")
    lines.append(f"targets: neograd/torch <= {TARGET_RATIO}, test accuracy >= {TARGET_ACCURACY}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads (default 1)")
    parser.add_argument("--repeats", type=int, default=5, help="timed trainings per process (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per framework (default 3)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)  # internal: one subprocess
    args = parser.parse_args(argv)
    if min(args.threads, args.repeats, args.rounds) < 1:
        parser.error("--threads, --repeats and --rounds must be positive")

    if args.worker:
        try:
            result = worker(args.worker, args.threads, args.repeats)
        except ModuleNotFoundError as e:
            if args.worker != "torch" or e.name != "torch":
                raise
            sys.exit(3)  # torch is not installed: the parent leaves it out
        print(json.dumps(result))
        return

    results = run(args.threads, args.repeats, args.rounds)
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
