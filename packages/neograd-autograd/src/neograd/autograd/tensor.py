"""Tensor: a NumPy array that remembers how it was computed.

A Tensor wraps one ndarray (``.data``). When an operation runs on tensors that require
grad, the result points to the node that made it (``grad_fn``), and that node points to
its inputs: the graph is built as a side effect of the forward pass. ``backward()`` walks
it back from the output (see engine.py).
"""

from __future__ import annotations

import builtins
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from neograd.autograd import backend, hooks, inplace
from neograd.autograd.backend import device
from neograd.autograd.dtypes import as_dtype, get_default_dtype
from neograd.autograd.grad_mode import is_grad_enabled
from neograd.autograd.hooks import RemovableHandle

if TYPE_CHECKING:
    from neograd.autograd.function import Function

__all__ = ["Tensor", "tensor", "from_numpy"]

_float = builtins.float
_int = builtins.int
_bool = builtins.bool


def _bitwise(op: str, ufunc: np.ufunc, *operands: Any) -> Tensor:
    """~, & and | as in torch: logical on bool tensors, bitwise on integer ones, refused on floats."""
    arrays = [x.data if isinstance(x, Tensor) else np.asarray(x) for x in operands]
    for a in arrays:
        if a.dtype.kind not in "biu":
            raise TypeError(f"{op}: needs bool or integer tensors, got dtype {a.dtype}")
    return Tensor._make(backend.asarray(ufunc(*arrays)))


def _to_array(data: Any, dtype: Any = None, device: Any = None) -> np.ndarray:
    """Convert tensor data to an ndarray with neograd's dtype rules (see :func:`tensor`), on ``device``."""
    if device is not None:
        return backend.to_device(_to_array(data, dtype), device)
    if isinstance(data, Tensor):
        data = data.data
    elif hasattr(type(data), "__cuda_array_interface__"):  # CuPy's own array: CuPy is needed from now on
        backend.cupy()
    if backend.is_device_array(data):  # a GPU array (a tensor's or CuPy's own) stays on its GPU
        arr = data.copy()
    elif isinstance(data, (np.ndarray, np.generic)):  # NumPy scalars keep their dtype too, as in torch
        arr = np.array(data)
    else:
        try:
            arr = np.array(data)
        except (TypeError, ValueError) as e:
            raise TypeError(f"tensor: cannot convert {type(data).__name__} to a tensor: {e}") from None
        if arr.dtype.kind == "f":
            arr = arr.astype(get_default_dtype(), copy=False)  # Python floats
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64, copy=False)  # Python ints, as torch
    if dtype is not None:
        arr = arr.astype(as_dtype(dtype), copy=False)
    elif arr.dtype.kind not in "biuf":
        raise TypeError(
            f"tensor: data must be numeric (bool, int or float), got an array of dtype {arr.dtype}"
        )
    return arr


class Tensor:
    """A multi-dimensional array with reverse-mode automatic differentiation.

    Create tensors with :func:`tensor` (or ``Tensor(data)``, the same), the creation
    functions (``zeros``, ``randn``, ...) or as results of operations.

    Attributes:
        data: the ndarray holding the values.
        requires_grad: whether operations on this tensor are recorded for backward.
        grad: the accumulated gradient (a Tensor) of a leaf, after ``backward()``.
        grad_fn: the node that created this tensor, or None for a leaf.

    Example:
        >>> a = tensor(3.0, requires_grad=True)
        >>> b = tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> c = a + b
        >>> c.backward([1, 1, 1])
        >>> a.grad, b.grad
        (tensor(3.), tensor([1., 1., 1.]))
    """

    # NOTE: one Tensor is created per operation, so slots keep creation and attribute access cheap
    # (_retains_grad is only set by retain_grad(): unset, it reads as False; likewise the
    # leaf hooks _hooks and _post_acc_hooks, set only by the register_*hook methods)
    __slots__ = (
        "__weakref__",
        "_hooks",
        "_node",
        "_post_acc_hooks",
        "_retains_grad",
        "data",
        "grad",
        "requires_grad",
    )

    # ndarray (op) Tensor defers to Tensor's reflected operators instead of looping.
    __array_ufunc__ = None

    def __init__(
        self, data: Any, dtype: Any = None, requires_grad: _bool = False, *, device: Any = None
    ) -> None:
        arr = _to_array(data, dtype, device)
        if requires_grad and arr.dtype.kind != "f":
            if dtype is not None:
                raise TypeError(f"tensor: only floating dtypes can require grad, got dtype={arr.dtype}")
            arr = arr.astype(get_default_dtype())  # the seed's tensor([1, 2, 3], requires_grad=True)
        self.data = arr
        self.requires_grad = _bool(requires_grad)
        self.grad: Tensor | None = None
        self._node: Function | None = None

    @classmethod
    def _make(cls, data: np.ndarray, requires_grad: _bool = False, node: Function | None = None) -> Tensor:
        """Wrap an ndarray without copying or checking: the fast path used by every op."""
        t = object.__new__(Tensor)
        t.data = data
        t.requires_grad = requires_grad
        t.grad = None
        t._node = node
        return t

    # ---- attributes -------------------------------------------------------------------
    @property
    def grad_fn(self) -> Function | None:
        """The node (Function) that created this tensor; None for a leaf."""
        return self._node

    @property
    def is_leaf(self) -> _bool:
        """True for tensors not created by a recorded operation (their .grad is kept)."""
        return self._node is None

    @property
    def retains_grad(self) -> _bool:
        """True for a non-leaf tensor whose .grad backward keeps (see retain_grad)."""
        return getattr(self, "_retains_grad", False)

    @property
    def device(self) -> device:
        """The device the data lives on: ``device(type='cpu')`` or ``device(type='cuda', index=0)``."""
        if type(self.data) is np.ndarray:
            return backend.cpu
        return backend.device_of(self.data)

    @property
    def is_cuda(self) -> _bool:
        """Whether the data lives on a GPU."""
        return backend.is_device_array(self.data)

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the data."""
        return self.data.dtype

    @property
    def shape(self) -> tuple[_int, ...]:
        """The shape, a tuple of ints."""
        return self.data.shape

    @property
    def ndim(self) -> _int:
        """The number of dimensions."""
        return self.data.ndim

    @property
    def T(self) -> Tensor:
        """This tensor with its dimensions reversed."""
        return permute(self, tuple(range(self.data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        """The transpose of the last two dimensions (batched matrices)."""
        return transpose(self, -2, -1)

    def is_floating_point(self) -> _bool:
        """Whether the dtype is a floating one (only those can require grad)."""
        return self.data.dtype.kind == "f"

    def size(self, dim: _int | None = None) -> tuple[_int, ...] | _int:
        """The shape, or the size of one dimension."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> _int:
        """The number of dimensions."""
        return self.data.ndim

    def numel(self) -> _int:
        """The number of elements."""
        return self.data.size

    def element_size(self) -> _int:
        """The size of one element in bytes."""
        return self.data.itemsize

    # ---- conversion ---------------------------------------------------------------------
    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise RuntimeError(
                f"item: a Tensor with {self.data.size} elements cannot be converted to a Python scalar"
            )
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared memory), as torch.Tensor.numpy; for CPU tensors only."""
        if type(self.data) is not np.ndarray and backend.is_device_array(self.data):
            raise TypeError(
                f"can't convert {self.device} device type tensor to numpy. "
                "Use Tensor.cpu() to copy the tensor to host memory first."
            )
        if self.requires_grad:
            raise RuntimeError(
                "numpy: can't call numpy() on a Tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        return self.data

    def tolist(self) -> Any:
        """The values as (nested) Python lists of numbers."""
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: _bool | None = None) -> np.ndarray:
        arr = self.numpy()
        if dtype is not None and arr.dtype != dtype:
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def __len__(self) -> _int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __bool__(self) -> _bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"bool: the truth value of a Tensor with {self.data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return _bool(self.data)

    def __float__(self) -> _float:
        return _float(self.item())

    def __int__(self) -> _int:
        return _int(self.item())

    def __index__(self) -> _int:
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return _int(self.data)

    __hash__ = object.__hash__  # tensors are dict keys by identity (optimizer state), as in torch

    def detach(self) -> Tensor:
        """A new leaf tensor sharing this tensor's data, outside the graph."""
        return Tensor._make(self.data)

    def clone(self) -> Tensor:
        """A copy of this tensor that stays in the graph (gradients flow back through it)."""
        return clone(self)

    def contiguous(self) -> Tensor:
        """This tensor (NumPy handles the memory layout; there is nothing to do)."""
        return self

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """This tensor on another device and/or with another dtype, as torch.Tensor.to.

        ``to(dtype)``, ``to(device, dtype=None)``, ``to(other)`` (``other``'s device and
        dtype), each also with ``non_blocking=False, copy=False``. Returns the tensor
        itself when nothing changes (a copy with ``copy=True``). Gradients flow back
        through the conversion, to the original device and dtype.

        Example:
            >>> x = randn(3, requires_grad=True)
            >>> y = x.to("cuda")          # GPU copy; y.sum().backward() fills x.grad on the CPU
            >>> z = x.to(float64)
        """
        dev, dtype, copy = _to_arguments(args, kwargs)
        out = self
        if dtype is not None:
            out = to_dtype(out, dtype)
        if dev is not None:
            out = to_device(out, dev)
        if copy and out is self:
            out = clone(self)
        return out

    def cuda(self, device: Any = None, non_blocking: _bool = False) -> Tensor:
        """This tensor on a GPU (``device``: an index or device, default the current GPU)."""
        return to_device(self, "cuda" if device is None else backend.as_device(device))

    def cpu(self) -> Tensor:
        """This tensor in CPU memory (itself if it is there already)."""
        return to_device(self, backend.cpu)

    def type(self, dtype: Any) -> Tensor:
        """This tensor converted to ``dtype``, as :meth:`to`."""
        return to_dtype(self, dtype)

    def float(self) -> Tensor:
        """This tensor as float32."""
        return to_dtype(self, np.float32)

    def double(self) -> Tensor:
        """This tensor as float64."""
        return to_dtype(self, np.float64)

    def long(self) -> Tensor:
        """This tensor as int64."""
        return to_dtype(self, np.int64)

    def int(self) -> Tensor:
        """This tensor as int32."""
        return to_dtype(self, np.int32)

    def bool(self) -> Tensor:
        """This tensor as bool."""
        return to_dtype(self, np.bool_)

    def type_as(self, other: Tensor) -> Tensor:
        """This tensor converted to ``other``'s dtype."""
        return to_dtype(self, other.data.dtype)

    # ---- autograd ---------------------------------------------------------------------
    def requires_grad_(self, requires_grad: _bool = True) -> Tensor:
        """Set requires_grad on a leaf tensor in place and return it."""
        if self._node is not None and not requires_grad:
            raise RuntimeError(
                "requires_grad_: you can only change requires_grad of leaf tensors; "
                "use .detach() to get a tensor outside the graph"
            )
        if requires_grad and self.data.dtype.kind != "f":
            raise RuntimeError(
                f"requires_grad_: only tensors of floating dtype can require grad, got {self.data.dtype}"
            )
        self.requires_grad = _bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep .grad on this non-leaf tensor during backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a Tensor that has requires_grad=False")
        if self._node is not None:
            self._node._retain(self)
            self._retains_grad = True

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` whenever backward computes the gradient with respect to this tensor.

        The hook gets the complete gradient (summed over all uses of this tensor) and may
        return a Tensor of the same shape and dtype to use instead: for a non-leaf, what
        its node's backward (and retain_grad) receives; for a leaf, what accumulates into
        ``.grad`` (or what ``autograd.grad`` returns). Hooks run in registration order,
        each on the previous one's result; under ``create_graph`` the gradient they get
        is part of the graph. A non-leaf's hooks are released with its node by backward.

        Args:
            hook: ``hook(grad) -> Tensor or None``.

        Returns:
            A handle whose ``remove()`` takes the hook out.

        Example:
            >>> x = tensor([1.0, 2.0], requires_grad=True)
            >>> h = x.register_hook(lambda grad: grad * 2)
            >>> (x * 3).sum().backward()
            >>> x.grad
            tensor([6., 6.])
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        hooks._check_callable("register_hook", hook)
        owner: Any = self if self._node is None else self._node
        table = getattr(owner, "_hooks", None)
        if table is None:
            table = owner._hooks = OrderedDict()
        if owner is self:
            hooks._leaf_hooks_registered[0] = True
        elif owner._retained is None:
            owner._retained = hooks._no_tensor  # tells backward to look at this node's hooks
        return hooks._add(table, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call ``hook(self)`` on this leaf right after backward has accumulated its gradient into ``.grad``.

        The hook runs once per backward in which the leaf gets a gradient: after its
        complete gradient (summed over all its uses, after any ``register_hook`` hooks)
        has been added to ``.grad``, as soon as the last node using the leaf has run, so
        while the rest of the backward pass is still to come (leaves finish roughly in
        reverse order of use). Grad mode during the call is ``create_graph``. It may read,
        change or clear ``.grad`` (and ``.data``); its return value is ignored; an
        exception stops backward. ``autograd.grad`` accumulates nothing and does not call it.

        Args:
            hook: ``hook(tensor) -> None``.

        Returns:
            A handle whose ``remove()`` takes the hook out.

        Example (an optimizer step per parameter, as soon as its gradient is ready):
            >>> def step(p):
            ...     p.data -= 0.1 * p.grad.data
            ...     p.grad = None
            >>> handle = w.register_post_accumulate_grad_hook(step)
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._node is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        hooks._check_callable("register_post_accumulate_grad_hook", hook)
        table = getattr(self, "_post_acc_hooks", None)
        if table is None:
            table = self._post_acc_hooks = OrderedDict()
        hooks._leaf_hooks_registered[0] = True
        return hooks._add(table, hook)

    def backward(
        self, gradient: Any = None, retain_graph: _bool | None = None, create_graph: _bool = False
    ) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of the leaves it depends on.

        Args:
            gradient: d(something)/d(self), of this tensor's shape; may be omitted for a
                one-element tensor (it is then 1).
            retain_graph: keep the graph after backward so that it can run again
                (default: ``create_graph``). Without it each node frees its saved arrays
                as soon as it has passed its gradient on.
            create_graph: record the backward pass itself, for higher-order gradients.
        """
        _engine.backward([self], [gradient], retain_graph=retain_graph, create_graph=create_graph)

    # ---- in-place operations -------------------------------------------------------------
    def _check_inplace(self, op: str, other: Any = None) -> None:
        """Refuse in-place changes the graph could not represent, before anything changes.

        Recording an in-place change would mean rewriting the history of a tensor that
        other nodes already point to; neograd keeps the graph simple and refuses instead.
        Under no_grad, or on tensors outside the graph, values change in place as asked.
        """
        if not is_grad_enabled():
            return
        if self.requires_grad:
            what = "a leaf Tensor that requires grad" if self._node is None else "a Tensor that requires grad"
        elif isinstance(other, Tensor) and other.requires_grad:
            what = "a Tensor, with an operand that requires grad,"
        else:
            return
        raise RuntimeError(
            f"{op}: {what} is being used in an in-place operation while grad mode is on. "
            "Write it out of place (x = x + y), or wrap it in neograd.no_grad() to change "
            "values without recording them."
        )

    def _inplace(self, op: str, ufunc: np.ufunc, other: Any) -> Tensor:
        self._check_inplace(op, other)
        value = other.data if isinstance(other, Tensor) else other
        try:
            ufunc(self.data, value, out=self.data, casting="same_kind")
        except (TypeError, ValueError) as e:  # bad broadcast or dtype
            raise RuntimeError(
                f"{op}: cannot update a tensor of shape {self.shape} and dtype {self.dtype} in "
                f"place with a value of shape {np.shape(value)} and dtype {np.result_type(value)}: {e}"
            ) from None
        inplace.mark_changed(self.data)
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace("add_", np.add, other)

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace("sub_", np.subtract, other)

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace("mul_", np.multiply, other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace("div_", np.true_divide, other)

    def add_(self, other: Any, alpha: _float = 1) -> Tensor:
        """In place: self += alpha * other."""
        return self._inplace("add_", np.add, other if alpha == 1 else _scaled(other, alpha))

    def sub_(self, other: Any, alpha: _float = 1) -> Tensor:
        """Subtract ``alpha * other`` in place."""
        return self._inplace("sub_", np.subtract, other if alpha == 1 else _scaled(other, alpha))

    def mul_(self, other: Any) -> Tensor:
        """Multiply by ``other`` in place."""
        return self._inplace("mul_", np.multiply, other)

    def div_(self, other: Any) -> Tensor:
        """Divide by ``other`` in place."""
        return self._inplace("div_", np.true_divide, other)

    def copy_(self, src: Any) -> Tensor:
        """In place: copy the values of ``src`` (broadcast to this shape) into this tensor."""
        self._check_inplace("copy_", src)
        # as torch: copy_ also copies between devices
        value = (
            backend.to_device(src.data, self.device)
            if isinstance(src, Tensor)
            else backend.asarray(src, like=self.data)
        )
        try:
            np.copyto(self.data, value, casting="unsafe")
        except ValueError as e:
            raise RuntimeError(
                f"copy_: cannot copy a value of shape {np.shape(value)} into a tensor of shape "
                f"{self.shape}: {e}"
            ) from None
        inplace.mark_changed(self.data)
        return self

    def fill_(self, value: Any) -> Tensor:
        """In place: set every element to ``value``."""
        self._check_inplace("fill_", value)
        self.data.fill(value.item() if isinstance(value, Tensor) else value)
        inplace.mark_changed(self.data)
        return self

    def zero_(self) -> Tensor:
        """In place: set every element to zero (e.g. ``p.grad.zero_()``)."""
        return self.fill_(0)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        """Limit the values to [min, max] in place."""
        self._check_inplace("clamp_")
        np.clip(self.data, min, max, out=self.data)
        inplace.mark_changed(self.data)
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check_inplace("__setitem__ (x[i] = v)", value)
        v = backend.to_device(value.data, self.device) if isinstance(value, Tensor) else value
        try:
            self.data[_index(index, self.data)] = v
        except (IndexError, ValueError, TypeError) as e:
            raise IndexError(
                f"__setitem__: cannot assign to index {index!r} of a tensor of shape {self.shape}: {e}"
            ) from None
        inplace.mark_changed(self.data)

    # ---- operators (each calls the op of the same name) ------------------------------
    def __add__(self, other: Any) -> Tensor:
        return add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return div(other, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return pow(self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return pow(base, self)

    def __matmul__(self, other: Any) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(other, self)

    def __neg__(self) -> Tensor:
        return neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return abs(self)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return eq(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ne(self, other)

    def __lt__(self, other: Any) -> Tensor:
        return lt(self, other)

    def __le__(self, other: Any) -> Tensor:
        return le(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return gt(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return ge(self, other)

    def __invert__(self) -> Tensor:
        return _bitwise("~", np.invert, self)

    def __and__(self, other: Any) -> Tensor:
        return _bitwise("&", np.bitwise_and, self, other)

    def __or__(self, other: Any) -> Tensor:
        return _bitwise("|", np.bitwise_or, self, other)

    def __getitem__(self, index: Any) -> Tensor:
        return getitem(self, index)

    # ---- methods (each calls the module function of the same name) ---------------------
    def add(self, other: Any, alpha: _float = 1) -> Tensor:
        """input + alpha * other, with broadcasting. See :func:`add`."""
        return add(self, other, alpha=alpha)

    def sub(self, other: Any, alpha: _float = 1) -> Tensor:
        """input - alpha * other, with broadcasting. See :func:`sub`."""
        return sub(self, other, alpha=alpha)

    def mul(self, other: Any) -> Tensor:
        """input * other, elementwise with broadcasting. See :func:`mul`."""
        return mul(self, other)

    def div(self, other: Any) -> Tensor:
        """input / other (integers divide to the default float dtype). See :func:`div`."""
        return div(self, other)

    def pow(self, exponent: Any) -> Tensor:
        """input ** exponent, elementwise (either may be a number). See :func:`pow`."""
        return pow(self, exponent)

    def neg(self) -> Tensor:
        """-input. See :func:`neg`."""
        return neg(self)

    def abs(self) -> Tensor:
        """|input|. See :func:`abs`."""
        return abs(self)

    def exp(self) -> Tensor:
        """e ** input. See :func:`exp`."""
        return exp(self)

    def log(self) -> Tensor:
        """Natural logarithm. See :func:`log`."""
        return log(self)

    def log1p(self) -> Tensor:
        """log(1 + input), accurate for small inputs. See :func:`log1p`."""
        return log1p(self)

    def sqrt(self) -> Tensor:
        """Square root. See :func:`sqrt`."""
        return sqrt(self)

    def square(self) -> Tensor:
        """input * input. See :func:`square`."""
        return square(self)

    def sin(self) -> Tensor:
        """Sine. See :func:`sin`."""
        return sin(self)

    def cos(self) -> Tensor:
        """Cosine. See :func:`cos`."""
        return cos(self)

    def tanh(self) -> Tensor:
        """Hyperbolic tangent. See :func:`tanh`."""
        return tanh(self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + e^-input). See :func:`sigmoid`."""
        return sigmoid(self)

    def relu(self) -> Tensor:
        """max(input, 0). See :func:`relu`."""
        return relu(self)

    def sign(self) -> Tensor:
        """-1, 0 or 1 by the sign of each element (its gradient is zero). See :func:`sign`."""
        return sign(self)

    def maximum(self, other: Any) -> Tensor:
        """The elementwise maximum of input and other. See :func:`maximum`."""
        return maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        """The elementwise minimum of input and other. See :func:`minimum`."""
        return minimum(self, other)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """Limit values to [min, max] (either bound may be None). See :func:`clamp`."""
        return clamp(self, min, max)

    clip = clamp

    def matmul(self, other: Any) -> Tensor:
        """The matrix product, as NumPy's @. See :func:`matmul`."""
        return matmul(self, other)

    def dot(self, other: Any) -> Tensor:
        """The dot product of two 1-D tensors of the same length. See :func:`dot`."""
        return dot(self, other)

    def sum(self, dim: Any = None, keepdim: _bool = False, **aliases: Any) -> Tensor:
        """The sum over ``dim`` (an int, a tuple, or None for all dims). See :func:`sum`."""
        return sum(self, dim, keepdim, **aliases)

    def mean(self, dim: Any = None, keepdim: _bool = False, **aliases: Any) -> Tensor:
        """The mean over ``dim`` (an int, a tuple, or None for all dims). See :func:`mean`."""
        return mean(self, dim, keepdim, **aliases)

    def var(self, dim: Any = None, *args: Any, **kwargs: Any) -> Tensor:
        """The variance over ``dim``, dividing by N - correction (1 by default). See :func:`var`."""
        return var(self, dim, *args, **kwargs)

    def std(self, dim: Any = None, *args: Any, **kwargs: Any) -> Tensor:
        """The standard deviation: sqrt of :func:`var` with the same arguments. See :func:`std`."""
        return std(self, dim, *args, **kwargs)

    def max(self, dim: Any = None, keepdim: _bool = False, **aliases: Any) -> Any:
        """The maximum of all elements; with ``dim``, (values, indices) along it. See :func:`max`."""
        return max(self, dim, keepdim, **aliases)

    def min(self, dim: Any = None, keepdim: _bool = False, **aliases: Any) -> Any:
        """The minimum of all elements; with ``dim``, (values, indices) along it. See :func:`min`."""
        return min(self, dim, keepdim, **aliases)

    def amax(self, dim: Any = None, keepdim: _bool = False, **aliases: Any) -> Tensor:
        """The maximum over ``dim``; tied maxima share the gradient evenly. See :func:`amax`."""
        return amax(self, dim, keepdim, **aliases)

    def amin(self, dim: Any = None, keepdim: _bool = False, **aliases: Any) -> Tensor:
        """The minimum over ``dim``; tied minima share the gradient evenly. See :func:`amin`."""
        return amin(self, dim, keepdim, **aliases)

    def argmax(self, dim: Any = None, keepdim: _bool = False, **aliases: Any) -> Tensor:
        """The index of the maximum over ``dim`` (or of the flattened tensor). See :func:`argmax`."""
        return argmax(self, dim, keepdim, **aliases)

    def argmin(self, dim: Any = None, keepdim: _bool = False, **aliases: Any) -> Tensor:
        """The index of the minimum over ``dim`` (or of the flattened tensor). See :func:`argmin`."""
        return argmin(self, dim, keepdim, **aliases)

    def all(self, dim: Any = None, keepdim: _bool = False) -> Tensor:
        """Whether every element (along ``dim``) is nonzero, as a bool tensor."""
        return Tensor._make(np.all(self.data, axis=dim, keepdims=keepdim))

    def any(self, dim: Any = None, keepdim: _bool = False) -> Tensor:
        """Whether some element (along ``dim``) is nonzero, as a bool tensor."""
        return Tensor._make(np.any(self.data, axis=dim, keepdims=keepdim))

    def logsumexp(self, dim: Any = None, keepdim: _bool = False, **aliases: Any) -> Tensor:
        """log(sum(exp(input))) over ``dim``, computed without overflow. See :func:`logsumexp`."""
        return logsumexp(self, dim, keepdim, **aliases)

    def softmax(self, dim: Any = None, **aliases: Any) -> Tensor:
        """exp(x) / sum(exp(x)) along ``dim``. See :func:`softmax`."""
        return softmax(self, dim, **aliases)

    def log_softmax(self, dim: Any = None, **aliases: Any) -> Tensor:
        """x - logsumexp(x) along ``dim``: log of softmax, computed stably. See :func:`log_softmax`."""
        return log_softmax(self, dim, **aliases)

    def reshape(self, *shape: Any) -> Tensor:
        """The same values in a new shape (one dim may be -1). See :func:`reshape`."""
        return reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        """As :func:`reshape` (neograd does not track whether memory is shared)."""
        return reshape(self, *shape)

    def view_as(self, other: Tensor) -> Tensor:
        """This tensor reshaped to ``other``'s shape."""
        return reshape(self, other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        """This tensor reshaped to ``other``'s shape."""
        return reshape(self, other.shape)

    def flatten(self, start_dim: _int = 0, end_dim: _int = -1) -> Tensor:
        """Merge dims start_dim..end_dim into one. See :func:`flatten`."""
        return flatten(self, start_dim, end_dim)

    def squeeze(self, dim: Any = None) -> Tensor:
        """Remove dims of size 1 (all, or those in ``dim``). See :func:`squeeze`."""
        return squeeze(self, dim)

    def unsqueeze(self, dim: _int) -> Tensor:
        """Insert a dim of size 1 at position ``dim``. See :func:`unsqueeze`."""
        return unsqueeze(self, dim)

    def permute(self, *dims: Any) -> Tensor:
        """Reorder the dimensions: result dim i is input dim ``dims[i]``. See :func:`permute`."""
        return permute(self, *dims)

    def transpose(self, dim0: _int, dim1: _int) -> Tensor:
        """Swap two dimensions. See :func:`transpose`."""
        return transpose(self, dim0, dim1)

    def swapaxes(self, axis0: _int, axis1: _int) -> Tensor:
        """Swap two dimensions, as :func:`transpose`."""
        return transpose(self, axis0, axis1)

    def t(self) -> Tensor:
        """The transpose of a matrix (a tensor of at most 2 dims)."""
        if self.data.ndim > 2:
            raise ValueError(f"t: expects a tensor with <= 2 dimensions, got {self.data.ndim}")
        return self.T

    def expand(self, *sizes: Any) -> Tensor:
        """Broadcast to ``sizes``; -1 keeps a dimension's size. See :func:`expand`."""
        return expand(self, *sizes)

    def expand_as(self, other: Tensor) -> Tensor:
        """This tensor broadcast to ``other``'s shape."""
        return expand(self, other.shape)

    def broadcast_to(self, shape: Sequence[_int]) -> Tensor:
        """A read-only view of input broadcast to ``shape``. See :func:`broadcast_to`."""
        return broadcast_to(self, shape)

    def repeat(self, *sizes: Any) -> Tensor:
        """Repeat the tensor ``sizes[i]`` times along dim i. See :func:`repeat`."""
        return repeat(self, *sizes)

    def tile(self, dims: Sequence[_int]) -> Tensor:
        """As repeat; missing leading ``dims`` count as ones. See :func:`tile`."""
        return tile(self, dims)

    def split(self, split_size_or_sections: Any, dim: _int = 0) -> tuple[Tensor, ...]:
        """Split into pieces of ``split_size`` (the last smaller) or of given sizes. See :func:`split`."""
        return split(self, split_size_or_sections, dim)

    def chunk(self, chunks: _int, dim: _int = 0) -> tuple[Tensor, ...]:
        """Split into ``chunks`` pieces of equal size (the last may be smaller). See :func:`chunk`."""
        return chunk(self, chunks, dim)

    def gather(self, dim: _int, index: Any) -> Tensor:
        """``out[i][j] = input[index[i][j]][j]`` for dim 0 (and so on). See :func:`gather`."""
        return gather(self, dim, index)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """input with ``value`` wherever ``mask`` is true. See :func:`masked_fill`."""
        return masked_fill(self, mask, value)

    def where(self, condition: Any, other: Any) -> Tensor:
        """``self`` where ``condition`` is true, else ``other``, as :func:`where`."""
        return where(condition, self, other)

    def eq(self, other: Any) -> Tensor:
        """input == other, elementwise, as a bool tensor (no gradient). See :func:`eq`."""
        return eq(self, other)

    def ne(self, other: Any) -> Tensor:
        """input != other, elementwise, as a bool tensor (no gradient). See :func:`ne`."""
        return ne(self, other)

    def lt(self, other: Any) -> Tensor:
        """input < other, elementwise, as a bool tensor (no gradient). See :func:`lt`."""
        return lt(self, other)

    def le(self, other: Any) -> Tensor:
        """input <= other, elementwise, as a bool tensor (no gradient). See :func:`le`."""
        return le(self, other)

    def gt(self, other: Any) -> Tensor:
        """input > other, elementwise, as a bool tensor (no gradient). See :func:`gt`."""
        return gt(self, other)

    def ge(self, other: Any) -> Tensor:
        """input >= other, elementwise, as a bool tensor (no gradient). See :func:`ge`."""
        return ge(self, other)

    def cumsum(self, dim: Any = None, *, dtype: Any = None, **aliases: Any) -> Tensor:
        """The running sum along ``dim``. See :func:`cumsum`."""
        return cumsum(self, dim, dtype=dtype, **aliases)

    def cumprod(self, dim: Any = None, *, dtype: Any = None, **aliases: Any) -> Tensor:
        """The running product along ``dim``. See :func:`cumprod`."""
        return cumprod(self, dim, dtype=dtype, **aliases)

    def sort(self, dim: _int = -1, descending: _bool = False, *, stable: _bool = False) -> Any:
        """(values, indices) sorted along ``dim``. See :func:`sort`."""
        return sort(self, dim, descending, stable=stable)

    def argsort(self, dim: _int = -1, descending: _bool = False, stable: _bool = False) -> Tensor:
        """The indices that sort along ``dim``. See :func:`argsort`."""
        return argsort(self, dim, descending, stable)

    def topk(self, k: _int, dim: _int = -1, largest: _bool = True, sorted: _bool = True) -> Any:
        """(values, indices) of the k largest (or smallest) along ``dim``. See :func:`topk`."""
        return topk(self, k, dim, largest, sorted)

    def tril(self, diagonal: _int = 0) -> Tensor:
        """The lower triangle of the last two dims. See :func:`tril`."""
        return tril(self, diagonal)

    def triu(self, diagonal: _int = 0) -> Tensor:
        """The upper triangle of the last two dims. See :func:`triu`."""
        return triu(self, diagonal)

    def flip(self, *dims: Any) -> Tensor:
        """Reverse the order along ``dims``: x.flip(0), x.flip(0, 1) or x.flip((0, 1)). See :func:`flip`."""
        return flip(self, dims[0] if len(dims) == 1 else dims)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        """Shift elements cyclically along ``dims`` (or the flattened tensor). See :func:`roll`."""
        return roll(self, shifts, dims)

    def index_select(self, dim: _int, index: Any) -> Tensor:
        """The slices at positions ``index`` along ``dim``. See :func:`index_select`."""
        return index_select(self, dim, index)

    def scatter(
        self, dim: _int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None
    ) -> Tensor:
        """A copy with ``src`` written at ``index`` along ``dim``. See :func:`scatter`."""
        return scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_add(self, dim: _int, index: Any, src: Tensor) -> Tensor:
        """A copy with ``src`` added at ``index`` along ``dim``. See :func:`scatter_add`."""
        return scatter_add(self, dim, index, src)

    def index_add(self, dim: _int, index: Any, source: Tensor, *, alpha: Any = 1) -> Tensor:
        """A copy with ``alpha * source`` added at ``index`` along ``dim``. See :func:`index_add`."""
        return index_add(self, dim, index, source, alpha=alpha)

    def scatter_(
        self, dim: _int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None
    ) -> Tensor:
        """In place: :meth:`scatter` into this tensor."""
        self._check_inplace("scatter_", src)
        return self.copy_(scatter(self.detach(), dim, index, src, value=value, reduce=reduce))

    def scatter_add_(self, dim: _int, index: Any, src: Tensor) -> Tensor:
        """In place: :meth:`scatter_add` into this tensor."""
        self._check_inplace("scatter_add_", src)
        return self.copy_(scatter_add(self.detach(), dim, index, src))

    def index_add_(self, dim: _int, index: Any, source: Tensor, *, alpha: Any = 1) -> Tensor:
        """In place: :meth:`index_add` into this tensor."""
        self._check_inplace("index_add_", source)
        return self.copy_(index_add(self.detach(), dim, index, source, alpha=alpha))

    def tril_(self, diagonal: _int = 0) -> Tensor:
        """In place: keep the lower triangle, zero the rest."""
        self._check_inplace("tril_")
        return self.copy_(tril(self.detach(), diagonal))

    def triu_(self, diagonal: _int = 0) -> Tensor:
        """In place: keep the upper triangle, zero the rest."""
        self._check_inplace("triu_")
        return self.copy_(triu(self.detach(), diagonal))

    def outer(self, vec2: Tensor) -> Tensor:
        """The outer product with another 1-D tensor. See :func:`outer`."""
        return outer(self, vec2)

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """``beta * self + alpha * (batch1 @ batch2)``. See :func:`baddbmm`."""
        return baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def multinomial(self, num_samples: _int, replacement: _bool = False, *, generator: Any = None) -> Tensor:
        """Category indices drawn with probabilities proportional to each row. See :func:`multinomial`."""
        from neograd.autograd.creation import multinomial  # creation imports tensor, so not at the bottom

        return multinomial(self, num_samples, replacement, generator=generator)

    # ---- printing ---------------------------------------------------------------------
    def __repr__(self) -> str:
        data = backend.to_numpy(self.data)
        if (
            data.dtype.kind == "f"
            and data.size
            and np.all(np.isfinite(data))
            and np.all(data == np.round(data))
        ):
            body = np.array2string(
                data, separator=", ", prefix="tensor(", floatmode="maxprec", threshold=1000, edgeitems=3
            )
        else:
            body = np.array2string(
                data,
                separator=", ",
                prefix="tensor(",
                precision=4,
                floatmode="fixed",
                threshold=1000,
                edgeitems=3,
            )
        extras = []
        if data.size == 0:
            extras.append(f"size={tuple(data.shape)}")
        if type(self.data) is not np.ndarray and backend.is_device_array(self.data):
            extras.append(f"device='{self.device}'")
        if data.dtype not in (get_default_dtype(), np.int64, np.bool_):
            extras.append(f"dtype={data.dtype}")
        if self._node is not None:
            extras.append(f"grad_fn=<{type(self._node).__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self.data.ndim == 0:  # as torch: f"loss: {loss}" prints the number
            return format(self.data.item(), spec)
        return format(str(self), spec)


def _scaled(other: Any, alpha: _float) -> Any:
    return (other.data if isinstance(other, Tensor) else backend.asarray(other)) * alpha


def _index(index: Any, like: Any = None) -> Any:
    """Replace tensors inside an index by their arrays (and lists by arrays), as NumPy wants.

    Index arrays go to the device of ``like`` (the indexed array).
    """
    if isinstance(index, tuple):
        return tuple(_index(i, like) for i in index)
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, list):
        index = np.asarray([i.item() if isinstance(i, Tensor) else i for i in index])
    if type(like) is np.ndarray or like is None or not isinstance(index, np.ndarray):
        return index
    return backend.to_device(index, backend.device_of(like))


def _to_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, _bool]:
    """(device, dtype, copy) from the forms of torch.Tensor.to."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "copy", "memory_format"}
    if unknown:
        raise TypeError(f"to() got unexpected keyword argument(s) {sorted(unknown)}")
    dev, dtype = kwargs.get("device"), kwargs.get("dtype")
    positional = list(args)
    if positional and isinstance(positional[0], Tensor):
        other = positional.pop(0)
        dev, dtype = other.device, other.dtype
    elif (
        positional and isinstance(positional[0], (device, str, _int)) and not isinstance(positional[0], _bool)
    ):
        if isinstance(positional[0], str) and positional[0].partition(":")[0] not in ("cpu", "cuda"):
            dtype = positional.pop(0)  # to("float64")
        else:
            dev = positional.pop(0)
            if positional and not isinstance(positional[0], _bool):
                dtype = positional.pop(0)
    elif positional and not isinstance(positional[0], _bool):
        dtype = positional.pop(0)
    if len(positional) > 2 or not all(isinstance(p, _bool) for p in positional):
        raise TypeError(
            f"to() received an invalid combination of arguments {args!r}: expected "
            "to(dtype), to(device, dtype=None) or to(tensor), then non_blocking and copy"
        )
    copy = kwargs.get("copy", positional[1] if len(positional) > 1 else False)
    return (None if dev is None else backend.as_device(dev)), dtype, _bool(copy)


def tensor(data: Any, dtype: Any = None, requires_grad: _bool = False, *, device: Any = None) -> Tensor:
    """Create a tensor from data (a number, a nested list, an ndarray or a Tensor); copies.

    dtype rules: Python floats become the default dtype (float32); Python ints become
    int64 and bools bool, as in torch; NumPy arrays keep their dtype; integer data asked
    to require grad becomes the default float dtype.

    Args:
        data: the values.
        dtype: the dtype to convert to (``ng.float64``, ``np.float64``, ``"float64"``).
        requires_grad: record operations on this tensor for backward.
        device: where the tensor lives (``"cpu"``, ``"cuda"``, ``"cuda:1"``, a :class:`device`);
            default: the CPU, or the device of ``data`` when it is a GPU array or tensor.

    Example:
        >>> tensor([[1., 2.], [3., 4.]], requires_grad=True)
        tensor([[1., 2.],
                [3., 4.]], requires_grad=True)
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy, dtype kept), as torch.from_numpy."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: unsupported dtype {array.dtype}")
    return Tensor._make(array)


# The ops need Tensor, so they are imported after it; Tensor's methods look them up at call time.
from neograd.autograd.ops.elementwise import (  # noqa: E402
    abs,
    add,
    clamp,
    clone,
    cos,
    div,
    eq,
    exp,
    ge,
    gt,
    le,
    log,
    log1p,
    lt,
    masked_fill,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    relu,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    sub,
    tanh,
    to_device,
    to_dtype,
    where,
)
from neograd.autograd.ops.linalg import baddbmm, dot, matmul, outer  # noqa: E402
from neograd.autograd.ops.reduce import (  # noqa: E402
    amax,
    amin,
    argmax,
    argmin,
    argsort,
    cumprod,
    cumsum,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    softmax,
    sort,
    std,
    sum,
    topk,
    var,
)
from neograd.autograd.ops.shape import (  # noqa: E402
    broadcast_to,
    chunk,
    expand,
    flatten,
    flip,
    gather,
    getitem,
    index_add,
    index_select,
    permute,
    repeat,
    reshape,
    roll,
    scatter,
    scatter_add,
    split,
    squeeze,
    tile,
    transpose,
    tril,
    triu,
    unsqueeze,
)

# isort: split
# NOTE: imported once here, after the ops, rather than inside backward: an import statement
# in a function costs ~0.7 us at every call, and backward runs at every training step
from neograd.autograd import engine as _engine  # noqa: E402
