"""DistributedDataParallel on every rank, against single-process training computed on each rank.

(tests/distributed/test_dist_mpi.py launches it on 2 ranks and alone.)
"""

import os
import sys
import tempfile

import numpy as np
import pytest
from mpi_harness import run_checks

import neograd.distributed as dist
from neograd import nn
from neograd.autograd import get_rng_state, manual_seed, set_rng_state, tensor
from neograd.distributed import DistributedDataParallel
from neograd.optim import SGD

BATCH = 6  # per rank


def ranks():
    return dist.get_rank(), dist.get_world_size()


def make_model(seed):
    manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3), nn.Tanh(), nn.Linear(3, 1)).double()


def full_data(n):
    rng = np.random.default_rng(42)
    return rng.standard_normal((BATCH * n, 5)), rng.standard_normal((BATCH * n, 1))


def shard(array, r, n):
    return tensor(array[r * BATCH : (r + 1) * BATCH])


def gathered_bytes(model):
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, b"".join(p.data.tobytes() for p in model.parameters()))
    return out


def check_construction_copies_rank0_state():
    r, _ = ranks()
    model = DistributedDataParallel(
        make_model(100 + r)
    )  # different weights on each rank until DDP copies rank 0's
    reference = make_model(100)
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert next(iter(model.state_dict())) == "module.0.weight"
    assert model.module.__class__.__name__ == "Sequential"


def check_training_equals_full_batch_and_ranks_agree():
    r, n = ranks()
    x, y = full_data(n)
    ddp = DistributedDataParallel(
        make_model(0), bucket_cap_mb=0.0001
    )  # tiny buckets: several reductions in flight
    assert len(ddp._buckets) > 1
    reference = make_model(0)
    opt = SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    ref_opt = SGD(reference.parameters(), lr=0.1, momentum=0.9)
    for _ in range(5):
        opt.zero_grad()
        ((ddp(shard(x, r, n)) - shard(y, r, n)) ** 2).mean().backward()
        opt.step()
        ref_opt.zero_grad()
        ((reference(tensor(x)) - tensor(y)) ** 2).mean().backward()
        ref_opt.step()
    for p, q in zip(ddp.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=0, atol=1e-10)
        np.testing.assert_allclose(p.grad.data, q.grad.data, rtol=0, atol=1e-10)
    states = gathered_bytes(ddp)
    assert all(s == states[0] for s in states), "the ranks' parameters differ"


def check_no_sync_accumulates_locally_then_averages():
    r, n = ranks()
    x, y = full_data(2 * n)  # two micro-batches per rank
    ddp = DistributedDataParallel(make_model(0))
    reference = make_model(0)
    with ddp.no_sync():
        ((ddp(shard(x, 2 * r, 2 * n)) - shard(y, 2 * r, 2 * n)) ** 2).mean().backward()
    local = [p.grad.data.copy() for p in ddp.parameters()]
    ((ddp(shard(x, 2 * r + 1, 2 * n)) - shard(y, 2 * r + 1, 2 * n)) ** 2).mean().backward()
    # the mean over ranks of each rank's two micro-batch gradients, summed
    loss = sum(((reference(shard(x, k, 2 * n)) - shard(y, k, 2 * n)) ** 2).mean() for k in range(2 * n)) / n
    loss.backward()
    for p, q in zip(ddp.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.data, rtol=0, atol=1e-12)
    if n > 1:  # inside no_sync nothing was exchanged: the ranks' gradients differed
        grads = [None] * n
        dist.all_gather_object(grads, local[0])
        assert not np.array_equal(grads[0], grads[1])


class TwoBranches(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 1)
        self.b = nn.Linear(3, 1)
        self.never = nn.Linear(3, 1)

    def forward(self, x, use_b):
        return self.a(x) + self.b(x) if use_b else self.a(x)


def check_find_unused_parameters():
    r, n = ranks()
    manual_seed(0)
    ddp = DistributedDataParallel(TwoBranches().double(), find_unused_parameters=True)
    x = tensor(np.full((2, 3), 1.0 + r))
    ddp(x, use_b=(r == n - 1)).sum().backward()  # only the last rank uses b
    # d/dW of sum(W x + c) = sum over rows of x; b's gradient: only the last rank contributes
    np.testing.assert_allclose(
        ddp.module.a.weight.grad.data, np.full((1, 3), np.mean([2 + 2 * k for k in range(n)]))
    )
    np.testing.assert_allclose(ddp.module.b.weight.grad.data, np.full((1, 3), (2 + 2 * (n - 1)) / n))
    assert ddp.module.never.weight.grad is None  # unused on every rank: left alone, as torch


def check_unused_parameter_without_find_unused_is_an_error():
    manual_seed(0)
    ddp = DistributedDataParallel(TwoBranches().double())
    x = tensor(np.ones((2, 3)))
    ddp(x, use_b=True).sum().backward()  # `never` gets no gradient: the reduction cannot finish
    with pytest.raises(RuntimeError, match=r"find_unused_parameters=True(.|\n)*never\.weight"):
        ddp(x, use_b=True)


def check_broadcast_buffers():
    r, n = ranks()
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double()
    ddp = DistributedDataParallel(model)
    ddp(tensor(np.random.default_rng(r).standard_normal((8, 3))))  # the running means differ now
    ddp(tensor(np.ones((2, 3))))  # ... and the next forward starts from rank 0's
    states = [None] * n
    dist.all_gather_object(states, ddp.module[1].running_mean.data)
    ddp(tensor(np.ones((2, 3))))
    np.testing.assert_array_equal(states[0], states[-1])


def check_bad_modules_raise_on_every_rank():
    r, n = ranks()
    with pytest.raises(RuntimeError, match="doesn't have any parameter"):
        DistributedDataParallel(nn.ReLU())
    with pytest.raises(TypeError, match=r"must be a neograd\.nn\.Module"):
        DistributedDataParallel(lambda x: x)
    with pytest.raises(ValueError, match="device_ids"):
        DistributedDataParallel(nn.Linear(2, 2), device_ids=[0])
    ddp = DistributedDataParallel(nn.Linear(2, 2))
    ddp.double()  # the buckets were laid out for float32
    with pytest.raises(RuntimeError, match="convert the module first, then wrap it"):
        ddp(tensor(np.ones((1, 2))))
    if n > 1:
        with pytest.raises(RuntimeError, match="different arguments"):
            DistributedDataParallel(nn.Linear(3, 2 + r))


def check_checkpoint_resume_under_ddp():
    """Rank 0 writes; every rank resumes from its file and ends where uninterrupted training does."""
    r, n = ranks()
    x, y = full_data(n)
    where = [tempfile.mkdtemp(prefix="ddp-ckpt-") if r == 0 else None]
    dist.broadcast_object_list(where)

    def train(ddp, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((ddp(shard(x, r, n)) - shard(y, r, n)) ** 2).mean().backward()
            opt.step()

    ddp = DistributedDataParallel(make_model(0))
    opt = SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    train(ddp, opt, 3)
    if r == 0:
        nn.Checkpoint(ddp, where[0], opt).add(step=3)
    train(ddp, opt, 2)
    uninterrupted = gathered_bytes(ddp)

    dist.barrier()  # the checkpoint is on disk before any rank reads it
    ddp = DistributedDataParallel(make_model(7))
    opt = SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    state = nn.Checkpoint(ddp, where[0], opt).resume()
    assert state["step"] == 3
    train(ddp, opt, 2)
    assert gathered_bytes(ddp) == uninterrupted
    dist.barrier()


def check_checkpoint_restores_each_ranks_random_stream():
    """Each rank draws its own dropout masks; its random state travels in the checkpoint's
    tracked values (all_gather_object to rank 0), so resuming continues every rank's stream."""
    r, n = ranks()
    x, y = full_data(n)
    where = [tempfile.mkdtemp(prefix="ddp-rng-") if r == 0 else None]
    dist.broadcast_object_list(where)

    def make():
        manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 16), nn.Dropout(0.5), nn.Linear(16, 1)).double()
        ddp = DistributedDataParallel(model)
        return ddp, SGD(ddp.parameters(), lr=0.1)

    def train(ddp, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((ddp(shard(x, r, n)) - shard(y, r, n)) ** 2).mean().backward()
            opt.step()

    ddp, opt = make()
    manual_seed(1000 + r)  # a stream per rank: different dropout masks on each
    train(ddp, opt, 3)
    streams = [None] * n
    dist.all_gather_object(streams, get_rng_state())
    if r == 0:
        nn.Checkpoint(ddp, where[0], opt).add(step=3, rng_per_rank=streams)
    train(ddp, opt, 2)
    uninterrupted = gathered_bytes(ddp)

    dist.barrier()
    ddp, opt = make()
    state = nn.Checkpoint(ddp, where[0], opt).resume()  # restores rank 0's stream on every rank...
    set_rng_state(state["rng_per_rank"][r])  # ... so each rank takes its own back
    train(ddp, opt, 2)
    assert gathered_bytes(ddp) == uninterrupted
    dist.barrier()


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(run_checks(globals()))
