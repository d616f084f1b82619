"""nn.utils.data: Dataset, TensorDataset, Subset, random_split, DataLoader, default_collate, get_batches."""

from collections import namedtuple

import numpy as np
import pytest

from neograd.autograd import Tensor, manual_seed, tensor
from neograd.nn.utils import get_batches
from neograd.nn.utils.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split

X = np.arange(20, dtype=np.float32).reshape(10, 2)
Y = np.arange(10) * 10


class Squares(Dataset):
    """A dataset that is not a TensorDataset: items are (float, int, ndarray) tuples."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        if not 0 <= i < 7:
            raise IndexError(i)
        return float(i), i * i, np.full(2, i, np.float32)


def test_tensor_dataset_items_and_length():
    ds = TensorDataset(tensor(X), Y)  # an ndarray is wrapped too
    assert len(ds) == 10
    x, y = ds[3]
    np.testing.assert_array_equal(x.data, [6, 7])
    assert y.item() == 30
    assert all(isinstance(t, Tensor) for t in ds.tensors)
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(tensor(X), tensor(Y[:9]))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(TypeError, match="not a Tensor"):
        TensorDataset([1, 2, 3])
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(tensor(1.0))


def test_dataloader_batches_in_order():
    loader = DataLoader(TensorDataset(tensor(X), tensor(Y)), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), Y)
    np.testing.assert_array_equal(batches[1][0].data, X[4:8])
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64


def test_drop_last():
    loader = DataLoader(TensorDataset(tensor(X)), batch_size=4, drop_last=True)
    assert len(loader) == 2 and [b[0].shape[0] for b in loader] == [4, 4]
    assert len(DataLoader(TensorDataset(tensor(X)), batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(TensorDataset(tensor(X)), batch_size=3)) == 4


def seen_order(loader):
    return np.concatenate([y.data for _, y in loader]).tolist()


def test_shuffle_is_a_permutation_reproducible_with_manual_seed_and_new_each_epoch():
    loader = DataLoader(TensorDataset(tensor(X), tensor(Y)), batch_size=3, shuffle=True)
    manual_seed(0)
    first, second = seen_order(loader), seen_order(loader)
    assert sorted(first) == Y.tolist() and sorted(second) == Y.tolist()
    assert first != second, "each epoch draws a new order"
    manual_seed(0)
    assert seen_order(loader) == first
    # pairs stay together
    for x, y in loader:
        np.testing.assert_array_equal(x.data[:, 0], y.data / 5)


def test_a_generator_argument_makes_shuffling_independent_of_the_global_seed():
    ds = TensorDataset(tensor(X), tensor(Y))
    a = seen_order(DataLoader(ds, batch_size=4, shuffle=True, generator=np.random.default_rng(7)))
    manual_seed(123)
    b = seen_order(DataLoader(ds, batch_size=4, shuffle=True, generator=np.random.default_rng(7)))
    assert a == b and a == (np.random.default_rng(7).permutation(10) * 10).tolist()


def test_any_dataset_is_collated_by_default_collate():
    loader = DataLoader(Squares(), batch_size=3)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    floats, ints, arrays = batches[0]
    assert floats.dtype == np.float64 and ints.dtype == np.int64 and arrays.dtype == np.float32
    np.testing.assert_array_equal(floats.data, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(ints.data, [0, 1, 4])
    np.testing.assert_array_equal(arrays.data, [[0, 0], [1, 1], [2, 2]])
    assert batches[-1][0].shape == (1,)


def test_the_tensor_dataset_fast_path_equals_collating_item_by_item():
    ds = TensorDataset(tensor(X), tensor(Y))
    subset = Subset(ds, [9, 0, 4, 5, 7])
    for dataset in (ds, subset, Subset(subset, [4, 2, 0])):
        fast = list(DataLoader(dataset, batch_size=2))
        slow = list(DataLoader(dataset, batch_size=2, collate_fn=default_collate))
        assert len(fast) == len(slow)
        for f, s in zip(fast, slow):
            assert isinstance(f, list) and isinstance(s, list)
            for a, b in zip(f, s):
                assert a.dtype == b.dtype
                np.testing.assert_array_equal(a.data, b.data)


def test_default_collate_structures():
    Point = namedtuple("Point", "x y")
    assert default_collate(["a", "b"]) == ["a", "b"]
    out = default_collate([{"x": 1.5, "n": (1, True)}, {"x": 2.5, "n": (2, False)}])
    np.testing.assert_array_equal(out["x"].data, [1.5, 2.5])
    np.testing.assert_array_equal(out["n"][0].data, [1, 2])
    assert out["n"][1].dtype == np.bool_
    points = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(points, Point) and points.x.tolist() == [1, 3] and points.y.dtype == np.float64
    stacked = default_collate([tensor([1.0, 2.0]), tensor([3.0, 4.0])])
    np.testing.assert_array_equal(stacked.data, [[1, 2], [3, 4]])
    assert default_collate([np.float32(1), np.float32(2)]).dtype == np.float32
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([(1, 2), (3,)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])
    with pytest.raises(ValueError, match="same shape"):
        default_collate([tensor([1.0]), tensor([1.0, 2.0])])


def test_custom_collate_fn_sampler_and_batch_size_none():
    loader = DataLoader(Squares(), batch_size=2, collate_fn=lambda items: [i[1] for i in items])
    assert list(loader) == [[0, 1], [4, 9], [16, 25], [36]]
    loader = DataLoader(
        Squares(), batch_size=2, sampler=[6, 5, 0], collate_fn=lambda items: [i[1] for i in items]
    )
    assert list(loader) == [[36, 25], [0]] and len(loader) == 2
    singles = list(DataLoader(Squares(), batch_size=None))
    assert len(singles) == 7 and singles[2] == (2.0, 4, pytest.approx(np.full(2, 2.0)))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": -2}, ValueError, "batch_size"),
        ({"batch_size": 2.0}, ValueError, "batch_size"),
        ({"batch_size": None, "drop_last": True}, ValueError, "drop_last"),
        ({"shuffle": True, "sampler": [0, 1]}, ValueError, "mutually exclusive"),
        ({"num_workers": 2}, ValueError, "num_workers"),
        ({"generator": 3}, TypeError, "generator"),
    ],
)
def test_dataloader_arguments_are_checked(kwargs, error, message):
    with pytest.raises(error, match=message):
        DataLoader(Squares(), **kwargs)


def test_dataloader_needs_len_and_getitem():
    with pytest.raises(TypeError, match="__len__ and __getitem__"):
        DataLoader(iter([1, 2, 3]))


def test_subset():
    sub = Subset(Squares(), [5, 1, 3])
    assert len(sub) == 3 and sub[0][1] == 25 and sub[2][1] == 9


def test_random_split_with_lengths_is_a_seeded_partition():
    ds = TensorDataset(tensor(Y))
    manual_seed(0)
    a, b = random_split(ds, [3, 7])
    assert (len(a), len(b)) == (3, 7)
    assert sorted(a.indices + b.indices) == list(range(10))
    manual_seed(0)
    a2, _ = random_split(ds, [3, 7])
    assert a2.indices == a.indices
    c, _ = random_split(ds, [3, 7], generator=np.random.default_rng(5))
    assert c.indices == np.random.default_rng(5).permutation(10)[:3].tolist()


@pytest.mark.parametrize(
    ("n", "fractions", "expected"),
    [
        (10, [0.3, 0.3, 0.4], [3, 3, 4]),
        (11, [0.5, 0.5], [6, 5]),  # floor gives 5 + 5; the 1 left goes to the first split
        (10, [0.33, 0.33, 0.34], [4, 3, 3]),  # floors 3, 3, 3; the 1 left goes to the first split
        (7, [0.1, 0.1, 0.8], [1, 1, 5]),  # floors 0, 0, 5; the 2 left go round-robin
    ],
)
def test_random_split_with_fractions_follows_torch(n, fractions, expected):
    splits = random_split(TensorDataset(tensor(np.arange(n))), fractions)
    assert [len(s) for s in splits] == expected


def test_random_split_errors():
    ds = TensorDataset(tensor(Y))
    with pytest.raises(ValueError, match="add up to 9"):
        random_split(ds, [4, 5, 0][:2])
    with pytest.raises(ValueError, match="non-negative"):
        random_split(ds, [12, -2])
    with pytest.raises(ValueError, match="fractions summing to 1"):
        random_split(ds, [0.5, 0.4])
    with pytest.raises(TypeError, match="ints or fractions"):
        random_split(ds, ["5", "5"])
    with pytest.warns(UserWarning, match="empty"):
        random_split(TensorDataset(tensor([1, 2])), [0.9, 0.1])


def test_get_batches_slices_along_the_first_dimension():
    batches = list(get_batches(tensor(X), tensor(Y), batch_size=4))
    assert [x.shape[0] for x, _ in batches] == [4, 4, 2]
    np.testing.assert_array_equal(batches[2][0].data, X[8:])
    np.testing.assert_array_equal(batches[2][1].data, Y[8:])
    only = list(get_batches(X, batch_size=5))
    assert len(only) == 2 and isinstance(only[0], np.ndarray)
    (whole,) = list(get_batches(tensor(X), tensor(Y)))
    np.testing.assert_array_equal(whole[0].data, X)


@pytest.mark.parametrize(("batch_size", "message"), [(11, "greater than"), (0, "positive"), (-1, "positive")])
def test_get_batches_errors(batch_size, message):
    with pytest.raises(ValueError, match=message):
        list(get_batches(tensor(X), tensor(Y), batch_size=batch_size))


def test_get_batches_checks_that_examples_match():
    with pytest.raises(ValueError, match="same first dimension"):
        list(get_batches(tensor(X), tensor(Y[:9]), batch_size=2))
