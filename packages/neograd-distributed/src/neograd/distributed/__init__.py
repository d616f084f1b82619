"""neograd.distributed: data-parallel training over MPI, with torch.distributed's API.

Every rank runs the same script, started by MPI's launcher (``mpiexec -n 4 python train.py``;
a plain ``python train.py`` is a world of size 1):

- the process group: ``init_process_group``, ``get_rank``, ``get_world_size``, ``barrier``,
  ``destroy_process_group``, ``is_initialized``, ``is_available``;
- collectives on tensors, in place: ``all_reduce`` (with a ``ReduceOp``), ``broadcast``,
  ``reduce``, ``all_gather``, ``gather``, ``scatter``; and on small Python values
  (sent as JSON, never pickled): ``all_gather_object``, ``broadcast_object_list``;
- ``DistributedDataParallel``: gradients averaged over the ranks during backward;
- ``DistributedSampler``: each rank's share of a dataset.

Example (``mpiexec -n 2 python train.py``):
    >>> import neograd as ng
    >>> import neograd.distributed as dist
    >>> dist.init_process_group()
    >>> model = dist.DistributedDataParallel(ng.nn.Linear(4, 1))
    >>> sampler = dist.DistributedSampler(dataset, shuffle=True, seed=0)
    >>> loader = ng.utils.data.DataLoader(dataset, batch_size=32, sampler=sampler)
"""

from neograd.distributed.__about__ import __version__
from neograd.distributed.collectives import (
    ReduceOp,
    Work,
    all_gather,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object_list,
    gather,
    reduce,
    scatter,
)
from neograd.distributed.parallel import DistributedDataParallel
from neograd.distributed.process_group import (
    Backend,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
)
from neograd.distributed.sampler import DistributedSampler

__all__ = [
    "__version__",
    "init_process_group",
    "destroy_process_group",
    "is_available",
    "is_initialized",
    "is_mpi_available",
    "get_rank",
    "get_world_size",
    "get_backend",
    "Backend",
    "barrier",
    "ReduceOp",
    "Work",
    "all_reduce",
    "broadcast",
    "reduce",
    "all_gather",
    "gather",
    "scatter",
    "all_gather_object",
    "broadcast_object_list",
    "DistributedDataParallel",
    "DistributedSampler",
]
