"""Forward + backward of an LSTM layer: neograd's fused recurrence against torch and a composed version.

The workload (issue 10): ``LSTM(64, 128)``, a float32 sequence of 50 steps, batch 32;
one iteration is ``zero_grad``, forward, ``(output ** 2).mean() + (h_n ** 2).mean() +
(c_n ** 2).mean()`` and ``backward``. Three implementations run side by side:

- neograd: ``neograd.nn.LSTM`` (one input-projection matmul, then one fused scan node);
- per_step: one fused node per step instead (``F.lstm_cell`` in a Python loop: the
  step's input projection, the fused cell, and the slices of h and c);
- composed: the same LSTM written with neograd's primitive ops (matmul, sigmoid, tanh,
  mul, add, getitem, stack: about 14 nodes a step), what the fused node replaces;
- torch: ``torch.nn.LSTM`` (when torch is installed).

All start from the same weights (drawn with NumPy); the gradients are summed into a
checksum and compared before anything is timed, so a wrong computation fails instead of
being timed. Each fresh subprocess reports the median of several loops of about 0.1 s
(``bench_ops.time_step``); the implementations take turns for a few rounds and the median
over rounds is kept. One thread by default (torch.set_num_threads and the BLAS/OpenMP
thread variables), as the other benchmarks.

Target: neograd at most 2.0x torch's time.

Usage:
    python benchmarks/bench_lstm.py [--threads 1] [--repeats 7] [--rounds 3] [--json PATH]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# the shared subprocess runner, command line and result table
from bench_ops import cli, interleave, step_results, step_table, time_step

FRAMEWORKS = ("neograd", "per_step", "composed", "torch")
INPUT, HIDDEN, SEQ, BATCH, SEED = 64, 128, 50, 32, 0
TARGETS = {"neograd/torch": 2.0}
NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def make_data() -> dict[str, Any]:
    """The input and torch-initialised weights U(-1/sqrt(hidden), 1/sqrt(hidden)), drawn with NumPy."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    bound = 1 / np.sqrt(HIDDEN)
    shapes = {"weight_ih_l0": (4 * HIDDEN, INPUT), "weight_hh_l0": (4 * HIDDEN, HIDDEN)}
    shapes.update(bias_ih_l0=(4 * HIDDEN,), bias_hh_l0=(4 * HIDDEN,))
    data = {k: rng.uniform(-bound, bound, s).astype(np.float32) for k, s in shapes.items()}
    data["x"] = rng.standard_normal((SEQ, BATCH, INPUT), dtype=np.float32)
    return data


def composed_lstm(lib: Any, x: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> tuple[Any, Any, Any]:
    """The LSTM from primitive ops, one node per gate operation and step (what the fused scan replaces)."""
    h = c = lib.zeros(BATCH, HIDDEN)
    gx = x @ w_ih.T + b_ih
    outputs = []
    for t in range(SEQ):
        gates = gx[t] + h @ w_hh.T + b_hh
        i, f = gates[:, :HIDDEN].sigmoid(), gates[:, HIDDEN : 2 * HIDDEN].sigmoid()
        g, o = gates[:, 2 * HIDDEN : 3 * HIDDEN].tanh(), gates[:, 3 * HIDDEN :].sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        outputs.append(h)
    return lib.stack(outputs), h, c


def library_step(framework: str, data: dict[str, Any]) -> tuple[Callable[[], None], Callable[[], float]]:
    """One forward + backward with torch's API: returns (step, checksum of the gradients)."""
    if framework == "torch":
        import torch as lib
    else:
        import neograd as lib
    model = lib.nn.LSTM(INPUT, HIDDEN)
    model.load_state_dict({k: lib.from_numpy(data[k].copy()) for k in NAMES})
    x = lib.from_numpy(data["x"])
    params = [getattr(model, k) for k in NAMES]

    def step() -> None:
        for p in params:
            p.grad = None
        if framework == "composed":
            y, h, c = composed_lstm(lib, x, *params)
        elif framework == "per_step":
            h = c = lib.zeros(BATCH, HIDDEN)
            outputs = []
            for t in range(SEQ):
                h, c = lib.nn.functional.lstm_cell(x[t], (h, c), *params)
                outputs.append(h)
            y = lib.stack(outputs)
        else:
            y, (h, c) = model(x)
        loss = (y**2).mean() + (h**2).mean() + (c**2).mean()
        loss.backward()

    def checksum() -> float:
        return float(sum(p.grad.double().abs().sum().item() for p in params))

    return step, checksum


def worker(framework: str, threads: int, repeats: int) -> dict[str, Any]:
    """Run in the subprocess: one checked step, then time the step."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}; expected one of {FRAMEWORKS}")
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
    step, checksum = library_step(framework, make_data())
    step()
    return {"checksum": checksum(), "seconds": time_step(step, repeats)}


def run(threads: int = 1, repeats: int = 7, rounds: int = 3) -> dict[str, Any]:
    """Time every implementation (taking turns, ``rounds`` fresh subprocesses each) and compare.

    Returns:
        ``{"benchmark", "description", "threads", "repeats", "rounds", "unit", "times": {name: ms},
        "ratios": {"neograd/torch", "neograd/composed"}, "target"}``; torch is missing when not installed.

    Raises:
        RuntimeError: if the gradients' checksums differ.
    """
    rounds_of = interleave(__file__, FRAMEWORKS, threads, repeats, rounds)
    sums = {fw: rs[0]["checksum"] for fw, rs in rounds_of.items()}
    ref = sums["neograd"]
    if any(abs(s - ref) > 1e-4 * abs(ref) for s in sums.values()):
        raise RuntimeError(f"bench_lstm: the implementations' gradients differ: checksums {sums}")
    description = f"LSTM({INPUT}, {HIDDEN}) forward + backward, seq {SEQ}, batch {BATCH}, float32"
    return step_results("bench_lstm", description, rounds_of, threads, repeats, rounds, TARGETS)


format_table = step_table  # the table every one-step benchmark prints


def main(argv: list[str] | None = None) -> None:
    cli(__doc__, FRAMEWORKS, worker, run, format_table, repeats=7, argv=argv)


if __name__ == "__main__":
    main()
