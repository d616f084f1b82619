"""ng.compile: a captured training step against eager neograd, hand-written NumPy and torch.

Three workloads, each reusing another benchmark's code so that the computations are the
very ones measured there:

- seed: the original project's task (bench_seed.py): 1000 full-batch gradient-descent
  steps of a 2-10-1 network on make_circles. compiled, eager, hand NumPy and torch.
- ops: the three per-op programs of bench_ops.py (16 ops forward and backward on 16x16
  float32), the sum of their times. compiled, eager, hand NumPy and torch.
- cnn: the digits CNN of bench_digits_cnn.py (5 epochs of Adam, batch 64; the last batch
  of an epoch is smaller, so the compiled step keeps two recordings; the two captures are
  timed too). compiled and eager.
- gpt: one AdamW step of the tiny GPT of bench_gpt.py. compiled, eager and torch.

The compiled variants wrap the same step function in ``ng.compile``; their results are
checked against the eager ones (the seed task's final loss, the ops' gradient checksums,
the CNN's last loss) so that a benchmark of a wrong computation fails instead of
reporting a time. Each implementation runs in fresh subprocesses with one thread, and the
implementations take turns for a few rounds (bench_ops.interleave); medians are reported.

Targets (issue 14): compiled seed task at most 1.2x hand NumPy; compiled per-op programs
at most 0.3x torch; compiled digits CNN and tiny GPT step not slower than eager.

Usage:
    python benchmarks/bench_compile.py [--threads 1] [--repeats 5] [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import bench_digits_cnn
import bench_gpt
import bench_ops
import bench_seed
from bench_ops import cli, clock, interleave, time_step

FRAMEWORKS = ("compiled", "eager", "numpy", "torch")
TARGETS = {
    "seed compiled/numpy": 1.2,
    "ops compiled/torch": 0.3,
    "cnn compiled/eager": 1.0,
    "gpt compiled/eager": 1.0,
}


# ---- the compiled variants: the same step functions, wrapped in ng.compile -------------------------
def compiled_seed(data: dict[str, Any], weights: dict[str, Any]) -> Callable[[], tuple[float, Any]]:
    """bench_seed.library_training's loop with its step compiled."""
    import neograd as ng

    x, y = ng.from_numpy(data["x_train"]), ng.from_numpy(data["y_train"])

    def train() -> tuple[float, Any]:
        nn = ng.nn
        model = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1), nn.Sigmoid())
        model.load_state_dict({k: ng.from_numpy(v.copy()) for k, v in weights.items()})
        loss_fn = nn.BCELoss()
        optimizer = ng.optim.SGD(model.parameters(), lr=bench_seed.LR)

        @ng.compile
        def step(x: Any, y: Any) -> Any:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            return loss

        for _ in range(bench_seed.ITERATIONS):
            loss = step(x, y)
        return float(loss.item()), None

    return train


def compiled_cnn(data: dict[str, Any], weights: dict[str, Any]) -> Callable[[], tuple[Any, float, float]]:
    """bench_digits_cnn.library_training's loop with its step compiled."""
    import neograd as ng

    x_train, y_train = data["x_train"], data["y_train"]

    def train() -> tuple[Any, float, float]:
        model = bench_digits_cnn.build(ng)
        model.load_state_dict({k: ng.from_numpy(v.copy()) for k, v in weights.items()})
        optimizer = ng.optim.Adam(model.parameters(), lr=bench_digits_cnn.LR)

        @ng.compile
        def step(x: Any, y: Any) -> Any:
            loss = ng.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss

        start = clock()
        for idx in data["batches"]:
            loss = step(ng.from_numpy(x_train[idx]), ng.from_numpy(y_train[idx]))
        return None, clock() - start, float(loss.item())

    return train


def gpt_step(framework: str) -> tuple[Callable[[], float], Callable[[], float]]:
    """bench_gpt.library_step; compiled: the same step function wrapped in ng.compile."""
    if framework != "compiled":
        return bench_gpt.library_step("neograd" if framework == "eager" else framework, bench_gpt.make_data())
    import neograd as ng

    data = bench_gpt.make_data()
    model = bench_gpt.build_gpt(ng)
    model.load_state_dict({k: ng.from_numpy(v.copy()) for k, v in data.items() if "." in k})
    optimizer = ng.optim.AdamW(model.parameters(), lr=bench_gpt.LR, weight_decay=bench_gpt.WEIGHT_DECAY)
    idx, targets = ng.from_numpy(data["idx"]), ng.from_numpy(data["targets"])

    @ng.compile
    def step(idx: Any, targets: Any) -> Any:
        optimizer.zero_grad()
        loss = model(idx, targets)
        loss.backward()
        optimizer.step()
        return loss

    return lambda: float(step(idx, targets).item()), lambda: 0.0


def ops_programs(framework: str, threads: int) -> dict[str, tuple[Callable, Callable]]:
    """bench_ops' programs; compiled: neograd's with each step wrapped in ng.compile."""
    if framework != "compiled":
        return bench_ops.build("neograd" if framework == "eager" else framework, threads)
    import neograd as ng

    programs = bench_ops.build("neograd", threads)
    return {name: (ng.compile(step), checksum) for name, (step, checksum) in programs.items()}


# ---- one subprocess ------------------------------------------------------------------------------------
def worker(framework: str, threads: int, repeats: int) -> dict[str, Any]:
    """Time the three workloads for one implementation (the CNN only for compiled and eager)."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}; expected one of {FRAMEWORKS}")
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
    result: dict[str, Any] = {}

    data, weights = bench_seed.load_data(), bench_seed.initial_weights()
    if framework == "compiled":
        train = compiled_seed(data, weights)
    elif framework == "numpy":
        train = bench_seed.numpy_training(data, weights)
    else:
        train = bench_seed.library_training("neograd" if framework == "eager" else framework, data, weights)
    train()  # warm-up, untimed
    seconds = []
    for _ in range(repeats):
        start = clock()
        loss, _ = train()
        seconds.append(clock() - start)
    result["seed"] = {"seconds": statistics.median(seconds), "check": loss}

    total, checks = 0.0, {}
    for name, (step, checksum) in ops_programs(framework, threads).items():
        step()
        checks[name] = checksum()
        total += time_step(step, repeats)
    result["ops"] = {"seconds": total, "check": checks}

    if framework in ("compiled", "eager"):
        data, weights = bench_digits_cnn.load_data(), bench_digits_cnn.initial_weights()
        if framework == "compiled":
            train = compiled_cnn(data, weights)
        else:
            train = bench_digits_cnn.library_training("neograd", data, weights)
        train()
        # NOTE: a training takes 0.2 s: the median of all the repeats, as for the seed task (the
        # median of two, as before, was a mean that one disturbed run moved by 10%)
        runs = [train() for _ in range(repeats)]
        result["cnn"] = {"seconds": statistics.median(r[1] for r in runs), "check": runs[-1][2]}

    if framework != "numpy":
        step, _ = gpt_step(framework)
        first = [step() for _ in range(3)]  # the capture, then replays: the losses of three steps
        result["gpt"] = {"seconds": time_step(step, repeats), "check": first}
    return result


# ---- the comparison --------------------------------------------------------------------------------------
def run(threads: int = 1, repeats: int = 5, rounds: int = 3) -> dict[str, Any]:
    """Time every implementation (taking turns, ``rounds`` fresh subprocesses each) and compare.

    Returns:
        ``{"benchmark", "description", "threads", "repeats", "rounds", "times": {workload:
        {implementation: ms}}, "ratios": {...}, "target"}``; torch is missing when not installed.

    Raises:
        RuntimeError: if a compiled result differs from the eager one.
    """
    rounds_of = interleave(__file__, FRAMEWORKS, threads, repeats, rounds)
    first = {fw: rs[0] for fw, rs in rounds_of.items()}
    if first["compiled"]["seed"]["check"] != first["eager"]["seed"]["check"]:
        raise RuntimeError(f"bench_compile: seed losses differ: {first['compiled']['seed']['check']} "
                           f"(compiled) vs {first['eager']['seed']['check']} (eager)")  # fmt: skip
    if first["compiled"]["ops"]["check"] != first["eager"]["ops"]["check"]:
        raise RuntimeError("bench_compile: the compiled per-op programs' gradients differ from eager")
    if first["compiled"]["cnn"]["check"] != first["eager"]["cnn"]["check"]:
        raise RuntimeError("bench_compile: the compiled digits CNN's loss differs from eager")
    if first["compiled"]["gpt"]["check"] != first["eager"]["gpt"]["check"]:
        raise RuntimeError("bench_compile: the compiled tiny GPT's losses differ from eager")
    times: dict[str, dict[str, float]] = {}
    for workload, scale in (("seed", 1e3), ("ops", 1e6), ("cnn", 1e3), ("gpt", 1e3)):
        times[workload] = {
            fw: statistics.median(r[workload]["seconds"] for r in rs) * scale
            for fw, rs in rounds_of.items()
            if workload in rs[0]
        }
    ratios = {}
    for workload, row in times.items():
        for fw in row:
            if fw != "compiled":
                ratios[f"{workload} compiled/{fw}"] = row["compiled"] / row[fw]
        if "eager" in row:
            for fw in ("numpy", "torch"):
                if fw in row:
                    ratios[f"{workload} eager/{fw}"] = row["eager"] / row[fw]
    return {
        "benchmark": "bench_compile",
        "description": "ng.compile: seed task (ms / 1000 steps), per-op programs (us / iteration), "
        "digits CNN (ms / 5 epochs), tiny GPT (ms / step)",
        "threads": threads,
        "repeats": repeats,
        "rounds": rounds,
        "times": times,
        "ratios": ratios,
        "target": TARGETS,
    }


def format_table(results: dict[str, Any]) -> str:
    """The results as a text table, then the ratios against the targets."""
    fws = FRAMEWORKS
    head = f"{'workload':<22}" + "".join(f"{fw:>12}" for fw in fws)
    lines = [
        f"bench_compile: {results['threads']} thread(s), median of {results['rounds']} rounds "
        f"x {results['repeats']} repeats",
        head,
        "-" * len(head),
    ]
    units = {
        "seed": "seed task (ms)",
        "ops": "16-op programs (us)",
        "cnn": "digits CNN (ms)",
        "gpt": "tiny GPT step (ms)",
    }
    for workload, row in results["times"].items():
        cells = "".join(f"{row[fw]:>12.1f}" if fw in row else f"{'-':>12}" for fw in fws)
        lines.append(f"{units[workload]:<22}{cells}")
    lines.append("")
    for name, ratio in results["ratios"].items():
        target = results["target"].get(name)
        mark = "" if target is None else f"   (target <= {target}: {'met' if ratio <= target else 'NOT met'})"
        lines.append(f"{name:<22}{ratio:>6.2f}{mark}")
    return "\n".join(lines)


def rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The results as rows of run_all.py's table ("neograd" is the compiled step; eager in the ratios)."""
    labels = {
        "seed": ("7 compile: seed task, 1000 GD steps", "ms per training", "numpy", 1.2),
        "ops": ("7 compile: per-op programs, total", "us per iteration", "torch", 0.3),
        "cnn": ("7 compile: digits CNN, 5 epochs", "ms of training", "eager", 1.0),
        "gpt": ("7 compile: tiny GPT, one AdamW step", "ms per step", "eager", 1.0),
    }
    out = []
    for workload, times in results["times"].items():
        label, unit, against, target = labels[workload]
        ratios = {f"neograd/{fw}": times["compiled"] / times[fw] for fw in times if fw != "compiled"}
        key = f"neograd/{against}"
        out.append(
            {
                "workload": label,
                "unit": unit,
                "neograd": times["compiled"],
                "numpy": times.get("numpy"),
                "torch": times.get("torch"),
                "ratios": ratios,
                "target": {key: target},
                "met": ratios[key] <= target if key in ratios else None,
            }
        )
    return out


def main(argv: list[str] | None = None) -> None:
    cli(__doc__, FRAMEWORKS, worker, run, format_table, repeats=5, argv=argv)


if __name__ == "__main__":
    main()
