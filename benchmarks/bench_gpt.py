"""One training step of a tiny GPT: where attention, LayerNorm, GELU and embeddings meet per-op overhead.

The workload (issue 10, item 6): a character-level GPT, vocabulary 65, context 32, width
64, 2 pre-norm blocks of 4-head causal self-attention (``F.scaled_dot_product_attention``
with ``is_causal=True``) and a GELU MLP of width 256, a final LayerNorm, the output head
tied to the token embedding, cross-entropy over a batch of 16 sequences, AdamW (lr 1e-3,
weight decay 0.1). One iteration is one whole step: ``zero_grad``, forward, loss,
``backward``, ``step``. The same model is written once against torch's API and built with
neograd and with torch, from the same weights (drawn with NumPy from a fixed seed); the
losses of the first three steps and the weights after them are compared before anything
is timed.

Two figures per framework, each from fresh subprocesses taking turns (``bench_ops``):

- the time of one step (median of loops of about 0.1 s, ``bench_ops.time_step``; the
  process's CPU time instead with ``NEOGRAD_BENCH_CLOCK=cpu``, as ``run_all.py --clock cpu``);
- the peak resident size of building the model and training three steps, above the
  process's size after the imports and the data (VmHWM, as ``bench_memory``). Each
  framework's worker runs with the allocator settings its users get: neograd's import
  fixes glibc's trim and mmap thresholds (``neograd/autograd/_malloc.py``), so a step
  reuses the last step's heap pages instead of faulting them in again.

Targets: neograd at most 1.0x torch's time ("neograd/torch", the key ``run_all.py`` reads)
and at most torch's peak memory ("memory neograd/torch").

Usage:
    python benchmarks/bench_gpt.py [--threads 1] [--repeats 7] [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import gc
import statistics
from collections.abc import Callable
from typing import Any

from bench_memory import MIB, memory
from bench_ops import check_agreement, cli, interleave, time_step

FRAMEWORKS = ("neograd", "torch")
VOCAB, CONTEXT, WIDTH, LAYERS, HEADS, HIDDEN, BATCH = 65, 32, 64, 2, 4, 256, 16
LR, WEIGHT_DECAY, SEED = 1e-3, 0.1, 0
TARGETS = {"neograd/torch": 1.0, "memory neograd/torch": 1.0}


def make_data() -> dict[str, Any]:
    """Tokens, targets and every weight, float32, by parameter name (GPT-2's initialisation)."""
    import numpy as np

    rng = np.random.default_rng(SEED)

    def normal(*shape: int, std: float = 0.02) -> Any:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    data = {
        "idx": rng.integers(0, VOCAB, (BATCH, CONTEXT)),
        "targets": rng.integers(0, VOCAB, (BATCH, CONTEXT)),
        "wte.weight": normal(VOCAB, WIDTH),
        "wpe.weight": normal(CONTEXT, WIDTH),
        "ln_f.weight": np.ones(WIDTH, np.float32),
        "ln_f.bias": np.zeros(WIDTH, np.float32),
    }
    for i in range(LAYERS):
        block = {
            "ln_1.weight": np.ones(WIDTH, np.float32),
            "ln_1.bias": np.zeros(WIDTH, np.float32),
            "attn.c_attn.weight": normal(3 * WIDTH, WIDTH),
            "attn.c_attn.bias": np.zeros(3 * WIDTH, np.float32),
            "attn.c_proj.weight": normal(WIDTH, WIDTH),
            "attn.c_proj.bias": np.zeros(WIDTH, np.float32),
            "ln_2.weight": np.ones(WIDTH, np.float32),
            "ln_2.bias": np.zeros(WIDTH, np.float32),
            "mlp.c_fc.weight": normal(HIDDEN, WIDTH),
            "mlp.c_fc.bias": np.zeros(HIDDEN, np.float32),
            "mlp.c_proj.weight": normal(WIDTH, HIDDEN),
            "mlp.c_proj.bias": np.zeros(WIDTH, np.float32),
        }
        data.update({f"blocks.{i}.{k}": v for k, v in block.items()})
    return data


def build_gpt(lib: Any) -> Any:
    """The GPT written once against torch's API; ``lib`` is ``torch`` or ``neograd``."""
    nn, F = lib.nn, lib.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c_attn = nn.Linear(WIDTH, 3 * WIDTH)
            self.c_proj = nn.Linear(WIDTH, WIDTH)

        def forward(self, x: Any) -> Any:
            b, t, c = x.shape
            q, k, v = self.c_attn(x).split(WIDTH, dim=2)
            q, k, v = (z.view(b, t, HEADS, c // HEADS).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).reshape(b, t, c))

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c_fc = nn.Linear(WIDTH, HIDDEN)
            self.c_proj = nn.Linear(HIDDEN, WIDTH)

        def forward(self, x: Any) -> Any:
            return self.c_proj(F.gelu(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(WIDTH)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(WIDTH)
            self.mlp = MLP()

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(VOCAB, WIDTH)
            self.wpe = nn.Embedding(CONTEXT, WIDTH)
            self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
            self.ln_f = nn.LayerNorm(WIDTH)
            self.register_buffer("pos", lib.arange(CONTEXT), persistent=False)

        def forward(self, idx: Any, targets: Any) -> Any:
            x = self.wte(idx) + self.wpe(self.pos)
            for block in self.blocks:
                x = block(x)
            logits = F.linear(self.ln_f(x), self.wte.weight)  # the head tied to the embedding
            return F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))

    return GPT()


def library_step(framework: str, data: dict[str, Any]) -> tuple[Callable[[], float], Callable[[], float]]:
    """(step, checksum): step() trains one step and returns the loss."""
    if framework == "torch":
        import torch as lib
    else:
        import neograd as lib
    model = build_gpt(lib)
    model.load_state_dict({k: lib.from_numpy(v.copy()) for k, v in data.items() if "." in k})
    optimizer = lib.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    idx, targets = lib.from_numpy(data["idx"]), lib.from_numpy(data["targets"])

    def step() -> float:
        optimizer.zero_grad()
        loss = model(idx, targets)
        loss.backward()
        optimizer.step()
        return float(loss.item())

    def checksum() -> float:
        return float(sum((p.detach().double() ** 2).sum().item() for p in model.parameters()))

    return step, checksum


def worker(framework: str, threads: int, repeats: int) -> dict[str, Any]:
    """Run in the subprocess: peak memory of building and three steps, then the time of one step."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}; expected one of {FRAMEWORKS}")
    lib = __import__(framework)
    if framework == "torch":
        lib.set_num_threads(threads)
    data = make_data()
    gc.collect()
    baseline = memory()["rss"]
    step, checksum = library_step(framework, data)
    losses = [step() for _ in range(3)]
    result = {"losses": losses, "checksum": checksum(), "peak": memory()["peak"] - baseline}
    result["seconds"] = time_step(step, repeats)
    return result


def run(threads: int = 1, repeats: int = 7, rounds: int = 3) -> dict[str, Any]:
    """Time and measure both frameworks (taking turns, ``rounds`` fresh subprocesses each) and compare.

    Returns:
        ``{"benchmark", "description", "threads", "repeats", "rounds", "unit", "times": {framework:
        ms}, "memory": {framework: MiB}, "ratios", "target"}``; torch is missing when not installed.

    Raises:
        RuntimeError: if the losses or the weights after three steps differ.
    """
    rounds_of = interleave(__file__, FRAMEWORKS, threads, repeats, rounds)
    check_agreement("bench_gpt", rounds_of, "neograd")
    times = {fw: statistics.median(r["seconds"] for r in rs) * 1e3 for fw, rs in rounds_of.items()}
    peaks = {fw: statistics.median(r["peak"] for r in rs) / MIB for fw, rs in rounds_of.items()}
    ratios = {}
    if "torch" in times:
        ratios = {
            "neograd/torch": times["neograd"] / times["torch"],
            "memory neograd/torch": peaks["neograd"] / peaks["torch"],
        }
    return {
        "benchmark": "bench_gpt",
        "description": f"one AdamW step of a GPT (vocab {VOCAB}, context {CONTEXT}, width {WIDTH}, "
        f"{LAYERS} blocks, {HEADS} heads, MLP {HIDDEN}), batch {BATCH}",
        "threads": threads,
        "repeats": repeats,
        "rounds": rounds,
        "unit": "ms per step",
        "times": times,
        "memory": peaks,
        "ratios": ratios,
        "target": TARGETS,
    }


def format_table(results: dict[str, Any]) -> str:
    """The results as a text table."""
    lines = [
        f"bench_gpt: {results['description']}, {results['threads']} thread(s), "
        f"median of {results['rounds']} rounds x {results['repeats']} repeats",
        f"{'framework':<10}{'ms per step':>13}{'peak MiB':>10}",
    ]
    lines.append("-" * len(lines[-1]))
    for fw, ms in results["times"].items():
        lines.append(f"{fw:<10}{ms:>13.2f}{results['memory'][fw]:>10.1f}")
    lines += [f"{k}: {v:.3f}" for k, v in results["ratios"].items()]
    lines.append("targets: " + ", ".join(f"{k} <= {v}" for k, v in results["target"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    cli(__doc__, FRAMEWORKS, worker, run, format_table, repeats=7, argv=argv)


if __name__ == "__main__":
    main()
