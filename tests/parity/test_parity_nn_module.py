"""The module system against torch: the same architecture has the same parameter and state_dict
names, the same repr, and with torch's weights loaded the same outputs and gradients."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

from neograd import nn
from neograd.autograd import tensor


def build(m):
    """One architecture written against either library."""

    class Net(m.Module):
        def __init__(self):
            super().__init__()
            self.embed = m.Embedding(10, 4, padding_idx=0)
            self.body = m.Sequential(
                OrderedDict(
                    [
                        ("fc1", m.Linear(8, 16)),
                        ("act", m.GELU()),
                        ("drop", m.Dropout(0.1)),
                        ("fc2", m.Linear(16, 16)),
                    ]
                )
            )
            self.blocks = m.ModuleList([m.Linear(16, 16), m.Tanh()])
            self.heads = m.ModuleDict({"cls": m.Linear(16, 3), "reg": m.Linear(16, 1, bias=False)})
            self.flat = m.Flatten()
            self.unflat = m.Unflatten(1, (2, 4))
            self.skip = m.Identity()
            self.loss = m.CrossEntropyLoss(weight=m.Parameter(torch.ones(3)).data if m is torch.nn else None)

        def forward(self, idx):
            h = self.flat(self.unflat(self.flat(self.embed(idx))))
            h = self.body(h)
            for block in self.blocks:
                h = block(h)
            h = self.skip(h)
            return self.heads["cls"](h), self.heads["reg"](h)

    return Net()


def test_names_and_state_dict_keys_match_torch():
    ours, theirs = build(nn), build(torch.nn)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    ours_keys = [k for k in ours.state_dict() if k != "loss.weight"]
    assert ours_keys == [k for k in theirs.state_dict() if k != "loss.weight"]
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.shape == tuple(tp.shape), name


def test_repr_matches_torch():
    ours, theirs = build(nn), build(torch.nn)
    # the loss's weight buffer differs on purpose between the two builds; reprs do not show it
    assert repr(ours) == repr(theirs)


def test_torch_weights_load_and_give_torchs_outputs_and_gradients():
    torch.manual_seed(0)
    ours, theirs = build(nn), build(torch.nn)
    ours.double()
    theirs.double()
    state = {k: tensor(v.numpy()) for k, v in theirs.state_dict().items() if k != "loss.weight"}
    result = ours.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    ours.eval()
    theirs.eval()
    idx = np.array([[1, 0], [3, 9], [0, 0]])
    (a1, a2), (b1, b2) = ours(tensor(idx)), theirs(torch.from_numpy(idx))
    # GELU's normal CDF is accurate to ~1e-7 relative (see functional.gelu), not to float64's 1e-16
    np.testing.assert_allclose(a1.data, b1.detach().numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(a2.data, b2.detach().numpy(), rtol=1e-6, atol=1e-8)
    target = np.array([0, 2, 1])
    nn.CrossEntropyLoss()(a1, tensor(target)).backward()
    torch.nn.CrossEntropyLoss()(b1, torch.from_numpy(target)).backward()
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        if tp.grad is None:
            assert p.grad is None or not p.grad.data.any(), name
        else:
            np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-6, atol=1e-8, err_msg=name)


def test_our_weights_load_into_torch():
    ours, theirs = build(nn), build(torch.nn)
    state = {k: torch.from_numpy(v.data.copy()) for k, v in ours.state_dict().items()}
    state["loss.weight"] = theirs.loss.weight
    theirs.load_state_dict(state)
    ours.eval()
    theirs.eval()
    idx = np.array([[2, 5]])
    np.testing.assert_allclose(
        ours(tensor(idx))[0].data, theirs(torch.from_numpy(idx))[0].detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_train_eval_and_zero_grad_behave_as_torchs():
    ours, theirs = build(nn), build(torch.nn)
    for m in (ours, theirs):
        m.eval()
        assert not any(x.training for x in m.modules())
        m.train()
        assert all(x.training for x in m.modules())
        m.body.eval()
    assert [x.training for x in ours.modules()] == [x.training for x in theirs.modules()]


@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_result_matches_torchs(strict):
    ours, theirs = (
        nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)),
        torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1)),
    )
    partial = {"0.weight": np.zeros((3, 2), np.float32), "extra": np.zeros(1, np.float32)}
    if strict:
        with pytest.raises(RuntimeError) as ours_err:
            ours.load_state_dict({k: tensor(v) for k, v in partial.items()})
        with pytest.raises(RuntimeError) as theirs_err:
            theirs.load_state_dict({k: torch.from_numpy(v) for k, v in partial.items()})
        for key in ('"0.bias"', '"1.weight"', '"extra"'):
            assert key in str(ours_err.value) and key in str(theirs_err.value)
    else:
        a = ours.load_state_dict({k: tensor(v) for k, v in partial.items()}, strict=False)
        b = theirs.load_state_dict({k: torch.from_numpy(v) for k, v in partial.items()}, strict=False)
        assert a.missing_keys == b.missing_keys and a.unexpected_keys == b.unexpected_keys
        np.testing.assert_array_equal(ours[0].weight.data, theirs[0].weight.detach().numpy())
