"""Losses: values against NumPy formulas, torch's reduction and weighting rules, float64 gradients."""

import numpy as np
import pytest

import neograd.nn.functional as F  # noqa: N812
from neograd.autograd import gradcheck, tensor
from neograd.nn import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)

RNG = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]


def reduce(loss, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](loss)


def t(a, requires_grad=True):
    return tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


# ---- regression ----------------------------------------------------------------------------------
X, Y = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
D = X - Y
REGRESSION = {
    "mse": (lambda x, y, **k: F.mse_loss(x, y, **k), D**2),
    "l1": (lambda x, y, **k: F.l1_loss(x, y, **k), np.abs(D)),
    "smooth_l1": (
        lambda x, y, **k: F.smooth_l1_loss(x, y, beta=0.5, **k),
        np.where(np.abs(D) < 0.5, 0.5 * D**2 / 0.5, np.abs(D) - 0.25),
    ),
    "huber": (
        lambda x, y, **k: F.huber_loss(x, y, delta=0.8, **k),
        np.where(np.abs(D) < 0.8, 0.5 * D**2, 0.8 * (np.abs(D) - 0.4)),
    ),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_values(name, reduction):
    fn, elementwise = REGRESSION[name]
    np.testing.assert_allclose(fn(t(X), t(Y), reduction=reduction).data, reduce(elementwise, reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_gradients_for_input_and_target(name, reduction):
    fn = REGRESSION[name][0]
    assert gradcheck(lambda x, y: fn(x, y, reduction=reduction), (t(X), t(Y)))


def test_smooth_l1_with_beta_zero_is_l1():
    np.testing.assert_allclose(F.smooth_l1_loss(t(X), t(Y), beta=0.0).data, np.abs(D).mean())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_regression_follows_torchs_divisors(reduction):
    w = RNG.random((3, 4)) + 0.1
    mse = F.mse_loss(t(X), t(Y), reduction=reduction, weight=tensor(w))
    huber = F.huber_loss(t(X), t(Y), reduction=reduction, weight=tensor(w))
    hub = np.where(np.abs(D) < 1, 0.5 * D**2, np.abs(D) - 0.5) * w
    if reduction == "mean":  # mse and l1 divide by the weights' sum, huber by the count
        np.testing.assert_allclose(mse.data, (D**2 * w).sum() / w.sum())
        np.testing.assert_allclose(huber.data, hub.mean())
    else:
        np.testing.assert_allclose(mse.data, reduce(D**2 * w, reduction))
        np.testing.assert_allclose(huber.data, reduce(hub, reduction))
    with pytest.raises(ValueError, match="same size"):
        F.l1_loss(t(X), t(Y), weight=tensor(w[0]))


def test_integer_targets_are_converted_and_mismatched_sizes_warn():
    out = F.mse_loss(tensor([1.0, 2.0]), tensor([1, 4]))
    assert out.dtype == np.float32 and out.item() == 2.0
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(t(X), t(Y[0]))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        F.mse_loss(t(X), t(Y[:, :2]))


def test_bad_reduction_and_deprecated_arguments():
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        F.mse_loss(t(X), t(Y), reduction="avg")
    with pytest.warns(UserWarning, match="size_average and reduce"):
        out = F.l1_loss(t(X), t(Y), size_average=False)
    np.testing.assert_allclose(out.data, np.abs(D).sum())
    with pytest.warns(UserWarning):
        assert F.l1_loss(t(X), t(Y), reduce=False).shape == (3, 4)
    with pytest.raises(ValueError, match="beta"):
        F.smooth_l1_loss(t(X), t(Y), beta=-1.0)
    with pytest.raises(ValueError, match="delta"):
        F.huber_loss(t(X), t(Y), delta=0.0)


# ---- binary cross-entropy ------------------------------------------------------------------------
P = RNG.uniform(0.05, 0.95, (3, 4))
LABELS = (RNG.random((3, 4)) > 0.5).astype(np.float64)
SOFT = RNG.random((3, 4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_values_and_gradients(reduction):
    w = RNG.random(4) + 0.5
    expected = -w * (SOFT * np.log(P) + (1 - SOFT) * np.log(1 - P))
    out = F.binary_cross_entropy(t(P), t(SOFT), weight=tensor(w), reduction=reduction)
    np.testing.assert_allclose(out.data, reduce(expected, reduction))
    fn = lambda p, y: F.binary_cross_entropy(p, y, weight=tensor(w), reduction=reduction)  # noqa: E731
    assert gradcheck(fn, (t(P), t(SOFT)))


def test_bce_clamps_logs_at_minus_100_like_torch():
    out = F.binary_cross_entropy(t([0.0, 1.0, 0.0]), t([1.0, 0.0, 0.0]), reduction="none")
    np.testing.assert_allclose(out.data, [100.0, 100.0, 0.0])
    p = t([0.0, 1.0])
    F.binary_cross_entropy(p, t([0.0, 1.0])).backward()
    assert np.isfinite(p.grad.data).all()


def test_bce_checks_its_input():
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(t([1.5]), t([1.0]))
    # every reduction, with and without weights, either side of [0, 1], whatever the target
    for reduction in REDUCTIONS:
        for weight in (None, tensor([1.0, 2.0])):
            for bad, target in ((-0.25, 0.0), (1.25, 1.0), (-0.25, 1.0), (1.25, 0.0)):
                with pytest.raises(RuntimeError, match="between 0 and 1"):
                    F.binary_cross_entropy(
                        t([0.5, bad]), t([1.0, target]), weight=weight, reduction=reduction
                    )
    with pytest.raises(ValueError, match="same size"):
        F.binary_cross_entropy(t([[0.5, 0.5]]), t([1.0, 0.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_pos_weight", [False, True])
def test_bce_with_logits_values_and_gradients(reduction, use_pos_weight):
    x = RNG.standard_normal((3, 4)) * 3
    pw = RNG.random(4) + 0.5 if use_pos_weight else np.ones(4)
    w = RNG.random((3, 1)) + 0.5
    s = 1 / (1 + np.exp(-x))
    expected = -w * (pw * SOFT * np.log(s) + (1 - SOFT) * np.log(1 - s))
    pos_weight = tensor(pw) if use_pos_weight else None
    out = F.binary_cross_entropy_with_logits(
        t(x), t(SOFT), tensor(w), reduction=reduction, pos_weight=pos_weight
    )
    np.testing.assert_allclose(out.data, reduce(expected, reduction))

    def fn(x, y):
        return F.binary_cross_entropy_with_logits(x, y, tensor(w), reduction=reduction, pos_weight=pos_weight)

    assert gradcheck(fn, (t(x), t(SOFT)))


def test_bce_with_logits_is_finite_for_huge_logits():
    x = t([1e4, -1e4, 1e4, -1e4])
    y = t([1.0, 0.0, 0.0, 1.0], requires_grad=False)
    out = F.binary_cross_entropy_with_logits(x, y, reduction="none", pos_weight=tensor([2.0]))
    np.testing.assert_allclose(out.data, [0.0, 0.0, 1e4, 2e4])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0, 1.0, -2.0])


# ---- multi-class -----------------------------------------------------------------------------------
def log_softmax(x, axis=1):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


def ce_reference(x, target, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    """torch's documented formula, written out position by position (class dim 1)."""
    logp = log_softmax(x)
    c = x.shape[1]
    w = np.ones(c) if weight is None else weight
    flat_logp = np.moveaxis(logp, 1, -1).reshape(-1, c)
    losses, weights = [], []
    for lp, y in zip(flat_logp, target.reshape(-1)):
        if y == ignore_index:
            losses.append(0.0)
            weights.append(0.0)
            continue
        nll = -w[y] * lp[y]
        smooth = -(w * lp).sum() / c
        losses.append((1 - smoothing) * nll + smoothing * smooth)
        weights.append(w[y])
    losses = np.array(losses)
    if reduction == "none":
        return losses.reshape(target.shape)
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / np.sum(weights)


CE_CASES = {
    "plain": {},
    "weight": {"weight": np.array([0.3, 1.0, 2.0, 0.7])},
    "ignore": {"ignore_index": 2},
    "weight_ignore_smoothing": {
        "weight": np.array([0.3, 1.0, 2.0, 0.7]),
        "ignore_index": 1,
        "smoothing": 0.2,
    },
    "smoothing": {"smoothing": 0.1},
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CE_CASES)
@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3)])
def test_cross_entropy_with_class_indices(case, reduction, shape):
    opts = CE_CASES[case]
    x = RNG.standard_normal(shape)
    target = RNG.integers(0, 4, (shape[0],) + shape[2:])
    target.flat[0] = opts.get("ignore_index", 0) if "ignore_index" in opts else target.flat[0]
    expected = ce_reference(x, target, reduction=reduction, **opts)
    kwargs = {
        "weight": tensor(opts["weight"]) if "weight" in opts else None,
        "ignore_index": opts.get("ignore_index", -100),
        "label_smoothing": opts.get("smoothing", 0.0),
        "reduction": reduction,
    }
    out = F.cross_entropy(t(x), tensor(target), **kwargs)
    np.testing.assert_allclose(out.data, expected)
    assert gradcheck(lambda v: F.cross_entropy(v, tensor(target), **kwargs), (t(x),))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_with_class_probabilities(reduction, smoothing):
    x = RNG.standard_normal((3, 5))
    q = RNG.random((3, 5))
    q /= q.sum(1, keepdims=True)
    w = RNG.random(5) + 0.5
    qs = q * (1 - smoothing) + smoothing / 5
    expected = reduce(-(qs * w * log_softmax(x)).sum(1), reduction)
    kw = {"weight": tensor(w), "reduction": reduction, "label_smoothing": smoothing}
    np.testing.assert_allclose(F.cross_entropy(t(x), t(q), **kw).data, expected)
    assert gradcheck(lambda v, p: F.cross_entropy(v, p, **kw), (t(x), t(q)))  # also d/d(target)


def test_cross_entropy_gradient_is_softmax_minus_target():
    x = RNG.standard_normal((4, 3))
    y = np.array([0, 2, 1, 1])
    logits = t(x)
    F.cross_entropy(logits, tensor(y), reduction="sum").backward()
    np.testing.assert_allclose(logits.grad.data, np.exp(log_softmax(x)) - np.eye(3)[y])


def test_cross_entropy_unbatched_input():
    x = RNG.standard_normal(4)
    out = F.cross_entropy(t(x), tensor(2))
    np.testing.assert_allclose(out.data, -log_softmax(x, 0)[2])


def test_cross_entropy_is_stable_for_huge_logits():
    logits = t([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    out = F.cross_entropy(logits, tensor([1, 1]), reduction="none")
    np.testing.assert_allclose(out.data, [2e4, 0.0])
    out.sum().backward()
    np.testing.assert_allclose(logits.grad.data, [[1, -1, 0], [0, 0, 0]], atol=1e-12)
    x32 = tensor(np.array([[1e4, -1e4]], np.float32))
    assert np.isfinite(F.cross_entropy(x32, tensor([0])).item())


def test_cross_entropy_with_every_target_ignored_is_nan_like_torch():
    out = F.cross_entropy(t(RNG.standard_normal((2, 3))), tensor([-100, -100]))
    assert np.isnan(out.item())


def test_cross_entropy_checks_its_targets():
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(t(np.zeros((2, 3))), tensor([0, 3]))
    with pytest.raises(ValueError, match=r"expected a target of shape \(2,\)"):
        F.cross_entropy(t(np.zeros((2, 3))), tensor([[0, 1]]))
    with pytest.raises(ValueError, match="probability targets"):
        F.cross_entropy(t(np.zeros((2, 3))), t(np.zeros((2, 2))))
    with pytest.raises(ValueError, match="one value per class"):
        F.cross_entropy(t(np.zeros((2, 3))), tensor([0, 1]), weight=tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(t(np.zeros((2, 3))), tensor([0, 1]), label_smoothing=1.5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_with_weight_and_ignore_index(reduction):
    x = log_softmax(RNG.standard_normal((6, 4)))
    y = np.array([0, 3, 1, 1, 2, 3])
    w = np.array([0.5, 1.0, 2.0, 1.5])
    kw = {"weight": tensor(w), "ignore_index": 1, "reduction": reduction}
    expected = ce_reference(x, y, weight=w, ignore_index=1, reduction=reduction)  # log_softmax is idempotent
    np.testing.assert_allclose(F.nll_loss(t(x), tensor(y), **kw).data, expected)
    assert gradcheck(lambda v: F.nll_loss(v, tensor(y), **kw), (t(x),))
    with pytest.raises(TypeError, match="integer class indices"):
        F.nll_loss(t(x), t(np.zeros(6)))


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_values_and_gradients(reduction, log_target):
    x = log_softmax(RNG.standard_normal((3, 4)))
    q = np.exp(log_softmax(RNG.standard_normal((3, 4))))
    q[0, 0] = 0.0  # 0 log 0 counts as 0
    target = np.log(q + 1e-300) if log_target else q
    elementwise = np.where(q > 0, q * (np.log(q + 1e-300) - x), 0.0 - q * x)
    expected = elementwise.sum() / 3 if reduction == "batchmean" else reduce(elementwise, reduction)
    out = F.kl_div(t(x), t(target, requires_grad=False), reduction=reduction, log_target=log_target)
    np.testing.assert_allclose(out.data, expected, atol=1e-12)
    assert gradcheck(
        lambda v: F.kl_div(v, t(target, requires_grad=False), reduction=reduction, log_target=log_target),
        (t(x),),
    )


def test_kl_div_mean_warns_like_torch():
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(t(np.zeros((2, 2))), t(np.full((2, 2), 0.5)))


# ---- modules ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "module, fn",
    [
        (MSELoss(reduction="sum"), lambda x, y: F.mse_loss(x, y, reduction="sum")),
        (L1Loss(), F.l1_loss),
        (SmoothL1Loss(beta=0.3), lambda x, y: F.smooth_l1_loss(x, y, beta=0.3)),
        (HuberLoss(delta=0.3), lambda x, y: F.huber_loss(x, y, delta=0.3)),
        (
            BCEWithLogitsLoss(pos_weight=tensor([2.0])),
            lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=tensor([2.0])),
        ),
        (KLDivLoss(reduction="batchmean"), lambda x, y: F.kl_div(x, y, reduction="batchmean")),
    ],
)
def test_loss_modules_call_their_functions(module, fn):
    x, y = t(X), t(np.abs(Y))
    np.testing.assert_array_equal(module(x, y).data, fn(x, y).data)


def test_class_weights_are_buffers_in_the_state_dict():
    loss = CrossEntropyLoss(weight=tensor([1.0, 2.0, 3.0]), ignore_index=0, label_smoothing=0.1)
    assert list(loss.state_dict()) == ["weight"]
    assert list(CrossEntropyLoss().state_dict()) == []
    assert list(BCEWithLogitsLoss(pos_weight=tensor([2.0])).state_dict()) == ["pos_weight"]
    x = t(RNG.standard_normal((4, 3)))
    y = tensor([0, 1, 2, 2])
    expected = F.cross_entropy(x, y, weight=tensor([1.0, 2.0, 3.0]), ignore_index=0, label_smoothing=0.1)
    np.testing.assert_array_equal(loss(x, y).data, expected.data)
    nll = NLLLoss(weight=tensor([1.0, 2.0, 3.0]), reduction="sum")
    np.testing.assert_array_equal(
        nll(x, y).data, F.nll_loss(x, y, tensor([1.0, 2.0, 3.0]), reduction="sum").data
    )
    probs = t(np.full((2, 2), 0.5))
    np.testing.assert_array_equal(
        BCELoss(weight=tensor([1.0, 3.0]))(probs, t([[1.0, 0.0], [0.0, 1.0]])).data,
        F.binary_cross_entropy(probs, t([[1.0, 0.0], [0.0, 1.0]]), weight=tensor([1.0, 3.0])).data,
    )


def test_loss_modules_validate_their_options():
    with pytest.raises(ValueError, match="reduction"):
        MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        CrossEntropyLoss(label_smoothing=-0.1)
