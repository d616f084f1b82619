"""Bad input to optimizers is refused with a clear error, before anything changes."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest

import neograd.autograd as ng
import neograd.optim as optim

ALL = [
    optim.SGD,
    optim.Adam,
    optim.AdamW,
    optim.RMSprop,
    optim.Adagrad,
    optim.Adadelta,
    optim.NAdam,
    optim.RAdam,
    optim.GD,
    optim.Momentum,
    optim.RMSProp,
]
WITH_BETAS = [optim.Adam, optim.AdamW, optim.NAdam, optim.RAdam]


def param(*shape: int) -> ng.Tensor:
    return ng.tensor(np.arange(np.prod(shape), dtype=np.float64).reshape(shape) + 1, requires_grad=True)


def make(cls: type, params: Any, **kwargs: Any) -> optim.Optimizer:
    if cls in (optim.GD, optim.Momentum, optim.RMSProp):
        kwargs.setdefault("lr", 0.1)  # the original's lr has no default
    return cls(params, **kwargs)


def snapshot(opt: optim.Optimizer) -> tuple[Any, list[np.ndarray]]:
    """Everything an optimizer holds: its state dict and the values of its parameters."""
    params = [p for g in opt.param_groups for p in g["params"]]
    return opt.state_dict(), [p.data.copy() for p in params]


def assert_unchanged(opt: optim.Optimizer, before: tuple[Any, list[np.ndarray]]) -> None:
    state, values = snapshot(opt)
    assert [p for p in values] and all(np.array_equal(a, b) for a, b in zip(values, before[1]))
    assert state["param_groups"] == before[0]["param_groups"]
    assert state["state"].keys() == before[0]["state"].keys()
    for i, s in state["state"].items():
        assert s.keys() == before[0]["state"][i].keys()
        for k, v in s.items():
            assert np.array_equal(v, before[0]["state"][i][k]), (i, k)


def trained(cls: type, **kwargs: Any) -> tuple[optim.Optimizer, list[ng.Tensor]]:
    params = [param(2, 3), param(4)]
    opt = make(cls, params, **kwargs)
    for _ in range(2):
        for p in params:
            p.grad = ng.tensor(np.full(p.shape, 0.5))
        opt.step()
    return opt, params


# ---- hyperparameters -----------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
@pytest.mark.parametrize("lr", [-0.1, math.nan])
def test_negative_or_nan_learning_rate(cls, lr):
    p = param(3)
    with pytest.raises(ValueError, match=rf"{cls.__name__}.*lr={lr}"):
        make(cls, [p], lr=lr)
    assert np.array_equal(p.data, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_learning_rate_must_be_a_number(cls):
    with pytest.raises(TypeError, match="lr must be a real number"):
        make(cls, [param(3)], lr="0.1")


@pytest.mark.parametrize("cls", WITH_BETAS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("betas", [(1.0, 0.999), (-0.1, 0.9), (0.9, 1.0), (0.9, math.nan)])
def test_betas_outside_zero_one(cls, betas):
    with pytest.raises(ValueError, match=r"betas\[\d\]"):
        cls([param(3)], betas=betas)


@pytest.mark.parametrize("betas", [(0.9,), 0.9, (0.9, 0.99, 0.999)])
def test_betas_must_be_a_pair(betas):
    with pytest.raises(ValueError, match="pair"):
        optim.Adam([param(3)], betas=betas)


def test_original_keywords_are_checked_too():
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([param(3)], beta1=1.5)
    with pytest.raises(ValueError, match="eps"):
        optim.Adam([param(3)], epsilon=-1e-8)


@pytest.mark.parametrize(
    ("cls", "kwargs", "name"),
    [
        (optim.Adam, {"eps": -1e-8}, "eps"),
        (optim.RMSprop, {"eps": -1.0}, "eps"),
        (optim.Adagrad, {"eps": -1.0}, "eps"),
        (optim.RMSProp, {"epsilon": -1.0}, "epsilon"),
        (optim.SGD, {"weight_decay": -0.1}, "weight_decay"),
        (optim.AdamW, {"weight_decay": -0.1}, "weight_decay"),
        (optim.NAdam, {"weight_decay": math.nan}, "weight_decay"),
        (optim.SGD, {"momentum": -0.9}, "momentum"),
        (optim.RMSprop, {"momentum": -0.9}, "momentum"),
        (optim.RMSprop, {"alpha": -0.5}, "alpha"),
        (optim.Adagrad, {"lr_decay": -1.0}, "lr_decay"),
        (optim.Adagrad, {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
        (optim.Adadelta, {"rho": 1.5}, "rho"),
        (optim.NAdam, {"momentum_decay": -1.0}, "momentum_decay"),
        (optim.Momentum, {"beta": 1.0}, "beta"),
        (optim.RMSProp, {"beta": -0.1}, "beta"),
    ],
)
def test_hyperparameters_out_of_range(cls, kwargs, name):
    with pytest.raises(ValueError, match=rf"invalid {name}="):
        make(cls, [param(3)], **kwargs)


def test_nesterov_needs_momentum_and_no_dampening():
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([param(3)], momentum=0, nesterov=True)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([param(3)], momentum=0.9, dampening=0.1, nesterov=True)


# ---- parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_empty_parameter_list(cls):
    with pytest.raises(ValueError, match="empty parameter list"):
        make(cls, [])
    with pytest.raises(ValueError, match="empty parameter list"):
        make(cls, iter([]))


def test_a_single_tensor_or_a_set_is_refused():
    with pytest.raises(TypeError, match="wrap it in a list"):
        optim.SGD(param(3))
    with pytest.raises(TypeError, match="ordered collection"):
        optim.SGD({param(3)})
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(3.0)


def test_non_tensor_parameters():
    with pytest.raises(TypeError, match=r"only optimize Tensors, but params\[1\] is a ndarray"):
        optim.Adam([param(3), np.ones(3)])


def test_non_leaf_parameters():
    x = param(3)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([x * 2])


def test_a_parameter_given_twice():
    p = param(3)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, param(2), p])


def test_a_parameter_in_two_groups():
    p = param(3)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [param(2), p]}])


def test_add_param_group_refuses_bad_groups_and_changes_nothing():
    p, q = param(3), param(2)
    opt, _ = trained(optim.Adam)
    opt.add_param_group({"params": [p]})
    before = snapshot(opt)
    groups = [dict(g) for g in opt.param_groups]
    bad = [
        ({"params": [q, p]}, ValueError, "more than one parameter group"),
        ({"params": [q], "lr": -1.0}, ValueError, "lr=-1.0"),
        ({"params": [q], "betas": (0.9, 2.0)}, ValueError, "betas"),
        ({"params": [q, q]}, ValueError, "more than once"),
        ({"params": [q, "w"]}, TypeError, "only optimize Tensors"),
        ({"lr": 0.1}, ValueError, "'params'"),
        ([q], TypeError, "must be a dict"),
    ]
    for group, error, message in bad:
        with pytest.raises(error, match=message):
            opt.add_param_group(group)
    assert opt.param_groups == groups
    assert_unchanged(opt, before)


def test_add_param_group_does_not_modify_the_callers_dict():
    opt = optim.SGD([param(3)], lr=0.1)
    group = {"params": (t for t in [param(2)]), "lr": 0.5}
    given = dict(group)
    opt.add_param_group(group)
    assert group == given


# ---- step ----------------------------------------------------------------------------------


def test_step_refuses_a_gradient_of_the_wrong_shape_before_updating_anything():
    opt, (a, b) = trained(optim.Adam)
    before = snapshot(opt)
    a.grad = ng.tensor(np.ones((2, 3)))
    b.grad = ng.tensor(np.ones(5))
    with pytest.raises(RuntimeError, match=r"shape \(4,\) but its grad is \(5,\)"):
        opt.step()
    assert_unchanged(opt, before)


def test_step_refuses_a_read_only_parameter_before_updating_anything():
    opt, (a, b) = trained(optim.SGD, momentum=0.9)
    before = snapshot(opt)
    a.grad, b.grad = ng.tensor(np.ones((2, 3))), ng.tensor(np.ones(4))
    b.data.flags.writeable = False
    with pytest.raises(RuntimeError, match="read-only"):
        opt.step()
    assert_unchanged(opt, before)


# ---- load_state_dict -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ((optim.SGD, {"momentum": 0.9}), (optim.Adam, {})),
        ((optim.Adam, {}), (optim.SGD, {"momentum": 0.9})),
        ((optim.Adam, {}), (optim.RMSprop, {})),
        ((optim.RMSprop, {}), (optim.Adagrad, {})),
        ((optim.Adagrad, {}), (optim.Adadelta, {})),
        ((optim.NAdam, {}), (optim.RAdam, {})),
        ((optim.RAdam, {}), (optim.NAdam, {})),
        ((optim.Momentum, {}), (optim.RMSProp, {})),
        ((optim.RMSProp, {}), (optim.Momentum, {})),
    ],
    ids=lambda c: c[0].__name__,
)
def test_load_state_dict_from_another_optimizer_is_refused(source, target):
    saved = trained(source[0], **source[1])[0].state_dict()
    opt, _ = trained(target[0], **target[1])
    before = snapshot(opt)
    with pytest.raises(ValueError, match="different optimizer"):
        opt.load_state_dict(saved)
    assert_unchanged(opt, before)


def test_load_state_dict_with_another_number_or_size_of_groups_is_refused():
    saved = trained(optim.Adam)[0].state_dict()
    a, b, c = param(2, 3), param(4), param(1)
    for params, message in [
        ([a, b, c], "group of 2 parameters, the optimizer's group has 3"),
        ([{"params": [a]}, {"params": [b]}], "has 1 parameter groups, the optimizer has 2"),
    ]:
        opt = optim.Adam(params)
        before = snapshot(opt)
        with pytest.raises(ValueError, match=message):
            opt.load_state_dict(saved)
        assert_unchanged(opt, before)


def test_load_state_dict_with_state_of_another_shape_is_refused():
    saved = trained(optim.Adam)[0].state_dict()  # parameters of shapes (2, 3) and (4,)
    params = [param(2, 3), param(5)]
    opt = optim.Adam(params)
    for p in params:
        p.grad = ng.tensor(np.ones(p.shape))
    opt.step()
    before = snapshot(opt)
    with pytest.raises(ValueError, match=r"'exp_avg' should be an array of shape \(5,\), got \(4,\)"):
        opt.load_state_dict(saved)
    assert_unchanged(opt, before)


def test_load_state_dict_with_bad_values_is_refused():
    opt, _ = trained(optim.Adam)
    saved = opt.state_dict()
    before = snapshot(opt)
    bad_lr = copy.deepcopy(saved)
    bad_lr["param_groups"][0]["lr"] = -1.0
    bad_step = copy.deepcopy(saved)
    bad_step["state"][1]["step"] = "two"
    orphan = copy.deepcopy(saved)
    orphan["state"][7] = orphan["state"][0]
    for bad, message in [
        (bad_lr, "lr=-1.0"),
        (bad_step, "'step' should be a finite number"),
        (orphan, "parameter 7 belongs to no"),
        ({"state": {}}, "'state' and 'param_groups'"),
        ([], "'state' and 'param_groups'"),
    ]:
        with pytest.raises(ValueError, match=message):
            opt.load_state_dict(bad)
        assert_unchanged(opt, before)


def test_load_state_dict_copies_and_leaves_the_given_dict_alone():
    opt, _ = trained(optim.Adam)
    saved = opt.state_dict()
    kept = copy.deepcopy(saved)
    other, params = trained(optim.Adam, lr=0.5)
    other.load_state_dict(saved)
    for p in params:
        p.grad = ng.tensor(np.ones(p.shape))
    other.step()
    assert saved["param_groups"] == kept["param_groups"]
    assert all(
        np.array_equal(saved["state"][i][k], v) for i, s in kept["state"].items() for k, v in s.items()
    )
