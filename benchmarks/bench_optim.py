"""One Adam step over a 1M-parameter model: neograd.optim.Adam against torch.optim.Adam.

The model is four Linear(512, 512) layers as plain float32 tensors (4 weights of 512x512
and 4 biases of 512: 1,050,624 parameters), each with a fixed random gradient. One
iteration is one ``optimizer.step()``. Four implementations run side by side:

- neograd: ``neograd.optim.Adam``;
- numpy: the same update written by hand with in-place NumPy ufuncs, the floor;
- torch: ``torch.optim.Adam(foreach=False)``, one loop over the parameters as neograd's;
- torch-foreach: ``torch.optim.Adam(foreach=True)``, torch's default, batched over parameters.

Also reported: what neograd spends per step in ``inplace.mark_changed`` (the in-place
tracking that makes a graph which saved a parameter's old values refuse to backward).

Each implementation runs in several fresh subprocesses (interleaved, so that a noisy
machine hurts all alike) with the same thread count, set before NumPy or torch is
imported. Each process reports the median of several repeats of a loop of about 0.2 s;
the table gives the median over processes. Before timing, the parameters after a few
steps are summed and the sums compared, so a wrong update fails instead of being timed.

Usage:
    python benchmarks/bench_optim.py [--threads 1] [--repeats 7] [--processes 3] [--json PATH]

The target (issue 4): neograd's step no slower than torch's foreach=False.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Callable
from typing import Any

from bench_ops import interleave, time_step  # the same subprocesses, timing loop and threads

SHAPES = [(512, 512), (512,)] * 4
IMPLEMENTATIONS = ("neograd", "numpy", "torch", "torch-foreach")
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
TARGET = 1.0  # neograd / torch(foreach=False)


def make_arrays() -> tuple[list[Any], list[Any]]:
    """The same float32 parameters and gradients for every implementation (fixed seed)."""
    import numpy as np

    rng = np.random.default_rng(0)
    params = [(rng.standard_normal(s) * 0.05).astype(np.float32) for s in SHAPES]
    grads = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    return params, grads


def build(impl: str, threads: int) -> tuple[Callable[[], None], Callable[[], float]]:
    """Import the implementation (after the thread variables are set); return (step, checksum)."""
    params, grads = make_arrays()
    if impl == "neograd":
        import neograd.autograd as ng
        from neograd.optim import Adam

        tensors = [ng.tensor(p, requires_grad=True) for p in params]
        for t, g in zip(tensors, grads):
            t.grad = ng.tensor(g)
        opt = Adam(tensors, lr=LR, betas=BETAS, eps=EPS)
        return opt.step, lambda: float(sum(t.data.sum(dtype="float64") for t in tensors))
    if impl == "numpy":
        return numpy_adam(params, grads)
    if impl in ("torch", "torch-foreach"):
        import torch

        torch.set_num_threads(threads)
        tensors = [torch.tensor(p, requires_grad=True) for p in params]
        for t, g in zip(tensors, grads):
            t.grad = torch.tensor(g)
        opt = torch.optim.Adam(tensors, lr=LR, betas=BETAS, eps=EPS, foreach=impl == "torch-foreach")
        return opt.step, lambda: float(sum(t.detach().double().sum().item() for t in tensors))
    raise ValueError(f"unknown implementation {impl!r}; expected one of {IMPLEMENTATIONS}")


def numpy_adam(params: list[Any], grads: list[Any]) -> tuple[Callable[[], None], Callable[[], float]]:
    """Adam written by hand: in-place ufuncs and one scratch array per parameter, kept."""
    import numpy as np

    beta1, beta2 = BETAS
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    scratch = [np.empty_like(p) for p in params]
    t = [0]

    def step() -> None:
        t[0] += 1
        bias1, bias2_sqrt = 1 - beta1 ** t[0], (1 - beta2 ** t[0]) ** 0.5
        for p, g, m_, v_, buf in zip(params, grads, m, v, scratch):
            m_ *= beta1
            np.multiply(g, 1 - beta1, out=buf)
            m_ += buf
            v_ *= beta2
            np.multiply(g, g, out=buf)
            buf *= 1 - beta2
            v_ += buf
            np.sqrt(v_, out=buf)
            buf += EPS * bias2_sqrt
            np.divide(m_, buf, out=buf)
            buf *= LR / bias1 * bias2_sqrt
            p -= buf

    return step, lambda: float(sum(p.sum(dtype="float64") for p in params))


def mark_changed_cost(repeats: int) -> float:
    """Seconds neograd's Adam spends per step marking its 8 parameters as changed in place."""
    import numpy as np

    from neograd.autograd import inplace

    arrays = [np.zeros(s, dtype=np.float32) for s in SHAPES]

    def mark_all() -> None:
        for a in arrays:
            inplace.mark_changed(a)

    return time_step(mark_all, repeats)


def worker(impl: str, threads: int, repeats: int) -> dict[str, Any]:
    """Run in the subprocess: check a few steps, then time one step."""
    step, checksum = build(impl, threads)
    for _ in range(3):
        step()
    result = {"checksum": checksum(), "seconds": time_step(step, repeats)}
    if impl == "neograd":
        result["mark_changed_seconds"] = mark_changed_cost(repeats)
    return result


def run(threads: int = 1, repeats: int = 7, processes: int = 3) -> dict[str, Any]:
    """Time every implementation in ``processes`` fresh subprocesses each; return times and ratios.

    Returns:
        ``{"benchmark", "description", "threads", "repeats", "processes", "unit", "times":
        {impl: ms}, "mark_changed_ms", "ratios": {"neograd/torch", "neograd/torch-foreach",
        "neograd/numpy"}, "target"}``; an implementation that is not installed is missing.

    Raises:
        RuntimeError: if the implementations' parameters after three steps do not agree.
    """
    runs = interleave(__file__, IMPLEMENTATIONS, threads, repeats, processes)
    sums = {impl: r[0]["checksum"] for impl, r in runs.items()}
    ref = sums["numpy"]
    if any(abs(s - ref) > 1e-4 * max(1.0, abs(ref)) for s in sums.values()):
        raise RuntimeError(f"bench_optim: the parameters after three steps differ: sums {sums}")
    times = {impl: statistics.median(x["seconds"] for x in r) * 1e3 for impl, r in runs.items()}
    mark = statistics.median(x["mark_changed_seconds"] for x in runs["neograd"]) * 1e3
    ratios = {f"neograd/{impl}": times["neograd"] / times[impl] for impl in times if impl != "neograd"}
    return {
        "benchmark": "bench_optim",
        "description": f"one Adam step over {sum(math.prod(s) for s in SHAPES):,} float32 parameters "
        f"({len(SHAPES)} tensors)",
        "threads": threads,
        "repeats": repeats,
        "processes": processes,
        "unit": "ms per step",
        "times": times,
        "mark_changed_ms": mark,
        "ratios": ratios,
        "target": {"neograd/torch": TARGET},
    }


def format_table(results: dict[str, Any]) -> str:
    """The results as a text table: milliseconds per step, and neograd's ratio to each."""
    lines = [
        f"bench_optim: {results['description']}, {results['threads']} thread(s), median of "
        f"{results['repeats']} repeats in each of {results['processes']} fresh processes",
        f"{'implementation':<24}{'ms per step':>12}{'neograd / it':>14}",
        "-" * 50,
    ]
    for impl, ms in results["times"].items():
        ratio = "" if impl == "neograd" else f"{results['ratios'][f'neograd/{impl}']:.2f}"
        name = {"torch": "torch (foreach=False)", "torch-foreach": "torch (foreach=True)"}.get(impl, impl)
        lines.append(f"{name:<24}{ms:>12.3f}{ratio:>14}")
    lines.append(
        f"of neograd's step, inplace.mark_changed on the 8 parameters: {results['mark_changed_ms']:.4f} ms"
    )
    lines.append(f"target: neograd / torch (foreach=False) <= {results['target']['neograd/torch']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads (default 1)")
    parser.add_argument(
        "--repeats", type=int, default=7, help="timed repeats per process, median kept (default 7)"
    )
    parser.add_argument(
        "--processes", type=int, default=3, help="fresh processes per implementation (default 3)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--worker", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)  # internal
    args = parser.parse_args(argv)
    if min(args.threads, args.repeats, args.processes) < 1:
        parser.error("--threads, --repeats and --processes must be positive")

    if args.worker:
        try:
            result = worker(args.worker, args.threads, args.repeats)
        except ModuleNotFoundError:
            if not args.worker.startswith("torch"):
                raise
            sys.exit(3)  # torch is not installed: the parent leaves it out
        print(json.dumps(result))
        return

    results = run(args.threads, args.repeats, args.processes)
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
