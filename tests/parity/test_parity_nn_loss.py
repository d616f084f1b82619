"""Losses against torch: every reduction, weights, ignore_index, label_smoothing, probability
targets, pos_weight, and logits of +-1e4; values and gradients (of the target too where torch has one)."""

import numpy as np
import pytest
import torch

import neograd.nn.functional as F  # noqa: N812
from neograd import nn
from neograd.autograd import tensor

TF = torch.nn.functional
RNG = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]
DTYPES = [np.float64, np.float32]


def tol(dtype):
    return {"rtol": 1e-7, "atol": 1e-10} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-6}


def both(ng_fn, th_fn, **kwargs):
    """The same call on both sides; keyword tensors are given to each library as its own tensor."""
    return (
        lambda *a: ng_fn(*a, **{k: tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}),
        lambda *a: th_fn(
            *a, **{k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        ),
    )


# ---- regression -----------------------------------------------------------------------------------
REGRESSION = {
    "mse": (F.mse_loss, TF.mse_loss, {}),
    "l1": (F.l1_loss, TF.l1_loss, {}),
    "smooth_l1": (F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.7}),
    "smooth_l1_beta0": (F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.0}),
    "huber": (F.huber_loss, TF.huber_loss, {"delta": 1.3}),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_loss_parity(parity, name, reduction, dtype):
    ng_fn, th_fn, opts = REGRESSION[name]
    x, y = (RNG.standard_normal((4, 5)) * 2).astype(dtype), RNG.standard_normal((4, 5)).astype(dtype)
    parity(*both(ng_fn, th_fn, reduction=reduction, **opts), [x, y], **tol(dtype))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse", "l1", "huber"])
def test_weighted_regression_loss_parity(parity, name, reduction):
    ng_fn, th_fn, opts = REGRESSION[name]
    x, y, w = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5)), RNG.random((4, 5)) + 0.1
    parity(*both(ng_fn, th_fn, reduction=reduction, weight=w, **opts), [x, y])


# ---- binary -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_parity(parity, reduction, weighted, dtype):
    p = RNG.uniform(0.02, 0.98, (4, 3)).astype(dtype)
    p[0, :2] = [0.0, 1.0]  # clamped logs
    y = RNG.random((4, 3)).astype(dtype)
    y[0, :2] = [1.0, 0.0]
    kw = {"weight": (RNG.random(3) + 0.5).astype(dtype)} if weighted else {}
    # the target's gradient is checked too (torch has one), except at the clamped corners
    grads = [True, False] if not weighted else [True, True]
    if weighted:
        p[0, :2] = [0.3, 0.6]
    parity(
        *both(F.binary_cross_entropy, TF.binary_cross_entropy, reduction=reduction, **kw),
        [p, y],
        requires_grad=grads,
        **tol(dtype),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", ["plain", "weight", "pos_weight", "both"])
def test_bce_with_logits_parity(parity, reduction, options, dtype):
    x = (RNG.standard_normal((4, 3)) * 4).astype(dtype)
    y = RNG.random((4, 3)).astype(dtype)
    kw = {}
    if options in ("weight", "both"):
        kw["weight"] = (RNG.random((4, 1)) + 0.5).astype(dtype)
    if options in ("pos_weight", "both"):
        kw["pos_weight"] = (RNG.random(3) + 0.5).astype(dtype)
    fns = both(
        F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, reduction=reduction, **kw
    )
    parity(*fns, [x, y], **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_parity_at_huge_logits(parity, dtype):
    x = np.array([[1e4, -1e4, 1e4, -1e4, 0.0]], dtype=dtype)
    y = np.array([[1.0, 0.0, 0.0, 1.0, 1.0]], dtype=dtype)
    pw = np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype=dtype)
    fns = both(
        F.binary_cross_entropy_with_logits,
        TF.binary_cross_entropy_with_logits,
        reduction="none",
        pos_weight=pw,
    )
    parity(*fns, [x, y], requires_grad=[True, False], **tol(dtype))


# ---- multi-class -------------------------------------------------------------------------------------
CE_OPTIONS = {
    "plain": {},
    "weight": {"weight": np.array([0.2, 1.0, 3.0, 0.5])},
    "ignore": {"ignore_index": 1},
    "smoothing": {"label_smoothing": 0.15},
    "all": {"weight": np.array([0.2, 1.0, 3.0, 0.5]), "ignore_index": 3, "label_smoothing": 0.3},
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", CE_OPTIONS)
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 2), (4,)])
def test_cross_entropy_index_target_parity(parity, shape, options, reduction, dtype):
    opts = dict(CE_OPTIONS[options])
    if "weight" in opts:
        opts["weight"] = opts["weight"].astype(dtype)
    x = (RNG.standard_normal(shape) * 2).astype(dtype)
    target = RNG.integers(0, 4, shape[:1] + shape[2:] if len(shape) > 1 else ())
    if "ignore_index" in opts and target.ndim:
        target.flat[0] = opts["ignore_index"]
    target = np.asarray(target)
    parity(*both(F.cross_entropy, TF.cross_entropy, reduction=reduction, **opts), [x, target], **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", ["plain", "weight", "smoothing", "all"])
@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3)])
def test_cross_entropy_probability_target_parity(parity, shape, options, reduction, dtype):
    opts = {k: v for k, v in CE_OPTIONS[options].items() if k != "ignore_index"}
    if "weight" in opts:
        opts["weight"] = opts["weight"].astype(dtype)
    x = RNG.standard_normal(shape).astype(dtype)
    q = RNG.random(shape).astype(dtype)
    q /= q.sum(1, keepdims=True)
    parity(*both(F.cross_entropy, TF.cross_entropy, reduction=reduction, **opts), [x, q], **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_parity_at_huge_logits(parity, reduction, dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0], [0.0, -1e4, 1e4]], dtype=dtype)
    target = np.array([1, 1, 0])
    parity(
        *both(F.cross_entropy, TF.cross_entropy, reduction=reduction, label_smoothing=0.1),
        [x, target],
        **tol(dtype),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", ["plain", "weight", "ignore"])
def test_nll_loss_parity(parity, options, reduction):
    opts = {k: v for k, v in CE_OPTIONS[options].items()}
    x = np.log(RNG.dirichlet(np.ones(4), size=6))
    target = np.array([0, 1, 2, 3, 1, 1])
    parity(*both(F.nll_loss, TF.nll_loss, reduction=reduction, **opts), [x, target])


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_parity(parity, reduction, log_target):
    x = np.log(RNG.dirichlet(np.ones(5), size=3))
    q = RNG.dirichlet(np.ones(5), size=3)
    q[0, 0] = 0.0
    target = np.log(q + 1e-12) if log_target else q
    fns = both(F.kl_div, TF.kl_div, reduction=reduction, log_target=log_target)
    grads = [True, log_target]  # d/d(target) where log(target) is finite
    if reduction == "mean":
        with pytest.warns(UserWarning):
            parity(*fns, [x, target], requires_grad=grads)
    else:
        parity(*fns, [x, target], requires_grad=grads)


# ---- modules ---------------------------------------------------------------------------------------------
MODULES = [
    (lambda m: m.MSELoss(reduction="sum"), "regression"),
    (lambda m: m.L1Loss(), "regression"),
    (lambda m: m.SmoothL1Loss(beta=0.5), "regression"),
    (lambda m: m.HuberLoss(delta=0.5), "regression"),
    (lambda m: m.BCELoss(), "probability"),
    (lambda m: m.BCEWithLogitsLoss(), "regression"),
    (lambda m: m.CrossEntropyLoss(label_smoothing=0.2, ignore_index=0), "classes"),
    (lambda m: m.NLLLoss(reduction="none"), "classes"),
    (lambda m: m.KLDivLoss(reduction="batchmean", log_target=True), "regression"),
]


@pytest.mark.parametrize("make, kind", MODULES)
def test_loss_module_parity(parity, make, kind):
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    if kind == "classes":
        inputs = [RNG.standard_normal((5, 3)), RNG.integers(0, 3, 5)]
    elif kind == "probability":
        inputs = [RNG.uniform(0.1, 0.9, (5, 3)), RNG.random((5, 3))]
    else:
        inputs = [RNG.standard_normal((5, 3)), RNG.standard_normal((5, 3))]
    parity(ours, theirs, inputs, requires_grad=[True, False])


def test_weighted_loss_modules_have_torchs_state_dict():
    w = np.array([1.0, 2.0, 3.0])
    for name in ("CrossEntropyLoss", "NLLLoss", "BCELoss"):
        ours, theirs = (
            getattr(nn, name)(weight=tensor(w)),
            getattr(torch.nn, name)(weight=torch.from_numpy(w)),
        )
        assert list(ours.state_dict()) == list(theirs.state_dict())
    ours = nn.BCEWithLogitsLoss(weight=tensor(w), pos_weight=tensor(w))
    theirs = torch.nn.BCEWithLogitsLoss(weight=torch.from_numpy(w), pos_weight=torch.from_numpy(w))
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_every_target_ignored_gives_torchs_nan_and_zero_gradients(parity, fn):
    x = np.log(RNG.dirichlet(np.ones(3), size=2))
    parity(getattr(F, fn), getattr(TF, fn), [x, np.array([-100, -100])])
