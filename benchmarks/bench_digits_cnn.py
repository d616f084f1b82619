"""The digits CNN: training time of a small convolutional network, neograd against torch and NumPy.

The workload (issue 3, section 8): scikit-learn's ``load_digits`` as (N, 1, 8, 8) float32
scaled to [0, 1], a fixed 80/20 train/test split, and

    Conv2d(1, 16, 3, padding=1) - ReLU - MaxPool2d(2) - Conv2d(16, 32, 3, padding=1) - ReLU -
    MaxPool2d(2) - Flatten - Linear(128, 10)

trained with cross-entropy and Adam(lr=1e-2), batch 64, 5 epochs, float32. Three
implementations: neograd and torch (the same model code), and the same training written
by hand with NumPy (the floor; see ``numpy_training``). All start from the same initial
weights (torch's default initialisation, drawn once with NumPy from a fixed seed) and see
the same batches in the same order, so their losses and test accuracies should agree
closely. Targets: neograd's training time at most 2x torch's, test accuracy at least 0.95.

Each framework runs in a fresh subprocess with the same thread count (the OMP, OpenBLAS
and MKL variables are set before NumPy or torch is imported; torch also gets
``set_num_threads``). A repeat builds the model from the initial weights and times the 5
training epochs (not the data loading or the evaluation); after one untimed training
(the warm-up), the median of the repeats is kept. The frameworks take turns for a few
rounds, and the median over the rounds is reported, so that a busy spell of a shared
machine is spread over all.

Usage:
    python benchmarks/bench_digits_cnn.py [--threads 1] [--repeats 5] [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from bench_ops import cli, clock, interleave  # the shared subprocess runner and command line

FRAMEWORKS = ("neograd", "numpy", "torch")
EPOCHS, BATCH, LR, SEED = 5, 64, 1e-2, 0
TARGET_RATIO, TARGET_ACCURACY = 2.0, 0.95


def load_data() -> dict[str, Any]:
    """The digits as float32 (N, 1, 8, 8) in [0, 1], split 80/20 with a fixed seed, and the batch order."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)
    rng = np.random.default_rng(SEED)
    n = len(x_train)
    batches = [
        order[i : i + BATCH]
        for order in (rng.permutation(n) for _ in range(EPOCHS))
        for i in range(0, n, BATCH)
    ]
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test, "batches": batches}


def initial_weights() -> dict[str, Any]:
    """torch's default initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases),
    drawn with NumPy, under the Sequential's state_dict names."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    shapes = {"0": (16, 1, 3, 3), "3": (32, 16, 3, 3), "7": (10, 128)}
    weights = {}
    for layer, shape in shapes.items():
        bound = 1 / np.sqrt(np.prod(shape[1:]))
        weights[f"{layer}.weight"] = rng.uniform(-bound, bound, shape).astype(np.float32)
        weights[f"{layer}.bias"] = rng.uniform(-bound, bound, shape[0]).astype(np.float32)
    return weights


def build(lib: Any) -> Any:
    """The network, from ``lib.nn`` (neograd.nn or torch.nn)."""
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128, 10),
    )


def numpy_training(data: dict[str, Any], weights: dict[str, Any]) -> Callable[[], tuple[Any, float, float]]:
    """The same training written by hand with NumPy, the floor: returns train() -> (predict, seconds, loss).

    Written as a careful person would: channels-last (N, H, W, C) arrays, each convolution
    one matrix product over an im2col matrix built from nine shifted slices, 2 x 2 max
    pooling as a reshape, the cross-entropy gradient as ``softmax - onehot``, Adam with
    in-place ufuncs. The first convolution's input gradient is not computed (nothing needs it).
    """
    import numpy as np

    x_train = data["x_train"].transpose(0, 2, 3, 1)  # (N, 8, 8, 1), channels last
    y_train = data["y_train"]

    def im2col(x: Any) -> Any:
        """(N, H, W, C) -> (N * H * W, 9 * C): the 3 x 3 window around each position (zero padding 1)."""
        n, h, w, c = x.shape
        xp = np.zeros((n, h + 2, w + 2, c), x.dtype)
        xp[:, 1:-1, 1:-1] = x
        cols = np.concatenate([xp[:, i : i + h, j : j + w] for i in range(3) for j in range(3)], axis=-1)
        return cols.reshape(n * h * w, 9 * c)

    def col2im(grad_cols: Any, shape: tuple[int, ...]) -> Any:
        """The adjoint of im2col: add each window's gradient back where it was read."""
        n, h, w, c = shape
        grad_cols = grad_cols.reshape(n, h, w, 9, c)
        grad_xp = np.zeros((n, h + 2, w + 2, c), grad_cols.dtype)
        for k in range(9):
            grad_xp[:, k // 3 : k // 3 + h, k % 3 : k % 3 + w] += grad_cols[:, :, :, k]
        return grad_xp[:, 1:-1, 1:-1]

    def pool(x: Any) -> tuple[Any, Any]:
        """2 x 2 max pooling of (N, H, W, C); also which of the 4 won (the first on ties, as torch)."""
        best, winner = x[:, 0::2, 0::2].copy(), np.zeros(x[:, 0::2, 0::2].shape, np.int8)
        for k in (1, 2, 3):
            candidate = x[:, k // 2 :: 2, k % 2 :: 2]
            better = candidate > best
            np.copyto(best, candidate, where=better)
            np.copyto(winner, k, where=better)
        return best, winner

    def unpool(grad: Any, winner: Any) -> Any:
        """The adjoint of pool: each window's gradient goes to its winner."""
        n, h2, w2, c = grad.shape
        grad_x = np.empty((n, 2 * h2, 2 * w2, c), grad.dtype)
        for k in range(4):
            grad_x[:, k // 2 :: 2, k % 2 :: 2] = grad * (winner == k)
        return grad_x

    def conv_matrix(w: Any) -> Any:
        """(C_out, C_in, 3, 3) -> (C_out, 9 * C_in), kernel offset major and channel minor, as im2col."""
        return w.transpose(0, 2, 3, 1).reshape(len(w), -1)

    def train() -> tuple[Any, float, float]:
        params = {k: v.copy() for k, v in weights.items()}
        moments = {k: (np.zeros_like(v), np.zeros_like(v), np.empty_like(v)) for k, v in params.items()}
        beta1, beta2, eps = 0.9, 0.999, 1e-8

        def forward(x: Any) -> tuple[Any, list[Any]]:
            n = len(x)
            cols1 = im2col(x)
            a1 = (cols1 @ conv_matrix(params["0.weight"]).T + params["0.bias"]).reshape(n, 8, 8, 16)
            np.maximum(a1, 0, out=a1)
            p1, mask1 = pool(a1)
            cols2 = im2col(p1)
            a2 = (cols2 @ conv_matrix(params["3.weight"]).T + params["3.bias"]).reshape(n, 4, 4, 32)
            np.maximum(a2, 0, out=a2)
            p2, mask2 = pool(a2)
            flat = p2.transpose(0, 3, 1, 2).reshape(n, 128)  # torch's Flatten order: (C, H, W)
            logits = flat @ params["7.weight"].T + params["7.bias"]
            return logits, [cols1, a1, mask1, p1, cols2, a2, mask2, flat]

        start = clock()
        for t, idx in enumerate(data["batches"], 1):
            x, y = x_train[idx], y_train[idx]
            n = len(x)
            logits, (cols1, a1, mask1, p1, cols2, a2, mask2, flat) = forward(x)
            shifted = logits - logits.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            grad = e / e.sum(axis=1, keepdims=True)  # softmax
            loss = -np.log(grad[np.arange(n), y]).mean()
            grad[np.arange(n), y] -= 1
            grad /= n
            grads = {"7.weight": grad.T @ flat, "7.bias": grad.sum(axis=0)}
            g = (grad @ params["7.weight"]).reshape(n, 32, 2, 2).transpose(0, 2, 3, 1)
            g = unpool(g, mask2) * (a2 > 0)
            g2 = g.reshape(-1, 32)
            grads["3.weight"] = (g2.T @ cols2).reshape(32, 3, 3, 16).transpose(0, 3, 1, 2)
            grads["3.bias"] = g2.sum(axis=0)
            g = col2im(g2 @ conv_matrix(params["3.weight"]), p1.shape)
            g = unpool(g, mask1) * (a1 > 0)
            g1 = g.reshape(-1, 16)
            grads["0.weight"] = (g1.T @ cols1).reshape(16, 3, 3, 1).transpose(0, 3, 1, 2)
            grads["0.bias"] = g1.sum(axis=0)
            bias1, bias2_sqrt = 1 - beta1**t, (1 - beta2**t) ** 0.5
            for k, p in params.items():
                m, v, buf = moments[k]
                m *= beta1
                m += (1 - beta1) * grads[k]
                v *= beta2
                v += (1 - beta2) * np.square(grads[k])
                np.sqrt(v, out=buf)
                buf += eps * bias2_sqrt
                np.divide(m, buf, out=buf)
                buf *= LR / bias1 * bias2_sqrt
                p -= buf
        elapsed = clock() - start

        def predict(x: Any) -> Any:
            return forward(x.transpose(0, 2, 3, 1))[0]

        return predict, elapsed, float(loss)

    return train


def library_training(framework: str, data: dict[str, Any], weights: dict[str, Any]) -> Callable:
    """The training with torch's API (neograd or torch): returns train() -> (predict, seconds, loss)."""
    if framework == "torch":
        import torch as lib
    else:
        import neograd as lib
    to_tensor = lib.from_numpy
    x_train, y_train = data["x_train"], data["y_train"]

    def train() -> tuple[Any, float, float]:
        model = build(lib)
        model.load_state_dict({k: to_tensor(v.copy()) for k, v in weights.items()})
        optimizer = lib.optim.Adam(model.parameters(), lr=LR)
        start = clock()
        for idx in data["batches"]:
            loss = lib.nn.functional.cross_entropy(model(to_tensor(x_train[idx])), to_tensor(y_train[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        elapsed = clock() - start
        model.eval()

        def predict(x: Any) -> Any:
            with lib.no_grad():
                return model(to_tensor(x)).numpy()

        return predict, elapsed, float(loss.item())

    return train


def worker(framework: str, threads: int, repeats: int) -> dict[str, Any]:
    """Run in the subprocess: train ``repeats`` times from the same start; times, loss and accuracy."""
    import numpy as np

    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}; expected one of {FRAMEWORKS}")
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
    data = load_data()
    weights = initial_weights()
    if framework == "numpy":
        train = numpy_training(data, weights)
    else:
        train = library_training(framework, data, weights)
    train()  # NOTE: warm-up, untimed: a framework's first steps pay for lazy initialisation
    seconds = []
    for _ in range(repeats):
        predict, elapsed, last_loss = train()
        seconds.append(elapsed)
    accuracy = float((np.asarray(predict(data["x_test"])).argmax(axis=1) == data["y_test"]).mean())
    return {"seconds": statistics.median(seconds), "last_loss": last_loss, "accuracy": accuracy}


def run(threads: int = 1, repeats: int = 5, rounds: int = 3) -> dict[str, Any]:
    """Train with every framework (taking turns, ``rounds`` fresh subprocesses each) and compare.

    Returns:
        ``{"benchmark", "threads", "repeats", "rounds", "unit", "times": {framework: seconds},
        "accuracy": {framework: ...}, "last_loss": {framework: ...}, "ratios": {"neograd/numpy",
        "neograd/torch"}, "target"}``; a framework that is not installed is missing.
    """
    rounds_of = interleave(__file__, FRAMEWORKS, threads, repeats, rounds)
    times = {fw: statistics.median(r["seconds"] for r in rs) for fw, rs in rounds_of.items()}
    return {
        "benchmark": "bench_digits_cnn",
        "description": f"digits CNN, {EPOCHS} epochs of Adam(lr={LR}), batch {BATCH}, float32",
        "threads": threads,
        "repeats": repeats,
        "rounds": rounds,
        "unit": "seconds of training",
        "times": times,
        "accuracy": {fw: rs[-1]["accuracy"] for fw, rs in rounds_of.items()},
        "last_loss": {fw: rs[-1]["last_loss"] for fw, rs in rounds_of.items()},
        "ratios": {f"neograd/{fw}": times["neograd"] / times[fw] for fw in times if fw != "neograd"},
        "target": {"neograd/torch": TARGET_RATIO, "accuracy": TARGET_ACCURACY},
    }


def format_table(results: dict[str, Any]) -> str:
    """The results as a text table."""
    lines = [
        f"bench_digits_cnn: {results['description']}, {results['threads']} thread(s), "
        f"median of {results['rounds']} rounds x {results['repeats']} repeats",
        f"{'framework':<10}{'train (s)':>12}{'test accuracy':>15}{'last loss':>12}",
    ]
    lines.append("-" * len(lines[-1]))
    for fw, seconds in results["times"].items():
        lines.append(
            f"{fw:<10}{seconds:>12.3f}{results['accuracy'][fw]:>15.4f}{results['last_loss'][fw]:>12.4f}"
        )
    lines.append(", ".join(f"{k}: {v:.2f}" for k, v in results["ratios"].items()))
    lines.append(f"targets: neograd/torch <= {TARGET_RATIO}, test accuracy >= {TARGET_ACCURACY}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    cli(__doc__, FRAMEWORKS, worker, run, format_table, repeats=5, argv=argv)


if __name__ == "__main__":
    main()
