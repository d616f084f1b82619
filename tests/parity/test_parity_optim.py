"""Optimizers against torch.optim: the same float64 parameters and the same gradient sequence
(set on .grad directly on both sides) give the same parameters after every one of 50 steps."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch

import neograd.autograd as ng
import neograd.optim as optim

SHAPES = [(3, 4), (5,), (2, 3, 2), ()]
STEPS = 50


@pytest.fixture(autouse=True)
def _float64_scalars():
    # NOTE: torch keeps step counts and NAdam's mu_product in the default dtype; in float32
    # they would differ from neograd's Python floats by ~1e-8
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def run_both(
    ng_cls: type,
    th_cls: type,
    kwargs: dict[str, Any],
    th_kwargs: dict[str, Any] | None = None,
    groups: list[dict[str, Any]] | None = None,
    seed: int = 0,
) -> None:
    """Step both optimizers on the same gradients; compare the parameters after every step.

    ``groups`` splits the parameters into groups: ``[{"n": count, **options}, ...]``. Every
    7th step the last parameter gets no gradient (None), which both must skip.
    """
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    ng_params = [ng.tensor(a.copy(), requires_grad=True) for a in init]
    th_params = [torch.tensor(a.copy(), requires_grad=True) for a in init]

    def split(params: list[Any]) -> Any:
        if groups is None:
            return params
        out, start = [], 0
        for g in groups:
            out.append({"params": params[start : start + g["n"]], **{k: v for k, v in g.items() if k != "n"}})
            start += g["n"]
        return out

    ng_opt = ng_cls(split(ng_params), **kwargs)
    th_opt = th_cls(split(th_params), **(kwargs if th_kwargs is None else th_kwargs), foreach=False)
    for step in range(STEPS):
        for i, (a, b) in enumerate(zip(ng_params, th_params)):
            if i == len(SHAPES) - 1 and step % 7 == 3:
                a.grad = b.grad = None
                continue
            g = rng.standard_normal(a.shape)
            a.grad = ng.tensor(g.copy())
            b.grad = torch.tensor(g.copy())
        ng_opt.step()
        th_opt.step()
        for i, (a, b) in enumerate(zip(ng_params, th_params)):
            np.testing.assert_allclose(
                a.data, b.detach().numpy(), rtol=0, atol=1e-10, err_msg=f"step {step}, parameter {i}"
            )


def combos(**options: list[Any]) -> list[dict[str, Any]]:
    """Every combination of the given option values, as kwargs dicts."""
    keys = list(options)
    return [dict(zip(keys, values)) for values in itertools.product(*options.values())]


def ids(kwargs: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in kwargs.items())


SGD_CASES = [
    c
    for c in combos(
        lr=[0.05],
        momentum=[0.0, 0.9],
        dampening=[0.0, 0.3],
        weight_decay=[0.0, 0.1],
        nesterov=[False, True],
        maximize=[False, True],
    )
    if not c["nesterov"] or (c["momentum"] > 0 and c["dampening"] == 0)
]


@pytest.mark.parametrize("kwargs", SGD_CASES, ids=ids)
def test_sgd(kwargs):
    run_both(optim.SGD, torch.optim.SGD, kwargs)


ADAM_CASES = combos(
    lr=[0.01],
    betas=[(0.9, 0.999), (0.4, 0.8)],  # 1 - beta1 >= 0.5 takes torch's other lerp formula
    weight_decay=[0.0, 0.1],
    amsgrad=[False, True],
    maximize=[False, True],
    decoupled_weight_decay=[False, True],
)


@pytest.mark.parametrize("kwargs", ADAM_CASES, ids=ids)
def test_adam(kwargs):
    run_both(optim.Adam, torch.optim.Adam, kwargs)


@pytest.mark.parametrize(
    "kwargs",
    combos(lr=[0.01], weight_decay=[0.01, 0.2], amsgrad=[False, True], maximize=[False, True]),
    ids=ids,
)
def test_adamw(kwargs):
    run_both(optim.AdamW, torch.optim.AdamW, kwargs)


def test_adam_original_keywords():
    run_both(
        optim.Adam,
        torch.optim.Adam,
        {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6},
        th_kwargs={"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6},
    )


@pytest.mark.parametrize(
    "kwargs",
    combos(
        lr=[0.01],
        alpha=[0.9],
        momentum=[0.0, 0.5],
        centered=[False, True],
        weight_decay=[0.0, 0.1],
        maximize=[False, True],
    ),
    ids=ids,
)
def test_rmsprop(kwargs):
    run_both(optim.RMSprop, torch.optim.RMSprop, kwargs)


@pytest.mark.parametrize(
    "kwargs",
    combos(
        lr=[0.1],
        lr_decay=[0.0, 0.01],
        initial_accumulator_value=[0.0, 0.5],
        weight_decay=[0.0, 0.1],
        maximize=[False, True],
    ),
    ids=ids,
)
def test_adagrad(kwargs):
    run_both(optim.Adagrad, torch.optim.Adagrad, kwargs)


@pytest.mark.parametrize(
    "kwargs",
    combos(lr=[1.0, 0.5], rho=[0.9, 0.5], weight_decay=[0.0, 0.1], maximize=[False, True]),
    ids=ids,
)
def test_adadelta(kwargs):
    run_both(optim.Adadelta, torch.optim.Adadelta, kwargs)


@pytest.mark.parametrize(
    "kwargs",
    combos(
        lr=[0.01],
        momentum_decay=[4e-3, 0.05],
        weight_decay=[0.0, 0.1],
        decoupled_weight_decay=[False, True],
        maximize=[False, True],
    ),
    ids=ids,
)
def test_nadam(kwargs):
    run_both(optim.NAdam, torch.optim.NAdam, kwargs)


@pytest.mark.parametrize(
    "kwargs",
    combos(
        lr=[0.01],
        betas=[(0.9, 0.999), (0.8, 0.9)],  # beta2=0.9 reaches rho_t > 5 at once; 0.999 after 6 steps
        weight_decay=[0.0, 0.1],
        decoupled_weight_decay=[False, True],
        maximize=[False, True],
    ),
    ids=ids,
)
def test_radam(kwargs):
    run_both(optim.RAdam, torch.optim.RAdam, kwargs)


@pytest.mark.parametrize(
    ("ng_cls", "th_cls", "kwargs", "groups"),
    [
        (
            optim.SGD,
            torch.optim.SGD,
            {"lr": 0.1, "momentum": 0.9},
            [{"n": 2, "lr": 0.01, "nesterov": True}, {"n": 2, "momentum": 0.0, "weight_decay": 0.1}],
        ),
        (
            optim.Adam,
            torch.optim.Adam,
            {"lr": 0.01},
            [{"n": 1, "betas": (0.5, 0.9), "amsgrad": True}, {"n": 3, "lr": 0.1, "weight_decay": 0.1}],
        ),
        (
            optim.RMSprop,
            torch.optim.RMSprop,
            {"lr": 0.01},
            [{"n": 3, "centered": True}, {"n": 1, "momentum": 0.9, "alpha": 0.5}],
        ),
    ],
    ids=["SGD", "Adam", "RMSprop"],
)
def test_per_group_options(ng_cls, th_cls, kwargs, groups):
    run_both(ng_cls, th_cls, kwargs, groups=groups)


def test_gd_is_plain_sgd():
    run_both(optim.GD, torch.optim.SGD, {"lr": 0.1})
