"""Threads: grad mode and anomaly mode are per thread; two models trained at once train as alone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

import neograd.autograd as ng
from neograd import nn
from neograd.nn import functional as F  # noqa: N812 -- torch's F
from neograd.optim import SGD, Adam
from neograd.optim.lr_scheduler import StepLR

STEPS = 40


def run_threads(*targets: Callable[[], None]) -> None:
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as e:  # reported in the main thread
                errors.append(e)

        return run

    threads = [threading.Thread(target=guarded(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def test_grad_mode_is_per_thread() -> None:
    entered, checked = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}
    x = ng.tensor([1.0, 2.0], requires_grad=True)

    def evaluating() -> None:
        with ng.no_grad():
            entered.set()
            checked.wait(10)
            seen["eval"] = (x * 2).requires_grad

    def training() -> None:
        entered.wait(10)
        y = (x * 3).sum()
        seen["train"] = (ng.is_grad_enabled(), y.requires_grad)
        checked.set()

    run_threads(evaluating, training)
    assert seen == {"eval": False, "train": (True, True)}


def make_job(kind: str, barrier: threading.Barrier | None) -> tuple[Callable[[], None], dict[str, Any]]:
    """A complete training run on its own model, data and generator; its results land in the dict."""
    ng.manual_seed(0 if kind == "mlp" else 1)  # initialisation happens here, in the main thread
    if kind == "mlp":
        model: nn.Module = nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 3))
        optimizer: Any = Adam(model.parameters(), lr=0.01)
    else:
        model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
        optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=10, gamma=0.5)
    data_rng = np.random.default_rng(3 if kind == "mlp" else 4)
    x = data_rng.standard_normal((64, 6)).astype(np.float32)
    y = data_rng.integers(0, 3, 64)
    dropout_rng = np.random.default_rng(5)  # a generator of its own: neograd's default one is shared
    results: dict[str, Any] = {"losses": []}

    def job() -> None:
        for step in range(STEPS):
            if barrier is not None:
                barrier.wait(10)  # lockstep: the two threads' ops interleave all the time
            batch = slice((step * 16) % 64, (step * 16) % 64 + 16)
            xb, yb = ng.tensor(x[batch]), ng.tensor(y[batch])
            hidden = F.dropout(xb, 0.1, training=True, generator=dropout_rng)
            if kind == "mlp":
                with ng.detect_anomaly():  # the other thread must not see or pay for this
                    loss = F.cross_entropy(model(hidden), yb)
                    optimizer.zero_grad()
                    loss.backward()
            else:
                loss = F.cross_entropy(model(hidden), yb)
                optimizer.zero_grad()
                loss.backward()
                with ng.no_grad():  # an evaluation between steps: the other thread keeps recording
                    model.eval()
                    results.setdefault("eval", []).append(model(ng.tensor(x)).sum().item())
                    model.train()
            optimizer.step()
            scheduler.step()
            results["losses"].append(loss.item())
        results["params"] = [p.data.copy() for p in model.parameters()]
        results["buffers"] = [b.data.copy() for b in model.buffers()]

    return job, results


def test_two_threads_train_two_models_exactly_as_alone() -> None:
    alone = {}
    for kind in ("mlp", "bn"):
        job, alone[kind] = make_job(kind, None)
        job()

    barrier = threading.Barrier(2)
    mlp_job, mlp = make_job("mlp", barrier)
    bn_job, bn = make_job("bn", barrier)
    run_threads(mlp_job, bn_job)

    for together, by_itself in ((mlp, alone["mlp"]), (bn, alone["bn"])):
        assert together["losses"] == by_itself["losses"]
        assert together.get("eval") == by_itself.get("eval")
        for a, b in zip(together["params"] + together["buffers"], by_itself["params"] + by_itself["buffers"]):
            assert np.array_equal(a, b)
    assert len(mlp["losses"]) == STEPS and mlp["losses"][-1] < mlp["losses"][0]
