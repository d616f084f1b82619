"""pad_sequence, pack_padded_sequence, pad_packed_sequence, pack_sequence, PackedSequence."""

import numpy as np
import pytest

from neograd.autograd import gradcheck, tensor
from neograd.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
)


def seqs():
    return [tensor(np.arange(1.0, 1 + n)) for n in (3, 1, 2)]


def test_pad_sequence_right_and_left():
    np.testing.assert_array_equal(
        pad_sequence(seqs(), batch_first=True, padding_value=-1).data,
        [[1, 2, 3], [1, -1, -1], [1, 2, -1]],
    )
    np.testing.assert_array_equal(
        pad_sequence(seqs(), padding_side="left").data.T, [[1, 2, 3], [0, 0, 1], [0, 1, 2]]
    )
    assert pad_sequence(seqs()).shape == (3, 3)  # time first by default


def test_pad_sequence_keeps_trailing_dims_and_dtype():
    a, b = tensor(np.ones((2, 4, 5), np.float32)), tensor(np.ones((1, 4, 5), np.float32))
    out = pad_sequence([a, b], batch_first=True)
    assert out.shape == (2, 2, 4, 5) and out.dtype == np.float32


def test_pack_padded_sequence_fields():
    padded = tensor(np.arange(12.0).reshape(4, 3))  # (T=4, B=3)
    packed = pack_padded_sequence(padded, [4, 2, 1])
    np.testing.assert_array_equal(packed.data.data, [0, 1, 2, 3, 4, 6, 9])
    np.testing.assert_array_equal(packed.batch_sizes.data, [3, 2, 1, 1])
    assert packed.batch_sizes.dtype == np.int64
    assert packed.sorted_indices is None and packed.unsorted_indices is None
    unsorted = pack_padded_sequence(padded, [1, 4, 2], enforce_sorted=False)
    np.testing.assert_array_equal(unsorted.sorted_indices.data, [1, 2, 0])
    np.testing.assert_array_equal(unsorted.unsorted_indices.data, [2, 0, 1])
    np.testing.assert_array_equal(unsorted.data.data, [1, 2, 0, 4, 5, 7, 10])


def test_round_trip_in_the_original_order():
    x = np.random.default_rng(0).standard_normal((3, 5, 2))  # batch first
    lengths = [2, 5, 3]
    padded, out_lengths = pad_packed_sequence(
        pack_padded_sequence(tensor(x), lengths, batch_first=True, enforce_sorted=False), batch_first=True
    )
    np.testing.assert_array_equal(out_lengths.data, lengths)
    for b, n in enumerate(lengths):
        np.testing.assert_array_equal(padded.data[b, :n], x[b, :n])
        assert not padded.data[b, n:].any()


def test_pack_sequence_and_total_length():
    packed = pack_sequence(seqs(), enforce_sorted=False)
    padded, lengths = pad_packed_sequence(packed, padding_value=9.0, total_length=4)
    assert padded.shape == (4, 3)
    np.testing.assert_array_equal(lengths.data, [3, 1, 2])
    np.testing.assert_array_equal(padded.data[:, 1], [1, 9, 9, 9])


def test_gradients_through_packing_and_padding():
    x = tensor(np.random.default_rng(1).standard_normal((4, 3)), requires_grad=True)

    def fn(x):
        packed = pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
        return pad_packed_sequence(packed, total_length=5)[0] * 2

    assert gradcheck(fn, (x,))
    seq = [tensor(np.random.default_rng(2).standard_normal((n, 2)), requires_grad=True) for n in (1, 3)]
    assert gradcheck(lambda a, b: pad_sequence([a, b], padding_side="left"), tuple(seq))


def test_packed_sequence_built_by_hand_gets_its_inverse():
    p = PackedSequence(tensor(np.zeros((3, 1))), [2, 1], sorted_indices=[1, 0])
    np.testing.assert_array_equal(p.unsorted_indices.data, [1, 0])
    assert tuple(p) == (
        p.data,
        p.batch_sizes,
        p.sorted_indices,
        p.unsorted_indices,
    )  # a namedtuple, as torch's
    assert p.double().data.dtype == np.float64


def test_bad_input_is_a_clear_error():
    padded = tensor(np.zeros((4, 3)))
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        pack_padded_sequence(padded, [1, 4, 2])
    with pytest.raises(ValueError, match=r"every length must be in 1..4"):
        pack_padded_sequence(padded, [5, 2, 1])
    with pytest.raises(ValueError, match=r"every length must be in 1..4"):
        pack_padded_sequence(padded, [3, 2, 0])
    with pytest.raises(ValueError, match="3 lengths for a batch of 2"):
        pack_padded_sequence(tensor(np.zeros((4, 2))), [3, 2, 1])
    with pytest.raises(TypeError, match="lengths must be a 1-D sequence of ints"):
        pack_padded_sequence(padded, [1.5, 1.0, 1.0])
    with pytest.raises(ValueError, match="at least 2-D"):
        pack_padded_sequence(tensor(np.zeros(4)), [4])
    with pytest.raises(ValueError, match="total_length=2 and max sequence length being 3"):
        pad_packed_sequence(pack_sequence(seqs(), enforce_sorted=False), total_length=2)
    with pytest.raises(ValueError, match="same trailing dims"):
        pad_sequence([tensor(np.zeros((2, 3))), tensor(np.zeros((2, 4)))])
    with pytest.raises(ValueError, match="padding_side"):
        pad_sequence(seqs(), padding_side="middle")
    with pytest.raises(TypeError, match="PackedSequence"):
        pad_packed_sequence(padded)
