"""One training step of a matmul-bound MLP: where a NumPy framework should cost nothing beyond BLAS.

The workload (issue 6, section 2.2): a batch of 256 float32 inputs of 1024 features,

    Linear(1024, 1024) - ReLU - Linear(1024, 1024) - ReLU - Linear(1024, 10)

cross-entropy over 10 classes, plain SGD (lr 0.01). One iteration is one whole step:
``zero_grad``, forward, loss, ``backward``, ``step``. Three implementations run side by side:

- neograd: ``neograd.nn`` and ``neograd.optim.SGD``;
- numpy: the same step written by hand with NumPy, the floor (ReLU in place, the
  softmax-cross-entropy gradient ``softmax - onehot`` written directly);
- torch: ``torch.nn`` and ``torch.optim.SGD`` (when torch is installed).

All start from the same weights (torch's default initialisation drawn with NumPy from a
fixed seed); the losses of the first three steps and the weights after them are compared
before anything is timed, so a wrong step fails instead of being timed. Each fresh
subprocess reports the median of several loops of about 0.1 s (``bench_ops.time_step``);
the implementations take turns for a few rounds and the median over rounds is kept.

Target: neograd at most 1.05x hand NumPy's time.

Usage:
    python benchmarks/bench_mlp.py [--threads 1] [--repeats 7] [--rounds 3] [--json PATH]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# the shared subprocess runner, command line and result table
from bench_ops import check_agreement, cli, interleave, step_results, step_table, time_step

FRAMEWORKS = ("neograd", "numpy", "torch")
BATCH, SIZES, LR, SEED = 256, (1024, 1024, 1024, 10), 0.01, 0
TARGETS = {"neograd/numpy": 1.05}


def make_data() -> dict[str, Any]:
    """Inputs, labels and initial weights (torch's U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn with NumPy)."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    data = {
        "x": rng.standard_normal((BATCH, SIZES[0]), dtype=np.float32),
        "y": rng.integers(0, SIZES[-1], BATCH),
    }
    for i, (fan_in, fan_out) in enumerate(zip(SIZES, SIZES[1:])):
        bound = 1 / np.sqrt(fan_in)
        data[f"{2 * i}.weight"] = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        data[f"{2 * i}.bias"] = rng.uniform(-bound, bound, fan_out).astype(np.float32)
    return data


def numpy_step(data: dict[str, Any]) -> tuple[Callable[[], float], Callable[[], float]]:
    """The step by hand: returns (step, checksum); step() returns the loss."""
    import numpy as np

    x, y = data["x"], data["y"]
    weights = [data[f"{2 * i}.weight"].copy() for i in range(3)]
    biases = [data[f"{2 * i}.bias"].copy() for i in range(3)]
    rows = np.arange(BATCH)

    def step() -> float:
        # forward, keeping each layer's input (ReLU outputs give their own masks)
        h1 = x @ weights[0].T
        h1 += biases[0]
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ weights[1].T
        h2 += biases[1]
        np.maximum(h2, 0, out=h2)
        logits = h2 @ weights[2].T
        logits += biases[2]
        logits -= logits.max(axis=1, keepdims=True)  # NOTE: shifted so that exp cannot overflow
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[rows, y]).mean()
        # backward: d mean CE / d logits = (softmax - onehot) / batch
        grad = p
        grad[rows, y] -= 1
        grad /= BATCH
        grads = [(grad.T @ h2, grad.sum(axis=0))]
        grad = grad @ weights[2]
        grad *= h2 > 0
        grads.append((grad.T @ h1, grad.sum(axis=0)))
        grad = grad @ weights[1]
        grad *= h1 > 0
        grads.append((grad.T @ x, grad.sum(axis=0)))
        for w, b, (grad_w, grad_b) in zip(weights, biases, reversed(grads)):
            w -= LR * grad_w
            b -= LR * grad_b
        return float(loss)

    return step, lambda: float(sum(np.square(w, dtype=np.float64).sum() for w in weights))


def library_step(framework: str, data: dict[str, Any]) -> tuple[Callable[[], float], Callable[[], float]]:
    """The step with torch's API (neograd or torch): returns (step, checksum)."""
    if framework == "torch":
        import torch as lib
    else:
        import neograd as lib
    nn = lib.nn
    model = nn.Sequential(
        nn.Linear(SIZES[0], SIZES[1]),
        nn.ReLU(),
        nn.Linear(SIZES[1], SIZES[2]),
        nn.ReLU(),
        nn.Linear(SIZES[2], SIZES[3]),
    )
    model.load_state_dict({k: lib.from_numpy(v.copy()) for k, v in data.items() if "." in k})
    optimizer = lib.optim.SGD(model.parameters(), lr=LR)
    x, y = lib.from_numpy(data["x"]), lib.from_numpy(data["y"])

    def step() -> float:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    def checksum() -> float:
        return float(sum((p.detach().double() ** 2).sum().item() for p in model.parameters() if p.ndim == 2))

    return (lambda: float(step().item())), checksum


def worker(framework: str, threads: int, repeats: int) -> dict[str, Any]:
    """Run in the subprocess: check three steps, then time one step."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}; expected one of {FRAMEWORKS}")
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
    data = make_data()
    step, checksum = numpy_step(data) if framework == "numpy" else library_step(framework, data)
    losses = [step() for _ in range(3)]
    result = {"losses": losses, "checksum": checksum()}
    result["seconds"] = time_step(step, repeats)
    return result


def run(threads: int = 1, repeats: int = 7, rounds: int = 3) -> dict[str, Any]:
    """Time every framework (taking turns, ``rounds`` fresh subprocesses each) and compare.

    Returns:
        ``{"benchmark", "description", "threads", "repeats", "rounds", "unit", "times": {framework:
        ms}, "ratios": {"neograd/numpy", "neograd/torch"}, "target"}``; a framework that is
        not installed is missing.

    Raises:
        RuntimeError: if the losses or the weights after three steps differ.
    """
    rounds_of = interleave(__file__, FRAMEWORKS, threads, repeats, rounds)
    check_agreement("bench_mlp", rounds_of, "numpy")
    description = f"one SGD step, batch {BATCH}, MLP {'-'.join(map(str, SIZES))} (ReLU, cross-entropy)"
    return step_results("bench_mlp", description, rounds_of, threads, repeats, rounds, TARGETS)


format_table = step_table  # the table every one-step benchmark prints


def main(argv: list[str] | None = None) -> None:
    cli(__doc__, FRAMEWORKS, worker, run, format_table, repeats=7, argv=argv)


if __name__ == "__main__":
    main()
