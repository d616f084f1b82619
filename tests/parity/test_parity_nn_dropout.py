"""Dropout against torch. The masks come from different generators, so what is compared is the
rule: the kept elements' scale, the gradient through the mask, and eval mode."""

import numpy as np
import pytest
import torch

import neograd.nn.functional as F  # noqa: N812
from neograd import nn
from neograd.autograd import tensor


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_kept_values_and_gradients_follow_torchs_rule(p):
    x = np.random.default_rng(0).uniform(1.0, 2.0, 5000)
    ours_x = tensor(x, requires_grad=True)
    theirs_x = torch.from_numpy(x.copy()).requires_grad_()
    ours, theirs = F.dropout(ours_x, p), torch.nn.functional.dropout(theirs_x, p)
    ours.sum().backward()
    theirs.sum().backward()
    for out, grad in ((ours.data, ours_x.grad.data), (theirs.detach().numpy(), theirs_x.grad.numpy())):
        kept = out != 0
        np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-12)
        np.testing.assert_allclose(grad, np.where(kept, 1 / (1 - p), 0.0), rtol=1e-12)
    assert (ours.data != 0).mean() == pytest.approx((theirs.detach().numpy() != 0).mean(), abs=0.04)


def test_eval_mode_and_edge_probabilities_match_torch():
    x = np.random.default_rng(1).standard_normal(10)
    for p in (0.0, 1.0):
        np.testing.assert_array_equal(
            F.dropout(tensor(x), p).data, torch.nn.functional.dropout(torch.from_numpy(x), p).numpy()
        )
    ours, theirs = nn.Dropout(0.5).eval(), torch.nn.Dropout(0.5).eval()
    np.testing.assert_array_equal(ours(tensor(x)).data, theirs(torch.from_numpy(x)).numpy())
    assert repr(ours) == repr(theirs)
