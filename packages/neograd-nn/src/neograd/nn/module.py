"""Module and Parameter: how a network keeps track of its weights, sub-networks and mode.

Assigning a :class:`Parameter` or a :class:`Module` to an attribute of a Module registers
it (``self.fc = Linear(2, 3)``); from there ``parameters()``, ``state_dict()``,
``train()``/``eval()`` and the repr find everything by walking the registered children.
Plain tensors are not registered: use ``register_buffer`` for state that is not trained
but belongs to the model (running statistics).
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

import numpy as np

from neograd.autograd import Tensor, backend, no_grad
from neograd.autograd.dtypes import as_dtype
from neograd.autograd.hooks import RemovableHandle
from neograd.autograd.tensor import _to_arguments
from neograd.nn.module_hooks import BackwardHook

__all__ = ["Module", "Parameter", "Model", "Layer"]

M = TypeVar("M", bound="Module")


class Parameter(Tensor):
    """A tensor that is a trainable weight of a Module: assigning it to a Module registers it.

    It is a leaf that requires grad by default. Built from a Tensor it shares that
    tensor's memory, as torch.nn.Parameter does; only floating dtypes are allowed.

    Args:
        data: the initial values (a Tensor, an ndarray or nested lists).
        requires_grad: whether the optimizer should receive gradients for it.

    Example:
        >>> w = Parameter(randn(3, 2))
        >>> w.requires_grad, w.is_leaf
        (True, True)
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            array = np.empty(0, np.float32)
        else:
            array = data.data if isinstance(data, Tensor) else Tensor(data).data
        if array.dtype.kind != "f":
            raise TypeError(f"Parameter: only floating dtypes can be parameters, got dtype {array.dtype}")
        # Tensor sets up its fields on an empty array; then the Parameter shares `array`, as torch's does
        super().__init__(np.empty(0, array.dtype), requires_grad=bool(requires_grad))
        self.data = array

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, protocol: Any) -> Any:
        # NOTE: copy.deepcopy(model) must give Parameters back (not plain tensors), with
        # their own copy of the values
        return (Parameter, (self.data, self.requires_grad))


def _moved(array: Any, device: Any, dtype: np.dtype | None) -> Any:
    """``array`` on ``device`` and, if it is floating, of ``dtype`` (either may be None: unchanged)."""
    if dtype is not None and array.dtype.kind == "f" and array.dtype != dtype:
        array = array.astype(dtype)
    return array if device is None else backend.to_device(array, device)


class _IncompatibleKeys(NamedTuple):
    """What load_state_dict(strict=False) could not match, as torch's NamedTuple."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class _CallState(threading.local):
    """Per-thread state of the outermost Module call in progress.

    ``layout`` is the seed's data layout for 2-D inputs, decided by the first Linear of a
    call: "rows" (torch's batch-first) or "columns" (the seed's (features, examples)).
    """

    depth = 0
    layout: str | None = None


_call = _CallState()


def _get_layout() -> str | None:
    """The layout picked by the first Linear of the current outermost call, or None."""
    return _call.layout


def _set_layout(layout: str) -> None:
    """Fix the layout for the rest of the current outermost call (no-op outside a call)."""
    if _call.depth:
        _call.layout = layout


class Module:
    """Base class of all layers and models: subclass it, assign layers in ``__init__``, write ``forward``.

    Example:
        >>> class Net(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = Linear(2, 1)
        ...     def forward(self, x):
        ...         return self.fc(x).sigmoid()
        >>> net = Net()
        >>> [name for name, _ in net.named_parameters()]
        ['fc.weight', 'fc.bias']
    """

    training: bool

    # Hooks (register_*_hook): each table is made on the first registration; until then the
    # class's empty mapping stands in. _hook_ids holds the id of every hook the module has,
    # so that __call__, which runs for every module, checks one normally empty container.
    _hook_ids: Mapping[int, Any] = MappingProxyType({})
    _forward_pre_hooks: Mapping[int, Callable] = MappingProxyType({})
    _forward_pre_hooks_with_kwargs: Mapping[int, bool] = MappingProxyType({})
    _forward_hooks: Mapping[int, Callable] = MappingProxyType({})
    _forward_hooks_with_kwargs: Mapping[int, bool] = MappingProxyType({})
    _forward_hooks_always_called: Mapping[int, bool] = MappingProxyType({})
    _backward_pre_hooks: Mapping[int, Callable] = MappingProxyType({})
    _backward_hooks: Mapping[int, Callable] = MappingProxyType({})

    def __init__(self) -> None:
        # NOTE: written with object.__setattr__ because our own __setattr__ reads them
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of the module; every subclass defines it. Call the module, not forward."""
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward``; the outermost call also scopes the seed's layout choice (see Linear)."""
        call = _call  # NOTE: one lookup of the thread-local state: this runs for every module
        depth = call.depth
        call.depth = depth + 1
        try:
            if self._hook_ids:
                return self._call_with_hooks(args, kwargs)
            return self.forward(*args, **kwargs)
        finally:
            call.depth = depth
            if not depth:
                call.layout = None

    def _call_with_hooks(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``forward`` between the forward pre-hooks and forward hooks, with the backward hooks set up."""
        result = None
        called_always = set()
        try:
            for hook_id, hook in tuple(self._forward_pre_hooks.items()):
                if hook_id in self._forward_pre_hooks_with_kwargs:
                    new = hook(self, args, kwargs)
                    if new is not None:
                        if not (isinstance(new, tuple) and len(new) == 2):
                            raise RuntimeError(
                                "forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                f"but got {new}."
                            )
                        args, kwargs = new
                else:
                    new = hook(self, args)
                    if new is not None:
                        args = new if isinstance(new, tuple) else (new,)
            backward_hook = None
            if self._backward_hooks or self._backward_pre_hooks:
                backward_hook = BackwardHook(
                    self, list(self._backward_hooks.values()), list(self._backward_pre_hooks.values())
                )
                args = backward_hook.setup_input_hook(args)
            result = self.forward(*args, **kwargs)
            for hook_id, hook in tuple(self._forward_hooks.items()):
                if hook_id in self._forward_hooks_always_called:
                    called_always.add(hook_id)
                if hook_id in self._forward_hooks_with_kwargs:
                    new = hook(self, args, kwargs, result)
                else:
                    new = hook(self, args, result)
                if new is not None:
                    result = new
            if backward_hook is not None:
                result = backward_hook.setup_output_hook(result)
            return result
        except Exception:
            # always_call=True hooks run even when forward (or another hook) raised
            for hook_id, hook in tuple(self._forward_hooks.items()):
                if hook_id not in self._forward_hooks_always_called or hook_id in called_always:
                    continue
                try:
                    if hook_id in self._forward_hooks_with_kwargs:
                        new = hook(self, args, kwargs, result)
                    else:
                        new = hook(self, args, result)
                    if new is not None:
                        result = new
                except Exception as e:
                    warnings.warn(
                        "forward hook with ``always_call=True`` raised an exception that was silenced "
                        f"as another error was raised in forward: {e}",
                        stacklevel=2,
                    )
            raise

    # ---- hooks ----------------------------------------------------------------------------
    def _hook_table(self, name: str) -> OrderedDict:
        """This module's own table ``name`` (made on first use; the class's is an empty stand-in)."""
        table = self.__dict__.get(name)
        if table is None:
            table = OrderedDict()
            object.__setattr__(self, name, table)
        return table

    def _add_hook(
        self, what: str, table: str, hook: Any, prepend: bool = False, flags: tuple[str, ...] = ()
    ) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(f"{what}: the hook must be callable, got a {type(hook).__name__}")
        hooks = self._hook_table(table)
        extra = [self._hook_table("_hook_ids"), *[self._hook_table(f) for f in flags]]
        handle = RemovableHandle(hooks, extra_dict=extra)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        for d in extra:
            d[handle.id] = True
        return handle

    def register_forward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before each ``forward``; it may return new args.

        A returned value that is not a tuple becomes the one positional argument. With
        ``with_kwargs=True`` the hook is ``hook(module, args, kwargs)`` and returns None or
        ``(new_args, new_kwargs)``. Hooks run in registration order (``prepend=True``: first).

        Returns:
            A handle whose ``remove()`` takes the hook out.

        Example:
            >>> handle = model.register_forward_pre_hook(lambda m, args: (args[0].clamp(-1, 1),))
        """
        flags = ("_forward_pre_hooks_with_kwargs",) if with_kwargs else ()
        return self._add_hook("register_forward_pre_hook", "_forward_pre_hooks", hook, prepend, flags)

    def register_forward_hook(
        self,
        hook: Callable[..., Any],
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each ``forward``; it may return a new output.

        ``args`` are the positional arguments forward got (after the pre-hooks). With
        ``with_kwargs=True`` the hook is ``hook(module, args, kwargs, output)``. With
        ``always_call=True`` it also runs when forward raises (with ``output=None``).
        Hooks run in registration order (``prepend=True``: first).

        Returns:
            A handle whose ``remove()`` takes the hook out.

        Example (keep each layer's activations):
            >>> acts = {}
            >>> for name, m in model.named_modules():
            ...     m.register_forward_hook(lambda m, args, out, name=name: acts.__setitem__(name, out))
        """
        flags = ("_forward_hooks_with_kwargs",) if with_kwargs else ()
        if always_call:
            flags += ("_forward_hooks_always_called",)
        return self._add_hook("register_forward_hook", "_forward_hooks", hook, prepend, flags)

    def register_full_backward_pre_hook(
        self, hook: Callable[..., Any], prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients of this module's outputs are ready.

        ``grad_output`` is a tuple with one entry per output (a Tensor, or None where there
        is no gradient); the hook may return a new tuple of the same length, which is what
        flows on into the module's computation. Hooks run in registration order.

        Returns:
            A handle whose ``remove()`` takes the hook out.
        """
        return self._add_hook("register_full_backward_pre_hook", "_backward_pre_hooks", hook, prepend)

    def register_full_backward_hook(self, hook: Callable[..., Any], prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` once the gradients of the module's inputs are ready.

        ``grad_input`` has one entry per positional argument of forward, ``grad_output`` one
        per output (a Tensor output, or each of a tuple of them): the gradient, or None for
        non-tensors and for tensors without a gradient. The hook may return a new
        ``grad_input`` tuple (same length), which is what flows on to the inputs. Gradients
        with respect to parameters are not part of ``grad_input``. When no input requires
        grad, the hooks run as soon as ``grad_output`` is known, with ``grad_input`` all None.

        Returns:
            A handle whose ``remove()`` takes the hook out.

        Example:
            >>> model.register_full_backward_hook(lambda m, gin, gout: print(gout[0].norm()))
        """
        return self._add_hook("register_full_backward_hook", "_backward_hooks", hook, prepend)

    # ---- registration ---------------------------------------------------------------------
    def _check_ready(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if isinstance(value, Parameter):
            self._check_ready("parameters")
            self._forget(name)
            d["_parameters"][name] = value
            self._mirror(name, value)
        elif isinstance(value, Module):
            self._check_ready("child modules")
            self._forget(name)
            d["_modules"][name] = value
            self._mirror(name, value)
        elif "_parameters" in d and name in d["_parameters"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(neograd.nn.Parameter or None expected)"
                )
            d["_parameters"][name] = None
            self._mirror(name, None)
        elif "_modules" in d and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(neograd.nn.Module or None expected)"
                )
            d["_modules"][name] = None
            self._mirror(name, None)
        elif "_buffers" in d and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)"
                )
            d["_buffers"][name] = value
            self._mirror(name, value)
        else:
            object.__setattr__(self, name, value)

    def _mirror(self, name: str, value: Any) -> None:
        """Keep a registered ``value`` in the instance dict too, where Python's attribute lookup
        finds it: ``self.weight`` then costs a dict lookup instead of a failed lookup and a call
        of ``__getattr__`` (0.6 us, paid at every forward of every layer). The tables stay the
        truth: a name missing here is still found by ``__getattr__``; every change of a table
        goes through ``_forget`` or here. Names a class attribute (a method, a property) would
        answer first are not mirrored, so the lookup keeps giving what it gave without."""
        if name.isidentifier() and not hasattr(type(self), name):
            self.__dict__[name] = value

    def _forget(self, name: str) -> None:
        """Remove ``name`` from wherever it was, so that it is registered in one place only."""
        d = self.__dict__
        d.pop(name, None)
        for table in ("_parameters", "_buffers", "_modules"):
            d[table].pop(name, None)
        d["_non_persistent"].discard(name)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: the registered names live in the tables
        # NOTE: the three tables written out, not a loop: forward reads self.weight at every call
        d = self.__dict__
        if "_modules" in d:  # (not before __init__ has run, as in copy and unpickling)
            table = d["_parameters"]
            if name in table:
                return table[name]
            table = d["_buffers"]
            if name in table:
                return table[name]
            table = d["_modules"]
            if name in table:
                return table[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if name in d.get(table, ()):
                del d[table][name]
                d["_non_persistent"].discard(name)
                d.pop(name, None)  # (its mirror, see _mirror)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        )

    def _check_name(self, op: str, name: Any) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{op}: name should be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{op}: name can't be empty or contain '.', got {name!r}")
        if name in self.__dict__ and not self._registered(name):
            raise KeyError(f"{op}: attribute '{name}' already exists")

    def _registered(self, name: str) -> bool:
        """Whether ``name`` is a parameter, buffer or child module (not a plain attribute)."""
        d = self.__dict__
        return any(name in d[t] for t in ("_parameters", "_buffers", "_modules"))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, a declared but absent parameter such as a missing bias)."""
        self._check_ready("parameters")
        self._check_name("register_parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: cannot assign '{type(param).__name__}' object to parameter "
                f"'{name}' (neograd.nn.Parameter or None required)"
            )
        self._forget(name)
        self._parameters[name] = param
        self._mirror(name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that belongs to the module's state but is not trained (e.g. running_mean).

        Args:
            name: the attribute name.
            tensor: the buffer (or None).
            persistent: whether it is part of ``state_dict()``.
        """
        self._check_ready("buffers")
        self._check_name("register_buffer", name)
        if name in self._modules or name in self._parameters:
            raise KeyError(f"register_buffer: attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(Tensor or None required)"
            )
        self._forget(name)
        self._buffers[name] = tensor
        self._mirror(name, tensor)
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module, as ``setattr(self, name, module)`` does for a valid attribute name."""
        self._check_ready("child modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"add_module: module name should be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"add_module: module name can't be empty or contain '.', got {name!r}")
        if name in self.__dict__ and not self._registered(name):
            raise KeyError(f"add_module: attribute '{name}' already exists")
        self._forget(name)
        self._modules[name] = module
        self._mirror(name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at a dotted path such as ``"stack.0"`` ("" is the module itself)."""
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"get_submodule: {type(module).__name__} has no submodule '{part}'")
            module = child
        return module

    # ---- iteration ------------------------------------------------------------------------
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module and every submodule, depth first, with dotted names ("" for this one)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(
                    memo, prefix + ("." if prefix else "") + name, remove_duplicate
                )

    def modules(self) -> Iterator[Module]:
        """This module and all modules inside it, each once, depth first."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct child modules and their names."""
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct submodules."""
        for _, module in self.named_children():
            yield module

    def _named_members(
        self, table: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        owners = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for owner_name, owner in owners:
            for name, value in owner.__dict__[table].items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield owner_name + ("." if owner_name else "") + name, value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """The parameters with their dotted names (``"stack.0.weight"``); shared ones once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)  # type: ignore[misc]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters of this module and (with ``recurse``) its submodules, e.g. for an optimizer."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """(name, buffer) pairs, names as in state_dict (``prefix`` in front)."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """The buffers (tensors that are state but not parameters, e.g. running means)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and gradients ------------------------------------------------------------------
    def get_params(self) -> list[Parameter]:
        """The original project's name for ``list(self.parameters())``."""
        return list(self.parameters())

    def train(self: M, mode: bool = True) -> M:
        """Set training mode (``mode=True``) or evaluation mode on this module and all submodules."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: training mode is expected to be boolean, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self: M) -> M:
        """Set evaluation mode (Dropout off, BatchNorm uses running statistics); returns the module.

        As in torch it only changes the mode. The seed's ``with model.eval():`` also works:
        inside the block the model is in eval mode and no graph is recorded (no_grad); both
        are restored on exit.
        """
        # remembered for a possible `with`: the modes to restore on exit
        object.__setattr__(self, "_modes_before_eval", [(m, m.training) for m in self.modules()])
        return self.train(False)

    def __enter__(self: M) -> M:
        modes = self.__dict__.pop("_modes_before_eval", None)
        if modes is None:
            raise RuntimeError(
                f"{type(self).__name__}: a module is a context manager only as `with model.eval():`"
            )
        grad_mode = no_grad()
        grad_mode.__enter__()
        self.__dict__.setdefault("_eval_contexts", []).append((modes, grad_mode))
        return self

    def __exit__(self, *exc_info: object) -> None:
        modes, grad_mode = self.__dict__["_eval_contexts"].pop()
        for module, mode in modes:
            object.__setattr__(module, "training", mode)
        grad_mode.__exit__(*exc_info)

    def requires_grad_(self: M, requires_grad: bool = True) -> M:
        """Set ``requires_grad`` of every parameter (False freezes the module)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def freeze(self: M) -> M:
        """The original project's name: stop training every parameter (``requires_grad_(False)``)."""
        return self.requires_grad_(False)

    def unfreeze(self: M) -> M:
        """The original project's name: train every parameter again (``requires_grad_(True)``)."""
        return self.requires_grad_(True)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (the default), or to zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                grad = p.grad.detach() if p.grad.requires_grad else p.grad
                with no_grad():
                    grad.zero_()
                p.grad = grad

    def apply(self: M, fn: Callable[[Module], Any]) -> M:
        """Call ``fn`` on every submodule, then on this module (e.g. custom initialisation)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self: M, *args: Any, **kwargs: Any) -> M:
        """Move the parameters and buffers to a device and/or convert the floating ones to a dtype, in place.

        As torch.nn.Module.to: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``,
        ``to(tensor)`` (its device and dtype); returns the module itself. Parameters stay the
        same objects (an optimizer made before keeps working), and so do their gradients' places.

        Example:
            >>> model = Linear(2, 3).to("cuda")        # or .cuda()
            >>> model = model.to(float64)
        """
        dev, dtype, _ = _to_arguments(args, kwargs)
        d = None if dtype is None else as_dtype(dtype)
        if d is not None and d.kind != "f":
            raise TypeError(f"to: nn.Module.to only accepts floating dtypes, got {d}")
        if dev is not None:
            backend.to_device(np.empty(0), dev)  # checks the device (and CuPy) before anything moves
        for t in [*self.parameters(), *self.buffers()]:
            t.data = _moved(t.data, dev, d)
            if t.grad is not None:
                t.grad = Tensor._make(_moved(t.grad.data, dev, d))
        return self

    def cuda(self: M, device: Any = None) -> M:
        """Move every parameter and buffer to a GPU (``device``: its index or device; default: current)."""
        return self.to("cuda" if device is None else backend.as_device(device))

    def cpu(self: M) -> M:
        """Move every parameter and buffer to the CPU, in place; returns self."""
        return self.to("cpu")

    def float(self: M) -> M:
        """Convert every floating parameter and buffer to float32, in place; returns self."""
        return self.to(np.float32)

    def double(self: M) -> M:
        """Convert every floating parameter and buffer to float64, in place; returns self."""
        return self.to(np.float64)

    # ---- state ------------------------------------------------------------------------------
    def state_dict(
        self, destination: dict[str, Tensor] | None = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name, as tensors sharing the module's memory.

        Example:
            >>> list(Sequential(Linear(2, 3)).state_dict())
            ['0.weight', '0.bias']
        """
        out: Any = OrderedDict() if destination is None else destination
        for module_name, module in self.named_modules(prefix=prefix.rstrip(".")):
            dot = "." if module_name else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[module_name + dot + name] = p if keep_vars else p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    out[module_name + dot + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> _IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters and buffers, after checking all of them.

        Every key, shape and dtype is checked first; if anything is refused, nothing has
        been changed. Values may be Tensors or ndarrays.

        Args:
            state_dict: a mapping from dotted names to values, as returned by ``state_dict()``.
            strict: refuse missing and unexpected keys (shapes and dtypes are always checked).

        Returns:
            ``(missing_keys, unexpected_keys)``, a NamedTuple as torch's.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a dict-like object, got {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        if strict:
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected))
            if missing:
                errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing))
        updates = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = value.data if isinstance(value, Tensor) else value
            if not isinstance(array, np.ndarray) and not backend.is_device_array(array):
                errors.append(
                    f'While copying "{key}": expected a Tensor or ndarray, got {type(value).__name__}'
                )
            elif array.shape != target.shape:
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {array.shape} from checkpoint, "
                    f"the shape in current model is {target.shape}."
                )
            elif array.dtype != target.dtype:
                errors.append(
                    f"dtype mismatch for {key}: the checkpoint holds {array.dtype}, the model "
                    f"{target.dtype}; "
                    f"convert the model (model.to({str(array.dtype)!r})) or the checkpoint first."
                )
            else:
                updates.append((target, array))
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors)
            )
        with no_grad():
            for target, array in updates:
                target.copy_(array)
        return _IncompatibleKeys(missing, unexpected)

    # ---- printing ---------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The details shown between the parentheses of this module's repr (override it)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        lines = [line for line in self.extra_repr().split("\n") if line]
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        if not lines:
            return self._get_name() + "()"
        if len(lines) == 1 and not self._modules:
            return f"{self._get_name()}({lines[0]})"
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class Model(Module):
    """The original project's name for a network: a Module that also accepts ``super().__init__(self)``.

    Example (the seed's style)::

        class NN(Model):
            def __init__(self):
                super().__init__(self)
                self.stack = Sequential(Linear(2, 10), ReLU(), Linear(10, 1), Sigmoid())

            def forward(self, inputs):
                return self.stack(inputs)
    """

    def __init__(self, *args: Any) -> None:
        if args and not (len(args) == 1 and args[0] is self):
            raise TypeError(
                f"{type(self).__name__}.__init__: takes no arguments besides the seed's "
                f"super().__init__(self), got {len(args)} positional argument(s)"
            )
        super().__init__()


class Layer(Model):
    """The original project's name for a custom layer: the same as :class:`Model` (a Module)."""
