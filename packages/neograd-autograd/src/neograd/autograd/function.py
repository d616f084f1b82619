"""Function: the one way to define a differentiable operation.

Every built-in op (ops/) and every user-defined op is a subclass of Function with two
static methods, as in torch.autograd.Function:

- ``forward(ctx, *args)`` computes the result on NumPy arrays (tensor arguments arrive
  as their ``.data``) and saves what backward needs with ``ctx.save_for_backward``;
- ``backward(ctx, grad_output)`` turns the gradient of the result into one gradient per
  positional argument of forward (None where there is none).

``Cls.apply(*args, **kwargs)`` runs forward and, when grad mode is on and an argument
requires grad, makes the new instance ``ctx`` the result's node in the graph. The node
keeps only what backward needs: the arrays it saved, and one edge per argument saying
where that argument's gradient goes (the node that produced it, the leaf tensor whose
``.grad`` accumulates it, or None). Intermediate arrays nobody saved are freed as soon
as the forward pass stops using them.

One rule makes backward formulas serve twice. ``apply`` called with no Tensor among its
arguments just computes forward on the arrays and returns an array. So a backward may
call other Functions (``Cos.apply(x)`` inside ``Sin.backward``): in an ordinary backward
those calls get arrays and cost little more than NumPy; under ``create_graph=True`` the
engine hands backward Tensors instead, the same calls record a graph, and the gradient
can be differentiated again.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from neograd.autograd import backend, inplace
from neograd.autograd.anomaly import _active as anomaly_threads
from neograd.autograd.anomaly import _record_trace
from neograd.autograd.anomaly import _state as anomaly_state
from neograd.autograd.grad_mode import _state as grad_state
from neograd.autograd.tensor import Tensor

__all__ = ["Function"]

_new = object.__new__


class Function:
    """Base class of differentiable operations; the instance is both ctx and graph node.

    Example (a custom op; ``Cube.apply(x)`` then works like any built-in op)::

        class Cube(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, grad_output):
                (x,) = ctx.saved_tensors
                return grad_output * 3 * x ** 2     # d(x^3)/dx = 3x^2

    Save inputs and outputs with ``save_for_backward``; keep anything else that backward
    needs (masks, shapes, options) as attributes of ctx. Under ``create_graph`` the saved
    inputs and outputs come back as Tensors connected to the graph, other attributes stay
    constants. Backward must not modify ``grad_output`` in place.
    """

    # Class-level defaults: a node that was released (or never recorded) has no edges.
    edges: tuple[Any, ...] | None = None
    saved: tuple[Any, ...] = ()
    _create_graph = False
    # Set when something waits for this node's gradient (backward checks only _retained):
    # retain_grad() makes it a weak reference to the tensor; register_hook() puts the hooks
    # in _hooks and, if nothing is retained, makes _retained a reference to no tensor.
    _retained: Any = None
    _hooks: Any = None

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        """Compute the result from the inputs (arrays); save what backward needs on ``ctx``."""
        raise NotImplementedError("Function subclasses must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        """The gradients of the inputs from the gradient of the output, one per positional input."""
        raise NotImplementedError(
            "Function subclasses must define backward(ctx, grad_output) to be differentiated"
        )

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        """For each argument of forward, whether backward must return its gradient."""
        return tuple([e is not None for e in self.edges or ()])

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep inputs or outputs of forward for backward (released right after backward uses them)."""
        self.saved = arrays

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """What forward saved: arrays, or (under create_graph) tensors connected to the graph."""
        if self.edges is None:
            raise RuntimeError(
                f"{self!r}: trying to access saved tensors after they have been freed by backward. "
                "Specify retain_graph=True when calling backward the first time."
            )
        if not self._create_graph:
            return self.saved
        return tuple([self._connected(s) for s in self.saved])

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run forward on the arguments (tensors as arrays) and record the node if needed."""
        ctx = cls()
        # NOTE: this runs for every op, so it is one plain loop rather than several passes
        grad_on = grad_state.enabled
        arrays, edges = [], []
        found_tensor = record = False
        for a in args:
            if isinstance(a, Tensor):
                found_tensor = True
                arrays.append(a.data)
                if grad_on and a.requires_grad:
                    record = True
                    edges.append(a._node or a)
                    continue
            else:
                arrays.append(a)
            edges.append(None)
        ctx.edges = tuple(edges)
        if not found_tensor:  # arrays only (a backward running on arrays): just compute
            return cls.forward(ctx, *args, **kwargs)

        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        except ValueError as e:
            if "could not be broadcast" not in str(e):
                raise
            # NOTE: NumPy's message names neither the op nor the tensors; say which op failed on what
            shapes = " and ".join(str(np.shape(a)) for a in arrays if not isinstance(a, (str, type(None))))
            name = cls.__name__.lower()
            raise ValueError(f"{name}: shapes {shapes} cannot be broadcast together") from None
        except TypeError:
            # NOTE: NumPy and CuPy refuse to mix their arrays; name the devices (checked only on failure)
            mixed = backend.same_device_error(cls.__name__.lower(), *arrays)
            if mixed is not None:
                raise mixed from None
            raise
        if type(out) is not np.ndarray:
            if isinstance(out, (tuple, list)):
                raise TypeError(f"{cls.__name__}.forward must return one array, got a {type(out).__name__}")
            if not backend.is_device_array(out):  # (GPU arrays pass as they are)
                # NOTE: NumPy returns scalars, not 0-d arrays, from ops on 0-d arrays; keep the
                # saved copy and the result the same object
                scalar, out = out, np.asarray(out)
                if ctx.saved:
                    ctx.saved = tuple([out if s is scalar else s for s in ctx.saved])
        # NOTE: Tensor._make written out (twice): this runs for every op
        t = _new(Tensor)
        t.data, t.grad = out, None
        if not record or out.dtype.kind != "f":
            t.requires_grad, t._node = False, None
            return t
        # what a consumer's gradient is fitted to, and the output's id, to recognise it when saved
        ctx._shape, ctx._dtype, ctx._out_id = out.shape, out.dtype, id(out)
        if ctx.saved:  # the in-place epoch now: was anything saved changed in place since?
            ctx._epoch = inplace._current[0]  # (inplace.epoch(), without a call: this runs per op)
        # detect_anomaly(): remember where the forward pass made this op
        if anomaly_threads and anomaly_state.enabled:
            ctx._trace = _record_trace()
        t.requires_grad, t._node = True, ctx
        return t

    def _connected(self, array: Any) -> Any:
        """A saved array as a tensor whose gradient flows where it came from (create_graph).

        Arrays are matched by id: a saved array was alive together with this node's
        inputs and output when forward ran, so no other array could have had its id.
        """
        if id(array) == self._out_id:
            return Tensor._make(array, True, self)
        for edge in self.edges or ():
            if isinstance(edge, Tensor):
                if edge.data is array:  # a leaf
                    return edge
            elif edge is not None and edge._out_id == id(array):
                return Tensor._make(array, True, edge)
        return array  # an input that needs no gradient, or an intermediate value: a constant

    def _check_versions(self) -> None:
        for s in self.saved:
            is_array = isinstance(s, np.ndarray) or backend.is_device_array(s)
            if is_array and inplace.changed_since(s, self._epoch):
                raise RuntimeError(
                    f"{self!r}: an array saved for backward was modified by an in-place operation "
                    "after it was saved. Compute it out of place (x = x + y instead of x += y), "
                    "or clone() it before the in-place change."
                )

    def _retain(self, tensor: Tensor) -> None:
        self._retained = weakref.ref(tensor)

    def _release(self) -> None:
        """Auto-removal: drop saved arrays, inputs and attributes once backward has used them."""
        self.__dict__.clear()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"
