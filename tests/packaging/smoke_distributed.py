"""Smoke test of neograd-distributed[mpich] installed alone: core and nn came along, optim did not;
then the same script on 2 ranks (the venv's mpiexec): a collective and a DistributedDataParallel step."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

if "--worker" in sys.argv:  # one rank of the 2-rank job started below
    import neograd.distributed as dist
    from neograd import nn
    from neograd.autograd import manual_seed, tensor

    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    t = tensor([float(rank + 1)])
    dist.all_reduce(t)
    assert t.item() == size * (size + 1) / 2, t
    manual_seed(rank)  # different weights on each rank: DDP copies rank 0's
    model = dist.DistributedDataParallel(nn.Linear(3, 1).double())
    model(tensor(np.full((2, 3), float(rank)))).sum().backward()
    grads = [None] * size
    dist.all_gather_object(grads, model.module.weight.grad.data)
    assert all(np.array_equal(g, grads[0]) for g in grads), grads
    np.testing.assert_allclose(grads[0], np.full((1, 3), 2 * (size - 1) / 2))
    print(f"worker {rank}/{size} OK", flush=True)
    sys.exit(0)

from smoke_common import check, check_installed, check_no_meta_package, check_pieces, requirement_names

check_installed({"neograd-distributed", "neograd-autograd", "neograd-nn", "numpy", "mpi4py", "mpich"})
check(
    requirement_names("neograd-distributed") == {"neograd-autograd", "neograd-nn", "numpy", "mpi4py"},
    f"neograd-distributed requires {requirement_names('neograd-distributed')}",
)
check_pieces(
    {
        "neograd.autograd": "neograd-autograd",
        "neograd.nn": "neograd-nn",
        "neograd.distributed": "neograd-distributed",
    },
    absent=["neograd.optim"],
)
check_no_meta_package()

import neograd.distributed as dist  # noqa: E402

check(dist.is_available(), "mpi4py cannot load the MPI library of the mpich wheel")
mpiexec = Path(sys.executable).parent / "mpiexec"
check(mpiexec.exists(), f"the mpich wheel put no mpiexec in {mpiexec.parent}")
env = {**os.environ, "OMP_NUM_THREADS": "1"}
job = subprocess.Popen(
    [str(mpiexec), "-n", "2", sys.executable, __file__, "--worker"],
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    text=True,
    env=env,
)
try:
    output, _ = job.communicate(timeout=120)
except subprocess.TimeoutExpired:
    job.terminate()  # SIGTERM: mpiexec passes it on to the ranks (SIGKILL would orphan them)
    output, _ = job.communicate()
    check(False, f"the 2-rank job did not finish in 120 s:\n{output}")
check(job.returncode == 0 and output.count("OK") == 2, f"the 2-rank job failed:\n{output}")

print("smoke neograd-distributed: OK (core and nn came along, optim did not; all_reduce and DDP on 2 ranks)")
