"""Where the sorting GPT looks: its attention weights, taken with forward hooks, drawn with matplotlib.

    python examples/attention_map.py [--model gpt_sort.safetensors] [--sequence 2 0 1 2 1 0]
                                     [--out attention_map.png] [--epochs 15] [--seed 0]

`hatch run examples:gpt_sort --save gpt_sort.safetensors` trains the model and saves it; without
--model this trains one briefly first. The model sorts the sequence; then the sequence and its
sorted form go through it once more with a forward hook on each attention layer's query-key-value
projection. scaled_dot_product_attention never hands its weights out, so they are computed from
the queries and keys the hooks caught: softmax(q kᵀ / √d) over the positions up to each one. A
second hook, on each attention layer itself, checks that these weights applied to the values give
exactly the layer's output. One picture per layer and head: row i shows where position i looks.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from gpt_sort import DIGITS, LENGTH, sort, sort_model, train

import neograd as ng
from neograd.nn import functional as F  # noqa: N812 -- torch's F


def attention_weights(qkv: ng.Tensor, n_head: int) -> tuple[ng.Tensor, ng.Tensor]:
    """From c_attn's output: causal attention weights (B, n_head, T, T) and the values (B, n_head, T, d)."""
    batch, length, width = qkv.shape
    q, k, v = (t.reshape(batch, length, n_head, -1).transpose(1, 2) for t in qkv.split(width // 3, dim=2))
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    future = ng.tril(ng.ones(length, length)) == 0  # position i may not look at j > i
    return F.softmax(scores.masked_fill(future, float("-inf")), dim=-1), v


def main() -> None:
    parser = argparse.ArgumentParser(prog="attention_map.py")
    parser.add_argument(
        "--model", metavar="PATH", help="weights saved by gpt_sort.py --save (else: train now)"
    )
    parser.add_argument("--sequence", type=int, nargs=LENGTH, default=[2, 0, 1, 2, 1, 0], metavar="D")
    parser.add_argument("--out", default="attention_map.png", help="the PNG to write (attention_map.png)")
    parser.add_argument("--epochs", type=int, default=15, help="training epochs when no --model (15)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the training when no --model (0)")
    args = parser.parse_args()
    if not all(0 <= d < DIGITS for d in args.sequence):
        parser.error(f"--sequence: digits must be in 0..{DIGITS - 1}, got {args.sequence}")
    if args.epochs < 1:
        parser.error("--epochs must be positive")
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise SystemExit(
            "attention_map.py needs matplotlib: pip install matplotlib, "
            "or use `hatch run examples:attention_map`"
        ) from None
    matplotlib.use("Agg")  # draw to a file, no window
    import matplotlib.pyplot as plt

    model = sort_model()
    if args.model:
        model.load_state_dict(ng.load(args.model))
    else:
        print(f"no --model: training the sort model for {args.epochs} epochs first")
        ng.manual_seed(args.seed)
        train(model, args.epochs, lr=5e-3, batch_size=64, bar=False)
    model.eval()

    sequence = np.array([args.sequence])
    written = sort(model, sequence)[0]
    print(f"{args.sequence} -> {written.tolist()}")

    caught: dict[str, list[ng.Tensor]] = {"qkv": [], "out": []}
    handles = []
    for block in model.h:
        # (module, inputs, output): keep the output; returning None leaves it unchanged
        handles.append(block.attn.c_attn.register_forward_hook(lambda m, i, out: caught["qkv"].append(out)))
        handles.append(block.attn.register_forward_hook(lambda m, i, out: caught["out"].append(out)))
    tokens = np.concatenate([sequence[0], written[:-1]])  # what the model read to write the last digit
    with ng.no_grad():
        model(ng.tensor(tokens[None]))
    for handle in handles:
        handle.remove()  # the model runs as before, without the hooks

    n_head = model.config.n_head
    maps, gap = [], 0.0
    for block, qkv, out in zip(model.h, caught["qkv"], caught["out"]):
        weights, v = attention_weights(qkv, n_head)
        with ng.no_grad():
            redone = block.attn.c_proj((weights @ v).transpose(1, 2).reshape(out.shape))
        gap = max(gap, float(np.abs(redone.numpy() - out.numpy()).max()))
        maps.append(weights[0].numpy())
    print(f"caught {len(maps)} layers x {n_head} heads of {len(tokens)}x{len(tokens)} attention weights")
    print(f"weights @ values reproduces each attention layer's output: largest difference {gap:.2e}")

    labels = [f"{d}" for d in tokens[:LENGTH]] + [f"→{d}" for d in tokens[LENGTH:]]
    fig, axes = plt.subplots(len(maps), n_head, figsize=(3.2 * n_head, 3.2 * len(maps)), squeeze=False)
    for layer, heads in enumerate(maps):
        for head, weights in enumerate(heads):
            ax = axes[layer][head]
            ax.imshow(weights, cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks(range(len(labels)), labels, fontsize=7)
            ax.set_yticks(range(len(labels)), labels, fontsize=7)
            ax.set_title(f"layer {layer + 1}, head {head + 1}", fontsize=9)
            ax.set_xlabel("looks at", fontsize=8)
            ax.set_ylabel("position", fontsize=8)
    fig.suptitle(f"sorting {args.sequence}: where each position looks (rows) among those before it")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"attention map saved to {args.out}")


if __name__ == "__main__":
    main()
