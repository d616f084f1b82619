"""Every benchmark of the performance issue in one table: neograd against hand-written NumPy and torch.

Runs, in this order (each its own script, runnable alone):

1. ``bench_seed.py``: the original project's task, 1000 GD steps of a 2-10-1 network;
2. ``bench_mlp.py``: one SGD step of a matmul-bound MLP (256 x 1024-1024-1024-10);
3. ``bench_digits_cnn.py``: 5 epochs of a small CNN on the digits;
4. ``bench_memory.py``: peak memory of two steps of 8 x (Linear(2048, 2048) + ReLU);
5. ``bench_ops.py`` (per-op overhead on 16 x 16 tensors) and ``bench_optim.py`` (one Adam
   step over 1M parameters; torch's column is ``foreach=False``, the same loop as neograd's);
6. ``bench_lstm.py`` (LSTM(64, 128) forward and backward, sequence 50, batch 32) and
   ``bench_gpt.py`` (one AdamW training step of a tiny GPT, its time and peak memory);
7. ``bench_compile.py``: the seed task, the per-op programs, the digits CNN and the tiny GPT
   step under ``ng.compile``, against eager, hand-written NumPy and torch.

Each implementation runs in fresh subprocesses with the same thread count (1 by default),
the implementations take turns for ``--rounds`` rounds, and every figure is a median; each
script checks that the implementations compute the same thing before it reports a time.
The table gives neograd's figure, hand-written NumPy's (the floor), torch's (when it is
installed), the ratios, the issue's target and whether it is met. The load average before
and after is printed with the table: on a shared machine, read the ratios, not the times,
and consider ``--clock cpu``, which times with each process's CPU time (one thread only),
so that the time other processes take the CPU is left out.
The table and every script's full results are written as JSON to
``benchmarks/results/latest.json`` (or ``--json PATH``).

Usage:
    python benchmarks/run_all.py [--threads 1] [--rounds 3] [--clock wall|cpu] [--only seed,mlp,...]
                                 [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import bench_compile
import bench_digits_cnn
import bench_gpt
import bench_lstm
import bench_memory
import bench_mlp
import bench_ops
import bench_optim
import bench_seed

# name -> (module, what its row says, default repeats per process)
WORKLOADS: dict[str, tuple[Any, str, int]] = {
    "seed": (bench_seed, "1 seed task: 1000 GD steps, 2-10-1", 5),
    "mlp": (bench_mlp, "2 MLP step: 256 x 1024-1024-1024-10", 7),
    "digits": (bench_digits_cnn, "3 digits CNN: 5 epochs of Adam", 5),
    "memory": (bench_memory, "4 peak memory: 2 steps, 8 x 2048^2", 1),
    "ops": (bench_ops, "5 per-op: fwd+bwd on 16x16", 7),
    "optim": (bench_optim, "5 optimizer: Adam step, 1M params", 7),
    "lstm": (bench_lstm, "6 LSTM(64, 128): fwd+bwd, seq 50, batch 32", 7),
    "gpt": (bench_gpt, "6 tiny GPT: AdamW step, 2 blocks", 7),
    "compile": (bench_compile, "7 ng.compile: seed, per-op, CNN, GPT", 5),
}
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def rows_of(name: str, results: dict[str, Any]) -> list[dict[str, Any]]:
    """The table rows of one benchmark's results: figures, ratios, targets and whether they are met."""
    _, label, _ = WORKLOADS[name]
    if name == "compile":  # four workloads, each with its own unit and reference
        return bench_compile.rows(results)
    if name == "ops":  # one row per program, and their total
        programs = [(f"{label}: {p}", results["times"][p]) for p in results["times"]]
    else:
        programs = [(label, results["times"])]
    rows = []
    for row_label, times in programs:
        ratios = {f"neograd/{fw}": times["neograd"] / times[fw] for fw in ("numpy", "torch") if fw in times}
        met = [ratios[k] <= v for k, v in results["target"].items() if k in ratios]
        rows.append(
            {
                "workload": row_label,
                "unit": results["unit"],
                "neograd": times["neograd"],
                "numpy": times.get("numpy"),
                "torch": times.get("torch"),
                "ratios": ratios,
                "target": {k: v for k, v in results["target"].items() if k.startswith("neograd/")},
                "met": all(met) if met else None,
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows as one text table."""

    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.4g}" if abs(x) < 100 else f"{x:.1f}"

    head = (
        f"{'workload':<46}{'unit':<22}{'neograd':>9}{'numpy':>9}{'torch':>9}"
        f"{'ng/numpy':>10}{'ng/torch':>10}  {'target':<28}met"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        target = ", ".join(f"{k.split('/')[1]} <= {v}" for k, v in r["target"].items())
        met = {True: "yes", False: "NO", None: "-"}[r["met"]]
        lines.append(
            f"{r['workload']:<46}{r['unit']:<22}{num(r['neograd']):>9}{num(r['numpy']):>9}{num(r['torch']):>9}"
            f"{num(r['ratios'].get('neograd/numpy')):>10}{num(r['ratios'].get('neograd/torch')):>10}"
            f"  {target:<28}{met}"
        )
    return "\n".join(lines)


def versions() -> dict[str, str | None]:
    """Python, NumPy and torch versions and the machine, for the JSON record."""
    import numpy

    try:
        import torch

        torch_version = torch.__version__
    except ModuleNotFoundError:
        torch_version = None
    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch": torch_version,
        "machine": platform.platform(),
        "cpus": str(os.cpu_count()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads (default 1)")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes each (default 3)")
    parser.add_argument("--repeats", type=int, help="timed repeats per process (default: each script's own)")
    parser.add_argument(
        "--clock", choices=("wall", "cpu"), default="wall", help="wall-clock or process CPU time (1 thread)"
    )
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(WORKLOADS)}")
    parser.add_argument("--json", metavar="PATH", default=str(DEFAULT_JSON), help="where to write the JSON")
    args = parser.parse_args(argv)
    names = list(WORKLOADS) if args.only is None else [n.strip() for n in args.only.split(",")]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"--only: unknown workloads {unknown}; choose from {list(WORKLOADS)}")
    if min(args.threads, args.rounds, args.repeats or 1) < 1:
        parser.error("--threads, --rounds and --repeats must be positive")
    if args.clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu adds up the time of all threads: use it with --threads 1")
    os.environ["NEOGRAD_BENCH_CLOCK"] = args.clock  # read by every worker (bench_ops.clock)

    load_before = os.getloadavg()
    start = time.perf_counter()
    details, rows = {}, []
    for name in names:
        module, label, default_repeats = WORKLOADS[name]
        print(f"running {label} ...", file=sys.stderr, flush=True)
        details[name] = module.run(args.threads, args.repeats or default_repeats, args.rounds)
        rows += rows_of(name, details[name])
    load_after = os.getloadavg()

    print(
        f"neograd vs hand-written NumPy and torch: {args.threads} thread(s), {args.clock} clock, medians "
        f"over {args.rounds} rounds of fresh processes, {time.perf_counter() - start:.0f} s"
    )
    print(format_table(rows))
    print(
        "load average (1, 5, 15 min) before: "
        + ", ".join(f"{x:.2f}" for x in load_before)
        + "; after: "
        + ", ".join(f"{x:.2f}" for x in load_after)
        + f"; {os.cpu_count()} CPUs"
    )
    record = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "threads": args.threads,
        "clock": args.clock,
        "rounds": args.rounds,
        "load_average": {"before": load_before, "after": load_after},
        "versions": versions(),
        "rows": rows,
        "details": details,
    }
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
