"""Learning-rate schedulers against torch.optim.lr_scheduler: the same sequence of learning
rates (and of momentums, for OneCycleLR) over 100 steps, for two parameter groups."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import neograd.autograd as ng
import neograd.optim as optim
from neograd.optim import lr_scheduler as ng_sched

th_sched = torch.optim.lr_scheduler
STEPS = 100


def make_optimizers(kind: str) -> tuple[Any, Any]:
    """The same two-group optimizer in neograd and torch (SGD with momentum, or Adam)."""
    a, b = np.ones(3), np.ones(2)
    ng_groups = [
        {"params": [ng.tensor(a, requires_grad=True)]},
        {"params": [ng.tensor(b, requires_grad=True)]},
    ]
    th_groups = [
        {"params": [torch.tensor(a, requires_grad=True)]},
        {"params": [torch.tensor(b, requires_grad=True)]},
    ]
    ng_groups[1]["lr"] = th_groups[1]["lr"] = 0.3
    if kind == "sgd":
        return optim.SGD(ng_groups, lr=0.1, momentum=0.9), torch.optim.SGD(th_groups, lr=0.1, momentum=0.9)
    return optim.Adam(ng_groups, lr=0.1), torch.optim.Adam(th_groups, lr=0.1)


def observed(opt: Any) -> list[float]:
    """What a schedule changes: each group's lr, and its momentum or beta1."""
    values = []
    for group in opt.param_groups:
        values.append(float(group["lr"]))
        values.append(float(group["betas"][0] if "betas" in group else group["momentum"]))
    return values


def run_both(build: Callable[[Any, Any], Any], kind: str = "sgd", metrics: list[float] | None = None) -> None:
    """Build a scheduler on both sides (``build(module, optimizer)``) and compare 100 steps."""
    ng_opt, th_opt = make_optimizers(kind)
    ng_s, th_s = build(ng_sched, ng_opt), build(th_sched, th_opt)
    for step in range(STEPS + 1):
        np.testing.assert_allclose(
            observed(ng_opt), observed(th_opt), rtol=1e-12, atol=0, err_msg=f"step {step}"
        )
        last = th_s.get_last_lr()
        np.testing.assert_allclose(ng_s.get_last_lr(), last, rtol=1e-12, atol=0, err_msg=f"step {step}")
        if step == STEPS:
            break
        ng_opt.step()
        th_opt.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on step order
            if metrics is None:
                ng_s.step()
                th_s.step()
            else:
                ng_s.step(metrics[step])
                th_s.step(metrics[step])


CASES: dict[str, Callable[[Any, Any], Any]] = {
    "LambdaLR": lambda m, o: m.LambdaLR(o, lr_lambda=lambda e: 0.97**e),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(
        o, lr_lambda=[lambda e: 1 / (1 + e), lambda e: (e % 10) / 10]
    ),
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[10, 30, 30, 75], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.95),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=30, eta_min=0.001),
    "CosineAnnealingLR-long": lambda m, o: m.CosineAnnealingLR(o, T_max=100),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=40),
    "LinearLR-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=100),
    "OneCycleLR-cos": lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=100),
    "OneCycleLR-linear-3phase": lambda m, o: m.OneCycleLR(
        o, max_lr=[0.5, 2.0], total_steps=100, anneal_strategy="linear", three_phase=True, pct_start=0.25
    ),
    "OneCycleLR-epochs-no-momentum": lambda m, o: m.OneCycleLR(
        o, max_lr=0.4, epochs=10, steps_per_epoch=10, cycle_momentum=False, div_factor=10.0
    ),
    "SequentialLR-warmup-exp": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=20), m.ExponentialLR(o, gamma=0.9)], milestones=[20]
    ),
    "SequentialLR-three": lambda m, o: m.SequentialLR(
        o,
        [
            m.LambdaLR(o, lr_lambda=lambda e: (e + 1) / 10),
            m.CosineAnnealingLR(o, T_max=25, eta_min=0.01),
            m.StepLR(o, step_size=5, gamma=0.7),
        ],
        milestones=[10, 50],
    ),
    "SequentialLR-multistep": lambda m, o: m.SequentialLR(
        o, [m.ExponentialLR(o, gamma=0.8), m.MultiStepLR(o, milestones=[5, 20], gamma=0.5)], milestones=[30]
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_scheduler_sequence(name):
    run_both(CASES[name])


@pytest.mark.parametrize("name", ["OneCycleLR-cos", "OneCycleLR-linear-3phase"])
def test_one_cycle_cycles_adam_beta1(name):
    run_both(CASES[name], kind="adam")


def plateau_metrics() -> list[float]:
    """Improving, then flat (with noise), then improving a little, then worse: every branch."""
    rng = np.random.default_rng(0)
    values = list(np.linspace(1.0, 0.5, 20))
    values += list(0.5 + 1e-6 * rng.standard_normal(30))
    values += list(np.linspace(0.49, 0.45, 20))
    values += list(np.linspace(0.5, 0.8, 30))
    return [float(v) for v in values]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"mode": "min", "factor": 0.5, "patience": 3, "cooldown": 2},
        {"mode": "max", "factor": 0.5, "patience": 2, "threshold_mode": "abs", "threshold": 0.01},
        {"mode": "min", "factor": 0.2, "patience": 0, "min_lr": [0.01, 0.05], "threshold_mode": "abs"},
        {"mode": "max", "patience": 4, "eps": 0.05},
    ],
    ids=["defaults", "cooldown", "max-abs", "min_lr-per-group", "max-eps"],
)
def test_reduce_lr_on_plateau(kwargs):
    run_both(lambda m, o: m.ReduceLROnPlateau(o, **kwargs), metrics=plateau_metrics())
