"""Embedding and one_hot: lookups, padding_idx, repeated indices, gradients."""

import numpy as np
import pytest

import neograd.nn.functional as F  # noqa: N812
from neograd.autograd import gradcheck, manual_seed, no_grad, tensor
from neograd.nn import Embedding

RNG = np.random.default_rng(0)


def test_embedding_picks_rows():
    w = RNG.standard_normal((5, 3))
    idx = np.array([[0, 4], [2, 2]])
    out = F.embedding(tensor(idx), tensor(w))
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.data, w[idx])


def test_repeated_indices_accumulate_and_padding_row_gets_no_gradient():
    w = tensor(RNG.standard_normal((5, 3)), requires_grad=True)
    idx = tensor([[1, 1, 0], [3, 1, 0]])
    out = F.embedding(idx, w, padding_idx=0)
    out.backward(np.ones(out.shape))
    expected = np.zeros((5, 3))
    expected[1] = 3.0  # index 1 appears three times
    expected[3] = 1.0
    np.testing.assert_array_equal(w.grad.data, expected)
    np.testing.assert_array_equal(out.data[0, 2], w.data[0])  # the padding row is still looked up


def test_embedding_gradient_matches_finite_differences():
    idx = tensor([[0, 2, 2], [1, 3, 0]])
    w = tensor(RNG.standard_normal((4, 2)), requires_grad=True)
    assert gradcheck(lambda v: F.embedding(idx, v) ** 2, (w,))
    # padding_idx freezes its row on purpose (no gradient although the output depends on it),
    # so finite differences are compared on a padding row that is not looked up here
    assert gradcheck(lambda v: F.embedding(tensor([[0, 1]]), v, padding_idx=-1) ** 2, (w,))


def test_embedding_checks_indices():
    w = tensor(np.zeros((3, 2)))
    with pytest.raises(IndexError, match="index 3 is out of range for 3"):
        F.embedding(tensor([0, 3]), w)
    with pytest.raises(TypeError, match="integer"):
        F.embedding(tensor([0.0, 1.0]), w)
    with pytest.raises(NotImplementedError, match="max_norm"):
        F.embedding(tensor([0]), w, max_norm=1.0)


def test_embedding_module_init_padding_and_repr():
    manual_seed(0)
    emb = Embedding(1000, 16, padding_idx=2)
    assert emb.weight.shape == (1000, 16) and emb.weight.requires_grad
    assert not emb.weight.data[2].any()
    assert abs(emb.weight.data.std() - 1) < 0.02
    assert emb(tensor([[1, 2, 4, 5]])).shape == (1, 4, 16)
    assert repr(emb) == "Embedding(1000, 16, padding_idx=2)"
    assert Embedding(10, 3, padding_idx=-1).padding_idx == 9
    with pytest.raises(ValueError, match="padding_idx"):
        Embedding(10, 3, padding_idx=10)


def test_padding_row_stays_fixed_during_training():
    emb = Embedding(4, 2, padding_idx=0)
    with no_grad():
        emb.weight[0] = 1.0
    emb(tensor([0, 1, 0])).sum().backward()
    assert not emb.weight.grad.data[0].any() and emb.weight.grad.data[1].all()


def test_from_pretrained_freezes_by_default():
    w = tensor(RNG.standard_normal((3, 2)))
    emb = Embedding.from_pretrained(w)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(tensor([2])).data, w.data[[2]])
    assert Embedding.from_pretrained(w, freeze=False).weight.requires_grad


def test_one_hot():
    out = F.one_hot(tensor([0, 2, 1]))
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.data, np.eye(3, dtype=np.int64)[[0, 2, 1]])
    assert F.one_hot(tensor([[1], [0]]), num_classes=4).shape == (2, 1, 4)
    with pytest.raises(RuntimeError, match=r"class values must be in \[0, 2\)"):
        F.one_hot(tensor([0, 2]), num_classes=2)
    with pytest.raises(TypeError, match="integer"):
        F.one_hot(tensor([0.0]))
