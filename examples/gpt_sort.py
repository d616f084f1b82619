"""A small GPT learns to sort, as in minGPT's demo (`hatch run examples:gpt_sort`).

    python examples/gpt_sort.py [--epochs 60] [--lr 0.005] [--batch-size 64] [--seed 0] [--plot]
                                [--save gpt_sort.safetensors]

The model reads six digits from {0, 1, 2} and writes them sorted, one digit at a time:
given 2 0 1 1 0 1 it continues 0 0 1 1 1 2. It is trained on the sequence followed by its
sorted form (12 tokens) to predict each next token, the loss counting only the predictions of
the sorted part. Of the 3^6 = 729 possible sequences a fixed quarter is never shown in
training; the test accuracy is the fraction of those that it sorts exactly (every digit right,
each chosen greedily after the ones it wrote before). The GPT is examples/gpt.py's, with
3 blocks of 3 heads, 48 wide. --save writes its weights, which attention_map.py draws.
"""

from __future__ import annotations

import itertools

import numpy as np
from common import parse_args, plot_losses, progress
from gpt import GPT, GPTConfig, lr_lambda

import neograd as ng
from neograd import nn
from neograd.utils.data import DataLoader, TensorDataset

LENGTH, DIGITS = 6, 3


def sort_model() -> GPT:
    """minGPT's "gpt-nano": 3 blocks, 3 heads, 48 wide, over the 3 digits and 11 positions."""
    return GPT(GPTConfig(vocab_size=DIGITS, block_size=2 * LENGTH - 1, n_layer=3, n_head=3, n_embd=48))


def split() -> tuple[np.ndarray, np.ndarray]:
    """All sequences, as (train, test) arrays of shape (N, 6): the same quarter held out every time."""
    sequences = np.array(list(itertools.product(range(DIGITS), repeat=LENGTH)), dtype=np.int64)
    order = np.random.default_rng(1234).permutation(len(sequences))
    held_out = len(sequences) // 4
    return sequences[order[held_out:]], sequences[order[:held_out]]


def examples(sequences: np.ndarray) -> tuple[ng.Tensor, ng.Tensor]:
    """Inputs (N, 11) and targets (N, 11): the sequence and its sorted form, shifted by one.

    The first five targets are -1 (ignored by the loss): they would be the unsorted digits.
    """
    both = np.concatenate([sequences, np.sort(sequences, axis=1)], axis=1)
    x, y = both[:, :-1], both[:, 1:].copy()
    y[:, : LENGTH - 1] = -1
    return ng.tensor(x), ng.tensor(y)


@ng.no_grad()
def sort(model: GPT, sequences: np.ndarray) -> np.ndarray:
    """The model's sorting of each sequence: six digits, each the likeliest after those before."""
    model.eval()
    idx = ng.tensor(sequences)
    for _ in range(LENGTH):
        logits, _ = model(idx)
        idx = ng.cat((idx, logits[:, -1, :].argmax(dim=-1, keepdim=True)), dim=1)
    return idx[:, LENGTH:].numpy()


def train(model: GPT, epochs: int, lr: float, batch_size: int, bar: bool = True) -> list[float]:
    """Train on the training sequences; returns the loss of every step."""
    train_set, _ = split()
    loader = DataLoader(TensorDataset(*examples(train_set)), batch_size=batch_size, shuffle=True)
    optimizer = model.configure_optimizer(lr, weight_decay=0.1, betas=(0.9, 0.95))
    total = epochs * len(loader)
    scheduler = ng.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(total // 20, total))
    losses = []
    epochs_bar = progress(epochs) if bar else range(epochs)
    model.train()
    for _ in epochs_bar:
        for x, y in loader:
            _, loss = model(x, y)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        if bar:
            epochs_bar.set_postfix(loss=np.mean(losses[-len(loader) :]))
    return losses


def main() -> None:
    def options(parser) -> None:
        parser.add_argument("--save", metavar="PATH", help="save the trained weights (safetensors)")

    args = parse_args("gpt_sort", epochs=60, lr=5e-3, batch_size=64, extra=options)
    ng.manual_seed(args.seed)  # the initial weights, the order of the batches, dropout

    model = sort_model()
    losses = train(model, args.epochs, args.lr, args.batch_size)

    train_set, test_set = split()
    right = {}
    for name, sequences in (("training", train_set), ("held-out", test_set)):
        right[name] = (sort(model, sequences) == np.sort(sequences, axis=1)).all(axis=1)
        print(f"sorted exactly: {right[name].sum()} of {len(sequences)} {name} sequences")
    for sequence in test_set[~right["held-out"]][:3]:
        print("  missed:", sequence.tolist(), "->", sort(model, sequence[None])[0].tolist())
    print("for example:", test_set[0].tolist(), "->", sort(model, test_set[:1])[0].tolist())
    print(f"test accuracy: {right['held-out'].mean():.4f}")

    if args.save:
        ng.save(model.state_dict(), args.save)
        print(f"weights saved to {args.save}")
    if args.plot:
        plot_losses(losses, args.plot, "GPT learning to sort: cross-entropy")


if __name__ == "__main__":
    main()
