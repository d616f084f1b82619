"""Per-op overhead: forward + backward of small programs on 16x16 float32 tensors.

On arrays this small the arithmetic takes a microsecond or two; what an autograd library
costs on top (creating tensors and graph nodes, checking arguments, walking the graph
backward) is what this benchmark measures. Three implementations of each program run
side by side:

- neograd: the program written with neograd.autograd, gradients by ``backward()``;
- numpy: the same forward and its backward written out by hand with NumPy, the floor
  that any NumPy-based autograd pays at the least;
- torch: the program written with torch (when it is installed), ``backward()``.

Each implementation runs in a fresh subprocess with the same thread count (OMP, OpenBLAS
and MKL thread variables are set before NumPy or torch is imported, and torch gets
``torch.set_num_threads``). Each program is timed as the median of several repeats, each
repeat a loop long enough to take about 0.1 s; the frameworks take turns for a few rounds
(a fresh process each time) and the median over the rounds is kept. Before timing, every
implementation's gradients are summed into a checksum and the checksums are compared, so
a benchmark of a wrong computation fails instead of reporting a time.

Usage:
    python benchmarks/bench_ops.py [--threads 1] [--repeats 7] [--rounds 3] [--json PATH]

From another script (the benchmark suite): ``results = bench_ops.run(threads=1, repeats=7, rounds=3)``
returns the same figures as a dict; ``format_table(results)`` prints them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

SIZE = 16  # every array is SIZE x SIZE (or a SIZE vector): small enough that overhead dominates
FRAMEWORKS = ("neograd", "numpy", "torch")
PROGRAMS = ("elementwise", "matmul_relu", "mlp")
TARGET = 0.6  # issue 14: neograd's forward + backward at most 0.6x torch's (eager)


# ---- the programs ------------------------------------------------------------------------
# Each builder returns {program name: (step, checksum)}: step() runs forward and backward
# once; checksum() sums the gradients the last step left, to compare the implementations.


def make_inputs() -> dict[str, Any]:
    """The same float32 inputs for every implementation (from a fixed seed)."""
    import numpy as np

    rng = np.random.default_rng(0)

    def randn(*shape: int, scale: float = 1.0) -> Any:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    return {
        "a": randn(SIZE, SIZE),
        "b": randn(SIZE, SIZE),
        "x": randn(SIZE, SIZE),
        "w1": randn(SIZE, SIZE, scale=0.25),
        "b1": randn(SIZE, scale=0.1),
        "w2": randn(SIZE, SIZE, scale=0.25),
        "b2": randn(SIZE, scale=0.1),
        "target": randn(SIZE, SIZE),
    }


def autograd_programs(lib: Any, to_tensor: Callable[[Any], Any]) -> dict[str, tuple[Callable, Callable]]:
    """The programs for a library with torch's API (neograd.autograd or torch).

    ``to_tensor`` turns an ndarray into a leaf tensor that requires grad.
    """
    t = {name: to_tensor(arr) for name, arr in make_inputs().items()}
    a, b, x, w1, b1, w2, b2 = (t[k] for k in ("a", "b", "x", "w1", "b1", "w2", "b2"))
    target = t["target"].detach()

    def zero_grad(*leaves: Any) -> None:
        for leaf in leaves:
            leaf.grad = None

    def checksum(*leaves: Any) -> Callable[[], float]:
        return lambda: float(sum(leaf.grad.sum().item() for leaf in leaves))

    def elementwise() -> None:
        zero_grad(a, b)
        c = a * b + a
        d = c.tanh()
        e = d.exp()
        loss = (e * c - b).sum()
        loss.backward()

    def matmul_relu() -> None:
        zero_grad(x, w1, b1)
        y = lib.relu(x @ w1 + b1)
        y.sum().backward()

    def mlp() -> None:
        zero_grad(x, w1, b1, w2, b2)
        h = lib.tanh(x @ w1 + b1)
        out = lib.sigmoid(h @ w2 + b2)
        diff = out - target
        loss = (diff * diff).mean()
        loss.backward()

    return {
        "elementwise": (elementwise, checksum(a, b)),
        "matmul_relu": (matmul_relu, checksum(x, w1, b1)),
        "mlp": (mlp, checksum(x, w1, b1, w2, b2)),
    }


def numpy_programs() -> dict[str, tuple[Callable, Callable]]:
    """The same programs with forward and backward written by hand: the floor."""
    import numpy as np

    t = make_inputs()
    a, b, x, w1, b1, w2, b2, target = (t[k] for k in ("a", "b", "x", "w1", "b1", "w2", "b2", "target"))
    grads: dict[str, Any] = {}

    def checksum() -> float:
        return float(sum(g.sum() for g in grads.values()))

    def elementwise() -> None:
        grads.clear()
        c = a * b + a
        d = np.tanh(c)
        e = np.exp(d)
        (e * c - b).sum()  # the loss
        grad_c = e.copy()  # d loss / dc through e * c
        grad_d = c * e  # d loss / de = c, and de/dd = e
        grad_c += grad_d * (1 - d * d)
        grads["a"] = grad_c * b + grad_c
        grads["b"] = grad_c * a - 1

    def matmul_relu() -> None:
        grads.clear()
        z = x @ w1 + b1
        y = np.maximum(z, 0)
        y.sum()  # the loss
        grad_z = (z > 0).astype(np.float32)  # d sum(relu(z)) / dz
        grads["x"] = grad_z @ w1.T
        grads["w1"] = x.T @ grad_z
        grads["b1"] = grad_z.sum(axis=0)

    def mlp() -> None:
        grads.clear()
        h = np.tanh(x @ w1 + b1)
        out = 0.5 * (np.tanh(0.5 * (h @ w2 + b2)) + 1)  # sigmoid, in its overflow-free form
        diff = out - target
        (diff * diff).mean()  # the loss
        grad_out = diff * (2 / diff.size)
        grad_z2 = grad_out * out * (1 - out)
        grads["w2"] = h.T @ grad_z2
        grads["b2"] = grad_z2.sum(axis=0)
        grad_z1 = (grad_z2 @ w2.T) * (1 - h * h)
        grads["x"] = grad_z1 @ w1.T
        grads["w1"] = x.T @ grad_z1
        grads["b1"] = grad_z1.sum(axis=0)

    return {name: (fn, checksum) for name, fn in zip(PROGRAMS, (elementwise, matmul_relu, mlp))}


def build(framework: str, threads: int) -> dict[str, tuple[Callable, Callable]]:
    """Import the framework (after the thread variables are set) and build its programs."""
    if framework == "numpy":
        return numpy_programs()
    if framework == "neograd":
        import neograd.autograd as ng

        return autograd_programs(ng, lambda arr: ng.tensor(arr, requires_grad=True))
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        return autograd_programs(torch, lambda arr: torch.tensor(arr, requires_grad=True))
    raise ValueError(f"unknown framework {framework!r}; expected one of {FRAMEWORKS}")


# ---- timing ------------------------------------------------------------------------------
# NOTE: NEOGRAD_BENCH_CLOCK=cpu times with the process's CPU time instead of the wall clock:
# on a busy shared machine it leaves out the time other processes take the CPU. It is only
# meaningful with one thread (it adds up the time of all threads). run_all.py --clock sets it.
clock = time.process_time if os.environ.get("NEOGRAD_BENCH_CLOCK") == "cpu" else time.perf_counter


def time_step(step: Callable[[], None], repeats: int, min_time: float = 0.1) -> float:
    """Median seconds per call of ``step`` over ``repeats`` loops of about ``min_time`` each.

    The garbage collector stays on, as in a real training loop.
    """
    for _ in range(20):  # warm up caches and any lazy initialisation
        step()
    number = 1
    while True:  # as timeit.autorange: grow the loop until it takes long enough to time
        start = clock()
        for _ in range(number):
            step()
        if clock() - start >= min_time:
            break
        number *= 2
    per_call = []
    for _ in range(repeats):
        start = clock()
        for _ in range(number):
            step()
        per_call.append((clock() - start) / number)
    return statistics.median(per_call)


def worker(framework: str, threads: int, repeats: int) -> dict[str, Any]:
    """Run in the subprocess: time every program of one framework."""
    programs = build(framework, threads)
    result = {}
    for name, (step, checksum) in programs.items():
        step()
        result[name] = {"checksum": checksum(), "seconds": time_step(step, repeats)}
    return result


def thread_env(threads: int) -> dict[str, str]:
    """The environment of a subprocess whose BLAS and OpenMP use ``threads`` threads."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
        env[var] = str(threads)
    return env


def run_worker(
    script: str, name: str, threads: int, repeats: int, env: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """Run ``script --worker name`` in a fresh subprocess and return its JSON result.

    Every benchmark times each framework this way, so that no framework's imports, caches
    or thread pools affect another's. ``env`` adds environment variables. Returns None
    when the worker says its framework is not installed (exit status 3: torch is optional).
    """
    cmd = [sys.executable, os.path.abspath(script), "--worker", name]
    cmd += ["--threads", str(threads), "--repeats", str(repeats)]
    proc = subprocess.run(cmd, env={**thread_env(threads), **(env or {})}, capture_output=True, text=True)
    if proc.returncode == 3:
        return None
    if proc.returncode != 0:
        raise RuntimeError(f"{os.path.basename(script)}: the {name} worker failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def interleave(
    script: str,
    names: Sequence[str],
    threads: int,
    repeats: int,
    rounds: int,
    env: dict[str, str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Run ``script``'s worker for each name in turn, ``rounds`` times: {name: one result per round}.

    Taking turns spreads a busy spell of a shared machine over all implementations instead
    of one. A name whose worker says it is not installed (torch) is left out of the result.
    """
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in list(results):
            result = run_worker(script, name, threads, repeats, env)
            if result is None:
                del results[name]
            else:
                results[name].append(result)
    return results


def run(threads: int = 1, repeats: int = 7, rounds: int = 3) -> dict[str, Any]:
    """Time every framework (each in its own subprocesses) and return times and ratios.

    The frameworks take turns, ``rounds`` times, each turn a fresh subprocess timing the
    median of ``repeats`` loops; a program's time is the median over the rounds. Taking
    turns spreads a busy spell of a shared machine over all frameworks instead of one.

    Returns:
        ``{"benchmark", "threads", "repeats", "rounds", "unit", "times": {program: {framework: us}},
        "ratios": {program: {"neograd/torch", "neograd/numpy"}}, "target"}``; programs
        include "total" (the sum of the programs); a framework that is not installed is
        missing from the times.

    Raises:
        RuntimeError: if the implementations' gradients do not agree.
    """
    rounds_of = interleave(__file__, FRAMEWORKS, threads, repeats, rounds)
    for program in PROGRAMS:
        sums = {fw: r[0][program]["checksum"] for fw, r in rounds_of.items()}
        ref = sums["numpy"]
        if any(abs(s - ref) > 1e-3 * max(1.0, abs(ref)) for s in sums.values()):
            raise RuntimeError(f"bench_ops: the gradients of {program!r} differ: checksums {sums}")
    times = {
        p: {fw: statistics.median(r[p]["seconds"] for r in rs) * 1e6 for fw, rs in rounds_of.items()}
        for p in PROGRAMS
    }
    times["total"] = {fw: sum(times[p][fw] for p in PROGRAMS) for fw in rounds_of}
    ratios = {}
    for program, row in times.items():
        ratios[program] = {
            "neograd/torch": row["neograd"] / row["torch"] if "torch" in row else None,
            "neograd/numpy": row["neograd"] / row["numpy"],
        }
    return {
        "benchmark": "bench_ops",
        "description": f"forward + backward on {SIZE}x{SIZE} float32",
        "threads": threads,
        "repeats": repeats,
        "rounds": rounds,
        "unit": "us per iteration",
        "times": times,
        "ratios": ratios,
        "target": {"neograd/torch": TARGET},
    }


def format_table(results: dict[str, Any]) -> str:
    """The results as a text table: times in microseconds per iteration, and the ratios."""
    fws = [fw for fw in FRAMEWORKS if fw in results["times"]["total"]]
    head = f"{'program':<14}" + "".join(f"{fw + ' (us)':>14}" for fw in fws)
    head += f"{'neograd/torch':>15}{'neograd/numpy':>15}"
    lines = [
        f"bench_ops: {results['description']}, {results['threads']} thread(s), "
        f"median of {results['rounds']} rounds x {results['repeats']} repeats",
        head,
        "-" * len(head),
    ]
    for program, row in results["times"].items():
        ratio = results["ratios"][program]
        vs_torch = ratio["neograd/torch"]
        line = f"{program:<14}" + "".join(f"{row[fw]:>14.1f}" for fw in fws)
        line += f"{'n/a' if vs_torch is None else f'{vs_torch:.2f}':>15}{ratio['neograd/numpy']:>15.2f}"
        lines.append(line)
    lines.append(f"target: neograd/torch <= {results['target']['neograd/torch']}")
    return "\n".join(lines)


def check_agreement(benchmark: str, rounds_of: dict[str, list[dict[str, Any]]], reference: str) -> None:
    """Raise RuntimeError unless every framework's losses and weight checksum after its first
    steps match the reference framework's (relative 1e-4): a benchmark of a wrong computation
    fails instead of reporting a time."""
    ref = rounds_of[reference][0]
    for fw, rs in rounds_of.items():
        got = rs[0]
        close = all(abs(a - b) <= 1e-4 * max(1.0, abs(b)) for a, b in zip(got["losses"], ref["losses"]))
        if not close or abs(got["checksum"] - ref["checksum"]) > 1e-4 * abs(ref["checksum"]):
            raise RuntimeError(
                f"{benchmark}: {fw} disagrees with {reference} after three steps: losses {got['losses']} "
                f"vs {ref['losses']}, weight checksums {got['checksum']} vs {ref['checksum']}"
            )


def step_results(
    benchmark: str,
    description: str,
    rounds_of: dict[str, list[dict[str, Any]]],
    threads: int,
    repeats: int,
    rounds: int,
    targets: dict[str, float],
) -> dict[str, Any]:
    """The results of a benchmark that times one step per framework: median ms and neograd's ratios."""
    times = {fw: statistics.median(r["seconds"] for r in rs) * 1e3 for fw, rs in rounds_of.items()}
    return {
        "benchmark": benchmark,
        "description": description,
        "threads": threads,
        "repeats": repeats,
        "rounds": rounds,
        "unit": "ms per step",
        "times": times,
        "ratios": {f"neograd/{fw}": times["neograd"] / times[fw] for fw in times if fw != "neograd"},
        "target": targets,
    }


def step_table(results: dict[str, Any]) -> str:
    """The results of :func:`step_results` as a text table."""
    lines = [
        f"{results['benchmark']}: {results['description']}, {results['threads']} thread(s), "
        f"median of {results['rounds']} rounds x {results['repeats']} repeats",
        f"{'framework':<10}{'ms per step':>13}{'neograd / it':>14}",
    ]
    lines.append("-" * len(lines[-1]))
    for fw, ms in results["times"].items():
        ratio = "" if fw == "neograd" else f"{results['ratios'][f'neograd/{fw}']:.3f}"
        lines.append(f"{fw:<10}{ms:>13.2f}{ratio:>14}")
    lines.append("targets: " + ", ".join(f"{k} <= {v}" for k, v in results["target"].items()))
    return "\n".join(lines)


def cli(
    doc: str,
    frameworks: tuple[str, ...],
    worker: Callable[[str, int, int], dict[str, Any]],
    run: Callable[[int, int, int], dict[str, Any]],
    format_table: Callable[[dict[str, Any]], str],
    repeats: int,
    argv: list[str] | None = None,
) -> None:
    """The command line every benchmark shares: time all frameworks, or be one worker subprocess."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads (default 1)")
    parser.add_argument(
        "--repeats", type=int, default=repeats, help=f"timed repeats per process (default {repeats})"
    )
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per framework (default 3)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--worker", choices=frameworks, help=argparse.SUPPRESS)  # internal: one subprocess
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


def main(argv: list[str] | None = None) -> None:
    cli(__doc__, FRAMEWORKS, worker, run, format_table, repeats=7, argv=argv)


if __name__ == "__main__":
    main()
