"""Hooks: functions the autograd engine (and nn.Module) calls at given moments, and their handles.

Every ``register_*hook`` method returns a :class:`RemovableHandle`; ``handle.remove()``
takes the hook out again (also usable as a context manager: the hook is removed on exit).
Hooks live in a dict (id -> hook) on whatever owns them: a Tensor (leaf hooks), the node
that produced a non-leaf tensor (released with the node by backward), or a Module.

Tensor hooks run during backward (and ``autograd.grad``), in registration order:

- ``tensor.register_hook(hook)``: ``hook(grad) -> Tensor or None`` is called with the
  gradient with respect to ``tensor`` once it is complete (summed over all its uses); a
  returned tensor replaces it (for a non-leaf: what its node's backward and retain_grad
  get; for a leaf: what accumulates into ``.grad``, or what ``grad()`` returns).
- ``leaf.register_post_accumulate_grad_hook(hook)``: ``hook(leaf)`` is called right after
  backward has accumulated the leaf's complete gradient into ``leaf.grad`` (not by
  ``grad()``, which accumulates nothing). It runs as soon as that leaf is done, while the
  rest of the backward pass still goes on: the moment to start communicating a gradient.

Cost when there are none: backward already looks up one attribute per node to see
whether retain_grad waits for its gradient; hooks on a node set the same attribute.
Leaf hooks are not looked for at all until one has been registered in the process
(``_leaf_hooks_registered``). Module hooks: see neograd.nn.module and
neograd.nn.module_hooks.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """A handle that removes its hook from the dict it was added to (torch.utils.hooks.RemovableHandle).

    Args:
        hooks_dict: the ordered dict the hook is stored in (held weakly: the handle does
            not keep the owner's hooks alive).
        extra_dict: other dicts (or one) the same id must be removed from too.

    Example:
        >>> handle = x.register_hook(lambda g: g * 2)
        >>> handle.remove()                 # or: with x.register_hook(...): ...
    """

    id: int
    next_id: int = 0

    def __init__(self, hooks_dict: Any, *, extra_dict: Any = None) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        if extra_dict is None:
            extra_dict = ()
        elif not isinstance(extra_dict, (list, tuple)):
            extra_dict = (extra_dict,)
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extra_dict)

    def remove(self) -> None:
        """Take the hook out (a no-op if it is gone already, or its owner was freed)."""
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            d = ref()
            if d is not None and self.id in d:
                del d[self.id]

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<RemovableHandle id={self.id}>"


# NOTE: True once any leaf hook was registered. Until then backward does not even look for
# leaf hooks; after that it counts, for each leaf with hooks, how many gradients to wait for.
_leaf_hooks_registered = [False]


def _no_tensor() -> None:
    """What a node's ``_retained`` is when it has hooks but no retained tensor (see Function)."""
    return None


def _has_leaf_hooks(t: Any) -> bool:
    return bool(getattr(t, "_hooks", None) or getattr(t, "_post_acc_hooks", None))


def _add(hooks: OrderedDict, hook: Callable[..., Any], prepend: bool = False) -> RemovableHandle:
    """Store ``hook`` in ``hooks`` (first if ``prepend``) and return its handle."""
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def _check_callable(what: str, hook: Any) -> None:
    if not callable(hook):
        raise TypeError(f"{what}: the hook must be callable, got a {type(hook).__name__}")


# ---- tensor hooks during backward --------------------------------------------------------
# ``grad`` is an ndarray in an ordinary backward and a Tensor under create_graph; hooks
# always see a Tensor (without a graph, or with one under create_graph).


def _run_tensor_hooks(
    hooks: OrderedDict, grad: Any, shape: tuple[int, ...], dtype: Any, create_graph: bool
) -> Any:
    """Call the tensor hooks in order, each on what the previous one returned; return the final gradient."""
    from neograd.autograd.tensor import Tensor

    value = grad if create_graph else Tensor._make(grad)
    for hook in tuple(hooks.values()):  # a hook may remove itself
        result = hook(value)
        if result is None:
            continue
        if not isinstance(result, Tensor):
            raise TypeError(
                f"backward: expected a Tensor or None, but hook {_name(hook)} returned "
                f"a {type(result).__name__}"
            )
        if tuple(result.shape) != tuple(shape):
            raise RuntimeError(
                f"backward: hook {_name(hook)} has changed the size of value: expected {tuple(shape)}, "
                f"got {tuple(result.shape)}"
            )
        if result.dtype != dtype:
            raise RuntimeError(
                f"backward: hook {_name(hook)} has changed the type of value (was {dtype} got {result.dtype})"
            )
        value = result
    return value if create_graph else value.data


def _name(hook: Any) -> str:
    return repr(getattr(hook, "__name__", type(hook).__name__))
