"""What the training examples share: their command line, a progress bar over epochs, the digits, a loss plot.

Nothing here is about neograd itself; each example's model and training loop are in the example.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np


def parse_args(
    name: str,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """The options every training example takes (--epochs, --lr, --batch-size, --seed, --plot).

    ``extra(parser)``, when given, adds the example's own options.
    """
    parser = argparse.ArgumentParser(prog=f"{name}.py")
    parser.add_argument("--epochs", type=int, default=epochs, help=f"passes over the data ({epochs})")
    parser.add_argument("--lr", type=float, default=lr, help=f"learning rate ({lr})")
    parser.add_argument("--batch-size", type=int, default=batch_size, help=f"batch size ({batch_size})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and the shuffling (0)")
    parser.add_argument(
        "--plot",
        nargs="?",
        const=f"{name}_loss.png",
        metavar="PNG",
        help=f"save the loss curve ({name}_loss.png)",
    )
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0:
        parser.error("--epochs, --batch-size and --lr must be positive")
    return args


class _Lines:
    """A stand-in for tqdm when it is not installed: one printed line per epoch."""

    def __init__(self, epochs: int, start: int = 0) -> None:
        self.epochs, self.start, self.postfix = epochs, start, ""

    def __iter__(self) -> Iterator[int]:
        for epoch in range(self.start, self.epochs):
            yield epoch
            print(f"epoch {epoch + 1}/{self.epochs}  {self.postfix}", flush=True)

    def set_postfix(self, **values: float) -> None:
        self.postfix = "  ".join(f"{key} {value:.4f}" for key, value in values.items())


def progress(epochs: int, start: int = 0) -> Any:
    """range(start, epochs) with a tqdm progress bar (plain lines without tqdm); .set_postfix(loss=x) shows x.

    ``start`` > 0 continues a resumed training: the bar starts at ``start`` of ``epochs``.
    """
    try:
        from tqdm import trange
    except ModuleNotFoundError:
        return _Lines(epochs, start)
    return trange(start, epochs, initial=start, total=epochs, desc="training", unit="epoch")


def digits(flat: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits (shipped with it: no download) in [0, 1], split 80/20 the same way each time.

    Returns x_train, x_test (float32, (N, 64) when ``flat`` else (N, 1, 8, 8)) and y_train, y_test (int64).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)
    x = x.reshape(len(x), 64) if flat else x[:, None, :, :]
    y = data.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)


def plot_losses(
    losses: list[float], path: str, title: str, validation: list[tuple[int, float]] | None = None
) -> None:
    """Save the loss of every training step as a PNG (matplotlib is only needed here).

    ``validation``, when given, is a second curve: (training step, validation loss) pairs.
    """
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise SystemExit(
            "--plot needs matplotlib: pip install matplotlib, or use `hatch run examples:...`"
        ) from None
    matplotlib.use("Agg")  # draw to a file, no window
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(losses, label="training")
    if validation:
        steps, values = zip(*validation)
        ax.plot(steps, values, "o-", label="validation")
        ax.legend()
    ax.set(title=title, xlabel="training step", ylabel="loss", yscale="log")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"loss curve saved to {path}")
