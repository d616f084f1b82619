"""The original project's task: 1000 full-batch gradient-descent steps of a 2-10-1 network.

The workload (issue 6, section 2.1): scikit-learn's ``make_circles(1000, noise=0.05,
random_state=100)``, split 750/250 with a fixed seed, float32, and

    Linear(2, 10) - ReLU - Linear(10, 1) - Sigmoid

trained with binary cross-entropy (mean) by full-batch gradient descent, lr 0.15, 1000
iterations. The arrays are tiny (750 x 10 at most), so what a framework costs per
operation decides the time. Three implementations run side by side:

- neograd: ``neograd.nn`` and ``neograd.optim.SGD`` (batch-first, as torch);
- numpy: the same forward and backward written by hand with NumPy, the floor; it uses the
  simplification a careful person makes (the gradient of BCE through the sigmoid is
  ``(p - y) / n``) and ``sum(axis=0)`` for the bias gradients;
- torch: ``torch.nn`` and ``torch.optim.SGD`` (when torch is installed).

All three start from the same weights (He-normal, drawn once with NumPy from a fixed seed),
so their final losses must agree; the benchmark fails otherwise. One repeat times the
1000 iterations (not the data loading); each fresh subprocess trains once untimed (the
warm-up), then reports the median of its repeats, and the frameworks take turns for a
few rounds (median over rounds).

Targets: neograd at most 0.5x torch's time and at most 2x hand NumPy's.

Usage:
    python benchmarks/bench_seed.py [--threads 1] [--repeats 5] [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from bench_ops import cli, clock, interleave  # the shared subprocess runner and command line

FRAMEWORKS = ("neograd", "numpy", "torch")
ITERATIONS, LR, SEED = 1000, 0.15, 0
TARGETS = {"neograd/numpy": 1.6, "neograd/torch": 0.5}  # issue 14: eager mode, without ng.compile


def load_data() -> dict[str, Any]:
    """make_circles as the original example, 750 training and 250 test points, float32; labels as (n, 1)."""
    import numpy as np
    from sklearn.datasets import make_circles
    from sklearn.model_selection import train_test_split

    x, y = make_circles(n_samples=1000, noise=0.05, random_state=100)
    x_train, x_test, y_train, y_test = train_test_split(
        x.astype(np.float32), y.astype(np.float32)[:, None], train_size=750, random_state=SEED
    )
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def initial_weights() -> dict[str, Any]:
    """He-normal weights (N(0, 2 / fan_in)) and zero biases, under the Sequential's state_dict names."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    weights = {}
    for layer, (fan_out, fan_in) in {"0": (10, 2), "2": (1, 10)}.items():
        weights[f"{layer}.weight"] = (rng.standard_normal((fan_out, fan_in)) * np.sqrt(2 / fan_in)).astype(
            np.float32
        )
        weights[f"{layer}.bias"] = np.zeros(fan_out, np.float32)
    return weights


def numpy_training(data: dict[str, Any], weights: dict[str, Any]) -> Callable[[], tuple[float, Any]]:
    """Training by hand: returns train(), which runs the loop and returns (last loss, predict)."""
    import numpy as np

    x, y = data["x_train"], data["y_train"]
    n = len(x)

    def train() -> tuple[float, Any]:
        w1, b1, w2, b2 = (weights[k].copy() for k in ("0.weight", "0.bias", "2.weight", "2.bias"))
        for _ in range(ITERATIONS):
            z1 = x @ w1.T
            z1 += b1
            h = np.maximum(z1, 0)
            z2 = h @ w2.T
            z2 += b2
            p = 0.5 * (np.tanh(0.5 * z2) + 1)  # sigmoid, in its overflow-free form
            loss = -(y * np.log(p) + (1 - y) * np.log1p(-p)).mean()
            grad_z2 = (p - y) / n  # d mean BCE(sigmoid(z2)) / d z2
            grad_w2, grad_b2 = grad_z2.T @ h, grad_z2.sum(axis=0)
            grad_z1 = grad_z2 @ w2
            grad_z1 *= z1 > 0
            grad_w1, grad_b1 = grad_z1.T @ x, grad_z1.sum(axis=0)
            for param, grad in ((w1, grad_w1), (b1, grad_b1), (w2, grad_w2), (b2, grad_b2)):
                param -= LR * grad

        def predict(inputs: Any) -> Any:
            return np.maximum(inputs @ w1.T + b1, 0) @ w2.T + b2 > 0

        return float(loss), predict

    return train


def library_training(framework: str, data: dict[str, Any], weights: dict[str, Any]) -> Callable:
    """The same loop with torch's API (neograd or torch): returns train() -> (last loss, predict)."""
    if framework == "torch":
        import torch as lib
    else:
        import neograd as lib
    x, y = lib.from_numpy(data["x_train"]), lib.from_numpy(data["y_train"])

    def train() -> tuple[float, Any]:
        nn = lib.nn
        model = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1), nn.Sigmoid())
        model.load_state_dict({k: lib.from_numpy(v.copy()) for k, v in weights.items()})
        loss_fn = nn.BCELoss()
        optimizer = lib.optim.SGD(model.parameters(), lr=LR)
        for _ in range(ITERATIONS):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()

        def predict(inputs: Any) -> Any:
            with lib.no_grad():
                return model(lib.from_numpy(inputs)).numpy() > 0.5

        return float(loss.item()), predict

    return train


def worker(framework: str, threads: int, repeats: int) -> dict[str, Any]:
    """Run in the subprocess: train ``repeats`` times from the same start; time, last loss, test accuracy."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}; expected one of {FRAMEWORKS}")
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
    data, weights = load_data(), initial_weights()
    if framework == "numpy":
        train = numpy_training(data, weights)
    else:
        train = library_training(framework, data, weights)
    train()  # NOTE: warm-up, untimed: a framework's first steps pay for lazy initialisation
    seconds = []
    for _ in range(repeats):
        start = clock()
        loss, predict = train()
        seconds.append(clock() - start)
    accuracy = float((predict(data["x_test"]) == (data["y_test"] > 0.5)).mean())
    return {"seconds": statistics.median(seconds), "loss": loss, "accuracy": accuracy}


def run(threads: int = 1, repeats: int = 5, rounds: int = 3) -> dict[str, Any]:
    """Train with every framework (taking turns, ``rounds`` fresh subprocesses each) and compare.

    Returns:
        ``{"benchmark", "description", "threads", "repeats", "rounds", "unit", "times": {framework:
        ms}, "loss", "accuracy", "ratios": {"neograd/torch", "neograd/numpy"}, "target"}``; a
        framework that is not installed is missing.

    Raises:
        RuntimeError: if the final losses of the implementations differ.
    """
    rounds_of = interleave(__file__, FRAMEWORKS, threads, repeats, rounds)
    losses = {fw: rs[0]["loss"] for fw, rs in rounds_of.items()}
    if any(abs(v - losses["numpy"]) > 1e-4 for v in losses.values()):
        raise RuntimeError(f"bench_seed: the final losses differ: {losses}")
    times = {fw: statistics.median(r["seconds"] for r in rs) * 1e3 for fw, rs in rounds_of.items()}
    return {
        "benchmark": "bench_seed",
        "description": f"make_circles 2-10-1 MLP, {ITERATIONS} full-batch GD steps (lr {LR}), float32",
        "threads": threads,
        "repeats": repeats,
        "rounds": rounds,
        "unit": "ms per training",
        "times": times,
        "loss": losses,
        "accuracy": {fw: rs[0]["accuracy"] for fw, rs in rounds_of.items()},
        "ratios": {f"neograd/{fw}": times["neograd"] / times[fw] for fw in times if fw != "neograd"},
        "target": TARGETS,
    }


def format_table(results: dict[str, Any]) -> str:
    """The results as a text table."""
    lines = [
        f"bench_seed: {results['description']}, {results['threads']} thread(s), "
        f"median of {results['rounds']} rounds x {results['repeats']} repeats",
        f"{'framework':<10}{'train (ms)':>12}{'neograd / it':>14}{'final loss':>12}{'test accuracy':>15}",
    ]
    lines.append("-" * len(lines[-1]))
    for fw, ms in results["times"].items():
        ratio = "" if fw == "neograd" else f"{results['ratios'][f'neograd/{fw}']:.2f}"
        lines.append(
            f"{fw:<10}{ms:>12.1f}{ratio:>14}{results['loss'][fw]:>12.5f}{results['accuracy'][fw]:>15.3f}"
        )
    lines.append("targets: " + ", ".join(f"{k} <= {v}" for k, v in results["target"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    cli(__doc__, FRAMEWORKS, worker, run, format_table, repeats=5, argv=argv)


if __name__ == "__main__":
    main()
