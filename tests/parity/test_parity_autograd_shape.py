"""Parity of neograd.autograd's shape ops with torch: values, gradients, dtypes.

Index arrays are passed as inputs, so that each side indexes with its own integer or
bool tensor; integer indices with repeats check that backward accumulates.
"""

import numpy as np
import pytest
import torch

import neograd.autograd as ng

DTYPES = [np.float64, np.float32]


def randn(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


VIEWS = {
    "reshape": lambda lib, x: x.reshape(4, 6),
    "reshape_tuple_-1": lambda lib, x: x.reshape((3, -1)),
    "lib.reshape": lambda lib, x: lib.reshape(x, (-1,)),
    "view": lambda lib, x: x.view(2, 12),
    "view_as": lambda lib, x: x.view_as(lib.zeros(6, 4, dtype=x.dtype)),
    "flatten": lambda lib, x: x.flatten(),
    "flatten_1": lambda lib, x: lib.flatten(x, 1),
    "flatten_0_1": lambda lib, x: x.flatten(0, 1),
    "unsqueeze_0": lambda lib, x: x.unsqueeze(0),
    "unsqueeze_-1": lambda lib, x: lib.unsqueeze(x, -1),
    "unsqueeze_squeeze": lambda lib, x: x.unsqueeze(1).unsqueeze(-1).squeeze(),
    "squeeze_dim": lambda lib, x: x.unsqueeze(1).squeeze(1),
    "squeeze_dims": lambda lib, x: x.reshape(2, 1, 3, 1, 4).squeeze((1, 3)),
    "squeeze_not_1": lambda lib, x: x.squeeze(0),
    "permute": lambda lib, x: x.permute(2, 0, 1),
    "permute_tuple": lambda lib, x: lib.permute(x, (1, 2, 0)),
    "permute_neg": lambda lib, x: x.permute(-1, -3, -2),
    "transpose": lambda lib, x: x.transpose(0, 2),
    "lib.transpose": lambda lib, x: lib.transpose(x, -1, 1),
    "swapaxes": lambda lib, x: x.swapaxes(0, 1),
    "mT": lambda lib, x: x.mT,
    "T_2d": lambda lib, x: x[0].T,
    "t": lambda lib, x: x[0].t(),
    "expand": lambda lib, x: x[:, :1].expand(2, 5, 4),
    "expand_-1": lambda lib, x: x[:1].expand(3, -1, -1, -1),
    "expand_as": lambda lib, x: x[0, 0].expand_as(x),
    "broadcast_to": lambda lib, x: lib.broadcast_to(x[:, :, :1], (3, 2, 3, 4)),
    "broadcast_to_method": lambda lib, x: x[0].broadcast_to((2, 3, 4)),
    "clone": lambda lib, x: x.clone(),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", VIEWS, ids=str)
def test_reshaping_and_views(parity_same, op, dtype):
    parity_same(VIEWS[op], [randn(2, 3, 4, dtype=dtype)])


def test_zero_dim_reshapes(parity_same):
    parity_same(lambda lib, x: [x.reshape(1, 1), x.flatten(), x.unsqueeze(0)], [np.array(1.5)])


BASIC_INDICES = [
    1,
    -1,
    (slice(None), 1),
    (slice(1, None), slice(None, None, 2)),
    (Ellipsis, 2),
    (None, 0, slice(1, 3)),
    (slice(None), None, slice(None), -1),
    (1, 2, 3),
    (slice(0, 0),),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index", BASIC_INDICES, ids=repr)
def test_getitem_basic(parity_same, index, dtype):
    parity_same(lambda lib, x: x[index], [randn(2, 3, 4, dtype=dtype)])


ADVANCED = {
    "repeats": (lambda lib, x, i: x[i], [np.array([0, 1, 0, 0, 1])]),
    "repeats_2d_index": (lambda lib, x, i: x[i], [np.array([[1, 1], [0, 1]])]),
    "negative": (lambda lib, x, i: x[i], [np.array([-1, 0, -1])]),
    "second_dim": (lambda lib, x, i: x[:, i], [np.array([2, 2, 0])]),
    "pairs": (lambda lib, x, i, j: x[i, j], [np.array([0, 1, 1, 1]), np.array([2, 0, 2, 2])]),
    "separated": (lambda lib, x, i, j: x[i, :, j], [np.array([0, 1, 0]), np.array([3, 3, 1])]),
    "slice_then_array": (lambda lib, x, i: x[1:, i], [np.array([2, 2])]),
    "bool_mask": (lambda lib, x, m: x[m], [np.array([True, False])]),
    "bool_mask_2d": (lambda lib, x, m: x[m], [np.array([[True, False, True], [False, False, True]])]),
    "bool_mask_full": (lambda lib, x, m: x[m], [np.random.default_rng(5).random((2, 3, 4)) > 0.5]),
    "bool_mask_dim1": (lambda lib, x, m: x[:, m], [np.array([False, True, True])]),
    "mask_from_values": (lambda lib, x: x[x > 0], []),
    "list": (lambda lib, x: x[[1, 1, 0]], []),
    "int64_scalar_tensor": (lambda lib, x, i: x[i], [np.array(1)]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ADVANCED, ids=str)
def test_getitem_advanced(parity_same, case, dtype):
    fn, indices = ADVANCED[case]
    parity_same(fn, [randn(2, 3, 4, dtype=dtype), *indices])


@pytest.mark.parametrize("dtype", DTYPES)
def test_getitem_of_getitem_accumulates(parity_same, dtype):
    i = np.array([0, 0, 2])
    parity_same(lambda lib, x, idx: x[idx][:, 1:] * 2 + x[idx][0, 0], [randn(3, 3, dtype=dtype), i])


GATHER = [
    (0, np.array([[0, 1, 2, 0], [2, 2, 2, 2]])),
    (1, np.array([[3, 3], [0, 1], [2, 2]])),
    (-1, np.array([[1], [0], [3]])),
    (0, np.array([[1, 0]])),  # smaller than the input in the other dim too
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", GATHER, ids=lambda c: f"dim{c[0]}-{c[1].shape}")
def test_gather(parity_same, case, dtype):
    dim, index = case
    parity_same(lambda lib, x, i: lib.gather(x, dim, i), [randn(3, 4, dtype=dtype), index])
    parity_same(lambda lib, x, i: x.gather(dim, i), [randn(3, 4, dtype=dtype, seed=1), index])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1, -2])
def test_cat_stack(parity_same, dim, dtype):
    a, b, c = randn(2, 3, dtype=dtype), randn(2, 3, dtype=dtype, seed=1), randn(2, 3, dtype=dtype, seed=2)
    parity_same(lambda lib, x, y, z: lib.cat([x, y, z], dim=dim), [a, b, c])
    parity_same(lambda lib, x, y, z: lib.stack((x, y, z), dim=dim), [a, b, c])


@pytest.mark.parametrize("dtype", DTYPES)
def test_cat_of_different_sizes_and_a_reused_tensor(parity_same, dtype):
    a, b = randn(2, 3, dtype=dtype), randn(2, 5, dtype=dtype, seed=1)
    parity_same(lambda lib, x, y: lib.cat([x, y, x], dim=1), [a, b])
    parity_same(lambda lib, x, y: lib.cat([x.T, y.T]), [a, b])
    parity_same(lambda lib, x: lib.stack([x, x * 2, x], dim=1), [a])


SPLITS = {
    "split_2": lambda lib, x: lib.split(x, 2),
    "split_3_dim1": lambda lib, x: x.split(3, dim=1),
    "split_sizes": lambda lib, x: lib.split(x, [1, 2, 2], dim=0),
    "split_sizes_last": lambda lib, x: x.split([4, 0, 2], -1),
    "chunk_2": lambda lib, x: lib.chunk(x, 2),
    "chunk_3_dim1": lambda lib, x: x.chunk(3, dim=1),
    "chunk_4_of_5": lambda lib, x: x.chunk(4),
    "chunk_more_than_size": lambda lib, x: x.chunk(7, 1),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", SPLITS, ids=str)
def test_split_chunk(parity_same, op, dtype):
    parity_same(SPLITS[op], [randn(5, 6, dtype=dtype)])


def test_split_pieces_used_partly(parity_same):
    # only some pieces reach the output: the others get no gradient, their rows stay 0
    parity_same(lambda lib, x: x.split(2)[1] * 3, [randn(5, 3)])


PADS = [
    ((1, 2), 0.0),
    ((0, 0, 2, 1), 0.0),
    ((1, 1, 0, 2), -1.5),
    ((2, 0, 1, 1, 1, 0), 3.0),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", PADS, ids=str)
def test_pad(parity, case, dtype):
    widths, value = case
    parity(
        lambda x: ng.pad(x, widths, value=value),
        lambda x: torch.nn.functional.pad(x, widths, value=value),
        [randn(2, 3, 4, dtype=dtype)],
    )


REPEATS = {
    "repeat_same_ndim": lambda lib, x: x.repeat(2, 1, 3),
    "repeat_more_dims": lambda lib, x: x.repeat(2, 1, 1, 2),
    "repeat_tuple": lambda lib, x: x.repeat((1, 3, 1)),
    "tile": lambda lib, x: lib.tile(x, (2, 2)),
    "tile_method": lambda lib, x: x.tile((2, 1, 1, 2)),
    "tile_one": lambda lib, x: x.tile((3,)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", REPEATS, ids=str)
def test_repeat_tile(parity_same, op, dtype):
    parity_same(REPEATS[op], [randn(2, 3, 2, dtype=dtype)])


def test_shape_ops_keep_integer_and_bool_dtypes(parity_same):
    x = np.arange(24).reshape(2, 3, 4)
    parity_same(lambda lib, t: [t.reshape(6, 4), t.permute(2, 0, 1), t[:, 1], t[t > 5]], [x])
    parity_same(lambda lib, t: [t.repeat(1, 2, 1), lib.cat([t, t]), t.expand(2, 2, 3, 4)], [x])
    parity_same(lambda lib, t: [t.T, t.flatten(), lib.stack([t, t])], [x[0] > 5])


def test_chain_of_shape_ops(parity_same):
    # each op's backward feeds the next one's: a mistake in any breaks the whole gradient
    def fn(lib, x):
        y = x.permute(1, 0, 2).reshape(3, 8)[:, ::2].unsqueeze(0).expand(2, 3, 4)
        return lib.cat([y, y * 2], dim=-1).sum(dim=0).T.tanh()

    parity_same(fn, [randn(2, 3, 4)])
