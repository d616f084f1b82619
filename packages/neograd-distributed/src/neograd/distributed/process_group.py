"""The process group: one process per rank, started by MPI's launcher, talking through mpi4py.

``mpiexec -n 4 python train.py`` starts the same script four times; each process calls
``init_process_group()`` and learns its rank (0..3) and the world size (4) from MPI.
A plain ``python train.py`` is a world of size 1, so a script works with or without mpiexec.

MPI itself (``mpi4py.MPI``) is imported on the first ``init_process_group()``, not when
``neograd.distributed`` is imported: importing the package starts nothing.
"""

from __future__ import annotations

import datetime
import sys
import traceback
from typing import Any

__all__ = [
    "init_process_group",
    "destroy_process_group",
    "is_available",
    "is_initialized",
    "is_mpi_available",
    "get_rank",
    "get_world_size",
    "get_backend",
    "Backend",
]


class Backend:
    """The names of the backends; neograd has one, ``"mpi"``, as ``torch.distributed.Backend.MPI``."""

    MPI = "mpi"


class _Group:
    """The default process group: a private copy of MPI_COMM_WORLD (so neograd's messages never
    mix with the user's own mpi4py messages) and what ``destroy_process_group`` must undo."""

    def __init__(self, comm: Any, mpi: Any, previous_hook: Any) -> None:
        self.comm = comm
        self.MPI = mpi
        self.rank: int = comm.Get_rank()
        self.size: int = comm.Get_size()
        self.previous_hook = previous_hook


_group: _Group | None = None


def is_available() -> bool:
    """Whether neograd.distributed can run here: mpi4py and an MPI library can be loaded (this loads
    and starts MPI, as ``init_process_group`` would)."""
    try:
        from mpi4py import MPI  # noqa: F401
    except Exception:  # ImportError, or RuntimeError when no MPI library is found
        return False
    return True


def is_mpi_available() -> bool:
    """Whether the MPI backend is available (the same as :func:`is_available`, neograd's only backend)."""
    return is_available()


def is_initialized() -> bool:
    """Whether ``init_process_group()`` has been called (and not undone by ``destroy_process_group``)."""
    return _group is not None


def _abort_on_exception(exc_type: Any, exc: Any, tb: Any) -> None:
    """sys.excepthook of a rank in a world of size > 1: show the traceback, then end the whole job.

    Without it, a rank that raises blocks in MPI_Finalize while the other ranks wait forever
    in their next collective; MPI_Abort makes the launcher end every rank, with a non-zero
    exit status, within seconds.
    """
    group = _group
    try:
        # the interpreter would print this itself; it must be out before Abort kills the process
        traceback.print_exception(exc_type, exc, tb)
        rank = group.rank if group is not None else "?"
        print(
            f"neograd.distributed: rank {rank} raised {exc_type.__name__}; aborting the job", file=sys.stderr
        )
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # a closed stream must not keep the job from ending
                pass
        if group is not None:
            group.MPI.COMM_WORLD.Abort(1)


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: datetime.timedelta | None = None,
    world_size: int = -1,
    rank: int = -1,
    store: Any = None,
    group_name: str = "",
    pg_options: Any = None,
    device_id: Any = None,
) -> None:
    """Join the default process group: this process becomes rank ``get_rank()`` of ``get_world_size()``.

    The ranks and the world size come from MPI's launcher (``mpiexec -n 4 python train.py``,
    ``srun`` under Slurm); a plain ``python train.py`` is a world of size 1. In a world of
    more than one process, an uncaught exception on any rank prints its traceback and then
    ends the whole job (``MPI_Abort``) instead of leaving the other ranks waiting forever.

    Args:
        backend: ``"mpi"`` or None (the default, MPI), the only backend here.
        init_method: ignored, as torch ignores it for MPI: the launcher connects the ranks.
        timeout: accepted for torch's signature; MPI collectives have no timeout.
        world_size: -1, or the world size MPI's launcher gave (any other value is an error).
        rank: -1, or this process's rank as MPI's launcher gave it (any other value is an error).
        store, group_name, pg_options, device_id: torch's; only their defaults are accepted.

    Example:
        >>> import neograd.distributed as dist
        >>> dist.init_process_group()          # run as: mpiexec -n 2 python script.py
        >>> print(f"rank {dist.get_rank()} of {dist.get_world_size()}")
    """
    global _group
    if _group is not None:
        raise RuntimeError(
            "init_process_group: trying to initialize the default process group twice; "
            "call destroy_process_group() first"
        )
    if backend is not None and (not isinstance(backend, str) or backend.lower() != Backend.MPI):
        raise ValueError(
            f"init_process_group: backend {backend!r} is not available; neograd.distributed runs over "
            "MPI only: use backend='mpi' (or leave it out)"
        )
    if init_method is not None and not isinstance(init_method, str):
        raise TypeError(
            f"init_process_group: init_method must be a str or None, got {type(init_method).__name__}"
        )
    if timeout is not None and not isinstance(timeout, datetime.timedelta):
        raise TypeError(
            f"init_process_group: timeout must be a datetime.timedelta, got {type(timeout).__name__}"
        )
    for name, value in (("world_size", world_size), ("rank", rank)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"init_process_group: {name} must be an int, got {value!r}")
    for name, value, default in (
        ("store", store, None),
        ("group_name", group_name, ""),
        ("pg_options", pg_options, None),
        ("device_id", device_id, None),
    ):
        if value != default:
            raise ValueError(
                f"init_process_group: {name}={value!r} is not supported by the MPI backend; leave it out"
            )
    try:
        from mpi4py import MPI
    except Exception as e:
        raise RuntimeError(
            "init_process_group: mpi4py or an MPI library cannot be loaded "
            f"({type(e).__name__}: {e}); install them with `pip install neograd-distributed[mpich]`, "
            "or mpi4py built against your system's MPI"
        ) from None
    world = MPI.COMM_WORLD
    for name, value, actual in (
        ("world_size", world_size, world.Get_size()),
        ("rank", rank, world.Get_rank()),
    ):
        if value != -1 and value != actual:
            raise ValueError(
                f"init_process_group: {name}={value} but MPI's launcher started this process with "
                f"{name} {actual}; the MPI backend takes the rank and the world size from the launcher "
                f"(mpiexec -n N): leave {name} out or pass {actual}"
            )
    comm = world.Dup()
    previous_hook = None
    if comm.Get_size() > 1:
        previous_hook = sys.excepthook
        sys.excepthook = _abort_on_exception
    _group = _Group(comm, MPI, previous_hook)


def destroy_process_group(group: Any = None) -> None:
    """Leave the default process group (``init_process_group`` may then be called again).

    Restores the exception hook that was there before ``init_process_group``. MPI itself
    stays initialised until the process ends (MPI cannot be started twice in one process).
    """
    global _group
    _check_group(group, "destroy_process_group")
    current = _default("destroy_process_group")
    if current.previous_hook is not None and sys.excepthook is _abort_on_exception:
        sys.excepthook = current.previous_hook
    _group = None
    current.comm.Free()


def get_rank(group: Any = None) -> int:
    """This process's rank in the default group, from 0 to ``get_world_size() - 1``."""
    _check_group(group, "get_rank")
    return _default("get_rank").rank


def get_world_size(group: Any = None) -> int:
    """The number of processes in the default group."""
    _check_group(group, "get_world_size")
    return _default("get_world_size").size


def get_backend(group: Any = None) -> str:
    """The backend of the default group: ``"mpi"``."""
    _check_group(group, "get_backend")
    _default("get_backend")
    return Backend.MPI


def _default(op: str) -> _Group:
    """The default group, or the error torch gives before ``init_process_group``."""
    if _group is None:
        raise RuntimeError(
            f"{op}: Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return _group


def _check_group(group: Any, op: str) -> None:
    if group is not None:
        raise ValueError(
            f"{op}: neograd.distributed has only the default process group; pass group=None, got {group!r}"
        )
