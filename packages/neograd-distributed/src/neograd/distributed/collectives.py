"""Collectives on tensors, in place, with torch.distributed's names: all_reduce, broadcast, ...

Each call is one MPI collective on the tensors' arrays (non-blocking underneath: with
``async_op=True`` it returns a :class:`Work` to ``wait()`` on). Every rank must make the same
calls in the same order, with tensors of the same shape and dtype.

Before each collective the ranks exchange a few hundred bytes describing what each of them
passed (the operation, shapes, dtypes, roots, and any argument error found locally). A
mismatch (say rank 1 passes float32 where rank 0 passes float64) then raises the same clear
RuntimeError on every rank, instead of a hang or garbage. ``DistributedDataParallel``'s own
gradient reductions skip this exchange: their layout is checked once, at construction.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from neograd.autograd import Tensor, inplace
from neograd.distributed import _codec
from neograd.distributed.process_group import _check_group, _default, _Group

__all__ = [
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
    "barrier",
]


class ReduceOp(enum.Enum):
    """How ``all_reduce`` and ``reduce`` combine the ranks' values, element by element.

    SUM, PRODUCT, MIN and MAX as their names say; AVG is SUM divided by the world size
    (floating and complex tensors only); BAND, BOR and BXOR are bitwise (integers and bools).
    On bool tensors SUM and MAX are a logical or, PRODUCT and MIN a logical and.
    """

    SUM = "SUM"
    AVG = "AVG"
    PRODUCT = "PRODUCT"
    MIN = "MIN"
    MAX = "MAX"
    BAND = "BAND"
    BOR = "BOR"
    BXOR = "BXOR"


# ReduceOp -> the name of the MPI operation, for number and bool dtypes
_MPI_OP = {"SUM": "SUM", "AVG": "SUM", "PRODUCT": "PROD", "MIN": "MIN", "MAX": "MAX"}
_MPI_OP.update(BAND="BAND", BOR="BOR", BXOR="BXOR")
_MPI_BOOL_OP = {"SUM": "LOR", "MAX": "LOR", "BOR": "LOR", "PRODUCT": "LAND", "MIN": "LAND", "BAND": "LAND"}
_MPI_BOOL_OP["BXOR"] = "LXOR"

_META_BYTES = 1024  # per rank, in the exchange before each collective


class Work:
    """A collective in flight (``async_op=True``): ``wait()`` until it is done, as torch's Work.

    The tensors it writes must not be read or changed until ``wait()`` returns.
    """

    def __init__(
        self,
        group: _Group,
        requests: list[Any],
        finish: Callable[[], None] | None,
        keep: tuple[Any, ...] = (),
    ) -> None:
        self._MPI = group.MPI
        self._requests = requests
        self._keep = keep  # the arrays MPI reads from or writes to: alive until the operation is done
        self._finish = finish
        self._done = False

    def wait(self, timeout: Any = None) -> bool:
        """Block until the collective is complete and its results are in the tensors; returns True.

        ``timeout`` is accepted for torch's signature; MPI's waits have none.
        """
        if not self._done:
            self._MPI.Request.Waitall(self._requests)
            self._done = True
            self._keep = ()
            if self._finish is not None:
                self._finish()
        return True

    def is_completed(self) -> bool:
        """Whether the collective has finished (then its results are in the tensors)."""
        if not self._done and self._MPI.Request.Testall(self._requests):
            self.wait()
        return self._done

    def is_success(self) -> bool:
        """Whether it completed without error (an MPI error raises instead)."""
        return self.is_completed()


def _run(
    group: _Group, requests: list[Any], finish: Callable[[], None] | None, async_op: bool, *keep: Any
) -> Work | None:
    work = Work(group, requests, finish, keep)
    if async_op:
        return work
    work.wait()
    return None


# ---- the agreement before each collective --------------------------------------------------------
def _describe(t: Any, what: str) -> dict[str, Any]:
    """The dtype and shape of a tensor argument; TypeError if it is not a CPU (NumPy) Tensor."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{what} must be a neograd Tensor, got {type(t).__name__}")
    if not isinstance(t.data, np.ndarray):
        raise TypeError(f"{what} must live on the CPU (a NumPy array); move it there with .cpu() first")
    return {"dtype": t.data.dtype.name, "shape": list(t.data.shape)}


def _agree(group: _Group, op: str, check: Callable[[], dict[str, Any]]) -> None:
    """Run ``check`` (the local argument checks; returns what must be equal on every rank), then
    exchange its result with the other ranks. Raises the same error on every rank if any rank's
    arguments are wrong or the ranks disagree; otherwise every rank goes on to the collective."""
    try:
        meta, error = check(), None
    except (TypeError, ValueError, RuntimeError) as e:
        meta, error = {}, [type(e).__name__, str(e)[:400]]
    text = json.dumps(meta, sort_keys=True, separators=(",", ":"))
    if len(text) > _META_BYTES - 600:
        text = '"sha256:' + hashlib.sha256(text.encode()).hexdigest() + '"'
    payload = json.dumps({"meta": text, "error": error}).encode()
    send = np.zeros(_META_BYTES, np.uint8)
    send[: len(payload)] = np.frombuffer(payload, np.uint8)
    received = np.empty((group.size, _META_BYTES), np.uint8)
    group.comm.Allgather(send, received)
    reports = [json.loads(bytes(row).rstrip(b"\0").decode()) for row in received]
    for rank, report in enumerate(reports):
        if report["error"] is not None:
            kind, message = report["error"]
            cls = {"TypeError": TypeError, "ValueError": ValueError}.get(kind, RuntimeError)
            where = "" if rank == group.rank else f" (on rank {rank})"
            raise cls(f"{op}: {message}{where}")
    metas = [report["meta"] for report in reports]
    if any(m != metas[0] for m in metas):
        lines = "\n".join(f"  rank {r}: {_readable(m)}" for r, m in enumerate(metas))
        raise RuntimeError(
            f"{op}: the ranks passed different arguments; every rank must make the same call with "
            f"tensors of the same shape and dtype:\n{lines}"
        )


def _readable(text: str) -> str:
    """A rank's description as ``dtype=float64, shape=(3, 4), op=SUM``."""
    meta = json.loads(text)
    if not isinstance(meta, dict):
        return str(meta)
    return ", ".join(f"{k}={tuple(v) if k == 'shape' else v}" for k, v in meta.items())


def _check_rank(name: str, value: Any, size: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a rank (an int), got {value!r}")
    if not 0 <= value < size:
        raise ValueError(f"{name}={value} is not a rank of this world of size {size} (0 to {size - 1})")
    return int(value)


def _root(name: str, value: Any, group_value: Any) -> Any:
    """torch's ``src``/``group_src`` pair (the same for the default group): one of them, 0 if neither."""
    if value is not None and group_value is not None:
        raise ValueError(f"{name} and group_{name} cannot both be given")
    if value is None and group_value is None:
        return 0
    return value if value is not None else group_value


def _mpi_op(group: _Group, op: Any, dtype: np.dtype) -> Any:
    """The MPI operation for ``op`` on ``dtype``; TypeError/ValueError for combinations MPI lacks."""
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a ReduceOp (e.g. ReduceOp.SUM), got {op!r}")
    kind = dtype.kind
    if kind == "b":
        if op.name not in _MPI_BOOL_OP:
            raise TypeError(f"ReduceOp.{op.name} is not defined on bool tensors")
        return getattr(group.MPI, _MPI_BOOL_OP[op.name])
    if op.name in ("BAND", "BOR", "BXOR") and kind not in "iu":
        raise TypeError(f"ReduceOp.{op.name} needs an integer or bool tensor, got dtype {dtype}")
    if op.name in ("MIN", "MAX") and kind == "c":
        raise TypeError(f"ReduceOp.{op.name} is not defined on complex tensors")
    if op is ReduceOp.AVG and kind not in "fc":
        raise TypeError(f"ReduceOp.AVG needs a floating or complex tensor, got dtype {dtype}")
    return getattr(group.MPI, _MPI_OP[op.name])


# ---- buffers -------------------------------------------------------------------------------------
def _buffer(t: Tensor) -> np.ndarray:
    """An array MPI can write the result into: the tensor's own if contiguous, else a copy."""
    data = t.data
    if data.flags.c_contiguous and data.flags.writeable:
        return data
    return np.ascontiguousarray(data)


def _store(t: Tensor, buffer: np.ndarray) -> None:
    """The result is in ``buffer``: put it in ``t`` (if it was a copy) and record the in-place change."""
    if buffer is not t.data:
        np.copyto(t.data, buffer.reshape(t.data.shape))
    inplace.mark_changed(t.data)


# ---- collectives ---------------------------------------------------------------------------------
def all_reduce(
    tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Combine ``tensor`` over all ranks with ``op``, in place: afterwards every rank holds the result.

    Args:
        tensor: the same shape and dtype on every rank; overwritten with the result.
        op: a :class:`ReduceOp` (default SUM).
        group: None (the default group, the only one).
        async_op: return a :class:`Work` to ``wait()`` on instead of waiting here.

    Example:
        >>> t = ng.tensor([float(dist.get_rank())])
        >>> dist.all_reduce(t)              # on 2 ranks: tensor([1.]) on both
    """
    _check_group(group, "all_reduce")
    g = _default("all_reduce")

    def check() -> dict[str, Any]:
        meta = _describe(tensor, "tensor")
        _mpi_op(g, op, tensor.data.dtype)
        return {**meta, "op": op.name}

    _agree(g, "all_reduce", check)
    buffer = _buffer(tensor)
    request = g.comm.Iallreduce(g.MPI.IN_PLACE, buffer, op=_mpi_op(g, op, buffer.dtype))

    def finish() -> None:
        if op is ReduceOp.AVG:
            np.true_divide(buffer, g.size, out=buffer)
        _store(tensor, buffer)

    return _run(g, [request], finish, async_op, buffer)


def broadcast(
    tensor: Tensor,
    src: int | None = None,
    group: Any = None,
    async_op: bool = False,
    group_src: int | None = None,
) -> Work | None:
    """Copy ``tensor`` of rank ``src`` into ``tensor`` of every other rank, in place.

    Args:
        tensor: the data to send on ``src``; overwritten on the others (same shape and dtype).
        src: the rank that sends (``group_src`` is the same for the default group); default 0.
        group: None (the default group).
        async_op: return a :class:`Work` to ``wait()`` on.
    """
    _check_group(group, "broadcast")
    g = _default("broadcast")
    root = _root("src", src, group_src)

    def check() -> dict[str, Any]:
        return {**_describe(tensor, "tensor"), "src": _check_rank("src", root, g.size)}

    _agree(g, "broadcast", check)
    buffer = _buffer(tensor)
    request = g.comm.Ibcast(buffer, root=root)
    return _run(g, [request], lambda: _store(tensor, buffer) if g.rank != root else None, async_op, buffer)


def reduce(
    tensor: Tensor,
    dst: int | None = None,
    op: ReduceOp = ReduceOp.SUM,
    group: Any = None,
    async_op: bool = False,
    group_dst: int | None = None,
) -> Work | None:
    """Combine ``tensor`` over all ranks with ``op`` into ``tensor`` of rank ``dst`` (in place);
    the other ranks' tensors are left as they were.

    Args:
        tensor: the same shape and dtype on every rank; overwritten with the result on ``dst``.
        dst: the rank that receives the result (default 0; ``group_dst`` is the same).
        op: a :class:`ReduceOp` (default SUM).
        group: None (the default group).
        async_op: return a :class:`Work` to ``wait()`` on.
    """
    _check_group(group, "reduce")
    g = _default("reduce")
    root = _root("dst", dst, group_dst)

    def check() -> dict[str, Any]:
        meta = _describe(tensor, "tensor")
        _mpi_op(g, op, tensor.data.dtype)
        return {**meta, "op": op.name, "dst": _check_rank("dst", root, g.size)}

    _agree(g, "reduce", check)
    mpi_op = _mpi_op(g, op, tensor.data.dtype)
    if g.rank == root:
        buffer = _buffer(tensor)
        request = g.comm.Ireduce(g.MPI.IN_PLACE, buffer, op=mpi_op, root=root)

        def finish() -> None:
            if op is ReduceOp.AVG:
                np.true_divide(buffer, g.size, out=buffer)
            _store(tensor, buffer)

        return _run(g, [request], finish, async_op, buffer)
    send = np.ascontiguousarray(tensor.data)
    request = g.comm.Ireduce(send, None, op=mpi_op, root=root)
    return _run(g, [request], None, async_op, send)


def _check_list(tensors: Any, name: str, like: dict[str, Any], size: int) -> None:
    """``tensors`` is a list of ``size`` tensors, each with the dtype and shape described by ``like``."""
    if not isinstance(tensors, list):
        raise TypeError(f"{name} must be a list of {size} tensors, got {type(tensors).__name__}")
    if len(tensors) != size:
        raise ValueError(f"{name} must hold one tensor per rank ({size}), got {len(tensors)}")
    for i, t in enumerate(tensors):
        meta = _describe(t, f"{name}[{i}]")
        if meta != like:
            raise ValueError(
                f"{name}[{i}] has dtype {np.dtype(meta['dtype'])} and shape {tuple(meta['shape'])}, but "
                f"tensor has dtype {np.dtype(like['dtype'])} and shape {tuple(like['shape'])}"
            )


def _unpack(tensors: list[Tensor], received: np.ndarray) -> Callable[[], None]:
    """A finish step that copies row i of ``received`` into ``tensors[i]``."""

    def finish() -> None:
        for t, row in zip(tensors, received):
            np.copyto(t.data, row.reshape(t.data.shape))
        inplace.mark_changed(*(t.data for t in tensors))

    return finish


def all_gather(
    tensor_list: list[Tensor], tensor: Tensor, group: Any = None, async_op: bool = False
) -> Work | None:
    """Gather ``tensor`` from every rank into ``tensor_list`` on every rank: ``tensor_list[r]``
    receives rank r's ``tensor`` (in place).

    Args:
        tensor_list: one tensor per rank, each of ``tensor``'s shape and dtype.
        tensor: this rank's contribution (the same shape and dtype on every rank).
        group: None (the default group).
        async_op: return a :class:`Work` to ``wait()`` on.

    Example:
        >>> out = [ng.zeros(2) for _ in range(dist.get_world_size())]
        >>> dist.all_gather(out, ng.full((2,), float(dist.get_rank())))
    """
    _check_group(group, "all_gather")
    g = _default("all_gather")

    def check() -> dict[str, Any]:
        meta = _describe(tensor, "tensor")
        _check_list(tensor_list, "tensor_list", meta, g.size)
        return meta

    _agree(g, "all_gather", check)
    send = np.ascontiguousarray(tensor.data)
    received = np.empty((g.size, *send.shape), send.dtype)
    request = g.comm.Iallgather(send, received)
    return _run(g, [request], _unpack(tensor_list, received), async_op, send, received)


def gather(
    tensor: Tensor,
    gather_list: list[Tensor] | None = None,
    dst: int | None = None,
    group: Any = None,
    async_op: bool = False,
    group_dst: int | None = None,
) -> Work | None:
    """Gather ``tensor`` from every rank into ``gather_list`` of rank ``dst`` (in place).

    Args:
        tensor: this rank's contribution (the same shape and dtype on every rank).
        gather_list: on ``dst``, one tensor per rank of ``tensor``'s shape and dtype;
            None on the other ranks.
        dst: the rank that receives (default 0; ``group_dst`` is the same).
        group: None (the default group).
        async_op: return a :class:`Work` to ``wait()`` on.
    """
    _check_group(group, "gather")
    g = _default("gather")
    root = _root("dst", dst, group_dst)

    def check() -> dict[str, Any]:
        meta = _describe(tensor, "tensor")
        _check_rank("dst", root, g.size)
        if g.rank == root:
            _check_list(gather_list, "gather_list", meta, g.size)
        elif gather_list is not None and gather_list != []:
            raise ValueError(
                f"gather_list must be None on rank {g.rank}: only the destination rank {root} receives"
            )
        return {**meta, "dst": root}

    _agree(g, "gather", check)
    send = np.ascontiguousarray(tensor.data)
    if g.rank != root:
        return _run(g, [g.comm.Igather(send, None, root=root)], None, async_op, send)
    received = np.empty((g.size, *send.shape), send.dtype)
    request = g.comm.Igather(send, received, root=root)
    return _run(g, [request], _unpack(gather_list, received), async_op, send, received)  # type: ignore[arg-type]


def scatter(
    tensor: Tensor,
    scatter_list: list[Tensor] | None = None,
    src: int | None = None,
    group: Any = None,
    async_op: bool = False,
    group_src: int | None = None,
) -> Work | None:
    """Send ``scatter_list[r]`` of rank ``src`` into ``tensor`` of rank r, for every rank (in place).

    Args:
        tensor: receives this rank's part (the same shape and dtype on every rank).
        scatter_list: on ``src``, one tensor per rank of ``tensor``'s shape and dtype; None
            on the other ranks.
        src: the rank that sends (default 0; ``group_src`` is the same).
        group: None (the default group).
        async_op: return a :class:`Work` to ``wait()`` on.
    """
    _check_group(group, "scatter")
    g = _default("scatter")
    root = _root("src", src, group_src)

    def check() -> dict[str, Any]:
        meta = _describe(tensor, "tensor")
        _check_rank("src", root, g.size)
        if g.rank == root:
            _check_list(scatter_list, "scatter_list", meta, g.size)
        elif scatter_list is not None and scatter_list != []:
            raise ValueError(f"scatter_list must be None on rank {g.rank}: only the source rank {root} sends")
        return {**meta, "src": root}

    _agree(g, "scatter", check)
    buffer = _buffer(tensor)
    send = None
    if g.rank == root:
        send = np.stack([np.ascontiguousarray(t.data) for t in scatter_list])  # type: ignore[union-attr]
    request = g.comm.Iscatter(send, buffer, root=root)
    return _run(g, [request], lambda: _store(tensor, buffer), async_op, send, buffer)


def barrier(
    group: Any = None, async_op: bool = False, device_ids: Any = None, timeout: Any = None
) -> Work | None:
    """Wait until every rank has called ``barrier``."""
    _check_group(group, "barrier")
    g = _default("barrier")
    return _run(g, [g.comm.Ibarrier()], None, async_op)


# ---- Python objects ------------------------------------------------------------------------------
def _all_gather_bytes(g: _Group, data: bytes) -> list[bytes]:
    sizes = np.empty(g.size, np.int64)
    g.comm.Allgather(np.array([len(data)], np.int64), sizes)
    received = np.empty(int(sizes.sum()), np.uint8)
    g.comm.Allgatherv(np.frombuffer(data, np.uint8), [received, sizes.tolist()])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    return [received[offsets[r] : offsets[r + 1]].tobytes() for r in range(g.size)]


def all_gather_object(object_list: list[Any], obj: Any, group: Any = None) -> None:
    """Gather ``obj`` from every rank into ``object_list`` on every rank: ``object_list[r]`` becomes
    rank r's ``obj``.

    Objects travel as JSON, never pickled, so a received message can only ever become data:
    None, bools, numbers, strings, bytes, lists, tuples, dicts, NumPy arrays and scalars, and
    Tensors (anything else is a TypeError, raised on every rank). torch pickles here instead.

    Args:
        object_list: a list of ``get_world_size()`` items, overwritten.
        obj: this rank's value.

    Example:
        >>> out = [None] * dist.get_world_size()
        >>> dist.all_gather_object(out, {"rank": dist.get_rank()})
    """
    _check_group(group, "all_gather_object")
    g = _default("all_gather_object")
    data = b""

    def check() -> dict[str, Any]:
        nonlocal data
        if not isinstance(object_list, list) or len(object_list) != g.size:
            got = len(object_list) if isinstance(object_list, list) else type(object_list).__name__
            raise ValueError(f"object_list must be a list of world size ({g.size}) items, got {got}")
        data = _codec.encode(obj, "obj")
        return {}

    _agree(g, "all_gather_object", check)
    object_list[:] = [_codec.decode(d) for d in _all_gather_bytes(g, data)]


def broadcast_object_list(
    object_list: list[Any],
    src: int | None = None,
    group: Any = None,
    device: Any = None,
    group_src: int | None = None,
) -> None:
    """Replace the items of ``object_list`` on every rank by those of rank ``src``'s (in place).

    Objects travel as JSON, never pickled (see :func:`all_gather_object` for what can be sent).

    Args:
        object_list: on ``src`` the values to send; on the others a list of the same length,
            overwritten.
        src: the rank that sends (default 0; ``group_src`` is the same).

    Example:
        >>> config = [{"lr": 0.1, "epochs": 10}] if dist.get_rank() == 0 else [None]
        >>> dist.broadcast_object_list(config, src=0)
    """
    _check_group(group, "broadcast_object_list")
    g = _default("broadcast_object_list")
    root = _root("src", src, group_src)
    data = b""

    def check() -> dict[str, Any]:
        nonlocal data
        _check_rank("src", root, g.size)
        if not isinstance(object_list, list):
            raise TypeError(f"object_list must be a list, got {type(object_list).__name__}")
        if g.rank == root:
            data = _codec.encode(object_list, "object_list")
        return {"src": root, "length": len(object_list)}

    _agree(g, "broadcast_object_list", check)
    size = np.array([len(data)], np.int64)
    g.comm.Bcast(size, root=root)
    buffer = np.frombuffer(data, np.uint8).copy() if g.rank == root else np.empty(int(size[0]), np.uint8)
    g.comm.Bcast(buffer, root=root)
    if g.rank != root:
        object_list[:] = _codec.decode(buffer.tobytes())
