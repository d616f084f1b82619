"""neograd.distributed without a process group: the sampler, the object codec, errors before init."""

import math

import numpy as np
import pytest

import neograd.distributed as dist
from neograd.autograd import tensor
from neograd.distributed import DistributedSampler, _codec
from neograd.nn import Linear


@pytest.mark.parametrize("n", [1, 7, 10, 11, 16])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_sampler_shares(n, replicas, drop_last, shuffle):
    if drop_last and n < replicas:
        return  # no sample for anyone
    samplers = [
        DistributedSampler(range(n), replicas, r, shuffle=shuffle, seed=5, drop_last=drop_last)
        for r in range(replicas)
    ]
    shares = [list(s) for s in samplers]
    size = n // replicas if drop_last else math.ceil(n / replicas)
    assert all(len(share) == size == len(s) for share, s in zip(shares, samplers))
    together = [i for share in shares for i in share]
    if drop_last:
        assert len(set(together)) == len(together)  # disjoint
    else:
        assert set(together) == set(range(n))  # covers everything; padding repeats
        assert len(together) - len(set(together)) == size * replicas - n
    if not shuffle:  # rank r takes positions r, r + replicas, ...
        assert shares[0][: min(2, size)] == [0, replicas][: min(2, size)]


def test_sampler_epochs_and_seeds():
    a, b = DistributedSampler(range(50), 2, 0, seed=1), DistributedSampler(range(50), 2, 0, seed=1)
    assert list(a) == list(b)  # the same order on every rank for the same seed and epoch
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first and sorted(list(a) + list(DistributedSampler(range(50), 2, 1, seed=1))) != []
    assert list(DistributedSampler(range(50), 2, 0, seed=2)) != first


def test_sampler_bad_input():
    with pytest.raises(ValueError, match=r"invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="invalid rank -1"):
        DistributedSampler(range(4), num_replicas=2, rank=-1)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(range(4))
    with pytest.raises(TypeError, match="needs __len__"):
        DistributedSampler(iter(range(4)), 2, 0)


def test_collectives_before_init_are_clear_errors():
    assert not dist.is_initialized()
    for call in (
        lambda: dist.all_reduce(tensor([1.0])),
        lambda: dist.get_rank(),
        lambda: dist.barrier(),
        lambda: dist.broadcast_object_list([1]),
        lambda: dist.DistributedDataParallel(Linear(2, 2)),
    ):
        with pytest.raises(RuntimeError, match="Default process group has not been initialized"):
            call()


def test_init_arguments_checked_before_mpi_starts():
    with pytest.raises(ValueError, match="MPI only"):
        dist.init_process_group(backend="nccl")
    with pytest.raises(ValueError, match="store"):
        dist.init_process_group(store=object())
    assert not dist.is_initialized()


@pytest.mark.parametrize(
    "value",
    [
        None,
        [1, 2.5, "x", True, None],
        (1, (2, 3)),
        {"a": 1, 2: "b", (1, 2): [3], None: float("nan")},
        2**70,
        float("-inf"),
        b"\x00\xff",
        np.float32(1.5),
        np.int64(-3),
    ],
)
def test_codec_round_trip(value):
    back = _codec.decode(_codec.encode(value, "obj"))
    assert repr(back) == repr(value) and type(back) is type(value)


def test_codec_arrays_and_tensors():
    array = np.arange(6, dtype=np.int16).reshape(2, 3)[:, ::2]
    back = _codec.decode(_codec.encode({"a": array, "t": tensor([1.0, 2.0])}, "obj"))
    np.testing.assert_array_equal(back["a"], array)
    assert back["a"].dtype == np.int16 and back["t"].tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "value", [object(), {1, 2}, np.array(["a"]), np.array([None], dtype=object), {object(): 1}]
)
def test_codec_refuses_what_json_cannot_carry(value):
    with pytest.raises(TypeError, match="obj"):
        _codec.encode(value, "obj")


def test_codec_never_builds_other_types():
    with pytest.raises(ValueError, match="dtype"):
        _codec.decode(b'{"ndarray": {"dtype": "|O", "shape": [1], "data": ""}}')


def test_buckets_take_parameters_in_reverse_order_one_dtype_each():
    from neograd.distributed.parallel import _assign_buckets

    # four float32 parameters of 1 KiB, 2 KiB, 1 KiB, 4 KiB, then one float64 of 8 B
    params = [tensor(np.zeros(n, np.float32)) for n in (256, 512, 256, 1024)] + [tensor(np.zeros(1))]
    buckets = _assign_buckets(params, cap_bytes=3 * 1024)
    assert [b.indices for b in buckets] == [[4], [3], [2, 1], [0]]  # the last parameters first
    assert [b.flat.dtype for b in buckets] == [np.float64, np.float32, np.float32, np.float32]
    assert [b.indices for b in _assign_buckets(params, cap_bytes=25 * 2**20)] == [[4], [3, 2, 1, 0]]
