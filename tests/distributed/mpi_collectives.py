"""Collectives against NumPy, run on every rank (tests/distributed/test_dist_mpi.py launches it).

Each rank's data is a known function of its rank, so every rank can compute with NumPy what
each collective must give.
"""

import sys

import numpy as np
import pytest
from mpi_harness import run_checks

import neograd.distributed as dist
from neograd.autograd import Tensor, tensor
from neograd.distributed import ReduceOp


def rank_data(r, shape=(3, 4), dtype=np.float64):
    values = np.random.default_rng(r).standard_normal(shape) * 4
    return values.astype(dtype) if np.dtype(dtype).kind == "f" else np.round(values).astype(dtype)


def ranks():
    return dist.get_rank(), dist.get_world_size()


def check_rank_and_size():
    r, n = ranks()
    assert 0 <= r < n
    out = [None] * n
    dist.all_gather_object(out, r)
    assert out == list(range(n))


def check_all_reduce_ops():
    r, n = ranks()
    reference = {
        ReduceOp.SUM: np.sum,
        ReduceOp.PRODUCT: np.prod,
        ReduceOp.MIN: np.min,
        ReduceOp.MAX: np.max,
        ReduceOp.AVG: np.mean,
    }
    for dtype in (np.float64, np.float32, np.int64, np.int32):
        for op, fn in reference.items():
            if op is ReduceOp.AVG and dtype in (np.int64, np.int32):
                continue
            t = tensor(rank_data(r, dtype=dtype))
            dist.all_reduce(t, op=op)
            expected = fn(np.stack([rank_data(k, dtype=dtype) for k in range(n)]), axis=0).astype(dtype)
            np.testing.assert_allclose(t.data, expected, rtol=1e-6, err_msg=f"{op} {dtype}")
            assert t.dtype == dtype


def check_all_reduce_bitwise_and_bool():
    r, n = ranks()
    t = tensor(np.array([1, 2, 4, 8 + r], np.int64))
    dist.all_reduce(t, op=ReduceOp.BOR)
    assert t.tolist() == [1, 2, 4, int(np.bitwise_or.reduce([8 + k for k in range(n)]))]
    flags = tensor(np.array([True, r == 0, False]))
    dist.all_reduce(flags, op=ReduceOp.MAX)  # a logical or
    assert flags.tolist() == [True, True, False]
    flags = tensor(np.array([True, r == 0, False]))
    dist.all_reduce(flags, op=ReduceOp.MIN)  # a logical and
    assert flags.tolist() == [True, n == 1, False]


def check_all_reduce_non_contiguous_and_async():
    r, n = ranks()
    base = rank_data(r, (4, 6))
    t = Tensor._make(base[:, ::2])  # a strided view: a copy goes to MPI, the result comes back into it
    assert not t.data.flags.c_contiguous
    work = dist.all_reduce(t, async_op=True)
    assert work.wait() is True and work.is_completed()
    np.testing.assert_allclose(base[:, ::2], sum(rank_data(k, (4, 6))[:, ::2] for k in range(n)), rtol=1e-12)
    np.testing.assert_array_equal(base[:, 1::2], rank_data(r, (4, 6))[:, 1::2])  # the rest untouched


def check_broadcast():
    r, n = ranks()
    for src in range(n):
        t = tensor(rank_data(r))
        dist.broadcast(t, src=src)
        np.testing.assert_array_equal(t.data, rank_data(src))


def check_reduce():
    r, n = ranks()
    dst = n - 1
    t = tensor(rank_data(r))
    dist.reduce(t, dst=dst, op=ReduceOp.MAX)
    expected = np.max([rank_data(k) for k in range(n)], axis=0) if r == dst else rank_data(r)
    np.testing.assert_array_equal(t.data, expected)


def check_all_gather_gather_scatter():
    r, n = ranks()
    out = [tensor(np.zeros((3, 4))) for _ in range(n)]
    dist.all_gather(out, tensor(rank_data(r)), async_op=True).wait()
    for k in range(n):
        np.testing.assert_array_equal(out[k].data, rank_data(k))
    gathered = [tensor(np.zeros((3, 4))) for _ in range(n)] if r == 0 else None
    dist.gather(tensor(rank_data(r)), gathered, dst=0)
    if r == 0:
        for k in range(n):
            np.testing.assert_array_equal(gathered[k].data, rank_data(k))
    src = n - 1
    parts = [tensor(rank_data(100 + k)) for k in range(n)] if r == src else None
    t = tensor(np.zeros((3, 4)))
    dist.scatter(t, parts, src=src)
    np.testing.assert_array_equal(t.data, rank_data(100 + r))


def check_objects():
    r, n = ranks()
    value = {"rank": r, "pair": (r, "x"), 3: [None, True, 1.5, float("inf")], "a": np.arange(r + 1)}
    out = [None] * n
    dist.all_gather_object(out, value)
    for k in range(n):
        assert (
            out[k]["rank"] == k
            and out[k]["pair"] == (k, "x")
            and out[k][3] == [None, True, 1.5, float("inf")]
        )
        np.testing.assert_array_equal(out[k]["a"], np.arange(k + 1))
    objects = [{"lr": 0.1}, tensor([1.0, 2.0]), b"\x00\x01"] if r == 0 else [None, None, None]
    dist.broadcast_object_list(objects, src=0)
    assert objects[0] == {"lr": 0.1} and objects[1].tolist() == [1.0, 2.0] and objects[2] == b"\x00\x01"


def check_objects_refused_on_every_rank():
    r, n = ranks()
    out = [None] * n
    value = (lambda: None) if r == n - 1 else 1  # one rank sends what JSON cannot carry
    with pytest.raises(TypeError, match="cannot be sent"):
        dist.all_gather_object(out, value)


def check_mismatched_shapes_and_dtypes_raise_on_every_rank():
    r, n = ranks()
    if n == 1:
        dist.all_reduce(tensor(np.zeros(3)))  # nothing to mismatch in a world of one
        return
    with pytest.raises(RuntimeError, match=r"ranks passed different arguments(.|\n)*shape=\(4,\)"):
        dist.all_reduce(tensor(np.zeros(3 + r)))
    with pytest.raises(RuntimeError, match="dtype=float32"):
        dist.broadcast(tensor(np.zeros(3, np.float64 if r == 0 else np.float32)))
    with pytest.raises(RuntimeError, match="different arguments"):
        dist.all_reduce(tensor(np.zeros(3)), op=ReduceOp.SUM if r == 0 else ReduceOp.MAX)
    t = tensor(np.ones(2))  # and the group still works afterwards
    dist.all_reduce(t)
    assert t.tolist() == [n, n]


def check_bad_arguments_raise_on_every_rank():
    r, n = ranks()
    with pytest.raises(TypeError, match="AVG needs a floating"):
        dist.all_reduce(tensor(np.zeros(3, np.int64)), op=ReduceOp.AVG)
    with pytest.raises(ValueError, match="src=5 is not a rank"):
        dist.broadcast(tensor(np.zeros(3)), src=5)
    with pytest.raises(TypeError, match="must be a neograd Tensor"):
        dist.all_reduce(np.zeros(3))
    with pytest.raises(ValueError, match="one tensor per rank"):
        dist.all_gather([tensor(np.zeros(3))] * (n + 1), tensor(np.zeros(3)))
    bad = "nonsense" if r == n - 1 else ReduceOp.SUM  # one rank's error reaches all of them
    with pytest.raises(TypeError, match="op must be a ReduceOp"):
        dist.all_reduce(tensor(np.zeros(3)), op=bad)
    with pytest.raises(RuntimeError, match="twice"):
        dist.init_process_group()


def check_sampler_over_the_world():
    r, n = ranks()
    data = list(range(11))
    for shuffle in (False, True):
        for drop_last in (False, True):
            sampler = dist.DistributedSampler(data, shuffle=shuffle, seed=3, drop_last=drop_last)
            sampler.set_epoch(2)
            shares = [None] * n
            dist.all_gather_object(shares, list(sampler))
            assert len({len(s) for s in shares}) == 1 and len(shares[r]) == len(sampler)
            union = [i for s in shares for i in s]
            assert set(union) == set(data) if not drop_last else len(set(union)) == len(union)


def check_barrier_destroy_and_init_again():
    dist.barrier()
    assert dist.barrier(async_op=True).wait()
    # the abort-on-exception hook: installed in a world of more than one, removed by destroy
    assert (sys.excepthook is not sys.__excepthook__) == (dist.get_world_size() > 1)
    dist.destroy_process_group()
    assert sys.excepthook is sys.__excepthook__
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="has not been initialized"):
        dist.all_reduce(tensor(np.zeros(3)))
    dist.init_process_group(backend="mpi", world_size=-1, rank=-1)
    t = tensor(np.ones(1))
    dist.all_reduce(t)
    assert t.item() == dist.get_world_size()


run_checks(globals())
