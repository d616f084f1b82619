"""Learning-rate schedulers without torch: the documented formulas, exact save/resume, errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import neograd.autograd as ng
import neograd.optim as optim
from neograd.optim import lr_scheduler as sched


def sgd(lrs: tuple[float, ...] = (0.1,), **kwargs: Any) -> optim.SGD:
    groups = [{"params": [ng.tensor(np.ones(2), requires_grad=True)], "lr": lr} for lr in lrs]
    return optim.SGD(groups, **kwargs)


def lrs_over(scheduler: Any, steps: int, metrics: list[float] | None = None) -> list[list[float]]:
    """The learning rates after creation and after each of ``steps`` steps."""
    out = [scheduler.get_last_lr()]
    for i in range(steps):
        scheduler.optimizer.step()
        scheduler.step() if metrics is None else scheduler.step(metrics[i])
        out.append(scheduler.get_last_lr())
    return out


def expect(
    formula: Callable[[int, float], float], base_lrs: tuple[float, ...], steps: int
) -> list[list[float]]:
    return [[formula(e, base) for base in base_lrs] for e in range(steps + 1)]


CLOSED_FORMS: dict[str, tuple[Callable[[optim.Optimizer], Any], Callable[[int, float], float]]] = {
    "LambdaLR": (lambda o: sched.LambdaLR(o, lambda e: 1 / (e + 1)), lambda e, b: b / (e + 1)),
    "StepLR": (lambda o: sched.StepLR(o, step_size=4, gamma=0.5), lambda e, b: b * 0.5 ** (e // 4)),
    "MultiStepLR": (
        lambda o: sched.MultiStepLR(o, milestones=[3, 7, 7], gamma=0.1),
        lambda e, b: b * 0.1 ** ((e >= 3) + 2 * (e >= 7)),
    ),
    "ExponentialLR": (lambda o: sched.ExponentialLR(o, gamma=0.9), lambda e, b: b * 0.9**e),
    "CosineAnnealingLR": (
        lambda o: sched.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
        lambda e, b: 0.01 + (b - 0.01) * (1 + math.cos(math.pi * e / 10)) / 2,
    ),
    "LinearLR": (
        lambda o: sched.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=8),
        lambda e, b: b * (0.25 + 0.75 * min(e, 8) / 8),
    ),
    "SequentialLR": (
        lambda o: sched.SequentialLR(
            o, [sched.LinearLR(o, start_factor=0.5, total_iters=4), sched.ExponentialLR(o, gamma=0.8)], [6]
        ),
        lambda e, b: b * (0.5 + 0.5 * min(e, 4) / 4) if e < 6 else b * 0.8 ** (e - 6),
    ),
}


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_learning_rates_follow_the_documented_formula(name):
    build, formula = CLOSED_FORMS[name]
    opt = sgd((0.1, 0.4))
    got = lrs_over(build(opt), 20)
    np.testing.assert_allclose(got, expect(formula, (0.1, 0.4), 20), rtol=1e-12)
    assert [g["lr"] for g in opt.param_groups] == got[-1]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.4]


def test_one_cycle_rises_to_max_lr_then_anneals_with_opposite_momentum():
    opt = sgd((0.1,), momentum=0.9)
    s = sched.OneCycleLR(
        opt, max_lr=1.0, total_steps=20, pct_start=0.25, div_factor=10.0, final_div_factor=100.0
    )
    lrs, momentums = [opt.param_groups[0]["lr"]], [opt.param_groups[0]["momentum"]]
    for _ in range(20):
        opt.step()
        s.step()
        lrs.append(opt.param_groups[0]["lr"])
        momentums.append(opt.param_groups[0]["momentum"])
    assert lrs[0] == pytest.approx(0.1) and momentums[0] == pytest.approx(0.95)
    assert lrs[4] == pytest.approx(1.0) and momentums[4] == pytest.approx(0.85)  # end of phase 1: step 5 - 1
    assert lrs[19] == pytest.approx(0.1 / 100)  # the last step reaches min_lr
    assert np.all(np.diff(lrs[:5]) > 0) and np.all(np.diff(lrs[4:20]) < 0)
    assert np.all(np.diff(momentums[:5]) < 0) and np.all(np.diff(momentums[4:20]) > 0)
    # the cosine at the middle of the annealing phase: halfway between max_lr and min_lr
    assert lrs[4 + 15 // 2] == pytest.approx(
        (1.0 + 0.001) / 2 + (1.0 - 0.001) / 2 * math.cos(math.pi * 7 / 15)
    )


def test_one_cycle_cycles_adams_beta1():
    opt = optim.Adam([ng.tensor(np.ones(2), requires_grad=True)], betas=(0.5, 0.99))
    sched.OneCycleLR(opt, max_lr=0.1, total_steps=10, max_momentum=0.9, base_momentum=0.8)
    assert opt.param_groups[0]["betas"] == (0.9, 0.99)


def test_one_cycle_refuses_to_step_past_total_steps():
    opt = sgd()
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=5)
    lrs_over(s, 5)
    lr = opt.param_groups[0]["lr"]
    with pytest.raises(ValueError, match="tried to step 6 times"):
        s.step()
    assert s.last_epoch == 5 and opt.param_groups[0]["lr"] == lr


def test_reduce_lr_on_plateau_waits_patience_then_reduces_and_cools_down():
    opt = sgd((1.0, 0.5))
    s = sched.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=[0.3, 0.2])
    metrics = [5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 3.0]
    got = lrs_over(s, len(metrics), metrics)
    # improvements at 1 and 2; bad epochs 3, 4, 5 -> reduce after the 3rd; 1 epoch of cooldown;
    # then 3 more bad epochs -> reduce again, clipped to min_lr
    expected = [[1.0, 0.5]] * 5 + [[0.5, 0.25]] * 4 + [[0.3, 0.2]] * 2
    assert got == expected


def test_reduce_lr_on_plateau_mode_max_and_absolute_threshold():
    opt = sgd((1.0,))
    s = sched.ReduceLROnPlateau(opt, mode="max", patience=0, threshold=0.5, threshold_mode="abs")
    got = lrs_over(s, 3, [1.0, 1.4, 2.0])  # 1.4 is not > 1.0 + 0.5: one bad epoch > patience 0
    np.testing.assert_allclose(got, [[1.0], [1.0], [0.1], [0.1]])
    s.step(ng.tensor(0.0))  # a one-element tensor works as the metric
    assert s.num_bad_epochs == 0 and s.get_last_lr() == pytest.approx([0.01])


def test_get_last_lr_is_a_copy():
    s = sched.StepLR(sgd(), step_size=2)
    s.get_last_lr().append(5.0)
    assert s.get_last_lr() == [0.1]


# ---- state_dict ----------------------------------------------------------------------------


class Warmup:
    """A callable object: its attributes are saved with LambdaLR's state, as in torch."""

    def __init__(self) -> None:
        self.length = 5

    def __call__(self, epoch: int) -> float:
        return min(1.0, (epoch + 1) / self.length)


BUILDERS: dict[str, Callable[[optim.Optimizer], Any]] = {
    "LambdaLR": lambda o: sched.LambdaLR(o, [Warmup(), lambda e: 0.9**e]),
    "StepLR": lambda o: sched.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda o: sched.MultiStepLR(o, milestones=[4, 9, 15], gamma=0.5),
    "ExponentialLR": lambda o: sched.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda o: sched.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "LinearLR": lambda o: sched.LinearLR(o, start_factor=0.2, total_iters=12),
    "OneCycleLR": lambda o: sched.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=40, three_phase=True),
    "SequentialLR": lambda o: sched.SequentialLR(
        o, [sched.LinearLR(o, start_factor=0.5, total_iters=5), sched.CosineAnnealingLR(o, T_max=9)], [8]
    ),
    "ReduceLROnPlateau": lambda o: sched.ReduceLROnPlateau(o, patience=1, cooldown=1, factor=0.5),
}
METRICS = [float(v) for v in np.abs(np.sin(np.arange(40)))]


@pytest.mark.parametrize("name", list(BUILDERS))
def test_state_dict_round_trip_continues_bit_identically(name):
    build = BUILDERS[name]
    metrics = METRICS if name == "ReduceLROnPlateau" else None

    def fresh() -> tuple[optim.Optimizer, Any, list[ng.Tensor]]:
        params = [ng.tensor(np.ones(3), requires_grad=True), ng.tensor(np.ones(2), requires_grad=True)]
        opt = optim.SGD([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.3}], lr=0.1, momentum=0.9)
        return opt, build(opt), params

    def train(opt: optim.Optimizer, s: Any, params: list[ng.Tensor], steps: range) -> list[list[float]]:
        lrs = []
        for i in steps:
            for p in params:
                p.grad = ng.tensor(np.full(p.shape, math.sin(i)))
            opt.step()
            s.step() if metrics is None else s.step(metrics[i])
            lrs.append(s.get_last_lr())
        return lrs

    opt, s, params = fresh()
    train(opt, s, params, range(10))
    saved_opt, saved_sched = opt.state_dict(), s.state_dict()
    saved_params = [p.data.copy() for p in params]
    expected = train(opt, s, params, range(10, 30))

    opt2, s2, params2 = fresh()
    for p, data in zip(params2, saved_params):
        p.data[...] = data
    s2.load_state_dict(saved_sched)  # as torch recommends: the scheduler first, then the optimizer
    opt2.load_state_dict(saved_opt)
    assert train(opt2, s2, params2, range(10, 30)) == expected
    assert all(np.array_equal(a.data, b.data) for a, b in zip(params, params2))


def test_lambda_lr_restores_callable_objects_attributes_only():
    opt = sgd((0.1, 0.2))
    fn = Warmup()
    s = sched.LambdaLR(opt, [fn, lambda e: 1.0])
    fn.length = 10
    state = s.state_dict()
    assert state["lr_lambdas"] == [{"length": 10}, None]
    fn2 = Warmup()
    s2 = sched.LambdaLR(sgd((0.1, 0.2)), [fn2, lambda e: 1.0])
    s2.load_state_dict(state)
    assert fn2.length == 10


# ---- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda o: sched.StepLR(o, step_size=0), ValueError, "step_size must be a positive int"),
        (lambda o: sched.LinearLR(o, start_factor=0.0), ValueError, "start_factor"),
        (lambda o: sched.LinearLR(o, end_factor=1.5), ValueError, "end_factor"),
        (lambda o: sched.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
        (lambda o: sched.MultiStepLR(o, milestones=[2.5]), TypeError, "milestones"),
        (lambda o: sched.LambdaLR(o, [lambda e: 1.0] * 3), ValueError, "expected 2 values of lr_lambda"),
        (lambda o: sched.LambdaLR(o, 0.5), TypeError, "callable"),
        (lambda o: sched.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor should be < 1.0"),
        (lambda o: sched.ReduceLROnPlateau(o, mode="maximum"), ValueError, "mode"),
        (lambda o: sched.ReduceLROnPlateau(o, threshold_mode="relative"), ValueError, "threshold_mode"),
        (lambda o: sched.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "min_lr"),
        (lambda o: sched.OneCycleLR(o, max_lr=1.0), ValueError, "total_steps OR"),
        (lambda o: sched.OneCycleLR(o, max_lr=1.0, total_steps=0), ValueError, "total_steps"),
        (lambda o: sched.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.5), ValueError, "pct_start"),
        (lambda o: sched.OneCycleLR(o, 1.0, 10, anneal_strategy="exp"), ValueError, "anneal_strategy"),
        (lambda o: sched.OneCycleLR(o, max_lr=[1.0], total_steps=10), ValueError, "max_lr"),
        (lambda o: sched.StepLR(o, 2, last_epoch=5), KeyError, "initial_lr"),
        (lambda o: sched.StepLR("sgd", 2), TypeError, "is not an Optimizer"),
        (lambda o: sched.SequentialLR(o, [sched.StepLR(sgd(), 2)], []), ValueError, "same optimizer"),
        (lambda o: sched.SequentialLR(o, [], []), ValueError, "at least one"),
        (lambda o: sched.SequentialLR(o, [sched.ReduceLROnPlateau(o)], []), ValueError, "ReduceLROnPlateau"),
    ],
)
def test_bad_arguments_are_refused_before_the_optimizer_changes(build, error, message):
    opt = sgd((0.1, 0.2), momentum=0.9)
    before = [dict(g) for g in opt.param_groups]
    with pytest.raises(error, match=message):
        build(opt)
    assert opt.param_groups == before  # no initial_lr, max_lr or momentum written


def test_one_cycle_needs_a_momentum_to_cycle():
    opt = optim.GD([ng.tensor(np.ones(2), requires_grad=True)], 0.1)
    before = [dict(g) for g in opt.param_groups]
    with pytest.raises(ValueError, match="cycle_momentum"):
        sched.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    assert opt.param_groups == before
    sched.OneCycleLR(opt, max_lr=1.0, total_steps=10, cycle_momentum=False)  # works without


@pytest.mark.parametrize(("source", "target"), [("StepLR", "ExponentialLR"), ("OneCycleLR", "LinearLR")])
def test_load_state_dict_from_another_scheduler_is_refused(source, target):
    saved = BUILDERS[source](sgd((0.1, 0.3))).state_dict()
    s = BUILDERS[target](sgd((0.1, 0.3)))
    before = s.state_dict()
    with pytest.raises(ValueError, match="different scheduler"):
        s.load_state_dict(saved)
    assert s.state_dict() == before
