"""Weak scaling of DistributedDataParallel over MPI, measured here and projected to N machines.

    python benchmarks/bench_ddp.py [--steps 30] [--rounds 3] [--json PATH]    (`hatch run bench:ddp`)

Each configuration runs as its own MPI job (``mpiexec -n R``, the mpiexec next to this
Python), one BLAS thread per rank, per-rank batch fixed (weak scaling):

- mlp: Linear(512, 1024) - ReLU - Linear(1024, 10), float32, per-rank batch 256, SGD
  (issue 11's workload); 2.1 MB of gradients;
- cnn: the digits CNN of examples/digits_cnn.py, per-rank batch 32; 24 KB of gradients.

For each: the median step time (zero_grad, forward, loss, backward, SGD step) over
``--steps`` steps after a warm-up, samples per second over all ranks (2 ranks without DDP:
two independent trainings side by side, the most this machine can give), the time backward
spent blocked waiting for the gradient all-reduce (communication that did not overlap
computation), and the time the same all-reduce takes alone (all the communication); their
difference is the communication that overlapped backward.

Then an all-reduce sweep on 2 ranks (4 B to 8 MB) fits the cost model
``t = 2 (N - 1) alpha + 2 (N - 1) / N * bytes / bandwidth`` (ring all-reduce), and the model
projects step time and efficiency to 8, 64 and 512 ranks on 10 and 100 Gb/s links.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
SIZES = [4 * 4**k for k in range(12)]  # 4 B .. 16 MB
# the links of the projection, and the per-message latency assumed for each (not measured here)
LINKS = {"10 Gb/s": (10e9 / 8, 20e-6), "100 Gb/s": (100e9 / 8, 3e-6)}


# ---- one rank of a job ---------------------------------------------------------------------------
def make_model(name: str):
    from neograd import nn

    if name == "mlp":
        return nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 10)), (256, 512)
    model = nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128, 10),
    )
    return model, (32, 1, 8, 8)


def worker(name: str, ddp: bool, steps: int, sweep: bool) -> None:
    import numpy as np

    import neograd.distributed as dist
    from neograd import nn
    from neograd.autograd import manual_seed, tensor
    from neograd.optim import SGD

    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    manual_seed(0)
    model, shape = make_model(name)
    if ddp:
        model = dist.DistributedDataParallel(model)
    rng = np.random.default_rng(rank)
    x = tensor(rng.standard_normal(shape, dtype=np.float32))
    y = tensor(rng.integers(0, 10, shape[0]))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=0.01)
    comm = model._comm if ddp else None
    step_times, backward_times, waits = [], [], []
    for i in range(steps + 5):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        before_backward = time.perf_counter()
        loss.backward()
        after_backward = time.perf_counter()
        optimizer.step()
        end = time.perf_counter()
        if i >= 5:  # warm-up
            step_times.append(end - start)
            backward_times.append(after_backward - before_backward)
            waits.append(model._wait_seconds if ddp else 0.0)
    params = list(model.parameters())
    grad_bytes = sum(p.data.nbytes for p in params)
    alone = []
    if ddp:  # the same reductions with nothing to overlap: all the communication of a step
        flats = [b.flat.copy() for b in model._buckets]
        for _ in range(steps):
            comm.Barrier()
            start = time.perf_counter()
            for flat in flats:
                comm.Allreduce(dist.process_group._group.MPI.IN_PLACE, flat)
            alone.append(time.perf_counter() - start)
    result = {
        "model": name,
        "ranks": size,
        "ddp": ddp,
        "batch_per_rank": shape[0],
        "grad_bytes": grad_bytes,
        "buckets": len(model._buckets) if ddp else 0,
        "step_s": statistics.median(step_times),
        "backward_s": statistics.median(backward_times),
        "wait_s": statistics.median(waits),
        "allreduce_alone_s": statistics.median(alone) if alone else 0.0,
    }
    if sweep:
        mpi = dist.process_group._group.MPI
        group_comm = dist.process_group._group.comm
        result["sweep"] = {}
        for nbytes in SIZES:
            buffer = np.zeros(max(nbytes // 4, 1), np.float32)
            times = []
            for _ in range(30 if nbytes < 2**20 else 10):
                group_comm.Barrier()
                start = time.perf_counter()
                group_comm.Allreduce(mpi.IN_PLACE, buffer)
                times.append(time.perf_counter() - start)
            result["sweep"][str(buffer.nbytes)] = statistics.median(times)
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)
    dist.destroy_process_group()


# ---- the jobs, the table, the model --------------------------------------------------------------
def run_job(ranks: int, *args: str) -> dict:
    mpiexec = Path(sys.executable).parent / "mpiexec"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [str(mpiexec), "-n", str(ranks), sys.executable, str(HERE), "--worker", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        output, _ = process.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        process.terminate()  # SIGTERM: mpiexec passes it on (SIGKILL would orphan the ranks)
        output, _ = process.communicate()
        raise SystemExit(f"{' '.join(command)} took more than 600 s:\n{output}") from None
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    if process.returncode != 0 or len(lines) != 1:
        raise SystemExit(f"{' '.join(command)} failed:\n{output}")
    return json.loads(lines[0].removeprefix("RESULT "))


def fit(sweep: dict[str, float]) -> tuple[float, float]:
    """alpha and bandwidth of t = 2 (N-1) alpha + 2 (N-1)/N bytes / bandwidth at N = 2 (t = 2 alpha +
    bytes / bandwidth): alpha from the messages of at most 1 KiB (latency only), the bandwidth
    from those of 1 MiB and more, less that latency."""
    small = [t for b, t in sweep.items() if int(b) <= 1024]
    alpha = statistics.median(small) / 2
    large = [int(b) / (t - 2 * alpha) for b, t in sweep.items() if int(b) >= 2**20 and t > 2 * alpha]
    return alpha, statistics.median(large)


def ring_seconds(n: int, nbytes: float, alpha: float, bandwidth: float, buckets: int = 1) -> float:
    return buckets * 2 * (n - 1) * alpha + 2 * (n - 1) / n * nbytes / bandwidth


def best_bucket(
    n: int, nbytes: float, backward: float, alpha: float, bandwidth: float
) -> tuple[float, float]:
    """The bucket size (bytes) that minimises the exposed communication, gradients arriving evenly
    through backward: all buckets but the last can hide behind the rest of backward. More
    buckets only when they save at least 2% (fewer messages otherwise)."""
    best = (float("inf"), nbytes)
    for k in range(1, 257):
        total = ring_seconds(n, nbytes, alpha, bandwidth, k)
        exposed = max(total / k, total - backward * (k - 1) / k)
        if exposed < 0.98 * best[0]:
            best = (exposed, nbytes / k)
    return best[1], best[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=30, help="timed steps per configuration (30)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each configuration, the fastest kept")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="mlp", help=argparse.SUPPRESS)
    parser.add_argument("--ddp", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sweep", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.model, args.ddp, args.steps, args.sweep)
        return

    steps = str(args.steps)
    runs: dict[tuple[str, int, bool], dict] = {}
    for _ in range(args.rounds):  # the configurations take turns; each keeps its fastest round
        for model in ("mlp", "cnn"):
            # 2 ranks without DDP: two independent trainings, the ceiling the machine itself allows
            for ranks, ddp in ((1, False), (1, True), (2, False), (2, True)):
                flags = ["--ddp"] * ddp + ["--sweep"] * (model == "mlp" and ranks == 2)
                r = run_job(ranks, "--model", model, "--steps", steps, *flags)
                key = (model, ranks, ddp)
                if key not in runs or r["step_s"] < runs[key]["step_s"]:
                    runs[key] = r
    print(
        f"weak scaling on this machine ({os.cpu_count()} cores), one thread per rank, "
        f"median of {steps} steps, fastest of {args.rounds} rounds"
    )
    print(
        "| model | ranks | DDP | batch/rank | step (ms) | samples/s | vs 1 rank | all-reduce alone (ms) "
        "| waited in backward (ms) | overlapped |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (model, ranks, ddp), r in runs.items():
        rate = r["ranks"] * r["batch_per_rank"] / r["step_s"]
        base = runs[model, 1, False]
        speedup = rate / (base["batch_per_rank"] / base["step_s"])
        overlapped = max(r["allreduce_alone_s"] - r["wait_s"], 0.0)
        share = f"{overlapped / r['allreduce_alone_s']:.0%}" if r["allreduce_alone_s"] > 0 else "-"
        print(
            f"| {model} | {ranks} | {'yes' if ddp else 'no'} | {r['batch_per_rank']} | "
            f"{1e3 * r['step_s']:.2f} | {rate:,.0f} | {speedup:.2f}x | {1e3 * r['allreduce_alone_s']:.3f} | "
            f"{1e3 * r['wait_s']:.3f} | {share} |"
        )
    alpha, bandwidth = fit(runs["mlp", 2, True]["sweep"])
    print(
        f"\nall-reduce on 2 ranks here: alpha = {1e6 * alpha:.1f} us, bandwidth = {bandwidth / 1e9:.2f} GB/s"
    )
    for nbytes, seconds in runs["mlp", 2, True]["sweep"].items():
        print(f"  {int(nbytes):>9} B: {1e6 * seconds:9.1f} us")

    print("\nprojection (ring all-reduce; compute per step as measured here on 1 rank; no overlap assumed;")
    print("link latency assumed: 20 us at 10 Gb/s, 3 us at 100 Gb/s)")
    print("| model | link | ranks | comm (ms) | step (ms) | efficiency | best bucket |")
    print("|---|---|---|---|---|---|---|")
    for model in ("cnn", "mlp"):
        base = runs[model, 1, False]
        compute, nbytes = base["step_s"], base["grad_bytes"]
        for link, (link_bandwidth, link_alpha) in LINKS.items():
            for n in (8, 64, 512):
                comm_s = ring_seconds(n, nbytes, link_alpha, link_bandwidth)
                bucket, _ = best_bucket(n, nbytes, base["backward_s"], link_alpha, link_bandwidth)
                print(
                    f"| {model} | {link} | {n} | {1e3 * comm_s:.2f} | {1e3 * (compute + comm_s):.2f} | "
                    f"{compute / (compute + comm_s):.0%} | {bucket / 1024:.0f} KiB |"
                )
    if args.json:
        named = {f"{m}/{n}/{'ddp' if d else 'plain'}": r for (m, n, d), r in runs.items()}
        Path(args.json).write_text(json.dumps(named, indent=1))


if __name__ == "__main__":
    main()
