"""Peak memory of training: where auto-removal shows (freed activations and gradients must not linger).

The workload (issue 6, section 2.4): eight ``Linear(2048, 2048)`` + ``ReLU`` layers, a batch
of 2048 float32 inputs, mean squared error against a fixed target, and two steps of plain
SGD (``zero_grad``, forward, loss, ``backward``, ``step``). Weights, input and target are
16 MiB each, so the model is 128 MiB and every saved activation another 16 MiB.

The figure is the peak resident set size (VmHWM, or ``ru_maxrss`` where /proc is missing)
above the process's resident size right after importing the framework: interpreter plus
NumPy, plus torch for torch. It includes the weights, the data and everything training
allocates. Three implementations:

- neograd: ``neograd.nn`` and ``neograd.optim.SGD``;
- numpy: the same two steps written by hand, keeping only what backward needs, as a
  careful person would: each layer's ReLU output (it is both the next layer's input,
  needed for that layer's weight gradient, and its own ReLU mask), the loss's difference
  ``out - target`` turned into its gradient in place, each activation dropped as soon as
  backward has used it; gradients are kept until the update, as the frameworks keep ``.grad``;
- torch: ``torch.nn`` and ``torch.optim.SGD`` (when torch is installed).

All three start from the same weights (drawn with NumPy from a fixed seed) and must reach
the same loss. Each runs in a fresh subprocess (the peak of a process only grows), a few
times in turn; the median is reported.

NOTE: the workers run with ``MALLOC_MMAP_THRESHOLD_`` set to 1 MiB, so that glibc gives every
array of 1 MiB or more its own mapping, returned to the system when the array is freed.
glibc's default raises that threshold after the first large free and then serves 16 MiB
arrays from its heap, where freed blocks stay resident until the heap's top is free: the
peak then measures heap fragmentation as much as what is alive, varies by tens of MiB from
run to run, and doubles torch's. ``--malloc default`` measures with glibc's defaults.
``--trace`` shows where neograd's memory goes: the NumPy memory alive at each stage of the
two steps, and its peak, traced with tracemalloc, next to the hand-written version's.

Targets: neograd's peak at most 1.1x hand NumPy's and at most torch's.

Usage:
    python benchmarks/bench_memory.py [--rounds 3] [--malloc default] [--json PATH] [--trace]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import sys
from typing import Any

from bench_ops import interleave  # the same subprocesses and thread settings as the others

FRAMEWORKS = ("neograd", "numpy", "torch")
LAYERS, WIDTH, BATCH, STEPS, LR, SEED = 8, 2048, 2048, 2, 0.01, 0
TARGETS = {"neograd/numpy": 1.1, "neograd/torch": 1.0}
MIB = 1 << 20
FIXED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(MIB)}  # see the NOTE above


def memory() -> dict[str, int]:
    """Resident size now and its peak so far, in bytes."""
    try:
        with open("/proc/self/status") as f:
            fields = dict(line.split(":", 1) for line in f)
        return {"rss": int(fields["VmRSS"].split()[0]) * 1024, "peak": int(fields["VmHWM"].split()[0]) * 1024}
    except OSError:  # no /proc (macOS): ru_maxrss is in bytes there, and there is no current size
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak *= 1 if sys.platform == "darwin" else 1024
        return {"rss": peak, "peak": peak}


def make_data() -> dict[str, Any]:
    """Input, target and the weights, float32, drawn without float64 temporaries."""
    import numpy as np

    rng = np.random.default_rng(SEED)

    def uniform(shape: tuple[int, ...], bound: float) -> Any:
        a = rng.random(shape, dtype=np.float32)
        a -= 0.5
        a *= 2 * bound
        return a

    bound = 1 / WIDTH**0.5  # torch's default initialisation
    data = {
        "x": rng.standard_normal((BATCH, WIDTH), dtype=np.float32),
        "target": rng.standard_normal((BATCH, WIDTH), dtype=np.float32) * np.float32(0.1),
    }
    for i in range(LAYERS):
        data[f"{2 * i}.weight"] = uniform((WIDTH, WIDTH), bound)
        data[f"{2 * i}.bias"] = uniform((WIDTH,), bound)
    return data


def numpy_training(data: dict[str, Any]) -> float:
    """The two steps by hand; returns the last loss."""
    import numpy as np

    x, target = data.pop("x"), data.pop("target")
    weights = [data.pop(f"{2 * i}.weight") for i in range(LAYERS)]
    biases = [data.pop(f"{2 * i}.bias") for i in range(LAYERS)]

    # a function, so that nothing of one step outlives it (as a framework's step keeps only .grad)
    def forward_backward() -> tuple[float, list[tuple[Any, Any]]]:
        outputs = [x]
        for w, b in zip(weights, biases):
            z = outputs[-1] @ w.T
            z += b
            np.maximum(z, 0, out=z)  # ReLU in place: the output is its own mask
            outputs.append(z)
        del z
        out = outputs.pop()
        diff = out - target
        loss = float(diff.ravel() @ diff.ravel()) / diff.size
        diff *= 2 / diff.size  # d loss / d out, in place
        grad, grads = diff, []
        del diff
        for i in reversed(range(LAYERS)):
            grad *= out > 0  # ReLU's gradient
            inp = outputs.pop()
            grads.append((grad.T @ inp, grad.sum(axis=0)))
            if i:
                grad = grad @ weights[i]
            out = inp  # this layer's output is no longer needed
        return loss, grads[::-1]

    for _ in range(STEPS):
        loss, grads = forward_backward()
        for w, b, (grad_w, grad_b) in zip(weights, biases, grads):
            w -= LR * grad_w
            b -= LR * grad_b
        del grads, grad_w, grad_b  # zero_grad(set_to_none=True)
    return loss


def build_library(framework: str, data: dict[str, Any]) -> tuple[Any, Any, Any, Any, Any]:
    """The model (with the given weights), optimizer, input and target with torch's API: (lib, ...)."""
    if framework == "torch":
        import torch as lib
    else:
        import neograd as lib
    nn = lib.nn
    layers = []
    for i in range(LAYERS):
        linear = nn.Linear(WIDTH, WIDTH)
        with lib.no_grad():
            linear.weight.copy_(lib.from_numpy(data.pop(f"{2 * i}.weight")))
            linear.bias.copy_(lib.from_numpy(data.pop(f"{2 * i}.bias")))
        layers += [linear, nn.ReLU()]
    model = nn.Sequential(*layers)
    optimizer = lib.optim.SGD(model.parameters(), lr=LR)
    return lib, model, optimizer, lib.from_numpy(data.pop("x")), lib.from_numpy(data.pop("target"))


def library_training(framework: str, data: dict[str, Any]) -> float:
    """The two steps with torch's API (neograd or torch); returns the last loss."""
    lib, model, optimizer, x, target = build_library(framework, data)
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = lib.nn.functional.mse_loss(model(x), target)
        loss.backward()
        optimizer.step()
    return float(loss.item())


def worker(framework: str, threads: int, repeats: int) -> dict[str, Any]:
    """Run in the subprocess: the peak resident size of two training steps above the imports."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}; expected one of {FRAMEWORKS}")
    import numpy  # noqa: F401 -- part of the baseline

    if framework != "numpy":
        lib = __import__(framework)
        if framework == "torch":
            lib.set_num_threads(threads)
    gc.collect()
    baseline = memory()["rss"]
    data = make_data()
    setup = memory()["rss"] - baseline  # weights, input and target
    loss = numpy_training(data) if framework == "numpy" else library_training(framework, data)
    return {"peak": memory()["peak"] - baseline, "setup": setup, "loss": loss}


def trace() -> str:
    """The NumPy memory alive at each stage of neograd's two steps, and the hand-written peak (tracemalloc).

    Weights, input and target exist before tracing starts, so every figure is above them.
    """
    import tracemalloc

    lines = []
    data = make_data()
    tracemalloc.start()
    numpy_training(data)
    lines.append(f"numpy (by hand): peak {tracemalloc.get_traced_memory()[1] / MIB:.1f} MiB")
    tracemalloc.stop()

    lib, model, optimizer, x, target = build_library("neograd", make_data())
    tracemalloc.start()

    def stage(name: str) -> None:
        now, peak = tracemalloc.get_traced_memory()
        lines.append(f"neograd {name:<22} alive {now / MIB:7.1f} MiB, peak since last {peak / MIB:7.1f}")
        tracemalloc.reset_peak()

    for step in range(1, STEPS + 1):
        optimizer.zero_grad()
        stage(f"step {step}: zero_grad")
        out = model(x)
        stage(f"step {step}: forward")
        loss = lib.nn.functional.mse_loss(out, target)
        del out
        stage(f"step {step}: loss")
        loss.backward()
        stage(f"step {step}: backward")
        optimizer.step()
        stage(f"step {step}: optimizer")
    tracemalloc.stop()
    return "\n".join(lines)


def run(threads: int = 1, repeats: int = 1, rounds: int = 3, malloc: str = "fixed") -> dict[str, Any]:
    """Measure every framework (taking turns, ``rounds`` fresh subprocesses each) and compare.

    ``malloc="default"`` leaves glibc's allocator settings alone (see the NOTE above).

    Returns:
        ``{"benchmark", "description", "threads", "rounds", "unit", "times": {framework: MiB},
        "setup": {framework: MiB}, "ratios", "target"}``; "times" holds the peaks, under the
        key the other benchmarks use for their main figure.

    Raises:
        RuntimeError: if the losses after two steps differ.
    """
    env = FIXED_MALLOC if malloc == "fixed" else None
    rounds_of = interleave(__file__, FRAMEWORKS, threads, repeats, rounds, env)
    losses = {fw: rs[0]["loss"] for fw, rs in rounds_of.items()}
    if any(abs(v - losses["numpy"]) > 1e-4 * max(1.0, abs(losses["numpy"])) for v in losses.values()):
        raise RuntimeError(f"bench_memory: the losses after {STEPS} steps differ: {losses}")
    peaks = {fw: statistics.median(r["peak"] for r in rs) / MIB for fw, rs in rounds_of.items()}
    return {
        "benchmark": "bench_memory",
        "description": f"peak RSS of {STEPS} SGD steps, {LAYERS} x (Linear({WIDTH}, {WIDTH}) + ReLU), "
        f"batch {BATCH}, MSE, float32",
        "threads": threads,
        "rounds": rounds,
        "malloc": "MALLOC_MMAP_THRESHOLD_=1MiB" if env else "glibc default",
        "unit": "MiB above the imports",
        "times": peaks,
        "setup": {fw: statistics.median(r["setup"] for r in rs) / MIB for fw, rs in rounds_of.items()},
        "loss": losses,
        "ratios": {f"neograd/{fw}": peaks["neograd"] / peaks[fw] for fw in peaks if fw != "neograd"},
        "target": TARGETS,
    }


def format_table(results: dict[str, Any]) -> str:
    """The results as a text table."""
    lines = [
        f"bench_memory: {results['description']}, median of {results['rounds']} fresh processes, "
        f"malloc: {results['malloc']}",
        f"{'framework':<10}{'peak (MiB)':>12}{'of it data':>12}{'neograd / it':>14}",
    ]
    lines.append("-" * len(lines[-1]))
    for fw, mib in results["times"].items():
        ratio = "" if fw == "neograd" else f"{results['ratios'][f'neograd/{fw}']:.3f}"
        lines.append(f"{fw:<10}{mib:>12.1f}{results['setup'][fw]:>12.1f}{ratio:>14}")
    lines.append("targets: " + ", ".join(f"{k} <= {v}" for k, v in results["target"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads (default 1)")
    parser.add_argument("--repeats", type=int, default=1, help=argparse.SUPPRESS)  # one measure per process
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per framework (default 3)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument(
        "--malloc", choices=("fixed", "default"), default="fixed", help="glibc settings (see the NOTE above)"
    )
    parser.add_argument("--trace", action="store_true", help="trace the NumPy allocations instead")
    parser.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)  # internal: one subprocess
    args = parser.parse_args(argv)
    if min(args.threads, args.rounds) < 1:
        parser.error("--threads and --rounds must be positive")

    if args.worker:
        try:
            result = worker(args.worker, args.threads, args.repeats)
        except ModuleNotFoundError as e:
            if args.worker != "torch" or e.name != "torch":
                raise
            sys.exit(3)  # torch is not installed: the parent leaves it out
        print(json.dumps(result))
        return
    if args.trace:
        print(trace())
        return

    results = run(args.threads, args.repeats, args.rounds, args.malloc)
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
