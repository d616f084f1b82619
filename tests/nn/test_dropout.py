"""Dropout: inverted scaling, identity in eval mode, neograd's generator, gradients through the mask."""

import numpy as np
import pytest

import neograd.nn.functional as F  # noqa: N812
from neograd.autograd import manual_seed, ones, randn, tensor
from neograd.nn import Dropout, Linear, Sequential


def test_dropped_elements_are_zero_and_kept_ones_are_scaled():
    manual_seed(0)
    out = F.dropout(ones(10000), p=0.3)
    kept = out.data != 0
    np.testing.assert_allclose(out.data[kept], 1 / 0.7, rtol=1e-6)
    assert kept.mean() == pytest.approx(0.7, abs=0.02)
    assert out.data.mean() == pytest.approx(1.0, abs=0.03)  # the expectation is unchanged


def test_gradient_flows_through_the_kept_elements_only():
    manual_seed(1)
    x = randn(200, requires_grad=True)
    out = F.dropout(x, p=0.5)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.where(out.data != 0, 2.0, 0.0))


def test_eval_mode_training_false_and_p_zero_return_the_input():
    x = randn(5)
    assert F.dropout(x, p=0.5, training=False) is x
    assert F.dropout(x, p=0.0) is x
    drop = Dropout(0.5).eval()
    assert drop(x) is x


def test_p_one_drops_everything():
    x = randn(4, requires_grad=True)
    out = F.dropout(x, p=1.0)
    assert not out.data.any()
    out.sum().backward()
    assert not x.grad.data.any()


def test_manual_seed_makes_the_mask_reproducible():
    manual_seed(5)
    a = F.dropout(ones(50)).data
    manual_seed(5)
    np.testing.assert_array_equal(F.dropout(ones(50)).data, a)
    g = np.random.default_rng(3)
    b = F.dropout(ones(50), generator=g).data
    np.testing.assert_array_equal(F.dropout(ones(50), generator=np.random.default_rng(3)).data, b)


def test_dtype_is_kept():
    assert F.dropout(tensor(np.ones(5, np.float64))).dtype == np.float64
    assert F.dropout(ones(5)).dtype == np.float32


def test_module_follows_train_and_eval():
    model = Sequential(Linear(4, 4), Dropout(0.9))
    x = randn(64, 4)
    model.eval()
    a, b = model(x), model(x)
    np.testing.assert_array_equal(a.data, b.data)
    model.train()
    manual_seed(2)
    assert (model(x).data == 0).mean() > 0.8
    assert repr(Dropout(0.2)) == "Dropout(p=0.2, inplace=False)"


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5"])
def test_probability_is_validated(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        Dropout(p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(ones(2), p=p)
