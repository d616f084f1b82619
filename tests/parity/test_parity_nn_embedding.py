"""Embedding and one_hot against torch, padding_idx and repeated indices included."""

import numpy as np
import pytest
import torch

import neograd.nn.functional as F  # noqa: N812
from neograd import nn
from neograd.autograd import tensor

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("padding_idx", [None, 0, -2])
def test_embedding_parity(parity, padding_idx):
    idx = np.array([[0, 3, 3, 1], [4, 0, 3, 2]])
    w = RNG.standard_normal((5, 3))
    parity(
        lambda i, w: F.embedding(i, w, padding_idx=padding_idx),
        lambda i, w: torch.nn.functional.embedding(i, w, padding_idx=padding_idx),
        [idx, w],
    )


def test_embedding_module_with_the_same_weights():
    ours, theirs = nn.Embedding(6, 4, padding_idx=1), torch.nn.Embedding(6, 4, padding_idx=1)
    assert repr(ours) == repr(theirs)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data.copy()))
    idx = np.array([[1, 2, 2], [5, 1, 0]])
    out, ref = ours(tensor(idx)), theirs(torch.from_numpy(idx))
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    g = RNG.standard_normal(out.shape).astype(np.float32)
    out.backward(g)
    ref.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-6)


def test_one_hot_parity():
    idx = np.array([[2, 0], [1, 4]])
    np.testing.assert_array_equal(
        F.one_hot(tensor(idx)).data, torch.nn.functional.one_hot(torch.from_numpy(idx))
    )
    np.testing.assert_array_equal(
        F.one_hot(tensor(idx), 6).data, torch.nn.functional.one_hot(torch.from_numpy(idx), 6)
    )
