"""backward: feed gradients from the outputs back to the leaves.

1. Count, for every node reachable from the outputs, how many of its consumers (nodes
   that used its result) are reachable too: a loop over a stack, no recursion limit.
2. A node runs once all its consumers have handed it their gradient: it then holds the
   sum of them, turns it into one gradient per input (its backward), and hands those
   on, summed down to the input's shape (the adjoint of broadcasting): into the pending
   gradient of the node that produced the input, or into a leaf's ``.grad``.
3. Auto-removal: once a node has handed its gradients on, nothing needs it again, so it
   drops its saved arrays and its links into the graph (unless ``retain_graph``); the
   pending gradient of its output is dropped too. Memory falls as backward proceeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neograd.autograd import backend, hooks, inplace
from neograd.autograd.anomaly import _active as anomaly_threads
from neograd.autograd.anomaly import _check_gradients
from neograd.autograd.anomaly import _state as anomaly_state
from neograd.autograd.function import Function
from neograd.autograd.grad_mode import _state as grad_state
from neograd.autograd.ops.shape import sum_to
from neograd.autograd.tensor import Tensor

__all__ = ["backward", "grad"]


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Accumulate into the leaves' ``.grad`` the gradient of ``tensors`` (as torch.autograd.backward).

    Args:
        tensors: the output(s) to differentiate.
        grad_tensors: the gradient with respect to each output (None for one-element outputs).
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        create_graph: record the backward pass so that the gradients can be differentiated.
    """
    tensors = _as_tuple(tensors)
    grads = _as_tuple(grad_tensors) if grad_tensors is not None else (None,) * len(tensors)
    _run(_root_gradients(tensors, grads, create_graph), retain_graph, create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Return d(outputs)/d(inputs) without touching any ``.grad`` (as torch.autograd.grad).

    Args:
        outputs: the tensor(s) to differentiate.
        inputs: the tensors to differentiate with respect to (leaves or not).
        grad_outputs: the gradient with respect to each output (None for one-element outputs).
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        create_graph: record the computation of the gradients, for higher-order derivatives.
        allow_unused: return None for an input the outputs do not depend on instead of raising.

    Returns:
        One gradient per input.

    Example (a second derivative):
        >>> x = tensor(0.5, dtype=float64, requires_grad=True)
        >>> (dy,) = grad(x.tanh(), x, create_graph=True)
        >>> (d2y,) = grad(dy, x)      # -2 tanh(x) (1 - tanh(x)^2)
    """
    outputs, inputs = _as_tuple(outputs), _as_tuple(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} is not a Tensor that requires grad")
    grads = _as_tuple(grad_outputs) if grad_outputs is not None else (None,) * len(outputs)
    # a leaf is found by identity, a non-leaf by the node that produced it
    targets = [t if t._node is None else t._node for t in inputs]
    found = _run(_root_gradients(outputs, grads, create_graph), retain_graph, create_graph, set(targets))
    results: list[Tensor | None] = []
    for i, key in enumerate(targets):
        g = found.get(key)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} was not used to compute the outputs. "
                    "Set allow_unused=True if this is the desired behavior."
                )
            results.append(None)
        elif create_graph:
            results.append(g)
        else:
            results.append(Tensor._make(g.copy() if g.base is not None else g))
    return tuple(results)


def _as_tuple(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _root_gradients(
    tensors: tuple[Any, ...], grads: tuple[Any, ...], create_graph: bool
) -> list[tuple[Tensor, Any]]:
    """Check the outputs and their gradients (before anything changes) and pair them up."""
    if len(grads) != len(tensors):
        raise RuntimeError(f"backward: got {len(grads)} gradients for {len(tensors)} tensors")
    roots = []
    for i, (t, g) in enumerate(zip(tensors, grads)):
        if not isinstance(t, Tensor):
            raise TypeError(f"backward: element {i} is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(
                f"backward: element {i} of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if t.data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implicitly created only for one-element outputs; this "
                    f"one has shape {t.shape}, so pass gradient= of that shape"
                )
            if type(t.data) is np.ndarray:
                g = np.ones(t.shape, t.dtype) if t.data.ndim else np.array(1, t.dtype)  # (cheaper for a loss)
            else:
                g = np.ones_like(t.data)  # on the tensor's device
        elif isinstance(g, Tensor) and create_graph:
            pass
        else:
            try:
                if isinstance(g, Tensor) and g.device != t.device:
                    raise RuntimeError(
                        f"backward: gradient {i} is on {g.device} but the tensor is on {t.device}"
                    )
                g = backend.asarray(g.data if isinstance(g, Tensor) else g, dtype=t.dtype, like=t.data)
            except (TypeError, ValueError) as e:
                raise TypeError(f"backward: gradient {i} is not numeric: {e}") from None
        if tuple(g.shape) != t.shape:
            raise RuntimeError(
                f"backward: gradient {i} has shape {tuple(g.shape)} but the tensor has shape {t.shape}"
            )
        if create_graph and not isinstance(g, Tensor):
            g = Tensor._make(g)
        roots.append((t, g))
    return roots


def _run(
    roots: list[tuple[Tensor, Any]],
    retain_graph: bool | None,
    create_graph: bool,
    targets: set[Any] | None = None,
) -> dict[Any, Any]:
    """The backward pass. With ``targets`` (grad()), collect their gradients instead of .grad."""
    if retain_graph is None:
        retain_graph = create_graph
    pending: dict[Function, Any] = {}  # node -> gradient of its output, summed so far
    found: dict[Any, Any] = {}
    root_nodes = [t._node for t, _ in roots if t._node is not None]
    # leaves with hooks get their whole gradient at once: waiting counts their consumers too
    leaf_hooks = hooks._leaf_hooks_registered[0]
    waiting = _count_consumers(root_nodes, leaf_hooks)
    leaf_pending: dict[Tensor, Any] = {}  # leaf with hooks -> its gradient, summed so far
    for t, g in roots:
        if t._node is None:
            if leaf_hooks and hooks._has_leaf_hooks(t):
                leaf_pending[t] = leaf_pending[t] + g if t in leaf_pending else g
            else:
                _deliver(t, g, found, targets, create_graph, shared=True)
        else:
            node = t._node
            pending[node] = pending[node] + g if node in pending else g

    ready = [node for node in dict.fromkeys(root_nodes) if waiting[node] == 0]
    anomaly = bool(anomaly_threads) and anomaly_state.enabled
    previous_mode = grad_state.enabled
    grad_state.enabled = create_graph  # backward records a graph only for create_graph
    try:
        while ready:
            node = ready.pop()
            edges = node.edges
            g = pending.pop(node, None)
            if g is None:  # no gradient reached this node: still let its inputs' nodes go on
                input_grads: tuple[Any, ...] = (None,) * len(edges)
            else:
                # NOTE: one attribute says whether anything (retain_grad, register_hook) waits
                # for this node's gradient: the common case costs one lookup per node
                if node._retained is not None:
                    g = _retained_and_hooks(node, g, found, targets, create_graph)
                elif targets is not None and node in targets:
                    found[node] = g
                if create_graph:
                    node._create_graph = True
                input_grads = type(node).backward(node, g)
                if type(input_grads) is not tuple:
                    input_grads = (input_grads,)
                if len(input_grads) != len(edges):
                    raise RuntimeError(
                        f"{node!r} returned {len(input_grads)} gradients, expected {len(edges)} "
                        "(one per argument of forward, None for those without a gradient)"
                    )
                if anomaly:
                    _check_gradients(node, input_grads)
            for edge, gi in zip(edges, input_grads):
                if edge is None:
                    continue
                if isinstance(edge, Tensor):  # a leaf
                    if leaf_hooks and edge in waiting:
                        _gather_leaf(edge, gi, waiting, leaf_pending, found, targets, node, create_graph)
                        continue
                    if gi is not None:
                        data = edge.data  # (read once: .shape and .dtype would each read it)
                        if type(gi) is not np.ndarray or gi.shape != data.shape or gi.dtype is not data.dtype:
                            gi = _fit(gi, data.shape, data.dtype, node, create_graph)
                        # NOTE: grad_output passed through (Add), a view, or a saved array is
                        # shared with something else; a leaf's .grad must own its array.
                        shared = gi is g or (not create_graph and gi.base is not None)
                        if not shared and not create_graph:
                            for s in node.saved:
                                shared = shared or s is gi
                        if targets is None and not create_graph and edge.grad is None:
                            # NOTE: _deliver's first case written out: one per parameter per step
                            edge.grad = Tensor._make(gi.copy() if shared else gi)
                        else:
                            _deliver(edge, gi, found, targets, create_graph, shared)
                    continue
                if gi is not None:
                    if type(gi) is not np.ndarray or gi.shape != edge._shape or gi.dtype is not edge._dtype:
                        gi = _fit(gi, edge._shape, edge._dtype, node, create_graph)
                    so_far = pending.get(edge)
                    pending[edge] = gi if so_far is None else so_far + gi
                count = waiting[edge] - 1
                waiting[edge] = count
                if count == 0:  # every consumer has handed its gradient over
                    ready.append(edge)
            if not retain_graph:
                node.__dict__.clear()  # auto-removal: see Function._release
            elif create_graph:
                node._create_graph = False
        if leaf_pending:  # hooked leaves given as outputs, and used by no node
            for t in list(leaf_pending):
                _finish_leaf(t, leaf_pending.pop(t), found, targets, create_graph)
    finally:
        grad_state.enabled = previous_mode
    return found


def _count_consumers(roots: list[Function], leaf_hooks: bool = False) -> dict[Any, int]:
    """For each node reachable from roots, how many reachable nodes consume its result.

    With ``leaf_hooks``, the same for each leaf that has hooks (they run once, on the sum).
    Also checks, before any gradient moves, that no node was released by an earlier
    backward and that nothing a node saved was changed in place since.
    """
    waiting: dict[Any, int] = {}
    stack = []
    epoch = inplace.epoch()
    for root in roots:
        if root not in waiting:
            waiting[root] = 0
            stack.append(root)
    while stack:
        node = stack.pop()
        if node.edges is None:
            raise RuntimeError(
                f"backward: trying to backward through the graph a second time ({node!r} already "
                "released what it saved). Specify retain_graph=True when calling backward the "
                "first time if you need to backward twice."
            )
        if node.saved and epoch > node._epoch:
            node._check_versions()
        for child in node.edges:
            if child is None or isinstance(child, Tensor):
                if leaf_hooks and child is not None and hooks._has_leaf_hooks(child):
                    waiting[child] = waiting.get(child, 0) + 1
                continue
            if child in waiting:
                waiting[child] += 1
            else:
                waiting[child] = 1
                stack.append(child)
    return waiting


def _fit(gi: Any, shape: tuple[int, ...], dtype: np.dtype, node: Function, create_graph: bool) -> Any:
    """Bring a gradient returned by ``node`` to its input's type, shape and dtype.

    (The callers test ``gi.dtype is not dtype``, cheaper than ``!=``: an equal dtype that is
    another object comes here and is left as it is.)"""
    if create_graph:
        if not isinstance(gi, Tensor):
            gi = Tensor._make(backend.asarray(gi))
    elif type(gi) is not np.ndarray:
        gi = backend.asarray(gi.data if isinstance(gi, Tensor) else gi)
    if gi.shape != shape:
        try:
            gi = sum_to(gi, shape)
        except ValueError:
            raise RuntimeError(
                f"{node!r} returned a gradient of shape {tuple(gi.shape)} for an input of shape "
                f"{shape}; it must have the input's shape or broadcast to it"
            ) from None
    if gi.dtype != dtype:
        gi = gi.to(dtype) if create_graph else gi.astype(dtype)
    return gi


def _retained_and_hooks(
    node: Function, g: Any, found: dict[Any, Any], targets: set[Any] | None, create_graph: bool
) -> Any:
    """Run the tensor hooks of ``node``'s output on its gradient; then retain_grad, or grad()'s collecting.

    As in torch, grad() runs only the nodes on the way to its inputs, so only their hooks;
    and an input of grad() whose node runs on towards other inputs is collected before its
    hooks, one whose node runs no further after them.
    """
    table = node._hooks
    if targets is None:
        if table is not None:
            g = hooks._run_tensor_hooks(table, g, node._shape, node._dtype, create_graph)
        if (kept := node._retained()) is not None:
            _deliver(kept, g, found, None, create_graph, shared=True)
        return g
    if table is None:
        if node in targets:
            found[node] = g
        return g
    needed = _leads_to(node, targets)
    if node in targets and needed:
        found[node] = g
    if needed or node in targets:
        g = hooks._run_tensor_hooks(table, g, node._shape, node._dtype, create_graph)
    if node in targets and not needed:
        found[node] = g
    return g


def _leads_to(node: Function, targets: set[Any]) -> bool:
    """Whether the gradients of ``node``'s inputs reach one of ``targets``."""
    seen, stack = {node}, [node]
    while stack:
        n = stack.pop()
        if n in targets and n is not node:
            return True
        for child in n.edges or ():
            if child is not None and child not in seen:
                if isinstance(child, Tensor):
                    if child in targets:
                        return True
                else:
                    seen.add(child)
                    stack.append(child)
    return False


def _gather_leaf(
    leaf: Tensor,
    gi: Any,
    waiting: dict[Any, int],
    leaf_pending: dict[Tensor, Any],
    found: dict[Any, Any],
    targets: set[Any] | None,
    node: Function,
    create_graph: bool,
) -> None:
    """Sum the gradients of a leaf that has hooks; once the last one is in, finish the leaf."""
    if gi is not None:
        if type(gi) is not np.ndarray or gi.shape != leaf.shape or gi.dtype != leaf.dtype:
            gi = _fit(gi, leaf.shape, leaf.dtype, node, create_graph)
        so_far = leaf_pending.get(leaf)
        leaf_pending[leaf] = gi if so_far is None else so_far + gi
    count = waiting[leaf] - 1
    waiting[leaf] = count
    if count == 0:
        g = leaf_pending.pop(leaf, None)
        if g is not None:
            _finish_leaf(leaf, g, found, targets, create_graph)


def _finish_leaf(
    leaf: Tensor, g: Any, found: dict[Any, Any], targets: set[Any] | None, create_graph: bool
) -> None:
    """A leaf's whole gradient: tensor hooks, then .grad (or grad()'s result), then post-accumulate hooks."""
    if targets is not None and leaf not in targets:
        return  # grad() neither needs nor accumulates this leaf's gradient
    table = getattr(leaf, "_hooks", None)
    if table:
        g = hooks._run_tensor_hooks(table, g, leaf.shape, leaf.dtype, create_graph)
    # shared: a hook may have returned an array it keeps, or the gradient of another tensor
    _deliver(leaf, g, found, targets, create_graph, shared=True)
    table = getattr(leaf, "_post_acc_hooks", None)
    if table and targets is None:
        for hook in tuple(table.values()):  # a hook may remove itself
            hook(leaf)


def _deliver(
    t: Tensor, g: Any, found: dict[Any, Any], targets: set[Any] | None, create_graph: bool, shared: bool
) -> None:
    """Accumulate a leaf's (or a retained tensor's) gradient, or collect it for grad()."""
    if targets is not None:
        if t in targets:
            found[t] = found[t] + g if t in found else g
        return
    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
    elif t.grad is None:
        t.grad = Tensor._make(g.copy() if shared else g)
    else:
        # out of place: a new array, so that nothing holding the old one sees it change
        t.grad.data = t.grad.data + g
