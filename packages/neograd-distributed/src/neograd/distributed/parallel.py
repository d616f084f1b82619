"""DistributedDataParallel: the same model on every rank, gradients averaged over the ranks.

How a step goes (torch's design, on MPI):

1. At construction, rank 0's parameters and buffers are copied to every rank, and the
   parameters are packed into buckets (``bucket_cap_mb`` each; the first one small), in
   reverse order: backward produces the last layers' gradients first.
2. During ``loss.backward()``, each parameter's post-accumulate-grad hook copies its
   gradient into its bucket. When a bucket is full it is divided by the world size and a
   non-blocking all-reduce (MPI_Iallreduce) of it starts, while backward goes on with the
   earlier layers: communication overlaps computation. Buckets start in the same order on
   every rank (MPI requires it), a ready bucket waiting for the ones before it.
3. When the last bucket has started (the last gradient has arrived), the hook waits for all
   of them and writes the averages back into the ``.grad`` of every parameter. So when
   ``backward()`` returns, every rank holds the same ``.grad``: the mean over the ranks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from neograd.autograd import Tensor, inplace, is_grad_enabled
from neograd.distributed.collectives import _agree
from neograd.distributed.process_group import _default
from neograd.nn import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1024 * 1024  # torch's dist._DEFAULT_FIRST_BUCKET_BYTES: the first bucket starts early


class _Bucket:
    """Gradients of some parameters of one dtype, laid end to end in one flat array."""

    def __init__(self, indices: list[int], params: list[Tensor]) -> None:
        self.indices = indices  # positions in DistributedDataParallel._params
        self.offsets = []
        size = 0
        for i in indices:
            self.offsets.append(size)
            size += params[i].data.size
        self.size, self.dtype = size, params[indices[0]].data.dtype
        self.flat = np.zeros(size, self.dtype)
        self.pending = len(indices)
        self.request: Any = None


def _assign_buckets(params: list[Tensor], cap_bytes: int) -> list[_Bucket]:
    """Buckets of at most about ``cap_bytes`` (the first ``_FIRST_BUCKET_BYTES``), parameters in
    reverse order, one dtype per bucket; ordered by their first parameter, identically on every rank."""
    closed: list[list[int]] = []
    open_: dict[np.dtype, list[int]] = {}
    sizes: dict[np.dtype, int] = {}
    for i in reversed(range(len(params))):
        dtype = params[i].data.dtype
        open_.setdefault(dtype, []).append(i)
        sizes[dtype] = sizes.get(dtype, 0) + params[i].data.nbytes
        limit = _FIRST_BUCKET_BYTES if not closed else cap_bytes
        if sizes[dtype] >= min(limit, cap_bytes):
            closed.append(open_.pop(dtype))
            sizes[dtype] = 0
    closed.extend(open_.values())
    closed.sort(key=lambda indices: -indices[0])
    return [_Bucket(indices, params) for indices in closed]


class DistributedDataParallel(Module):
    """Data parallelism: ``module`` on every rank, its gradients averaged over the ranks in backward.

    Each rank runs the same script on its own share of the data (see DistributedSampler);
    after ``loss.backward()`` every parameter's ``.grad`` is the mean of the ranks'
    gradients, so the optimizer steps keep the replicas identical. With equal per-rank
    batches and a mean loss this is full-batch training on all the ranks' samples.

    Gradients are all-reduced in buckets while backward is still running (see the module
    docstring). ``state_dict()`` has the wrapped module's keys behind ``module.``, as torch's.

    Args:
        module: the Module to replicate; it must have parameters that require grad.
        device_ids: None (CPU: one process per rank).
        output_device, dim: torch's; only their defaults (None, 0).
        broadcast_buffers: copy rank 0's buffers (e.g. BatchNorm's running statistics) to
            every rank at the start of each forward.
        init_sync: copy rank 0's parameters and buffers to every rank now.
        process_group: None (the default group).
        bucket_cap_mb: the size of a bucket in MiB (default 25; the first one is 1 MiB).
        find_unused_parameters: allow parameters that take no part in the loss on some rank
            or in some step (found by walking the output's graph after forward). Without
            it, such a parameter is an error at the next forward, as in torch.
        gradient_as_bucket_view, static_graph: torch's; gradient_as_bucket_view only False,
            static_graph accepted (neograd's graph is rebuilt each step either way).

    Example:
        >>> dist.init_process_group()
        >>> model = DistributedDataParallel(nn.Linear(10, 1))
        >>> optimizer = ng.optim.SGD(model.parameters(), lr=0.1)
        >>> loss = ((model(x) - y) ** 2).mean()   # x, y: this rank's batch
        >>> loss.backward()                       # .grad: the mean over the ranks
        >>> optimizer.step()
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        init_sync: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
    ) -> None:
        super().__init__()
        group = _default("DistributedDataParallel")
        params: list[Tensor] = []

        def check() -> dict[str, Any]:
            if not isinstance(module, Module):
                raise TypeError(f"module must be a neograd.nn.Module, got {type(module).__name__}")
            for name, value, default in (
                ("device_ids", device_ids, None),
                ("output_device", output_device, None),
                ("dim", dim, 0),
                ("process_group", process_group, None),
                ("gradient_as_bucket_view", gradient_as_bucket_view, False),
            ):
                if value != default and not (name == "device_ids" and value == []):
                    raise ValueError(
                        f"{name}={value!r} is not supported: neograd runs one CPU process per rank; "
                        "leave it out"
                    )
            if bucket_cap_mb is not None and (
                isinstance(bucket_cap_mb, bool)
                or not isinstance(bucket_cap_mb, (int, float))
                or bucket_cap_mb <= 0
            ):
                raise ValueError(f"bucket_cap_mb must be a positive number of MiB, got {bucket_cap_mb!r}")
            named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
            if not named:
                raise RuntimeError(
                    "DistributedDataParallel is not needed when a module doesn't have any parameter "
                    "that requires a gradient."
                )
            for _, p in named:
                if not isinstance(p.data, np.ndarray):
                    raise TypeError("the module's parameters must live on the CPU (NumPy arrays)")
            params.extend(p for _, p in named)
            layout = [[n, p.data.dtype.str, list(p.shape)] for n, p in named]
            layout += [[n, b.data.dtype.str, list(b.shape)] for n, b in module.named_buffers()]
            digest = hashlib.sha256(json.dumps(layout).encode()).hexdigest()
            return {"parameters and buffers (names, dtypes, shapes)": digest}

        _agree(group, "DistributedDataParallel", check)
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.static_graph = bool(static_graph)
        self.require_backward_grad_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self.world_size = group.size
        self._comm = group.comm.Dup()  # DDP's own messages never mix with other collectives
        self._MPI = group.MPI
        self._params = params
        if init_sync:
            self._broadcast_coalesced([*params, *module.buffers()])
        self._buckets = _assign_buckets(params, self.bucket_bytes_cap)
        self._layout = [(p.data.dtype, p.data.shape) for p in params]
        self._where = {}  # parameter index -> (bucket, position in it)
        for bucket in self._buckets:
            for position, i in enumerate(bucket.indices):
                self._where[i] = (bucket, position)
        self._expect_hooks = False
        self._started = False  # a hook ran since the last forward
        self._finished = False  # the reduction of the last forward is done
        self._ready = np.zeros(len(params), bool)
        self._next_bucket = 0
        self._unused: list[int] = []
        self._used_request: Any = None
        self._used = np.zeros(len(params), np.uint8)
        self._wait_seconds = 0.0  # time the last backward spent waiting for communication
        self._handles = [p.register_post_accumulate_grad_hook(self._hook) for p in params]
        self._index = {id(p): i for i, p in enumerate(params)}

    # ---- forward ------------------------------------------------------------------------------
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        """Run the wrapped module (after syncing buffers), and get ready to reduce its gradients."""
        if self._started and not self._finished:
            raise RuntimeError(
                "DistributedDataParallel: Expected to have finished reduction in the prior iteration before "
                "starting a new one. This error indicates that your module has parameters that were not used "
                "in producing loss. You can enable unused parameter detection by passing the keyword "
                "argument `find_unused_parameters=True` to `DistributedDataParallel`, and by making sure all "
                "`forward` function outputs participate in calculating loss. Parameters that got no "
                "gradient: " + ", ".join(self._param_names(np.flatnonzero(~self._ready)))
            )
        if [(p.data.dtype, p.data.shape) for p in self._params] != self._layout:
            raise RuntimeError(
                "DistributedDataParallel: the module's parameters changed dtype or shape since it was "
                "wrapped (e.g. .double() afterwards); convert the module first, then wrap it"
            )
        if self.broadcast_buffers and self.world_size > 1:
            # read each time: a module may replace a buffer by another tensor
            self._broadcast_coalesced(list(self.module.buffers()))
        self._expect_hooks = is_grad_enabled() and self.require_backward_grad_sync
        self._started = self._finished = False
        self._ready[:] = False
        self._next_bucket = 0
        self._unused = []
        for bucket in self._buckets:
            bucket.pending = len(bucket.indices)
            bucket.request = None
            # a new array each step: the .grad of the last step are views of the old one
            bucket.flat = np.empty(bucket.size, bucket.dtype)
        output = self.module(*inputs, **kwargs)
        if self._expect_hooks and self.find_unused_parameters:
            used = _reachable_leaves(output)
            self._unused = [i for i, p in enumerate(self._params) if id(p) not in used]
            self._used[:] = 1
            self._used[self._unused] = 0
        return output

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Within it, backward accumulates gradients locally, without communication (torch's no_sync).

        The first forward-backward outside it then averages the accumulated gradients.

        Example:
            >>> with ddp.no_sync():
            ...     ddp(x1).sum().backward()    # .grad: this rank's only
            >>> ddp(x2).sum().backward()        # .grad: the mean over ranks of both steps' sum
        """
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ---- backward: the hooks ------------------------------------------------------------------
    def _hook(self, param: Tensor) -> None:
        if not self._expect_hooks:
            return
        i = self._index[id(param)]
        if self._finished or self._ready[i]:
            raise RuntimeError(
                "DistributedDataParallel: Expected to mark a variable ready only once: parameter "
                f"{self._param_names([i])[0]} got a second gradient after the same forward (a second "
                "backward through its graph?). Run forward again before each backward, or use no_sync()."
            )
        if not self._started:
            self._started = True
            if self.find_unused_parameters:
                # the same point on every rank (the first hook), so the collectives stay in order
                self._used_request = self._comm.Iallreduce(self._MPI.IN_PLACE, self._used, op=self._MPI.MAX)
                for j in self._unused:
                    self._mark_ready(j)
        self._mark_ready(i)

    def _mark_ready(self, i: int) -> None:
        bucket, position = self._where[i]
        start = bucket.offsets[position]
        grad = self._params[i].grad
        segment = bucket.flat[start : start + self._params[i].data.size]
        if grad is None:
            segment[:] = 0
        else:
            segment[:] = grad.data.reshape(-1)
        self._ready[i] = True
        bucket.pending -= 1
        if bucket.pending == 0:
            self._start_ready_buckets()

    def _start_ready_buckets(self) -> None:
        # MPI wants every rank to start collectives in the same order: a ready bucket waits
        # for the ones before it
        while self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].pending == 0:
            bucket = self._buckets[self._next_bucket]
            if self.world_size > 1:
                np.true_divide(bucket.flat, self.world_size, out=bucket.flat)
            bucket.request = self._comm.Iallreduce(self._MPI.IN_PLACE, bucket.flat, op=self._MPI.SUM)
            self._next_bucket += 1
        if self._next_bucket == len(self._buckets):
            self._finish()

    def _finish(self) -> None:
        """Every bucket has started: wait for them and write the means into the .grad of each parameter."""
        start = time.perf_counter()
        requests = [b.request for b in self._buckets]
        if self._used_request is not None:
            requests.append(self._used_request)
        self._MPI.Request.Waitall(requests)
        self._wait_seconds = time.perf_counter() - start
        self._used_request = None
        self._finished = True
        self._expect_hooks = False
        for bucket in self._buckets:
            for position, i in enumerate(bucket.indices):
                if self.find_unused_parameters and not self._used[i]:
                    continue  # unused on every rank: its .grad stays as it was, as in torch
                p = self._params[i]
                start_ = bucket.offsets[position]
                # a view of this step's bucket, which nothing else writes to any more
                mean = bucket.flat[start_ : start_ + p.data.size].reshape(p.shape)
                if p.grad is None:
                    p.grad = Tensor._make(mean)
                else:
                    p.grad.data = mean

    # ---- helpers ------------------------------------------------------------------------------
    def _broadcast_coalesced(self, tensors: list[Tensor]) -> None:
        """Copy rank 0's values of ``tensors`` into every rank's, one broadcast per dtype."""
        if self.world_size == 1:
            return
        by_dtype: dict[np.dtype, list[Tensor]] = {}
        for t in tensors:
            by_dtype.setdefault(t.data.dtype, []).append(t)
        for dtype, group in sorted(by_dtype.items(), key=lambda item: item[0].str):
            flat = np.concatenate([t.data.reshape(-1) for t in group]) if group else np.empty(0, dtype)
            self._comm.Bcast(flat, root=0)
            if self._comm.Get_rank() == 0:
                continue  # its values are the ones sent
            offset = 0
            for t in group:
                t.data[...] = flat[offset : offset + t.data.size].reshape(t.data.shape)
                offset += t.data.size
            inplace.mark_changed(*(t.data for t in group))

    def _param_names(self, indices: Any) -> list[str]:
        names = {id(p): n for n, p in self.module.named_parameters()}
        return [names.get(id(self._params[i]), f"#{i}") for i in indices]

    def extra_repr(self) -> str:
        return f"world_size={self.world_size}, buckets={len(self._buckets)}"


def _reachable_leaves(output: Any) -> set[int]:
    """The ids of the leaf tensors that ``output`` (tensors, possibly in lists, tuples or dicts)
    was computed from: the parameters that will get a gradient in backward."""
    stack: list[Any] = [output]
    leaves: set[int] = set()
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            if item._node is None:
                leaves.add(id(item))
            else:
                stack.append(item._node)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif hasattr(item, "edges") and id(item) not in seen:  # a node of the graph
            seen.add(id(item))
            stack.extend(e for e in (item.edges or ()) if e is not None)
    return leaves
