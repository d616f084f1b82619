"""neograd on an NVIDIA GPU (CuPy) against torch on the same GPU and neograd on the CPU.

Three training steps (issue 13), each one whole step: ``zero_grad``, forward, loss,
``backward``, ``step``:

- mlp: Linear(1024, 1024) - ReLU - Linear(1024, 1024) - ReLU - Linear(1024, 10),
  cross-entropy, SGD (lr 0.01), at batch 256 and at larger batches where the GPU is busy;
- cnn: the digits CNN of bench_digits_cnn.py (8x8 inputs, two conv-relu-pool blocks),
  SGD, at batch 64 (the example's) and larger;
- gpt: the tiny GPT of bench_gpt.py (2 layers, width 64, context 32), AdamW, batch 16.

Every implementation starts from the same weights; the first step's losses are compared
before anything is timed. GPU time is taken between ``synchronize()`` calls (GPU work is
asynchronous): the median over a few loops of about 0.3 s after a warm-up. Memory is
CuPy's memory pool for neograd: bytes in use after forward (parameters and optimizer state
excluded), when backward reaches the first layer and after backward, next to the size of
the gradients, which shows auto-removal freeing the graph as backward runs; and the pool's
high-water mark. For torch, ``torch.cuda.max_memory_allocated`` of one step.

Target (issue 13): neograd-GPU at most 2x torch-GPU's time on the MLP and the CNN at the
batch sizes where the GPU is busy; far faster than neograd on the CPU.

Usage (no install needed; CuPy, torch with CUDA, NumPy on the machine):
    PYTHONPATH=$(echo packages/*/src | tr ' ' :) python benchmarks/bench_gpu.py [--quick] [--json PATH]
or ``hatch run bench:gpu``. Without a GPU it says so and exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

MLP_SIZES, MLP_LR = (1024, 1024, 1024, 10), 0.01
CNN_LR = 0.01
MIB = 2**20
TARGET = 2.0  # neograd-GPU / torch-GPU, MLP and CNN, busy batch sizes


# ---- the workloads, written once against torch's API (lib: neograd or torch) ------------------------
def mlp_model(lib: Any) -> Any:
    nn = lib.nn
    a, b, c, d = MLP_SIZES
    return nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Linear(b, c), nn.ReLU(), nn.Linear(c, d))


def cnn_model(lib: Any) -> Any:
    from bench_digits_cnn import build

    return build(lib)


def mlp_data(batch: int, seed: int = 0) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, MLP_SIZES[0]), dtype=np.float32), rng.integers(0, MLP_SIZES[-1], batch)


def cnn_data(batch: int, seed: int = 0) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.random((batch, 1, 8, 8), dtype=np.float32), rng.integers(0, 10, batch)


def initial_state(lib: Any, make: Callable[[Any], Any], seed: int = 0) -> dict[str, Any]:
    """The weights (NumPy arrays) every implementation starts from: torch's initialisation, by NumPy."""
    import numpy as np

    rng = np.random.default_rng(seed)
    state = {}
    for name, t in make(lib).state_dict().items():
        shape = tuple(t.shape)
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        bound = 1 / np.sqrt(fan_in)
        state[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return state


class Run:
    """One implementation of one workload on one device: step() trains once and returns the loss tensor."""

    def __init__(self, framework: str, device: str, workload: str, batch: int) -> None:
        import numpy as np

        self.framework, self.device, self.workload, self.batch = framework, device, workload, batch
        lib = self.lib = __import__(framework)
        if workload == "gpt":
            import bench_gpt

            data = bench_gpt.make_data()
            model = bench_gpt.build_gpt(lib)
            model.load_state_dict({k: lib.tensor(np.array(v)) for k, v in data.items() if "." in k})
            self.model = model.to(device)
            self.optimizer = lib.optim.AdamW(
                self.model.parameters(), lr=bench_gpt.LR, weight_decay=bench_gpt.WEIGHT_DECAY
            )
            self.x = lib.tensor(data["idx"]).to(device)
            self.y = lib.tensor(data["targets"]).to(device)
            self.loss_fn = lambda out, y: out  # the GPT returns its loss
            self.forward = lambda: self.model(self.x, self.y)
            return
        make = mlp_model if workload == "mlp" else cnn_model
        model = make(lib)
        model.load_state_dict({k: lib.tensor(v) for k, v in initial_state(lib, make).items()})
        self.model = model.to(device)
        self.optimizer = lib.optim.SGD(self.model.parameters(), lr=MLP_LR if workload == "mlp" else CNN_LR)
        x, y = (mlp_data if workload == "mlp" else cnn_data)(batch)
        self.x, self.y = lib.tensor(x).to(device), lib.tensor(y).to(device)
        loss = lib.nn.functional.cross_entropy
        self.forward = lambda: loss(self.model(self.x), self.y)

    def step(self) -> Any:
        self.optimizer.zero_grad()
        loss = self.forward()
        loss.backward()
        self.optimizer.step()
        return loss

    def sync(self) -> None:
        if self.device == "cuda":
            self.lib.cuda.synchronize()

    def time(self, min_time: float, repeats: int) -> float:
        """Median seconds per step over ``repeats`` loops of about ``min_time`` (after a warm-up)."""
        for _ in range(3):
            self.step()
        self.sync()
        number, times = 1, []
        while True:  # grow the loop until it takes long enough to time
            start = time.perf_counter()
            for _ in range(number):
                self.step()
            self.sync()
            elapsed = time.perf_counter() - start
            if elapsed >= min_time or number >= 1000:
                break
            number *= 2
        times.append(elapsed / number)
        for _ in range(repeats - 1):
            start = time.perf_counter()
            for _ in range(number):
                self.step()
            self.sync()
            times.append((time.perf_counter() - start) / number)
        return statistics.median(times)


def neograd_memory(run: Run) -> dict[str, float]:
    """CuPy pool bytes (MiB): in use after forward, when backward reaches the first layer, after backward."""
    import cupy

    pool = cupy.get_default_memory_pool()
    run.optimizer.zero_grad(set_to_none=True)
    run.sync()
    base = pool.used_bytes()
    loss = run.forward()
    run.sync()
    after_forward = pool.used_bytes()
    first = next(iter(run.model.parameters()))
    middle: list[int] = []
    handle = first.register_hook(lambda g: middle.append(pool.used_bytes()))
    loss.backward()
    handle.remove()
    run.sync()
    after_backward = pool.used_bytes()
    del loss
    return {
        "baseline": base / MIB,
        "after_forward": after_forward / MIB,
        "backward_at_first_layer": (middle[0] if middle else float("nan")) / MIB,
        "after_backward": after_backward / MIB,
        "pool_total": pool.total_bytes() / MIB,
        # what the gradients take, at most, in the middle of backward and after it
        "gradients": sum(p.data.nbytes for p in run.model.parameters()) / MIB,
    }


def torch_memory(run: Run) -> dict[str, float]:
    import torch

    torch.cuda.reset_peak_memory_stats()
    run.step()
    torch.cuda.synchronize()
    return {"max_allocated": torch.cuda.max_memory_allocated() / MIB}


def gpu_name() -> str:
    import neograd

    return neograd.cuda.get_device_name()


def available() -> tuple[bool, bool]:
    """(neograd has a GPU, torch has CUDA)."""
    import neograd

    has_torch = False
    try:
        import torch

        has_torch = torch.cuda.is_available()
    except ImportError:
        pass
    return neograd.cuda.is_available(), has_torch


CONFIGS = [  # (workload, batch, run on the CPU too)
    ("mlp", 256, True),
    ("mlp", 1024, True),
    ("mlp", 4096, False),
    ("cnn", 64, True),
    ("cnn", 1024, True),
    ("cnn", 8192, False),
    ("gpt", 16, True),
]


def measure(
    workload: str, batch: int, with_cpu: bool, theirs: bool, min_time: float, repeats: int
) -> dict[str, Any]:
    """One row of the table: the first losses, memory, then the time of each implementation."""
    import numpy as np

    runs = {"neograd-gpu": Run("neograd", "cuda", workload, batch)}
    if theirs:
        runs["torch-gpu"] = Run("torch", "cuda", workload, batch)
    if with_cpu:
        runs["neograd-cpu"] = Run("neograd", "cpu", workload, batch)
    first = {name: float(r.step().item()) for name, r in runs.items()}
    reference = first["neograd-cpu"] if "neograd-cpu" in first else first.get("torch-gpu")
    agree = reference is None or all(np.isclose(v, reference, rtol=2e-3) for v in first.values())
    row: dict[str, Any] = {"workload": workload, "batch": batch, "first_loss": first, "agree": bool(agree)}
    row["memory_neograd"] = neograd_memory(runs["neograd-gpu"])
    if theirs:
        row["memory_torch"] = torch_memory(runs["torch-gpu"])
    for name, r in runs.items():
        cpu = name.endswith("cpu")
        row[name] = r.time(min_time if not cpu else min_time * 2, repeats if not cpu else 2)
    return row


def run_all(quick: bool = False) -> dict[str, Any]:
    ours, theirs = available()
    if not ours:
        sys.exit(
            "bench_gpu: neograd has no CUDA GPU here (CuPy is missing or finds no device); "
            "install neograd-autograd[cuda13] on a machine with an NVIDIA GPU. Nothing was measured."
        )
    min_time, repeats = (0.1, 2) if quick else (0.3, 3)
    results: dict[str, Any] = {"gpu": gpu_name(), "torch_cuda": theirs, "rows": []}
    for workload, batch, with_cpu in CONFIGS:
        try:
            row = measure(workload, batch, with_cpu, theirs, min_time, repeats)
        except Exception as e:  # one failing workload must not lose the others' figures
            row = {"workload": workload, "batch": batch, "error": f"{type(e).__name__}: {e}"}
            row["traceback"] = traceback.format_exc()
            print(row["traceback"], file=sys.stderr)
        results["rows"].append(row)
        print(format_row(row), flush=True)
    return results


def format_row(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{row['workload']:>4} batch {row['batch']:>5}: FAILED {row['error']}"
    ms = {k: row[k] * 1e3 for k in ("neograd-gpu", "torch-gpu", "neograd-cpu") if k in row}
    parts = [f"{row['workload']:>4} batch {row['batch']:>5}:"]
    parts += [f"{k} {v:8.2f} ms" for k, v in ms.items()]
    if "torch-gpu" in ms:
        parts.append(f"ng/torch {ms['neograd-gpu'] / ms['torch-gpu']:5.2f}x")
    if "neograd-cpu" in ms:
        parts.append(f"cpu/gpu {ms['neograd-cpu'] / ms['neograd-gpu']:6.1f}x")
    m = row["memory_neograd"]
    fwd, mid, after = (
        m[k] - m["baseline"] for k in ("after_forward", "backward_at_first_layer", "after_backward")
    )
    parts.append(
        f"| pool MiB after fwd {fwd:.1f}, mid-bwd {mid:.1f}, after bwd {after:.1f} "
        f"(grads {m['gradients']:.1f}; pool holds {m['pool_total']:.0f})"
    )
    if "memory_torch" in row:
        parts.append(f"torch max {row['memory_torch']['max_allocated']:.1f}")
    if not row["agree"]:
        parts.append(f"LOSSES DISAGREE {row['first_loss']}")
    return "  ".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing loops")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    results = run_all(args.quick)
    print(f"GPU: {results['gpu']}; torch on CUDA: {results['torch_cuda']}")
    for row in results["rows"]:
        if row["workload"] in ("mlp", "cnn") and "torch-gpu" in row and "neograd-gpu" in row:
            ratio = row["neograd-gpu"] / row["torch-gpu"]
            print(
                f"  target {row['workload']} batch {row['batch']}: {ratio:.2f}x torch (target <= {TARGET}x)"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if any("error" in row for row in results["rows"]):
        sys.exit("bench_gpu: some workloads failed (see above)")
    if not all(row["agree"] for row in results["rows"]):
        sys.exit("bench_gpu: the implementations disagree on the first loss (see above)")


if __name__ == "__main__":
    main()
