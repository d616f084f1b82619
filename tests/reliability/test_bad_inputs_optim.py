"""Bad input to every public name of neograd.optim: optimizers and learning-rate schedulers."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import neograd.autograd as ng
from neograd import optim
from neograd.optim import lr_scheduler as L  # noqa: N812


def assert_clear_error(call: Callable[[], Any], name: str) -> None:
    with pytest.raises((TypeError, ValueError, IndexError, RuntimeError, KeyError)) as info:
        call()
    assert name in str(info.value), f"the message does not name {name!r}: {info.value}"
    innermost = traceback.extract_tb(info.value.__traceback__)[-1].filename
    assert "/numpy/" not in innermost, f"{name}: raised inside NumPy: {info.value}"


def param() -> ng.Tensor:
    return ng.ones(2, 2, requires_grad=True)


def sgd() -> optim.SGD:
    return optim.SGD([param()], lr=0.1)


def step_with_grad(cls: type, grad: ng.Tensor, **kwargs: Any) -> None:
    p = param()
    opt = cls([p], **kwargs)
    p.grad = grad
    opt.step()


BAD = [
    ("SGD", lambda: optim.SGD([], lr=0.1)),
    ("SGD", lambda: optim.SGD(param(), lr=0.1)),
    ("SGD", lambda: optim.SGD({"params": [param()]}, lr=0.1)),
    ("SGD", lambda: optim.SGD({param()}, lr=0.1)),
    ("SGD", lambda: optim.SGD([1, 2], lr=0.1)),
    ("SGD", lambda: optim.SGD([param()], lr=-1)),
    ("SGD", lambda: optim.SGD([param()], lr="a")),
    ("SGD", lambda: optim.SGD([param()], lr=float("nan"))),
    ("SGD", lambda: optim.SGD([param()], lr=0.1, momentum=-1)),
    ("SGD", lambda: optim.SGD([param()], lr=0.1, nesterov=True)),
    ("SGD", lambda: optim.SGD([param(), param()][:1] * 2, lr=0.1)),
    ("Adam", lambda: optim.Adam([param()], betas=(1.0, 0.9))),
    ("Adam", lambda: optim.Adam([param()], betas=(0.9,))),
    ("Adam", lambda: optim.Adam([param()], eps=-1)),
    ("Adam", lambda: optim.Adam([param()], lr=ng.tensor(0.1))),
    ("AdamW", lambda: optim.AdamW([param()], weight_decay=-1)),
    ("RMSprop", lambda: optim.RMSprop([param()], alpha=-1)),
    ("Adagrad", lambda: optim.Adagrad([param()], lr_decay=-1)),
    ("Adadelta", lambda: optim.Adadelta([param()], rho=2)),
    ("NAdam", lambda: optim.NAdam([param()], momentum_decay=-1)),
    ("RAdam", lambda: optim.RAdam([param()], betas=(0.9, 1.5))),
    ("GD", lambda: optim.GD([param()], lr=-1)),
    ("Momentum", lambda: optim.Momentum([param()], lr=0.1, beta=2)),
    ("RMSProp", lambda: optim.RMSProp([param()], lr=0.1, beta=2)),
    ("Adam.step", lambda: step_with_grad(optim.Adam, ng.ones(3))),
    ("SGD.step", lambda: step_with_grad(optim.SGD, ng.ones(0), lr=0.1)),
    ("SGD.load_state_dict", lambda: sgd().load_state_dict({"state": {}, "param_groups": []})),
    ("SGD.load_state_dict", lambda: sgd().load_state_dict("a")),
    ("SGD (param group 1)", lambda: sgd().add_param_group({"lr": 0.1})),
    ("SGD (param group 1)", lambda: sgd().add_param_group([param()])),
    ("Optimizer", lambda: optim.Optimizer([param()], {"lr": -1})),
    ("StepLR", lambda: L.StepLR(sgd(), step_size=0)),
    ("StepLR", lambda: L.StepLR("a", step_size=1)),
    ("CosineAnnealingLR", lambda: L.CosineAnnealingLR(sgd(), T_max=0)),
    ("LinearLR", lambda: L.LinearLR(sgd(), start_factor=0)),
    ("LinearLR", lambda: L.LinearLR(sgd(), total_iters=-1)),
    ("OneCycleLR", lambda: L.OneCycleLR(sgd(), max_lr=0.1)),
    ("OneCycleLR", lambda: L.OneCycleLR(sgd(), max_lr=0.1, total_steps=0)),
    ("OneCycleLR", lambda: L.OneCycleLR(sgd(), max_lr=0.1, total_steps=10, pct_start=2)),
    ("OneCycleLR", lambda: L.OneCycleLR(sgd(), max_lr=0.1, total_steps=10, anneal_strategy="foo")),
    ("SequentialLR", lambda: L.SequentialLR(sgd(), [], milestones=[])),
    ("ReduceLROnPlateau", lambda: L.ReduceLROnPlateau(sgd(), mode="foo")),
    ("ReduceLROnPlateau", lambda: L.ReduceLROnPlateau(sgd(), factor=1.5)),
    ("item", lambda: L.ReduceLROnPlateau(sgd()).step(ng.tensor([1.0, 2.0]))),
    ("LambdaLR", lambda: L.LambdaLR(sgd(), lr_lambda=5)),
    ("StepLR.load_state_dict", lambda: L.StepLR(sgd(), step_size=1).load_state_dict({"a": 1})),
    ("initial_lr", lambda: L.StepLR(sgd(), step_size=1, last_epoch=5)),
    ("MultiStepLR", lambda: L.MultiStepLR("a", milestones=[1])),
    ("ExponentialLR", lambda: L.ExponentialLR(None, gamma=0.9)),
]


@pytest.mark.parametrize(("name", "call"), BAD, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD)])
def test_optimizers_and_schedulers_refuse_bad_arguments(name: str, call: Callable[[], Any]) -> None:
    assert_clear_error(call, name)


def test_a_refused_step_changes_nothing() -> None:
    """Every parameter's grad is checked before any parameter moves."""
    a, b = param(), param()
    opt = optim.Adam([a, b])
    a.grad, b.grad = ng.ones(2, 2), ng.ones(3)
    with pytest.raises(RuntimeError):
        opt.step()
    assert np.array_equal(a.data, np.ones((2, 2))) and not opt.state


@pytest.mark.parametrize(
    "cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad, optim.RAdam]
)
def test_empty_and_0d_parameters_step(cls: type) -> None:
    empty, scalar = ng.zeros(0, requires_grad=True), ng.tensor(1.0, requires_grad=True)
    opt = cls([empty, scalar], lr=0.1)
    (empty.sum() + scalar * 2).backward()
    opt.step()
    assert empty.shape == (0,) and scalar.item() < 1.0


def test_every_public_name_is_exercised_here() -> None:
    text = Path(__file__).read_text()
    names = (set(optim.__all__) | set(L.__all__)) - {"__version__", "lr_scheduler", "LRScheduler"}
    missing = sorted(n for n in names if f"{n}(" not in text and f'"{n}' not in text)
    assert not missing, f"public names without a bad-input test: {missing}"
