"""A character-level GPT learns to write like the Python Language Reference (`hatch run examples:gpt`).

    python examples/gpt.py [--epochs 4] [--lr 0.006] [--batch-size 32] [--seed 0] [--plot]
                           [--checkpoint DIR [--resume]] [--text FILE] [--sample-length 600]
                           [--temperature 0.8] [--top-k 10] [--prompt TEXT]

The text is one every Python has offline: the Language Reference pages that `help("assert")`,
`help("for")`... show (the module pydoc_data.topics, 465,000 characters in Python 3.11), the
topics in alphabetical order; the last 10% is held out for validation. `--text FILE` trains on
any other text instead.

The model is GPT-2's, small (as in nanoGPT): token and position embeddings, blocks of causal
self-attention and a GELU MLP each behind a LayerNorm with a residual connection, a final
LayerNorm, and an output layer that shares its weight with the token embedding. AdamW (weight
decay on the matrices only), a learning rate warming up then decaying along a cosine, gradient
clipping. An epoch is not a pass in order: it is as many windows at random places as hold as
many characters as the training part (204 steps by default); after it the validation loss is
measured on all of the held-out part.
With --checkpoint DIR the training is saved after each epoch, and --resume continues it.
At the end it writes a sample: characters drawn one at a time from the model's predictions,
sharpened by a temperature and limited to the top-k most likely.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from common import parse_args, plot_losses, progress

import neograd as ng
from neograd import nn
from neograd.nn import functional as F  # noqa: N812 -- torch's F


@dataclass
class GPTConfig:
    vocab_size: int
    block_size: int = 64  # the longest context the model sees
    n_layer: int = 3
    n_head: int = 3
    n_embd: int = 96
    dropout: float = 0.0


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which each position sees only itself and the positions before it."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if config.n_embd % config.n_head:
            raise ValueError(f"n_embd ({config.n_embd}) must be a multiple of n_head ({config.n_head})")
        self.n_head, self.dropout = config.n_head, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)  # query, key, value of every head at once
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: ng.Tensor) -> ng.Tensor:
        B, T, C = x.shape  # noqa: N806 -- batch, time, channels, as in nanoGPT
        q, k, v = self.c_attn(x).split(C, dim=2)
        # (B, T, C) -> (B, n_head, T, C / n_head): the heads attend independently
        q, k, v = (t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        dropout_p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
        y = y.transpose(1, 2).reshape(B, T, C)  # the heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.gelu = nn.GELU(approximate="tanh")  # GPT-2's form of GELU
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: ng.Tensor) -> ng.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """x + attention(norm(x)), then x + mlp(norm(x)): the norms before each part, as in GPT-2."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: ng.Tensor) -> ng.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Token indices (B, T) -> logits of the next token (B, T, vocab_size), and the loss given targets."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # what each token is
        self.wpe = nn.Embedding(config.block_size, config.n_embd)  # where it is
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # Weight tying, as in GPT-2: reading a token and predicting it use the same vectors.
        # One Parameter in two places; parameters() lists it once, state_dict() under both names.
        self.lm_head.weight = self.wte.weight
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() == 2:
                # GPT-2's initialisation; the layers that add to the residual stream are scaled
                # down so that its variance does not grow with the depth
                std = 0.02 / math.sqrt(2 * config.n_layer) if name.endswith("c_proj.weight") else 0.02
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, idx: ng.Tensor, targets: ng.Tensor | None = None) -> tuple[ng.Tensor, ng.Tensor | None]:
        B, T = idx.shape  # noqa: N806
        if T > self.config.block_size:
            raise ValueError(f"a sequence of {T} tokens is longer than block_size {self.config.block_size}")
        x = self.drop(self.wte(idx) + self.wpe(ng.arange(T)))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T), ignore_index=-1)

    def configure_optimizer(
        self, lr: float, weight_decay: float, betas: tuple[float, float]
    ) -> ng.optim.AdamW:
        """AdamW that decays the matrices (linear weights, embeddings) but not biases and LayerNorm gains."""
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
        return ng.optim.AdamW(groups, lr=lr, betas=betas)

    @ng.no_grad()
    def generate(
        self, idx: ng.Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None
    ) -> ng.Tensor:
        """Extend idx (B, T) by max_new_tokens tokens, each drawn from softmax(logits / temperature),
        among the top_k most likely only when top_k is given."""
        for _ in range(max_new_tokens):
            context = idx[:, -self.config.block_size :]
            logits, _ = self(context)
            logits = logits[:, -1, :] / temperature  # the prediction after the last token
            if top_k is not None:
                kth, _ = ng.topk(logits, min(top_k, logits.shape[-1]))
                logits = logits.masked_fill(logits < kth[:, -1:], float("-inf"))
            next_token = ng.multinomial(F.softmax(logits, dim=-1), num_samples=1)
            idx = ng.cat((idx, next_token), dim=1)
        return idx


def lr_lambda(warmup: int, total: int, floor: float = 0.1) -> Callable[[int], float]:
    """The learning rate's factor at each step: linear warm-up, then a cosine down to ``floor``."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def random_windows(data: np.ndarray, batch_size: int, block_size: int) -> tuple[ng.Tensor, ng.Tensor]:
    """x: batch_size windows of block_size tokens at random places; y: the token after each of x's."""
    starts = ng.randint(len(data) - block_size, (batch_size,)).numpy()  # neograd's generator: seeded, saved
    windows = starts[:, None] + np.arange(block_size)
    return ng.tensor(data[windows]), ng.tensor(data[windows + 1])


@ng.no_grad()
def evaluate(model: GPT, x: ng.Tensor, y: ng.Tensor, batch_size: int = 128) -> float:
    """The mean loss over the windows x (N, T) with targets y, in evaluation mode (no dropout)."""
    model.eval()
    total = 0.0
    for i in range(0, len(x), batch_size):
        _, loss = model(x[i : i + batch_size], y[i : i + batch_size])
        total += loss.item() * len(x[i : i + batch_size])
    model.train()
    return total / len(x)


def reference_text() -> str:
    """The Python Language Reference pages of `help()`, in alphabetical order of topic."""
    try:
        from pydoc_data.topics import topics
    except ModuleNotFoundError:  # a Python stripped of its documentation
        raise SystemExit("gpt.py: this Python has no pydoc_data; give a text with --text FILE") from None

    return "\n\n".join(topics[name] for name in sorted(topics))


def options(parser) -> None:
    parser.add_argument("--text", metavar="FILE", help="train on this UTF-8 text instead")
    parser.add_argument("--block-size", type=int, default=64, help="context length in characters (64)")
    parser.add_argument("--n-layer", type=int, default=3, help="transformer blocks (3)")
    parser.add_argument("--n-head", type=int, default=3, help="attention heads per block (3)")
    parser.add_argument("--n-embd", type=int, default=96, help="width of the model (96)")
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout probability (0)")
    parser.add_argument("--weight-decay", type=float, default=0.1, help="AdamW's weight decay (0.1)")
    parser.add_argument("--checkpoint", metavar="DIR", help="save a checkpoint in DIR after every epoch")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in DIR")
    parser.add_argument("--sample-length", type=int, default=600, help="characters to write at the end (600)")
    parser.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (0.8)")
    parser.add_argument("--top-k", type=int, default=10, help="sample among the k likeliest characters (10)")
    parser.add_argument("--prompt", default="The ", help="text the sample starts from ('The ')")


def main() -> None:
    args = parse_args("gpt", epochs=4, lr=6e-3, batch_size=32, extra=options)
    if args.resume and not args.checkpoint:
        raise SystemExit("gpt.py: --resume needs --checkpoint DIR (where the checkpoints are)")
    if min(args.block_size, args.n_layer, args.n_head, args.n_embd, args.top_k, args.temperature) <= 0:
        raise SystemExit(
            "gpt.py: --block-size, --n-layer, --n-head, --n-embd, --top-k, --temperature: must be > 0"
        )
    if args.n_embd % args.n_head:
        raise SystemExit(f"gpt.py: --n-embd ({args.n_embd}) must be a multiple of --n-head ({args.n_head})")
    if not 0 <= args.dropout < 1 or args.sample_length < 0:
        raise SystemExit("gpt.py: --dropout must be in [0, 1) and --sample-length >= 0")
    ng.manual_seed(args.seed)  # the initial weights, the windows of text, dropout, the sample

    if args.text:
        with open(args.text, encoding="utf-8") as f:
            text = f.read()
    else:
        text = reference_text()
    chars = sorted(set(text))  # the vocabulary: every character of the text
    index = {c: i for i, c in enumerate(chars)}
    data = np.array([index[c] for c in text], dtype=np.int64)
    n = int(0.9 * len(data))
    train, val = data[:n], data[n:]
    block_size, batch_size = args.block_size, args.batch_size
    if len(val) < block_size + 1:
        raise SystemExit(
            f"gpt.py: the text is too short for --block-size {block_size} ({len(text)} characters)"
        )
    # the validation loss is measured on every window of the held-out text, the same each time
    starts = np.arange(0, len(val) - block_size, block_size)[:, None] + np.arange(block_size)
    val_x, val_y = ng.tensor(val[starts]), ng.tensor(val[starts + 1])

    config = GPTConfig(len(chars), block_size, args.n_layer, args.n_head, args.n_embd, args.dropout)
    model = GPT(config)
    optimizer = model.configure_optimizer(args.lr, args.weight_decay, betas=(0.9, 0.99))
    steps_per_epoch = max(
        1, len(train) // (batch_size * block_size)
    )  # an epoch: as many characters as the training text
    total = args.epochs * steps_per_epoch
    scheduler = ng.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(min(100, total // 10), total))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{len(text):,} characters, {len(chars)} different; {n_params:,} parameters; {total} steps")

    losses: list[float] = []
    validation: list[tuple[int, float]] = []
    first_epoch = 0
    if args.checkpoint:
        checkpoint = nn.Checkpoint(model, args.checkpoint, optimizer, scheduler, keep=1)
        if not args.resume:
            checkpoint.new_session()  # a fresh run never continues an older one by mistake
        else:
            state = checkpoint.resume()
            if state is None:
                raise SystemExit(f"gpt.py: no checkpoint in {args.checkpoint} to resume from")
            if state["config"] != asdict(config):
                raise SystemExit(f"gpt.py: the checkpoint is of another model: {state['config']}")
            first_epoch, losses = state["step"], state["losses"]
            validation = [(s, v) for s, v in state["validation"]]
            print(f"resumed after epoch {first_epoch} (validation loss {validation[-1][1]:.4f})")

    started = time.perf_counter()
    bar = progress(args.epochs, start=first_epoch)  # range(first_epoch, args.epochs), with a progress bar
    model.train()
    for epoch in bar:
        for _ in range(steps_per_epoch):
            x, y = random_windows(train, batch_size, block_size)
            _, loss = model(x, y)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            bar.set_postfix(loss=losses[-1])
        validation.append((len(losses), evaluate(model, val_x, val_y)))
        bar.set_postfix(loss=np.mean(losses[-steps_per_epoch:]), val=validation[-1][1])
        if args.checkpoint:
            checkpoint.add(step=epoch + 1, config=asdict(config), losses=losses, validation=validation)
    print(f"validation loss: {validation[-1][1]:.4f}  ({time.perf_counter() - started:.0f} s of training)")

    model.eval()
    prompt = [index[c] for c in args.prompt if c in index] or [0]
    out = model.generate(ng.tensor([prompt]), args.sample_length, args.temperature, args.top_k)
    print("sample:")
    print("".join(chars[i] for i in out[0].tolist()))

    if args.plot:
        plot_losses(losses, args.plot, "character-level GPT: cross-entropy", validation)


if __name__ == "__main__":
    main()
