"""How Module backward hooks learn the gradients of a module call's inputs and outputs.

A full backward hook needs, once per backward, the gradients with respect to the
module's positional tensor inputs (``grad_input``) and outputs (``grad_output``), and may
replace ``grad_input``; a backward pre-hook may replace ``grad_output``. The engine
delivers gradients to graph nodes, so the module call puts nodes where those gradients
pass (as torch's BackwardHook does with an identity Function):

    x1, x2 ──> _Gather ──token──> _Pass(x1) ──> forward ──> ...
                         └──────> _Pass(x2) ──> forward ──> ...

Each input that requires grad is replaced by ``_Pass``, an identity whose only graph
input is a scalar ``token`` made by one ``_Gather`` node from all those inputs. Backward
runs ``_Gather`` only after every ``_Pass`` that received a gradient has run (they all
consume its token): each ``_Pass`` keeps its gradient aside and hands the token a zero,
and ``_Gather``'s backward then sees all the input gradients at once, calls the hooks
and returns the (possibly replaced) gradients to the real inputs. The outputs get the
same pair of nodes, whose ``_Gather`` collects ``grad_output``. No array is copied.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from neograd.autograd import Function, Tensor, is_grad_enabled

__all__ = ["BackwardHook"]


class _Gather(Function):
    """token = 0, recorded from every tensor of one side of a module call (see the module docstring)."""

    @staticmethod
    def forward(ctx: Any, *arrays: Any, side: Any = None) -> Any:
        ctx.side = side
        return np.zeros((), np.float64)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return ctx.side.backward(ctx._create_graph)


class _Pass(Function):
    """The i-th tensor of one side, unchanged; its gradient is kept for ``_Gather``, the token gets 0."""

    @staticmethod
    def forward(ctx: Any, token: Any, data: Any = None, side: Any = None, index: int = 0) -> Any:
        ctx.side, ctx.index = side, index
        return data

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        ctx.side.grads[ctx.index] = grad_output
        return np.zeros((), np.float64)


class _Side:
    """The tensors of one side (inputs or outputs) of one module call and, in backward, their gradients."""

    def __init__(self, values: tuple[Any, ...], on_backward: Callable[[list[Any]], list[Any]]) -> None:
        self.size = len(values)
        self.indices = [i for i, v in enumerate(values) if isinstance(v, Tensor) and v.requires_grad]
        self.on_backward = on_backward
        self.grads: list[Any] = [None] * self.size

    def wrap(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        token = _Gather.apply(*[values[i] for i in self.indices], side=self)
        out = list(values)
        for i in self.indices:
            out[i] = _Pass.apply(token, data=values[i].data, side=self, index=i)
        return tuple(out)

    def backward(self, create_graph: bool) -> tuple[Any, ...]:
        grads = [None if g is None else g if create_graph else Tensor._make(g) for g in self.grads]
        self.grads = [None] * self.size
        grads = self.on_backward(grads)
        result = []
        for i in self.indices:
            g = grads[i]
            result.append(g if g is None or create_graph or not isinstance(g, Tensor) else g.data)
        return tuple(result)


class BackwardHook:
    """Runs a module's full backward hooks and pre-hooks for one call (torch.utils.hooks.BackwardHook).

    ``setup_input_hook(args)`` before forward and ``setup_output_hook(result)`` after it
    put the nodes in place and return what forward should get / the call should return.
    Hooks see ``grad_input`` and ``grad_output`` as tuples with one entry per positional
    input / output: a Tensor, or None for non-tensors and tensors without a gradient.
    """

    def __init__(self, module: Any, user_hooks: list[Callable], user_pre_hooks: list[Callable]) -> None:
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs: tuple[Any, ...] | None = None
        self.inputs: _Side | None = None
        self.n_inputs = 0

    def setup_input_hook(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        self.n_inputs = len(args)
        if not is_grad_enabled() or not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            return args
        self.inputs = _Side(args, self._input_grads)
        return self.inputs.wrap(args)

    def setup_output_hook(self, result: Any) -> Any:
        single = not isinstance(result, tuple)
        values = (result,) if single else result
        if not is_grad_enabled() or not any(isinstance(v, Tensor) and v.requires_grad for v in values):
            if not isinstance(result, (Tensor, tuple)):
                warnings.warn(
                    "For backward hooks to be called, module output should be a Tensor or a tuple of "
                    f"Tensors but received {type(result)}",
                    stacklevel=3,
                )
            return result
        out = _Side(values, self._output_grads).wrap(values)
        return out[0] if single else out

    def _output_grads(self, grads: list[Any]) -> list[Any]:
        grad_outputs = tuple(grads)
        for hook in self.user_pre_hooks:
            new = hook(self.module, grad_outputs)
            if new is None:
                continue
            new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
            if len(new) != len(grad_outputs):
                raise RuntimeError(
                    "Backward pre hook returned an invalid number of grad_output, "
                    f"got {len(new)}, but expected {len(grad_outputs)}"
                )
            grad_outputs = new
        self.grad_outputs = grad_outputs
        if self.inputs is None:  # no input requires grad: the hooks fire now, with no grad_input
            warnings.warn(
                "Full backward hook is firing when gradients are computed with respect to module "
                "outputs since no inputs require gradients.",
                stacklevel=2,
            )
            grad_inputs = (None,) * self.n_inputs
            for hook in self.user_hooks:
                res = hook(self.module, grad_inputs, grad_outputs)
                if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                    raise RuntimeError(
                        "Backward hook for Modules where no input requires gradient should always "
                        "return None or None for all gradients."
                    )
            self.grad_outputs = None
        return list(grad_outputs)

    def _input_grads(self, grads: list[Any]) -> list[Any]:
        if self.grad_outputs is None:
            # the gradient reached the inputs without passing through the outputs (double backward)
            return grads
        grad_inputs = tuple(grads)
        for hook in self.user_hooks:
            new = hook(self.module, grad_inputs, self.grad_outputs)
            if new is None:
                continue
            new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
            if len(new) != len(grad_inputs):
                raise RuntimeError(
                    "Backward hook returned an invalid number of grad_input, "
                    f"got {len(new)}, but expected {len(grad_inputs)}"
                )
            grad_inputs = new
        self.grad_outputs = None
        return list(grad_inputs)
