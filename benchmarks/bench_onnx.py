"""Inference of the exported digits CNN: onnxruntime against neograd's own eval forward, in one run.

The model is examples/digits_cnn.py's (Conv2d(1, 16, 3, padding=1) - ReLU - MaxPool2d(2) -
Conv2d(16, 32, 3, padding=1) - ReLU - MaxPool2d(2) - Flatten - Linear(128, 10)), exported
by neograd.onnx.export with a dynamic batch dim. Both run on the same inputs (the digits'
test set, 360 images, and single images) with the same thread count: neograd under
no_grad in eval mode, onnxruntime's CPU provider with intra_op_num_threads set. For each
batch size, after a warm-up, the median time of a call over ``--repeats`` timed loops is
reported, with the ratio neograd / onnxruntime and the largest difference of the outputs.

Usage:
    python benchmarks/bench_onnx.py [--threads 1] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--threads", type=int, default=1, help="threads for NumPy's BLAS and onnxruntime (1)")
parser.add_argument("--repeats", type=int, default=7, help="timed loops per measurement (7)")
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)  # NOTE: before NumPy is imported, or BLAS ignores it

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import neograd as ng  # noqa: E402
from neograd import nn  # noqa: E402


def median_call_time(fn, calls: int, repeats: int) -> float:
    """Seconds per call: the median over ``repeats`` loops of ``calls`` calls each."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def main() -> None:
    ng.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128, 10),
    ).eval()
    images = (load_digits().images / 16.0).astype(np.float32)[:, None, :, :][-360:]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "digits_cnn.onnx"
        ng.onnx.export(model, ng.tensor(images[:1]), path, dynamic_axes={"input": [0], "output": [0]})
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = args.threads
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    print(f"digits CNN inference, {args.threads} thread(s), median of {args.repeats} loops")
    print(f"{'batch':>6} {'neograd':>12} {'onnxruntime':>12} {'ratio':>7} {'max |diff|':>11}")
    for batch, calls in ((1, 200), (32, 50), (360, 10)):
        x = images[:batch]
        t = ng.tensor(x)

        def ours(t=t):
            with ng.no_grad():
                return model(t).numpy()

        def theirs(x=x):
            return session.run(None, {"input": x})[0]

        diff = np.abs(ours() - theirs()).max()
        a = median_call_time(ours, calls, args.repeats)
        b = median_call_time(theirs, calls, args.repeats)
        print(f"{batch:>6} {a * 1e3:>10.3f}ms {b * 1e3:>10.3f}ms {a / b:>6.1f}x {diff:>11.1e}")


if __name__ == "__main__":
    main()
