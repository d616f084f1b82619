"""compile: run a training step once while recording it, then replay the recording.

In eager mode every operation pays for Python bookkeeping: wrapping arrays in Tensors,
making graph nodes, sorting the graph and walking it backward, the module call path.
On small models that costs more than the arithmetic. ``compile(step)`` pays it once, as
torch.compile and tinygrad's TinyJit do:

1. **Capture.** The first call runs ``step`` eagerly (so its results are the eager ones)
   with a recorder switched on, which writes down in order the *kernels* it executes:

   - each op's forward: ``Function.apply`` is wrapped for the capture (as the ONNX
     exporter traces), so the op class and its arguments are seen; and the op's forward
     runs on *traced* arrays (below), so the NumPy calls inside it are recorded too;
   - the backward pass ``loss.backward()`` runs: ``engine._run`` is wrapped, and the order
     in which the engine visits the nodes, and where each gradient goes (into another
     node's pending sum, or accumulated into a leaf's ``.grad``), are worked out once from
     the graph, by the engine's own rules, so that sums add up in the same order; each
     node's backward is then run once more on traced arrays, and the sums too;
   - NumPy calls on arrays of the step, inside ops or not (the dropout mask derived from a
     random draw, BatchNorm's running statistics): during a capture, tensors hand out
     their arrays as ``_Traced`` views, an ndarray subclass whose ``__array_ufunc__`` and
     ``__array_function__`` record each call; draws from neograd's generator, through a
     stand-in for it;
   - in-place tensor methods (``running_mean.mul_(0.9)``) and ``p.grad = None``;
   - ``Optimizer.step`` and ``zero_grad``, an LR scheduler's ``step`` and a module's
     ``zero_grad``: these are called *live* at each replay, so they read the current
     learning rate, hyperparameters and optimizer state.

   Each array the step produces gets a numbered *slot*; a kernel's inputs are slots,
   constants, or the ``.data`` of a tensor from before the step (a parameter, a buffer,
   a tensor argument), read live at replay where the step first uses it.
   ``print(step.programs[0])`` shows the recording, one kernel a line.

   **Lowering.** So each op is recorded two ways: as one kernel (a call of its forward and
   later its backward, on a ctx) and as the NumPy calls inside them. The second, *lowered*,
   form is kept when it is faithful, which three checks decide for each node (``_choose``):
   its forward and backward read no value into Python (IndexCrossEntropy's test of the
   logits' range, ``if (x > 0).all()``: a branch that could go the other way next time);
   every array they hand on is one the tracer saw made; and, since the tracer cannot see
   everything (``out[...] = x`` into a fresh ``np.empty``, a C extension), ``verify`` runs
   the recorded calls and the op itself on other values of the inputs and compares them
   bit for bit. A node failing any of them stays one kernel; ops need no second form.

2. **Replay.** A later call whose guards hold skips ``step`` and runs the kernels: the
   NumPy calls of the lowered ops, a call of ``Cls.forward(ctx, *arrays)`` with a bare
   ``ctx`` and of ``Cls.backward(ctx, grad)`` for the others, gradients summed and
   accumulated into ``.grad`` as the engine does, the live optimizer step. No Tensor or
   node is made, nothing is sorted or walked, no module is called. The kernel list is
   written out as one straight-line Python function (``print(step.programs[0].source)``),
   so even the loop over kernels is gone.

   **Memory.** A slot is dropped after its last use and a ctx after its backward. The
   results of elementwise kernels (ufunc calls) get *preallocated buffers*, passed as the
   ufunc's ``out``, planned once per recording (``_plan_buffers``): arrays whose lifetimes
   do not overlap share storage, and an array that may be a view of another (a reshape,
   an index) keeps that one's storage busy as long as it lives. Arrays that leave the
   recording's sight (a result, a ``.grad``, an argument of a whole op or of the
   optimizer) keep being allocated as in eager mode, and so do those whose shape may
   depend on values (``x[mask]``, ``nonzero``, and all computed from them) and those of
   the other NumPy calls (a matrix product allocates as fast: malloc, tuned at import in
   ``_malloc.py``, hands back the block just freed). The buffers plus the arrays allocated
   during a replay peak no higher than the arrays of an eager step (tested). Random numbers are
   drawn afresh from neograd's generator in the same order, so a compiled run from a
   seed is bitwise the eager run from that seed.

3. **Guards.** A recording holds for: the shapes, dtypes and requires_grad of the tensor
   arguments and the values of the others, grad mode, the shape and dtype of each tensor
   read live, and for each module reachable from ``step`` (its closure, globals, ``self``
   or arguments) its train/eval mode and the identity of its parameters and buffers. A
   call that fails them captures again; a compiled function keeps :data:`CACHE_SIZE`
   recordings (a batch of another size, ``model.eval()``: each its own), the least
   recently used going first. The generated replay begins with all of its guards, written
   out as plain comparisons, and answers "miss" when one fails: so a call first tries the
   recording replayed last, and only a miss looks the recordings up by signature.

What cannot be captured (the contract of TinyJit too): only tensors, neograd's generator
and the methods above are replayed. The rest of ``step``'s Python does not run again:
printing, appending to a list, a counter, ``np.random``, data read from a global that
changes, a branch on a Python value. Pass data as tensor arguments. The recorder notices:

- a value read into Python (``.item()``, ``float()``, ``.tolist()``, ``.numpy()``,
  printing a tensor): the step then runs eagerly for these guards, with a
  :class:`CompileWarning` saying where (with ``check=True``, a :class:`CompileError`);
- a branch on a tensor or an array of the step (``if (x.data > 0).all():``, including the
  checks neograd's own code makes): it becomes a guard kernel; if at a replay the branch
  would go the other way, the replay stops with a :class:`CompileError`;
- an array whose shape depends on values (``x[mask]``, ``nonzero``) that reaches an op,
  the backward pass, the optimizer or the result (the recording fixes every shape): the
  step runs eagerly, as for a value read. Inside an op it is fine as long as the op's
  result keeps its shape (``verify`` tries another mask).

What it does not notice: values that leave its sight as plain arrays (``np.asarray(x.data)``
gives NumPy a view it does not trace). For those, ``check=True`` runs the eager function
and the replay side by side (from the same state) for the first :data:`CHECK_CALLS`
replays and raises a :class:`CompileError` naming the first kernel the two do not share
or compute differently. The eager run's state is the one kept, so checking changes no
result. Capturing patches classes for the whole process: one capture at a time, and no
other thread should run neograd code meanwhile; a recording's buffers serve one replay
at a time (a compiled step called from two threads at once needs a lock).

Returned tensors come back as new tensors outside the graph (``loss.item()`` works).

Example:
    >>> model = nn.Linear(4, 1); opt = optim.SGD(model.parameters(), lr=0.1)
    >>> @compile
    ... def step(x, y):
    ...     opt.zero_grad()
    ...     loss = ((model(x) - y) ** 2).mean()
    ...     loss.backward()
    ...     opt.step()
    ...     return loss
    >>> for x, y in batches:
    ...     loss = step(x, y)       # the first call captures, the next ones replay
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import math
import operator
import os
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

# NOTE: tensor.py first: it imports the ops, which need Tensor defined before function.py loads
from neograd.autograd.tensor import Tensor

# isort: split
from neograd.autograd import backend, engine
from neograd.autograd import random as _random
from neograd.autograd.function import Function
from neograd.autograd.grad_mode import _state as grad_state
from neograd.autograd.ops.shape import sum_to

__all__ = ["compile", "CompiledFunction", "CompileError", "CompileWarning", "CACHE_SIZE", "CHECK_CALLS"]

CACHE_SIZE = 8
"""How many recordings (one per set of guards) a compiled function keeps."""

CHECK_CALLS = 2
"""How many replays ``check=True`` compares with the eager function."""


# NOTE: the capture traces NumPy arrays (an ndarray subclass records NumPy calls); CuPy's are not traced
_ON_DEVICE = "a tensor on {} (compile records CPU tensors only; on a GPU the step runs eagerly) ({})"


_MISS = object()  # what a replay returns, having done nothing, when one of its guards fails

_VARYING = "{} has a shape that depends on values (a boolean mask, nonzero) ({}); a replay keeps shapes fixed"


class CompileError(RuntimeError):
    """A step that cannot be replayed faithfully (or, with check=True, that differs from eager)."""


class CompileWarning(UserWarning):
    """A step that compile runs eagerly, and why."""


# NOTE: capturing patches classes for the whole process (as the ONNX exporter does), so one at a time
_lock = threading.RLock()
_recorder: _Recorder | None = None
_DATA = Tensor.__dict__["data"]  # the slot descriptors the recorder wraps during a capture
_GRAD = Tensor.__dict__["grad"]
_NODE = Tensor.__dict__["_node"]
_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../neograd: library frames


def compile(fn: Callable[..., Any] | None = None, *, check: bool = False) -> Any:
    """Capture ``fn`` on its first call and replay the recorded kernels on later calls.

    Usable as ``compile(fn)``, ``@compile`` or ``@compile(check=True)``. See the module
    docstring for what is recorded, the guards and what cannot be captured.

    Args:
        fn: the function to compile (typically a whole training step).
        check: compare the replay with the eager function for the first calls and raise a
            CompileError on the first kernel that differs; also makes a step that cannot be
            captured an error instead of a warning.

    Returns:
        A :class:`CompiledFunction` (callable as ``fn``).

    Example:
        >>> @compile
        ... def step(x, y):
        ...     opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); opt.step()
        ...     return loss
    """
    if fn is None:
        return lambda f: CompiledFunction(f, check=check)
    if not callable(fn):
        raise TypeError(f"compile: fn must be callable, got {type(fn).__name__}")
    return CompiledFunction(fn, check=check)


class CompiledFunction:
    """A function with its recordings (at most CACHE_SIZE, most recently used last)."""

    def __init__(self, fn: Callable[..., Any], check: bool = False) -> None:
        self.fn = fn
        self.check = bool(check)
        self._programs: OrderedDict[Any, list[_Program]] = OrderedDict()
        self._count = 0
        self._last: _Program | None = None  # the recording replayed last (tried first)
        self.__wrapped__ = fn
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    @property
    def programs(self) -> list[_Program]:
        """The recordings kept now (for inspection: ``len(step.programs)``, ``print(step.programs[0])``)."""
        return [p for ps in self._programs.values() for p in ps]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _recorder is not None:  # called inside another compiled function's capture: be part of it
            return self.fn(*args, **kwargs)
        # NOTE: the recording replayed last checks all its guards itself (see _guard_lines) and
        # answers _MISS when one fails: a step called again and again skips the key and the lookup
        if not kwargs and self._last is not None:
            result = self._last.code(args)
            if result is not _MISS:
                return result
        names = tuple(sorted(kwargs)) if kwargs else ()
        inputs = args + tuple([kwargs[k] for k in names]) if kwargs else args
        key = (grad_state.enabled, names, *map(_signature, inputs))
        candidates = self._programs.get(key)
        if candidates:
            for program in candidates:
                if program.guards_hold(inputs):
                    self._programs.move_to_end(key)
                    if program.eager_reason is not None:
                        return self.fn(*args, **kwargs)
                    if self.check and program.checks_left > 0:
                        return self._checked(program, args, kwargs, inputs, key)
                    self._last = None if kwargs else program
                    return program.code(inputs)  # (program.replay(inputs), one call less)
        program, result = _capture(self.fn, args, kwargs, inputs, strict=self.check)
        self._remember(key, program)
        return result

    def _remember(self, key: Any, program: _Program) -> None:
        self._last = None
        self._programs.setdefault(key, []).insert(0, program)
        self._programs.move_to_end(key)
        self._count += 1
        while self._count > CACHE_SIZE:
            oldest_key = next(iter(self._programs))
            variants = self._programs[oldest_key]
            variants.pop()
            self._count -= 1
            if not variants:
                del self._programs[oldest_key]

    def _checked(self, program: _Program, args: Any, kwargs: Any, inputs: Any, key: Any) -> Any:
        """Replay from a snapshot of the state, restore it, run eagerly, compare kernel by kernel."""
        program.checks_left -= 1
        state = _Snapshot(program)
        replay_log: list[tuple[str, Any]] = []
        program.replay(inputs, log=replay_log)
        state.restore()
        eager, result = _capture(self.fn, args, kwargs, inputs, strict=True, log=True)
        _compare(program, replay_log, eager)
        return result

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        # a compiled method: the instance is one more argument (guarded by identity)
        return self if obj is None else functools.partial(self, obj)

    def __repr__(self) -> str:
        return f"compile({self.__name__}, {len(self.programs)} recording(s))"


def _signature(a: Any) -> Any:
    """The part of an argument a recording depends on."""
    if isinstance(a, Tensor):
        d = _DATA.__get__(a, Tensor)
        return ("tensor", d.shape, d.dtype, a.requires_grad)
    if isinstance(a, np.ndarray):
        return ("array", a.shape, a.dtype)
    try:
        hash(a)
    except TypeError:
        return ("object", id(a))
    return ("value", type(a), a)


# ---- the recording ------------------------------------------------------------------------------
class _Ref:
    """A slot in a kernel's argument template: replaced by the slot's array at replay."""

    __slots__ = ("k",)

    def __init__(self, k: int) -> None:
        self.k = k

    def __repr__(self) -> str:
        return f"%{self.k}"


class _Step:
    """One recorded kernel. ``run(env, ctxs, args)`` does its work at replay."""

    __slots__ = ("free", "kind", "label", "lowered", "outs", "run", "spec", "sub", "uses", "where")

    def __init__(self, kind: str, label: str, where: str, uses: set[int], outs: tuple[int, ...]) -> None:
        self.kind, self.label, self.where, self.uses, self.outs = kind, label, where, uses, outs
        self.free: tuple[int, ...] = ()
        self.run: Callable[..., Any] = _nothing
        self.spec: tuple[Any, ...] | None = None  # what _generate needs to write the kernel out inline
        # an op's forward or a backward pass also recorded as the NumPy calls inside it: the
        # range of those kernels in the recording, and whether they replace this one (_choose)
        self.sub: tuple[int, int] | None = None
        self.lowered = False

    def __repr__(self) -> str:
        outs = ", ".join(f"%{k}" for k in self.outs)
        ins = ", ".join(f"%{k}" for k in sorted(self.uses))
        if self.kind == "guard":  # "guard bool() == True" -> "guard bool(%4) == True"
            return f"{'-':>12}   {self.label.replace('()', f'({ins})', 1)}    # {self.where}"
        return f"{outs or '-':>12} = {self.label}({ins})    # {self.where}"


def _same_memory(a: np.ndarray, b: np.ndarray) -> bool:
    return a.__array_interface__["data"][0] == b.__array_interface__["data"][0] and a.strides == b.strides


def _perturbed(a: Any, rng: np.random.Generator) -> Any:
    """Other values of an array's shape and dtype (verify): floats moved, booleans and integers
    (masks, indices) drawn or shuffled among themselves, so that indices stay in range."""
    a = np.asarray(a)
    if a.dtype.kind == "f":  # (uniform float32 noise: 5x cheaper to draw than normal float64)
        noise = rng.random(a.shape, np.float64 if a.dtype == np.float64 else np.float32) * 2 - 1
        return np.asarray(a + noise, a.dtype)  # (0-d: an array, not a scalar)
    if a.dtype.kind == "b":  # (with another count of True, so that a mask's selection changes size)
        mask = rng.random(a.shape) < 0.5
        if a.size and mask.sum() == a.sum():
            mask.flat[0] = not mask.flat[0]
        return mask
    if a.dtype.kind in "iu" and a.size:
        return rng.permutation(a.ravel()).reshape(a.shape)
    return a.copy()


def _isfinite(a: Any) -> bool:
    return math.isfinite(float(a))


def _grad_reader(owner: Tensor, index: int | None, k: int) -> Callable[..., None]:
    def read_grad(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
        env[k] = (owner if index is None else inputs[index]).grad.data

    return read_grad


def _made(t: Tensor) -> bool:
    """Whether a tensor is fully made (Tensor._make and __init__ set .grad before ._node)."""
    try:
        _NODE.__get__(t, Tensor)
    except AttributeError:
        return False
    return True


def _nothing(*_: Any) -> None:
    return None


class _Program:
    """A recorded step: the kernels, how to fill the input slots, the guards, the result template."""

    def __init__(self) -> None:
        self.steps: list[_Step] = []
        self.n_slots = 0
        self.arg_slots: list[tuple[int, int, bool]] = []  # (slot, argument index, is it a tensor)
        self.live_tensors: list[Tensor] = []  # tensors read live at replay (parameters, buffers)
        self.live_checks: list[tuple[Tensor, tuple[int, ...], np.dtype]] = []
        # each module reachable from the step with its training flag; each of their (non-empty)
        # parameter and buffer tables (their entries, as at the capture, are guarded by identity)
        self.module_checks: tuple[tuple[Any, bool], ...] = ()
        self.table_checks: tuple[Any, ...] = ()
        self.objects: list[Any] = []  # optimizers, schedulers, modules called live (for check=True)
        self.result: Any = None
        self.eager_reason: str | None = None
        self.checks_left = CHECK_CALLS
        self.n_ctx = 0
        self.code: Callable[..., Any] = _nothing  # the replay, written out as one function
        self.guards: Callable[..., Any] = _nothing  # its guards alone
        self.source = ""  # its source (print(step.programs[0].source))
        self.buffers: dict[int, np.ndarray] = {}  # slot -> its preallocated storage (_plan_buffers)
        self.buffer_bytes = 0
        self.log: list[tuple[str, Any]] | None = None  # check=True: the eager values of a capture
        self.signature: tuple[Any, ...] = ()  # the arguments' _signature and the grad mode at the capture
        self.grad_enabled = True

    def guards_hold(self, inputs: tuple[Any, ...]) -> bool:
        return self.guards(inputs) is not _MISS  # the replay's first lines alone (_guard_lines)

    def replay(self, inputs: tuple[Any, ...], log: list[tuple[str, Any]] | None = None) -> Any:
        if log is None:
            return self.code(inputs)  # all of the below, written out (see _generate)
        env: list[Any] = [None] * self.n_slots
        for k, i, is_tensor in self.arg_slots:
            env[k] = inputs[i].data if is_tensor else inputs[i]
        ctxs: list[Any] = [None] * self.n_ctx
        for step in self.steps:
            step.run(env, ctxs, inputs)
            log.append((step.label, _copies(env, step, inputs)))
            for k in step.free:
                env[k] = None
        return _materialize(self.result, env, as_tensor=True)

    def __repr__(self) -> str:
        head = f"<recording of {len(self.steps)} kernels, {self.n_slots} slots>"
        if self.eager_reason is not None:
            return f"<runs eagerly: {self.eager_reason}>"
        return "\n".join([head, *map(repr, self.steps)])


_UNSET = ("np.empty_like", "np.empty")  # kernels whose values are whatever memory held (not compared)


def _copies(env: list[Any], step: _Step, inputs: tuple[Any, ...]) -> Any:
    if step.kind == "backward" or step.kind == "call":
        return step.run.observe(inputs)  # type: ignore[attr-defined]
    if step.label in _UNSET:
        return None
    return [np.array(env[k], copy=True) if env[k] is not None else None for k in step.outs]


def _materialize(template: Any, env: list[Any], as_tensor: bool = False) -> Any:
    """A template with its slot references replaced by arrays (or tensors, for results)."""
    t = type(template)
    if t is _Ref:
        a = env[template.k]
        return Tensor._make(a if type(a) is np.ndarray else np.asarray(a)) if as_tensor else a
    if t is tuple or t is list:
        return t(_materialize(x, env, as_tensor) for x in template)
    if t is dict:
        return {k: _materialize(v, env, as_tensor) for k, v in template.items()}
    return template


def _has_ref(template: Any) -> bool:
    t = type(template)
    if t is _Ref:
        return True
    if t is tuple or t is list:
        return any(_has_ref(x) for x in template)
    if t is dict:
        return any(_has_ref(v) for v in template.values())
    return False


def _refs(template: Any, found: set[int]) -> set[int]:
    t = type(template)
    if t is _Ref:
        found.add(template.k)
    elif t is tuple or t is list:
        for x in template:
            _refs(x, found)
    elif t is dict:
        for v in template.values():
            _refs(v, found)
    return found


def _filler(template: tuple[Any, ...]) -> Callable[[list[Any]], list[Any]]:
    """A fast function making the argument list of a kernel from its template."""
    flat = [(i, x.k) for i, x in enumerate(template) if type(x) is _Ref]
    nested = any(type(x) is not _Ref and _has_ref(x) for x in template)
    if nested:
        return lambda env: _materialize(list(template), env)
    base = list(template)
    if not flat:
        return lambda env: base
    if len(flat) == 1:
        ((i0, k0),) = flat

        def one(env: list[Any]) -> list[Any]:
            args = base.copy()
            args[i0] = env[k0]
            return args

        return one

    def many(env: list[Any]) -> list[Any]:
        args = base.copy()
        for i, k in flat:
            args[i] = env[k]
        return args

    return many


class _Traced(np.ndarray):
    """An array of the step being captured: NumPy calls on it outside Functions are recorded."""

    _slot: int | None = None

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _numpy_call(getattr(ufunc, method), inputs, kwargs, f"np.{ufunc.__name__}.{method}")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _numpy_call(func, args, kwargs, f"np.{func.__name__}")

    # reading a value into Python: a branch on it becomes a value guard (see _Recorder.guard)
    def __bool__(self) -> bool:
        return _value_read(self, bool, "bool")

    def __int__(self) -> int:
        return _value_read(self, int, "int")

    def __index__(self) -> int:
        return _value_read(self, operator.index, "index")

    def __float__(self) -> float:
        return _value_read(self, float, "float")

    def item(self, *args: Any) -> Any:
        return _value_read(self, lambda a: a.item(*args), "item")

    def tolist(self) -> Any:
        return _value_read(self, np.ndarray.tolist, "tolist")

    @property
    def T(self) -> Any:
        return self.transpose()


def _plain(x: Any) -> Any:
    if isinstance(x, _Traced):
        return np.ndarray.view(x, np.ndarray)
    t = type(x)
    if t is tuple or t is list:
        return t(_plain(y) for y in x)
    if t is dict:
        return {k: _plain(v) for k, v in x.items()}
    return x


def _method(name: str) -> Callable[..., Any]:
    base = getattr(np.ndarray, name)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _numpy_call(base, (self, *args), kwargs, f"ndarray.{name}")

    method.__name__ = name
    return method


# methods that NumPy does not route through __array_ufunc__ / __array_function__
for _name in (
    "astype", "reshape", "transpose", "copy", "ravel", "flatten", "squeeze", "swapaxes", "repeat",
    "argmax", "argmin", "take", "dot", "__getitem__", "__setitem__", "fill", "clip", "sort", "argsort",
    "nonzero", "cumsum",
):  # fmt: skip
    setattr(_Traced, _name, _method(_name))


def _numpy_call(func: Any, args: Any, kwargs: Any, label: str) -> Any:
    rec = _recorder
    if rec is None or rec.depth:
        return func(*_plain(args), **_plain(kwargs))
    # an array made outside the recorded calls (np.zeros in library code) and then written
    # into by one: its value before the write is a constant, copied afresh at each replay
    targets = [o for o in _written(args, kwargs, label) if type(o) is np.ndarray and id(o) not in rec.slot_of]
    before = [np.array(o, copy=True) for o in targets]
    result = func(*_plain(args), **_plain(kwargs))
    if "out" in kwargs or result is None:  # it did write (a function returning None wrote into args[0])
        for o, value in zip(targets, before):
            rec.fresh_copy(o, value)
    return rec.numpy_step(func, args, kwargs, result, label)


def _written(args: Any, kwargs: Any, label: str) -> list[Any]:
    """The arrays a NumPy call may write into: out=, or the first argument of one returning None."""
    if "out" in kwargs:
        out = kwargs["out"]
        return list(out) if isinstance(out, tuple) else [out]
    writes_first = label.startswith("np.") and ("." not in label[3:] or label.endswith(".at"))
    if writes_first or label in ("ndarray.__setitem__", "ndarray.fill"):  # (np.add.at writes too)
        return [args[0]] if args and isinstance(args[0], np.ndarray) else []
    return []


def _value_read(a: _Traced, convert: Callable[[Any], Any], what: str) -> Any:
    """A value of the step read into Python: a branch on it becomes a guard, or the step runs eagerly.

    bool() and int() become guards (the replay checks the value is the same). float() made
    by neograd's own code is either a count (a divisor: guarded to stay the same) or an op's
    result checked for NaN (``if not isfinite(loss)``: guarded to stay finite). Any other
    read taints the capture.
    """
    value = convert(np.ndarray.view(a, np.ndarray))
    rec = _recorder
    if rec is not None and rec.lowering and not rec.depth:  # inside an op: it stays a whole kernel
        rec.taint(f"{what}() of a value")
    elif rec is not None and not rec.depth:
        library = sys._getframe(2).f_globals.get("__name__", "").startswith("neograd.")
        if what in ("bool", "int", "index") and a._slot is not None:
            rec.guard(a._slot, value, what)
        elif what == "float" and library and a._slot is not None:
            # a loss checked for NaN (BCE) may change; a count (a divisor) must not
            rec.guard(a._slot, math.isfinite(value) if a._slot in rec.op_outputs else value, what)
        else:
            rec.taint(f"a value of the step read into Python ({what}() at {_where()})")
    return value


class _RecordingGenerator:
    """Stands in for neograd's generator during a capture: each draw becomes a kernel."""

    def __init__(self, real: np.random.Generator) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if name.startswith("_") or name == "bit_generator" or not callable(attr):
            return attr

        def draw(*args: Any, **kwargs: Any) -> Any:
            return _numpy_call(attr, args, kwargs, f"generator.{name}")

        return draw


def _where() -> str:
    """The first frame outside neograd: where the user's code made this kernel."""
    f = sys._getframe(2)
    while f is not None and f.f_globals.get("__name__", "").startswith(("neograd.", "numpy")):
        f = f.f_back
    if f is None:
        return "?"
    return f"{os.path.basename(f.f_code.co_filename)}:{f.f_lineno} in {f.f_code.co_name}"


class _Recorder:
    """Watches one eager run of the step and builds its _Program."""

    def __init__(self, inputs: tuple[Any, ...], log: bool) -> None:
        self.p = _Program()
        self.depth = 0  # > 0 inside a recorded kernel: what it does itself is not recorded again
        self.inputs = inputs
        self.slot_of: dict[int, int] = {}  # id(array) -> slot
        self.keep: list[Any] = []  # every array with a slot stays alive, so that ids stay unique
        self.views: dict[int, _Traced] = {}  # slot -> the traced view handed out for it
        self.live: dict[int, int] = {}  # id(tensor) -> slot, for tensors read live
        self.arg_index = {id(a): i for i, a in enumerate(inputs) if isinstance(a, Tensor)}
        self.node_step: dict[Any, int] = {}  # graph node -> index of its ctx
        self.arrays: list[Any] = []  # slot -> the array it had at capture
        self.op_outputs: set[int] = set()  # slots made by a Function's forward
        self.tainted: list[str] = []
        # lowering: an op's forward or backward run on traced arrays, its NumPy calls recorded
        self.lowering = False
        self.lower_failed: str | None = None  # why the op being lowered must stay a whole kernel
        self.no_lowering: str | None = None  # why no op is replaced by its NumPy calls (_choose)
        self.forward_of: dict[int, _Step] = {}  # ctx index -> the forward step of that node
        self.lowered_backward: set[int] = set()  # nodes whose lowered backward was recorded
        # a parameter's .grad read live -> (the parameter, or None, its argument index)
        self.grad_owner: dict[int, tuple[Tensor, int | None]] = {}
        # slots whose shape may change with values (x[mask] in the step, and what is made of it)
        self.varying: set[int] = set()
        self.log: list[tuple[str, Any]] | None = [] if log else None
        for i, a in enumerate(inputs):  # array arguments: slots filled from the arguments at replay
            if type(a) is np.ndarray:
                self.p.arg_slots.append((self.new_slot(a), i, False))

    # -- slots ---------------------------------------------------------------------------------
    def new_slot(self, array: Any) -> int:
        k = self.p.n_slots
        self.p.n_slots += 1
        self.slot_of[id(array)] = k
        self.keep.append(array)
        self.arrays.append(array)
        return k

    def traced(self, array: np.ndarray, k: int) -> _Traced:
        v = self.views.get(k)
        if v is None or v.base is not array:
            v = array.view(_Traced)
            v._slot = k
            self.views[k] = v
            self.keep.append(v)
        return v

    def tensor_slot(self, t: Tensor) -> int | None:
        """The slot of a tensor's data: its own, or a new one read live at replay (leaves)."""
        raw = _DATA.__get__(t, Tensor)
        k = self.slot_of.get(id(raw))
        if k is not None:
            return k
        if type(raw) is not np.ndarray and backend.is_device_array(raw):
            self.taint(_ON_DEVICE.format(backend.device_of(raw), _where()))
        if t._node is not None or type(raw) is not np.ndarray:
            return None  # computed before the step: a constant to it
        k = self.live.get(id(t))
        if k is None:
            k = self.new_slot(raw)
            self.live[id(t)] = k
            if id(t) in self.arg_index:
                self.p.arg_slots.append((k, self.arg_index[id(t)], True))
            else:
                self.read_live(t, k, raw)
        else:
            self.slot_of[id(raw)] = k  # the tensor's data was replaced (t.data = ...)
            self.keep.append(raw)
        return k

    def read_live(self, t: Tensor, k: int, raw: np.ndarray) -> None:
        """A kernel reading a tensor from before the step (or a leaf's .grad) where the step first uses it."""
        for owner in self.p.live_tensors + [a for a in self.inputs if isinstance(a, Tensor)]:
            if _GRAD.__get__(owner, Tensor) is t:  # the gradient of a parameter: a new tensor each step
                step = _Step("read", "Tensor.grad.data", _where(), set(), (k,))
                step.run = _grad_reader(owner, self.arg_index.get(id(owner)), k)
                self.grad_owner[id(t)] = (owner, self.arg_index.get(id(owner)))
                self.add(step)
                return
        self.p.live_tensors.append(t)
        self.p.live_checks.append((t, raw.shape, raw.dtype))
        self.keep.append(t)

        def read(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
            env[k] = t.data

        step = _Step("read", "Tensor.data", _where(), set(), (k,))
        step.run, step.spec = read, (t, k)
        self.add(step)

    def live_tensor(self, t: Tensor) -> Callable[[Any], Tensor]:
        """How a replay finds the tensor ``t`` stands for: itself, an argument, or (for a
        parameter's .grad, a new tensor at each step) the parameter's .grad at that time."""
        if id(t) in self.grad_owner:
            owner, index = self.grad_owner[id(t)]
            return lambda inputs: (owner if index is None else inputs[index]).grad
        index = self.arg_index.get(id(t))
        return (lambda inputs: t) if index is None else (lambda inputs: inputs[index])

    def resolve(self, x: Any) -> Any:
        """An argument as a template: arrays of the step become slot references."""
        if isinstance(x, Tensor):
            k = self.tensor_slot(x)
            return _DATA.__get__(x, Tensor) if k is None else _Ref(k)
        if isinstance(x, np.ndarray):
            if isinstance(x, _Traced):
                if x._slot is not None:
                    return _Ref(x._slot)
                base = x.base
                if isinstance(base, np.ndarray) and base.shape == x.shape and base.dtype == x.dtype:
                    return self.resolve(base)
                self.taint(f"an array derived from the step by an unrecorded NumPy call ({_where()})")
                return np.ndarray.view(x, np.ndarray)
            k = self.slot_of.get(id(x))
            if k is None and self.lowering:
                return self.derived(x)
            return x if k is None else _Ref(k)
        t = type(x)
        if t is tuple or t is list:
            items = [self.resolve(y) for y in x]
            return t(items) if any(_has_ref(y) for y in items) else x
        if t is dict:
            items = {k: self.resolve(v) for k, v in x.items()}
            return items if any(_has_ref(v) for v in items.values()) else x
        return x

    def taint(self, reason: str) -> None:
        if self.lowering:  # inside an op: the op stays one kernel, the capture goes on
            self.lower_failed = self.lower_failed or reason
        elif not self.tainted:
            self.tainted.append(reason)

    def derived(self, x: np.ndarray) -> Any:
        """A plain array met inside an op being lowered: a constant, unless it views an array of
        the step (np.asarray of one: that slot; anything else: the op is not lowered)."""
        base = x.base
        while base is not None:
            if isinstance(base, _Traced) or id(base) in self.slot_of:
                k = base._slot if isinstance(base, _Traced) else self.slot_of[id(base)]
                same = base.shape == x.shape and base.dtype == x.dtype and _same_memory(base, x)
                if k is not None and same:
                    return _Ref(k)
                self.taint(f"an array derived from the step by an unrecorded call ({_where()})")
                return x
            base = getattr(base, "base", None)
        return x

    def unwrap(self, x: Any) -> Any:
        """Traced arrays back to the plain arrays of their slots (what eager code is handed)."""
        if isinstance(x, _Traced):
            raw = x.base
            if type(raw) is np.ndarray and x._slot is not None and self.slot_of.get(id(raw)) == x._slot:
                return raw
            return np.ndarray.view(x, np.ndarray)
        t = type(x)
        if (t is tuple or t is list) and any(isinstance(y, _Traced) for y in x):
            return t(self.unwrap(y) for y in x)
        return x

    def trace_in(self, x: Any) -> Any:
        """Plain arrays of the step as traced views (what an op being lowered is handed)."""
        if type(x) is np.ndarray:
            k = self.slot_of.get(id(x))
            return x if k is None else self.traced(x, k)
        t = type(x)
        if t is tuple or t is list:
            return t(self.trace_in(y) for y in x)
        if t is dict:
            return {k: self.trace_in(v) for k, v in x.items()}
        return x

    def lowered_call(self, fn: Callable[..., Any], ctx: Any, args: Any, kwargs: Any) -> Any:
        """Run an op's forward or backward on traced arrays: its NumPy calls become kernels."""
        depth, self.depth = self.depth, 0
        self.lowering, self.lower_failed = True, None
        try:
            return fn(ctx, *self.trace_in(args), **self.trace_in(kwargs))
        finally:
            self.depth, self.lowering = depth, False

    def drop_steps(self, mark: int) -> None:
        del self.p.steps[mark:]
        if self.log is not None:
            del self.log[mark:]

    def keep_whole(self, index: int, reason: str) -> None:
        """Node ``index`` replays as its op's forward and backward (a ctx), not their NumPy calls."""
        step = self.forward_of.get(index)
        if step is None or not step.lowered:
            return
        step.lowered = False
        if index in self.lowered_backward:  # an earlier backward already used its NumPy calls
            self.no_lowering = self.no_lowering or reason

    def add(self, step: _Step) -> None:
        if step.kind != "numpy" and step.kind != "guard" and step.uses & self.varying:
            self.taint(_VARYING.format(f"an argument of {step.label}", step.where))
        self.p.steps.append(step)
        if self.log is not None:  # check=True: what the eager run computed, kernel by kernel
            self.log.append((step.label, self.observe(step)))

    def observe(self, step: _Step) -> Any:
        self.depth += 1
        try:
            if step.kind in ("backward", "call"):
                return step.run.observe(self.inputs)  # type: ignore[attr-defined]
            if step.label in _UNSET:
                return None
            return [np.array(self.arrays[k], copy=True) for k in step.outs]
        finally:
            self.depth -= 1

    def outputs(self, result: Any) -> Any:
        """Give the results of a kernel slots; return them as the caller should see them."""
        if isinstance(result, np.generic):
            result = np.asarray(result)
        if isinstance(result, np.ndarray):
            raw = np.ndarray.view(result, np.ndarray) if isinstance(result, _Traced) else result
            k = self.new_slot(raw)
            return self.traced(raw, k), (k,)
        if type(result) in (tuple, list) and result and all(isinstance(r, np.ndarray) for r in result):
            pairs = [self.outputs(r) for r in result]
            return type(result)(v for v, _ in pairs), tuple(k for _, ks in pairs for k in ks)
        return result, ()

    # -- the kernels -----------------------------------------------------------------------------
    def function(self, cls: type, args: tuple[Any, ...], kwargs: dict[str, Any], original: Any) -> Any:
        grad_on = grad_state.enabled
        pattern = tuple(
            [True if grad_on and isinstance(a, Tensor) and a.requires_grad else None for a in args]
        )
        template, kw_template = self.resolve(args), self.resolve(kwargs)
        mark = len(self.p.steps)
        # NOTE: forward runs on traced arrays (so the NumPy calls inside it are recorded too)
        # through a stand-in put on the class for this one call; Function.apply, the node and
        # the eager backward see plain arrays, as in eager mode
        lower = any(isinstance(a, Tensor) for a in args) and self.no_lowering is None
        result: list[Any] = []
        own = cls.__dict__.get("forward")
        if lower:
            forward = cls.forward

            def lowered_forward(ctx: Any, *arrays: Any, **kw: Any) -> Any:
                if self.lowering:  # (the same op applied inside its own forward)
                    return forward(ctx, *arrays, **kw)
                out = self.lowered_call(forward, ctx, arrays, kw)
                result.append(out._slot if isinstance(out, _Traced) else None)
                for name, value in ctx.__dict__.items():
                    ctx.__dict__[name] = self.unwrap(value)
                return self.unwrap(out)

            cls.forward = staticmethod(lowered_forward)  # type: ignore[attr-defined]
        self.depth += 1
        try:
            out = original(cls, *self.unwrap(args), **self.unwrap(kwargs))
        finally:
            self.depth -= 1
            if lower:
                if own is None:
                    del cls.forward  # type: ignore[attr-defined]
                else:
                    cls.forward = own  # type: ignore[attr-defined]
        lowered = bool(result) and result[0] is not None and self.lower_failed is None
        if lowered and not self.verify(cls, template, kw_template, pattern, self.p.steps[mark:], result[0]):
            lowered = False
        if not lowered or not isinstance(out, Tensor):
            self.drop_steps(mark)
        if not lowered and isinstance(out, Tensor):
            self.check_shape(cls, template, kw_template, pattern, out)
        where = _where()
        if isinstance(out, Tensor):
            raw = _DATA.__get__(out, Tensor)
            k = result[0] if lowered else self.new_slot(raw)
            self.op_outputs.add(k)
            node = out._node
            ctx_index = None
            if node is not None:
                ctx_index = self.p.n_ctx
                self.p.n_ctx += 1
                self.node_step[node] = ctx_index
                self.keep.append(node)
            run = _forward_kernel(cls, template, kw_template, pattern, k, ctx_index, scalar_fix=True)
            spec = (cls, template, kw_template, pattern, k, ctx_index, True)
        else:
            out, ks = self.outputs(out)
            k = ks[0] if len(ks) == 1 else None
            if k is None:
                self.taint(f"{cls.__name__}.apply on arrays returned {type(out).__name__} ({where})")
                return out
            run = _forward_kernel(cls, template, kw_template, pattern, k, None, scalar_fix=False)
            spec = (cls, template, kw_template, pattern, k, None, False)
        uses = _refs(template, set()) | _refs(kw_template, set())
        step = _Step("forward", f"{cls.__name__}.forward", where, uses, (k,))
        step.run, step.spec = run, spec
        if lowered and isinstance(out, Tensor):
            step.sub, step.lowered = (mark, len(self.p.steps)), True
            if ctx_index is not None:
                self.forward_of[ctx_index] = step
        self.add(step)
        return out

    @contextlib.contextmanager
    def aside(self) -> Any:
        """Ops run again on other values (check_shape, verify): unrecorded, quietly, leaving
        neograd's generator as it was; yields its state (to draw the same numbers twice)."""
        state = _random.get_rng_state()
        self.depth += 1
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield state
        finally:
            self.depth -= 1
            _random.set_rng_state(state)

    def check_shape(self, cls: type, template: Any, kw: Any, pattern: Any, out: Tensor) -> None:
        """A whole op given a boolean array of the step (a mask): run it again on another mask;
        if its result's shape changes (x[mask]), the step cannot be replayed (shapes are fixed)."""
        masks = [k for k in sorted(_refs((template, kw), set())) if self.arrays[k].dtype == np.bool_]
        if not masks:
            return
        env: list[Any] = [None] * self.p.n_slots
        for k in _refs((template, kw), set()):
            env[k] = self.arrays[k]
        rng = np.random.default_rng(0)
        for k in masks:
            env[k] = _perturbed(self.arrays[k], rng)
        try:
            with self.aside():
                _, again = _forward_on(cls, pattern, template, kw, env)
        except Exception:
            return
        if np.shape(again) != out.shape:
            self.taint(_VARYING.format(f"{cls.__name__}'s result", _where()))

    def verify(
        self, cls: type, template: Any, kw: Any, pattern: Any, steps: list[_Step], out: int,
        backward: tuple[list[_Step], Any, tuple[Any, ...]] | None = None,
    ) -> bool:  # fmt: skip
        """Whether the NumPy calls recorded inside an op compute what the op computes on other
        values too: run them, and the op's own forward (and backward), on perturbed inputs.

        What the tracer cannot see (an array filled by ``out[...] = x`` or made by a C
        extension from a traced one) is a constant in the recording: the values differ."""
        later = backward[0] if backward else []
        env: list[Any] = [None] * self.p.n_slots
        rng = np.random.default_rng(len(steps))
        made: set[int] = set()
        wanted = sorted(_refs((template, kw, backward[1] if backward else None), set()))
        for step in [*steps, *later]:
            wanted += sorted(step.uses - made)
            made.update(step.outs)
        for k in wanted:
            if env[k] is None:
                env[k] = _perturbed(self.arrays[k], rng)
        try:
            with self.aside() as state:
                ctx, expected = _forward_on(cls, pattern, template, kw, env)
                if np.shape(expected) != np.shape(self.arrays[out]):
                    self.taint(_VARYING.format(f"{cls.__name__}'s result", _where()))
                    return False
                _random.set_rng_state(state)
                for step in steps:
                    step.run(env, None, self.inputs)
                if not _same(env[out], expected):
                    return False
                if not backward:
                    return True
                grads = cls.backward(ctx, np.array(_materialize(backward[1], env), copy=True))
                grads = grads if type(grads) is tuple else (grads,)
                for step in later:
                    step.run(env, None, self.inputs)
                recorded = [env[g.k] if type(g) is _Ref else g for g in backward[2]]
                return len(grads) == len(recorded) and all(_same(x, y) for x, y in zip(recorded, grads))
        except Exception:  # (an op that refuses other values stays one kernel)
            return False

    def fresh_copy(self, array: np.ndarray, value: np.ndarray) -> None:
        k = self.new_slot(array)

        def run(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
            env[k] = value.copy()

        step = _Step("read", "copy of a constant", _where(), set(), (k,))
        step.run = run
        self.add(step)

    def numpy_step(self, func: Any, args: Any, kwargs: Any, result: Any, label: str) -> Any:
        template, kw_template = self.resolve(tuple(args)), self.resolve(kwargs)
        where = _where()
        if result is None and label.startswith("np.") and template and type(template[0]) is _Ref:
            ks: tuple[int, ...] = (template[0].k,)  # np.put_along_axis and the like: wrote into args[0]
            shown: Any = None
        elif "out" in kwargs:  # written into an array that already has a slot: return that array
            outs = kwargs["out"]
            outs = outs if isinstance(outs, tuple) else (outs,)
            ks = tuple(_refs(self.resolve(o), set()).pop() for o in outs if isinstance(o, np.ndarray))
            shown = outs[0] if len(outs) == 1 else outs
        elif label == "ndarray.__setitem__" or label == "ndarray.fill":
            ks = tuple(_refs(template[0], set()))
            shown = result
        else:
            shown, ks = self.outputs(result)
            if not ks:
                if isinstance(result, (bool, int, float, np.bool_)):
                    self.taint(f"{label} returned the Python value {result!r} ({where})")
                return result
        inplace = "out" in kwargs or label in ("ndarray.__setitem__", "ndarray.fill") or result is None
        uses = _refs(template, set()) | _refs(kw_template, set())
        if not inplace and not self.lowering:  # (inside an op, verify checks the op's result)
            masked = label == "ndarray.__getitem__" and any(self.arrays[k].dtype == bool for k in uses)
            if label in _VALUE_SHAPED or masked or uses & self.varying:
                self.varying.update(k for k in ks if self.arrays[k].ndim)  # (a 0-d sum of it is fixed)
        if isinstance(result, np.generic):  # NOTE: a 0-d array in the replay too (as its slot is)
            func = _array_result(func)
        run = _numpy_kernel(func, template, kw_template, ks, inplace)
        step = _Step("numpy", label, where, uses, ks)
        step.run = run
        nested = any(type(x) is not _Ref and _has_ref(x) for x in template)
        u = _ufunc_call(func)
        out = kw_template.get("out") if u is not None and len(template) == u.nin else None
        if type(out) is tuple and len(out) == 1:
            out = out[0]
        if type(out) is _Ref and not nested:  # ufunc(a, b, out=c) as ufunc(a, b, c): written out too
            rest = {name: v for name, v in kw_template.items() if name != "out"}
            if not _has_ref(rest):
                step.spec = (func, (*template, out), rest, None)
        elif len(ks) == 1 and not nested and not _has_ref(kw_template):  # written out inline (_generate)
            step.spec = (func, template, kw_template, None if inplace else ks[0])
        self.add(step)
        return shown

    def guard(self, k: int, value: Any, what: str) -> None:
        where = _where()
        convert = {"bool": bool, "int": int, "index": operator.index, "float": float}[what]
        if what == "float" and type(value) is bool:
            convert, what = _isfinite, "isfinite"

        def check(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
            now = convert(env[k])
            if now != value:
                raise CompileError(
                    f"compile: the recorded step branched on a value of the step ({what}() at {where}): "
                    f"it was {value!r} when captured and is {now!r} now. Python control flow that depends "
                    "on tensor values cannot be replayed; move the branch out of the compiled function or "
                    "call it uncompiled."
                )

        step = _Step("guard", f"guard {what}() == {value!r}", where, {k}, ())
        step.run, step.spec = check, (k, convert, value)
        self.add(step)

    def inplace(
        self, method: Any, t: Tensor, args: tuple[Any, ...], kwargs: dict[str, Any], name: str
    ) -> Any:
        k = self.tensor_slot(t)
        template, kw_template = self.resolve(args), self.resolve(kwargs)
        fill, kw = _filler(template), kw_template
        uses = _refs(template, set()) | _refs(kw_template, set())
        if k is not None and id(t) in self.live:  # a live tensor (parameter, buffer): change it in place
            live = self.live_tensor(t)

            def run(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
                method(live(inputs), *fill(env), **kw)

        elif k is not None:  # an array of the step: change its slot's array in place

            def run(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
                method(Tensor._make(env[k]), *fill(env), **kw)

            uses.add(k)
        else:

            def run(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
                method(t, *fill(env), **kw)

        self.depth += 1
        try:
            result = method(t, *args, **kwargs)
        finally:
            self.depth -= 1
        step = _Step("inplace", f"Tensor.{name}", _where(), uses, () if k is None else (k,))
        step.run = run if grad_state.enabled else _without_grad(run)  # (a parameter updated under no_grad)
        self.add(step)
        return result

    def set_data(self, t: Tensor, value: Any) -> None:
        """``t.data = value`` on a tensor read live (a manual parameter update)."""
        template = self.resolve(value)
        live = self.live_tensor(t)

        def run(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
            _DATA.__set__(live(inputs), _materialize(template, env))

        step = _Step("set", "Tensor.data =", _where(), _refs(template, set()), ())
        step.run = run
        self.add(step)

    def set_grad(self, t: Tensor, value: Any) -> None:
        if value is not None:
            self.taint(f"a .grad assigned a tensor inside the step ({_where()})")
            return
        index = self.arg_index.get(id(t))

        def run(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
            _GRAD.__set__(t if index is None else inputs[index], None)

        step = _Step("set", "Tensor.grad = None", _where(), set(), ())
        step.run, step.spec = run, (t, index)
        self.add(step)

    def call(self, func: Any, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> Any:
        """A method run live at each replay (optimizer.step, zero_grad, scheduler.step)."""
        if any(callable(a) for a in args) or any(callable(v) for v in kwargs.values()):
            self.taint(f"{name} was given a closure ({_where()})")
        template, kw_template = self.resolve(args), self.resolve(kwargs)
        fill = _filler(template)
        self.depth += 1
        try:
            result = func(obj, *args, **kwargs)
        finally:
            self.depth -= 1

        def run(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
            func(obj, *fill(env), **kw_template)

        run.observe = lambda inputs: _observe_object(obj)  # type: ignore[attr-defined]
        step = _Step("call", name, _where(), _refs(template, set()) | _refs(kw_template, set()), ())
        step.run = run
        if not template and not kw_template:
            step.spec = (func, obj)
        self.add(step)
        if obj not in self.p.objects:
            self.p.objects.append(obj)
        return result

    def backward(
        self, roots: list[tuple[Tensor, Any]], retain_graph: Any, create_graph: bool, targets: Any
    ) -> bool:
        """Record a backward pass from the graph as it stands; False if it cannot be replayed."""
        where = _where()
        if create_graph or targets is not None:
            self.taint(f"autograd.grad or create_graph=True inside the step ({where})")
            return False
        root_nodes = [t._node for t, _ in roots if t._node is not None]
        waiting: dict[Any, int] = {}
        stack = []
        for root in root_nodes:  # NOTE: the engine's own order (engine._run), so sums add up alike
            if root not in waiting:
                waiting[root] = 0
                stack.append(root)
        while stack:
            node = stack.pop()
            if node not in self.node_step:
                self.taint(f"backward reaches a graph built outside the compiled step ({where})")
                return False
            if node._hooks is not None or node._retained is not None:
                self.taint(f"a tensor hook or retain_grad inside the step ({where})")
                return False
            for child in node.edges or ():
                if child is None:
                    continue
                if isinstance(child, Tensor):
                    if getattr(child, "_hooks", None) or getattr(child, "_post_acc_hooks", None):
                        self.taint(f"a leaf with hooks inside the step ({where})")
                        return False
                    continue
                if child in waiting:
                    waiting[child] += 1
                else:
                    waiting[child] = 1
                    stack.append(child)
        ready = [node for node in dict.fromkeys(root_nodes) if waiting[node] == 0]
        order, nodes = [], []
        while ready:
            node = ready.pop()
            edges = []
            for edge in node.edges:
                if edge is None:
                    edges.append(None)
                elif isinstance(edge, Tensor):
                    index = self.arg_index.get(id(edge))
                    edges.append(
                        (True, edge if index is None else index, index is not None, edge.shape, edge.dtype)
                    )
                    if index is None:
                        self.keep.append(edge)
                else:
                    edges.append((False, self.node_step[edge], False, edge._shape, edge._dtype))
                    waiting[edge] -= 1
                    if waiting[edge] == 0:
                        ready.append(edge)
            order.append((self.node_step[node], type(node).backward, tuple(edges)))
            nodes.append(node)
        root_grads = []
        uses: set[int] = set()
        for t, g in roots:
            template = self.resolve(g)
            _refs(template, uses)
            if t._node is None:
                index = self.arg_index.get(id(t))
                root_grads.append(
                    (
                        None,
                        (True, t if index is None else index, index is not None, t.shape, t.dtype),
                        template,
                    )
                )
            else:
                root_grads.append((self.node_step[t._node], None, template))
        retain = bool(retain_graph)
        leaves = []
        for _, _, edges in order:
            for e in edges:
                if e is not None and e[0] and not e[2] and all(e[1] is not x for x in leaves):
                    leaves.append(e[1])
        run = _backward_kernel(root_grads, order, retain, self.p.n_ctx)
        run.observe = lambda inputs: [  # type: ignore[attr-defined]
            None if t.grad is None else np.array(t.grad.data, copy=True) for t in leaves
        ]
        step = _Step("backward", f"backward ({len(order)} nodes)", where, uses, ())
        step.run, step.spec = run, (root_grads, order, retain)
        mark = len(self.p.steps)
        if self.no_lowering is None and self.lower_backward(root_grads, order, nodes, retain):
            step.sub, step.lowered = (mark, len(self.p.steps)), True
        else:
            self.drop_steps(mark)
            for index, _, _ in order:
                self.keep_whole(index, f"a backward pass replayed node by node ({where})")
        self.add(step)
        return True

    def lower_backward(self, root_grads: list[Any], order: list[Any], nodes: list[Any], retain: bool) -> bool:
        """Record the backward pass as kernels, in the engine's order: each node's backward as
        the NumPy calls inside it (where its forward was lowered too) or as one call on its
        ctx, the gradients fitted and summed, and delivered into the leaves' .grad."""
        depth, self.depth = self.depth, 0
        previous, grad_state.enabled = grad_state.enabled, False
        self.lowering, self.lower_failed = True, None
        try:
            pending: dict[int, Any] = {}
            for node, leaf, template in root_grads:
                if _has_ref(template) and type(template) is not _Ref:
                    return False
                g = self.traced(self.arrays[template.k], template.k) if type(template) is _Ref else template
                if node is None:
                    self.deliver(leaf[1], leaf[2], g, True)
                else:
                    pending[node] = g if node not in pending else pending[node] + g
            for (index, backward, edges), node in zip(order, nodes):
                g = pending.pop(index, None)
                if g is None:
                    continue
                grads = self.node_grads(index, backward, node, g, retain)
                if len(grads) != len(edges):
                    return False
                for edge, gi in zip(edges, grads):
                    if edge is None or gi is None:
                        continue
                    is_leaf, target, by_arg, shape, dtype = edge
                    if not isinstance(gi, np.ndarray):
                        gi = np.asarray(gi)
                    if gi.shape != shape:
                        gi = sum_to(gi, shape)
                    if gi.dtype != dtype:
                        gi = gi.astype(dtype)
                    if is_leaf:  # as the engine: .grad must own its array
                        raw, g_raw = self.unwrap(gi), self.unwrap(g)
                        shared = raw is g_raw or raw.base is not None or _is_in(raw, node.saved or ())
                        self.deliver(target, by_arg, gi, shared)
                    else:
                        so_far = pending.get(target)
                        pending[target] = gi if so_far is None else so_far + gi
            return self.lower_failed is None
        except Exception:  # (the backward pass then replays node by node, as recorded above)
            return False
        finally:
            self.depth, self.lowering = depth, False
            grad_state.enabled = previous

    def node_grads(self, index: int, backward: Any, node: Any, g: Any, retain: bool) -> tuple[Any, ...]:
        """One node's input gradients, traced: from the NumPy calls of its backward if its
        forward was lowered and they compute what it does (verify), else from a call on its ctx."""
        step = self.forward_of.get(index)
        ctx = object.__new__(type(node))
        ctx.__dict__.update(node.__dict__)  # (a copy: the engine runs the node itself afterwards)
        if step is not None and step.lowered:
            mark = len(self.p.steps)
            grads: Any = None
            traced_ctx = object.__new__(type(node))  # what forward saved, traced
            traced_ctx.__dict__.update({name: self.trace_in(v) for name, v in node.__dict__.items()})
            try:
                grads = self.lowered_call(backward, traced_ctx, (g,), {})
            except Exception:
                self.lower_failed = self.lower_failed or "its backward failed on traced arrays"
            grads = grads if type(grads) is tuple else (grads,)
            refs, g_ref = tuple(_slot_ref(gi) for gi in grads), _slot_ref(g)
            cls, template, kw, pattern, out = step.spec[:5]
            ok = self.lower_failed is None and all(r is None or type(r) is _Ref for r in refs)
            if ok and self.verify(
                cls, template, kw, pattern, self.p.steps[slice(*step.sub)], out,
                (self.p.steps[mark:], g_ref, refs),
            ):  # fmt: skip
                self.lowered_backward.add(index)
                self.lowering = True
                return grads
            self.drop_steps(mark)
            self.lower_failed = None
            self.keep_whole(index, f"{type(node).__name__}'s backward, lowered once, could not be again")
        self.lowering = True
        g_arg = _slot_ref(g)
        if isinstance(g_arg, _Traced):
            raise TypeError("a gradient made by a call the tracer did not see")
        self.depth += 1
        try:
            grads = backward(ctx, self.unwrap(g))
        finally:
            self.depth -= 1
        grads = grads if type(grads) is tuple else (grads,)
        outs: list[int | None] = []
        traced: list[Any] = []
        for gi in grads:
            if gi is None:
                outs.append(None)
                traced.append(None)
                continue
            gi = np.asarray(gi) if isinstance(gi, np.generic) else gi
            if type(gi) is not np.ndarray:
                raise TypeError("a backward returned something other than arrays")
            k = self.new_slot(gi)
            outs.append(k)
            traced.append(self.traced(gi, k))
        step = _Step("nodebw", f"{type(node).__name__}.backward", _where(), _refs(g_arg, set()), ())
        step.outs = tuple(k for k in outs if k is not None)
        step.spec = (index, backward, g_arg, tuple(outs), retain)
        step.run = _node_backward_kernel(*step.spec)
        self.add(step)
        return tuple(traced)

    def deliver(self, target: Any, by_arg: bool, gi: Any, shared: bool) -> None:
        """A gradient accumulated into a leaf's .grad, as engine._deliver."""
        g = _slot_ref(gi)
        if type(g) is not _Ref and (isinstance(g, _Traced) or not isinstance(g, np.ndarray)):
            raise TypeError("a gradient that is not an array of the step")
        step = _Step("deliver", "Tensor.grad += ", _where(), _refs(g, set()), ())
        step.spec = (target, by_arg, g, shared)
        step.run = _deliver_kernel(target, by_arg, g, shared)
        self.add(step)


def _forward_kernel(
    cls: type, template: tuple[Any, ...], kw: dict[str, Any], pattern: tuple[Any, ...], k: int,
    ctx_index: int | None, scalar_fix: bool,
) -> Callable[..., None]:  # fmt: skip
    """One op's forward, as Function.apply runs it, without the Tensor and graph work."""
    fill = _filler(template)
    forward = cls.forward
    nested_kw = _has_ref(kw)

    def run(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
        ctx = cls()
        ctx.edges = pattern
        out = forward(ctx, *fill(env), **(_materialize(kw, env) if nested_kw else kw))
        if scalar_fix and type(out) is not np.ndarray:
            out = _scalar_fix(ctx, out)
        env[k] = out
        if ctx_index is not None:
            ctxs[ctx_index] = ctx

    return run


def _without_grad(run: Callable[..., None]) -> Callable[..., None]:
    """A kernel run under no_grad, as it was recorded."""

    def without_grad(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
        previous = grad_state.enabled
        grad_state.enabled = False
        try:
            run(env, ctxs, inputs)
        finally:
            grad_state.enabled = previous

    return without_grad


def _forward_on(cls: type, pattern: Any, template: Any, kw: Any, env: list[Any]) -> tuple[Any, Any]:
    """An op's forward on a fresh ctx, its arguments taken from ``env``: (ctx, result)."""
    ctx = cls()
    ctx.edges = pattern
    return ctx, cls.forward(ctx, *_materialize(list(template), env), **_materialize(kw, env))


def _node_backward_kernel(
    index: int, backward: Any, g: Any, outs: tuple[int | None, ...], retain: bool
) -> Callable[..., None]:
    """One node's backward called on its ctx (a node whose op is not lowered)."""

    def run(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
        previous = grad_state.enabled
        grad_state.enabled = False
        try:
            grads = backward(ctxs[index], env[g.k] if type(g) is _Ref else g)
        finally:
            grad_state.enabled = previous
        grads = grads if type(grads) is tuple else (grads,)
        for k, gi in zip(outs, grads):
            if k is not None:
                env[k] = _arr(gi)
        if not retain:
            ctxs[index] = None

    return run


def _array_result(func: Any) -> Callable[..., Any]:
    """``func`` answering a 0-d array where NumPy answers a scalar (a sum of all elements):
    the kernels after it were recorded on an array, and ndarray's methods refuse scalars."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return np.asarray(func(*args, **kwargs))

    return call


def _slot_ref(x: Any) -> Any:
    """A traced array as the reference to its slot; anything else as it is."""
    return _Ref(x._slot) if isinstance(x, _Traced) and x._slot is not None else x


def _arr(x: Any) -> Any:
    return x if type(x) is np.ndarray else np.asarray(x)


def _deliver_kernel(target: Any, by_arg: bool, g: Any, shared: bool) -> Callable[..., None]:
    def run(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
        _deliver(target, by_arg, env[g.k] if type(g) is _Ref else g, inputs, shared)

    return run


def _scalar_fix(ctx: Any, out: Any) -> np.ndarray:
    # NOTE: as Function.apply: NumPy returns scalars from 0-d ops; keep saved and result alike
    scalar, out = out, np.asarray(out)
    if ctx.saved:
        ctx.saved = tuple([out if s is scalar else s for s in ctx.saved])
    return out


def _numpy_kernel(
    func: Any, template: tuple[Any, ...], kw: dict[str, Any], ks: tuple[int, ...], inplace: bool
) -> Callable[..., None]:
    fill = _filler(template)
    nested_kw = _has_ref(kw)
    if inplace:

        def run(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
            func(*fill(env), **(_materialize(kw, env) if nested_kw else kw))

    elif len(ks) == 1:
        (k,) = ks

        def run(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
            env[k] = func(*fill(env), **(_materialize(kw, env) if nested_kw else kw))

    else:

        def run(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
            results = func(*fill(env), **(_materialize(kw, env) if nested_kw else kw))
            for k, r in zip(ks, results):
                env[k] = r

    return run


def _backward_kernel(
    root_grads: list[Any], order: list[Any], retain: bool, n_ctx: int
) -> Callable[..., None]:
    """The backward pass in the recorded order, summing and accumulating as engine._run does."""
    # per node: its ctx index, its backward, and (position, is_leaf, target, by_arg, shape, dtype)
    # for each input that takes a gradient
    plan = [
        (index, backward, tuple((pos, *edge) for pos, edge in enumerate(edges) if edge is not None))
        for index, backward, edges in order
    ]
    keep = retain

    def run(env: list[Any], ctxs: list[Any], inputs: Any) -> None:
        pending: list[Any] = [None] * n_ctx  # node -> the gradient of its output, summed so far
        for node, leaf, template in root_grads:
            g = _materialize(template, env)
            if node is None:
                _deliver(leaf[1], leaf[2], g, inputs, True)
            else:
                pending[node] = g if pending[node] is None else pending[node] + g
        previous = grad_state.enabled
        grad_state.enabled = False
        try:
            for index, backward, edges in plan:
                g = pending[index]
                if g is None:  # no gradient reached this node
                    if not keep:
                        ctxs[index] = None
                    continue
                pending[index] = None
                ctx = ctxs[index]
                grads = backward(ctx, g)
                if type(grads) is not tuple:
                    grads = (grads,)
                for pos, is_leaf, target, by_arg, shape, dtype in edges:
                    gi = grads[pos]
                    if gi is None:
                        continue
                    if type(gi) is not np.ndarray or gi.shape != shape or gi.dtype != dtype:
                        gi = _fit(gi, shape, dtype)
                    if is_leaf:
                        # NOTE: as the engine: a gradient shared with something else is copied into .grad
                        shared = gi is g or gi.base is not None
                        if not shared:
                            for s in ctx.saved:
                                shared = shared or s is gi
                        _deliver(target, by_arg, gi, inputs, shared)
                    else:
                        so_far = pending[target]
                        pending[target] = gi if so_far is None else so_far + gi
                if not keep:
                    ctxs[index] = None  # auto-removal, as in eager mode
        finally:
            grad_state.enabled = previous

    return run


def _fit(gi: Any, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """As engine._fit: bring a gradient to its input's shape (sum over broadcast dims) and dtype."""
    if type(gi) is not np.ndarray:
        gi = np.asarray(gi.data if isinstance(gi, Tensor) else gi)
    if gi.shape != shape:
        gi = sum_to(gi, shape)
    if gi.dtype != dtype:
        gi = gi.astype(dtype)
    return gi


def _deliver(target: Any, by_arg: bool, g: np.ndarray, inputs: Any, shared: bool) -> None:
    """As engine._deliver: accumulate into a leaf's .grad (a new array, never in place)."""
    t = inputs[target] if by_arg else target
    if t.grad is None:
        t.grad = Tensor._make(g.copy() if shared else g)
    else:
        t.grad.data = t.grad.data + g


# ---- the replay written out as one Python function ---------------------------------------------------
def _generate(p: _Program) -> tuple[Callable[..., None], Callable[..., None], str]:
    """The kernels as straight-line Python: forward and backward inline, slots, ctxs and pending
    gradients in local variables, the other kernels called. It does what the kernels' ``run``
    closures do one after the other (check=True replays those), without their loops."""
    ns: dict[str, Any] = {"ndarray": np.ndarray, "_fit": _fit, "_scalar_fix": _scalar_fix, "_arr": _arr}
    ns.update(
        _in=_is_in, _make=Tensor._make, _deliver=_deliver, _materialize=_materialize, grad_state=grad_state
    )
    guards = _guard_lines(p, ns)
    lines = ["def replay(inputs):", *guards, f"    env = [None] * {p.n_slots}"]
    for k, i, is_tensor in p.arg_slots:
        lines.append(f"    s{k} = inputs[{i}]{'.data' if is_tensor else ''}")
    # NOTE: slot k lives in the local variable s{k} (a local is cheaper than env[k]); a kernel
    # that is called rather than written out gets its slots through env, copied in before
    # and out after it, and cleared with the local when the slot is dropped
    in_env: set[int] = set()

    def to_env(keys: Any) -> None:
        for k in sorted(keys):
            lines.append(f"    env[{k}] = s{k}")
            in_env.add(k)

    def from_env(keys: Any) -> None:
        for k in keys:
            lines.append(f"    s{k} = env[{k}]")
            in_env.add(k)

    def const(name: str, value: Any) -> str:
        ns[name] = value
        return name

    def arg(name: str, x: Any) -> str:
        return f"s{x.k}" if type(x) is _Ref else const(name, x)

    for i, step in enumerate(p.steps):
        spec = step.spec
        # NOTE: the source holds only generated names and integers; every value (ops, constants,
        # tensors) reaches it through ns as an object. The comment is the one piece of text from
        # elsewhere (a class name, a file name), so it is kept to one line
        comment = f"{step.label}  ({step.where})".replace("\n", " ").replace("\r", " ")
        lines.append(f"    # {comment}")
        if step.kind == "forward" and spec is not None:
            cls, template, kw, pattern, k, ctx_index, fix = spec
            c = "c" if ctx_index is None else f"c{ctx_index}"
            nested = [j for j, x in enumerate(template) if type(x) is not _Ref and _has_ref(x)]
            if nested or _has_ref(kw):  # slots inside a list or a keyword: built from env
                to_env(step.uses)
            args = ", ".join(
                [c]
                + [
                    f"_materialize({const(f'a{i}_{j}', x)}, env)" if j in nested else arg(f"a{i}_{j}", x)
                    for j, x in enumerate(template)
                ]
            )
            kwargs = f", **{const(f'kw{i}', kw)}" if kw else ""
            if _has_ref(kw):
                kwargs = f", **_materialize({const(f'kw{i}', kw)}, env)"
            lines.append(f"    {c} = {const(f'C{i}', cls)}(); {c}.edges = {const(f'P{i}', pattern)}")
            lines.append(f"    o = {const(f'F{i}', cls.forward)}({args}{kwargs})")
            fixed = f"o if type(o) is ndarray else _scalar_fix({c}, o)" if fix else "o"
            lines.append(f"    s{k} = {fixed}")
        elif step.kind == "backward" and spec is not None:
            if any(type(t) is not _Ref and _has_ref(t) for _, _, t in spec[0]):
                to_env(step.uses)  # a root gradient built by _materialize(template, env)
            lines.extend(_generate_backward(i, spec, const, arg))
        elif step.kind == "numpy" and spec is not None:
            func, template, kw, k = spec
            call_args = [arg(f"a{i}_{j}", x) for j, x in enumerate(template)]
            u = _ufunc_call(func)
            func = u or func
            if k in p.buffers:  # the ufunc's out, given by position
                call_args.append(const(f"BF{k}", p.buffers[k]))
            if u is not None and len(call_args) > u.nin and u in (np.maximum, np.minimum):
                call_args[-1] = f"out={call_args[-1]}"  # (NumPy deprecates a positional out for these)
            call = ", ".join(call_args)
            kwargs = f", **{const(f'kw{i}', kw)}" if kw else ""
            lines.append(f"    {'' if k is None else f's{k} = '}{const(f'N{i}', func)}({call}{kwargs})")
        elif step.kind == "nodebw":
            index, backward, g, outs, retain = spec
            lines.append("    grad_state.enabled = False")
            lines.append(f"    try:\n        gs = {const(f'B{i}', backward)}(c{index}, {arg(f'g{i}', g)})")
            lines.append("    finally:\n        grad_state.enabled = GE")
            lines.append("    if type(gs) is not tuple: gs = (gs,)")
            for pos, k in enumerate(outs):
                if k is not None:
                    lines.append(f"    s{k} = _arr(gs[{pos}])")
            if not retain:
                lines.append(f"    c{index} = None")
        elif step.kind == "deliver":  # as engine._deliver
            target, by_arg, g, shared = spec
            value = arg(f"g{i}", g)
            lines.append(f"    t = {f'inputs[{target}]' if by_arg else const(f'L{i}', target)}")
            lines.append(f"    if t.grad is None: t.grad = _make({value}{'.copy()' if shared else ''})")
            lines.append(f"    else: t.grad.data = t.grad.data + {value}")
        elif step.kind == "read" and spec is not None:
            lines.append(f"    s{spec[1]} = {const(f'T{i}', spec[0])}.data")
        elif step.kind == "set" and spec is not None:
            t = const(f"T{i}", spec[0]) if spec[1] is None else f"inputs[{spec[1]}]"
            lines.append(f"    {t}.grad = None")
        elif step.kind == "call" and spec is not None:
            lines.append(f"    {const(f'M{i}', spec[0])}({const(f'O{i}', spec[1])})")
        elif step.kind == "guard" and spec is not None:  # the kernel runs only to raise its error
            k, convert, value = spec
            check = f"{const(f'G{i}', convert)}(s{k}) != {const(f'V{i}', value)}"
            lines.append(f"    if {check}: env[{k}] = s{k}; {const(f'K{i}', step.run)}(env, None, inputs)")
        else:
            to_env(step.uses)
            lines.append(f"    {const(f'K{i}', step.run)}(env, None, inputs)")
            from_env(step.outs)
        if step.free:
            dropped = [f"s{k}" for k in step.free] + [f"env[{k}]" for k in step.free if k in in_env]
            lines.append("    " + " = ".join(dropped) + " = None")
    to_env(_refs(p.result, set()))
    lines.append(f"    return _materialize({const('R', p.result)}, env, True)")
    source = "\n".join(lines) + "\n"
    exec(_code_of(source), ns)  # see the NOTE above
    exec(_code_of("\n".join(["def guards(inputs):", *guards, "    return None"]) + "\n"), ns)
    return ns["replay"], ns["guards"], source


def _guard_lines(p: _Program, ns: dict[str, Any]) -> list[str]:
    """The replay's first lines: every guard of the recording (what selects it in
    CompiledFunction.__call__: the arguments' signature and grad mode, then the rest),
    returning _MISS when one fails, so that the recording replayed last can be tried
    directly. The same lines, alone, are the recording's ``guards`` (guards_hold)."""
    ns.update(_MISS=_MISS, Tensor=Tensor, _id=id)
    miss = "return _MISS"
    lines = [f"    if len(inputs) != {len(p.signature)} or grad_state.enabled != GE: {miss}"]
    ns["GE"] = p.grad_enabled
    for i, sig in enumerate(p.signature):
        lines.append(f"    a = inputs[{i}]")
        if sig[0] == "tensor":
            ns[f"GS{i}"], ns[f"GD{i}"], ns[f"GR{i}"] = sig[1:]
            lines.append(f"    if not isinstance(a, Tensor) or a.requires_grad != GR{i}: {miss}")
            lines.append(f"    d = a.data\n    if d.shape != GS{i} or d.dtype is not GD{i}: {miss}")
        elif sig[0] == "array":
            ns[f"GS{i}"], ns[f"GD{i}"] = sig[1:]
            check = f"a.shape != GS{i} or a.dtype is not GD{i}"
            lines.append(f"    if isinstance(a, Tensor) or not isinstance(a, ndarray) or {check}: {miss}")
        elif sig[0] == "value":
            ns[f"GT{i}"], ns[f"GV{i}"] = sig[1:]
            lines.append(f"    if type(a) is not GT{i} or a != GV{i}: {miss}")
        else:
            ns[f"GI{i}"] = sig[1]
            lines.append(f"    if _id(a) != GI{i}: {miss}")
    for j, (t, shape, dtype) in enumerate(p.live_checks):
        ns[f"LT{j}"], ns[f"LS{j}"], ns[f"LD{j}"] = t, shape, dtype
        lines.append(f"    d = LT{j}.data\n    if d.shape != LS{j} or d.dtype is not LD{j}: {miss}")
    for j, (m, training) in enumerate(p.module_checks):
        ns[f"MM{j}"] = m
        lines.append(f"    if MM{j}.training is not {bool(training)}: {miss}")
    # NOTE: a table's entries by identity, one dict lookup each (not the ids, which a new
    # tensor could reuse; the recording holds the tensors anyway, to read them)
    for j, table in enumerate(p.table_checks):
        ns[f"TB{j}"] = table
        same = [f"len(TB{j}) != {len(table)}"]
        for n, (name, value) in enumerate(table.items()):
            ns[f"TK{j}_{n}"], ns[f"TV{j}_{n}"] = name, value
            same.append(f"TB{j}.get(TK{j}_{n}) is not TV{j}_{n}")
        lines.append(f"    if {' or '.join(same)}: {miss}")
    return lines


@functools.lru_cache(maxsize=64)
def _code_of(source: str) -> Any:
    """The compiled source of a replay. Cached: Python's compiler takes ~1 ms on a replay's
    source, more than a replay, and two recordings that differ only in their constants (shapes
    of another batch size, another model of the same architecture) have the same source."""
    return builtins.compile(source, "<ng.compile replay>", "exec")


def _generate_backward(i: int, spec: tuple[Any, ...], const: Any, arg: Any) -> list[str]:
    root_grads, order, retain = spec
    lines = [f"    p{index} = None" for index, _, _ in order]
    for j, (node, leaf, template) in enumerate(root_grads):
        if type(template) is not _Ref and _has_ref(template):
            g = f"_materialize({const(f'r{i}_{j}', template)}, env)"
        else:
            g = arg(f"r{i}_{j}", template)
        if node is None:
            lines.append(f"    _deliver({const(f'L{i}_r{j}', leaf[1])}, {leaf[2]}, {g}, inputs, True)")
        else:
            lines.append(f"    p{node} = {g} if p{node} is None else p{node} + {g}")
    lines += ["    previous = grad_state.enabled", "    grad_state.enabled = False", "    try:"]
    for index, backward, edges in order:
        c = f"c{index}"
        lines.append(f"        if p{index} is not None:")
        lines.append(f"            g = p{index}; p{index} = None")
        lines.append(f"            gs = {const(f'B{index}', backward)}({c}, g)")
        lines.append("            if type(gs) is not tuple: gs = (gs,)")
        for pos, edge in enumerate(edges):
            if edge is None:
                continue
            is_leaf, target, by_arg, shape, dtype = edge
            shape_name, dtype_name = const(f"S{index}_{pos}", shape), const(f"D{index}_{pos}", dtype)
            lines.append(f"            gi = gs[{pos}]")
            lines.append("            if gi is not None:")
            fits = f"gi.shape != {shape_name} or gi.dtype is not {dtype_name}"
            lines.append(f"                if type(gi) is not ndarray or {fits}:")
            lines.append(f"                    gi = _fit(gi, {shape_name}, {dtype_name})")
            if is_leaf:  # as engine._deliver: .grad owns its array; a later gradient adds out of place
                t = f"inputs[{target}]" if by_arg else const(f"L{index}_{pos}", target)
                lines.append(f"                t = {t}")
                lines.append("                if t.grad is None:")
                lines.append(f"                    if gi is g or gi.base is not None or _in(gi, {c}.saved):")
                lines.append("                        gi = gi.copy()")
                lines.append("                    t.grad = _make(gi)")
                lines.append("                else:")
                lines.append("                    t.grad.data = t.grad.data + gi")
            else:
                lines.append(f"                p{target} = gi if p{target} is None else p{target} + gi")
        if not retain:
            lines.append(f"        {c} = None")
    lines += ["    finally:", "        grad_state.enabled = previous"]
    return lines


def _is_in(x: Any, items: tuple[Any, ...]) -> bool:
    """Whether ``x`` is one of ``items`` (by identity: ``in`` would compare arrays by value)."""
    for item in items:
        if item is x:
            return True
    return False


# ---- capture: the patches --------------------------------------------------------------------------
def _capture(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], inputs: tuple[Any, ...],
    strict: bool, log: bool = False,
) -> tuple[_Program, Any]:  # fmt: skip
    """Run ``fn`` eagerly with the recorder on; return its recording and its (eager) result."""
    global _recorder
    with _lock:
        if _recorder is not None:
            raise CompileError("compile: a compiled function was called while another one is being captured")
        rec = _Recorder(inputs, log)
        rec.p.signature, rec.p.grad_enabled = tuple(map(_signature, inputs)), grad_state.enabled
        undo = _install(rec)
        _recorder = rec
        try:
            result = fn(*args, **kwargs)
            rec.p.result = rec.resolve(result) if _has_tensor(result) else result
            if _refs(rec.p.result, set()) & rec.varying:
                rec.taint(_VARYING.format("a result", getattr(fn, "__name__", "?")))
        finally:
            _recorder = None
            for restore in reversed(undo):
                restore()
    program = rec.p
    program.module_checks, program.table_checks = _module_guards(fn, inputs)
    if rec.tainted:
        reason = rec.tainted[0]
        if strict:
            raise CompileError(f"compile: cannot capture {getattr(fn, '__name__', fn)!r}: {reason}")
        warnings.warn(
            f"compile: {getattr(fn, '__name__', fn)!r} runs eagerly: {reason}. Read values and print "
            "outside the compiled function.",
            CompileWarning,
            stacklevel=3,
        )
        program.eager_reason = reason
        program.steps = []
    _choose(program, rec)
    _plan_memory(program, rec.arrays)
    program.log = rec.log
    return program, _plain_result(result)


def _has_tensor(x: Any) -> bool:
    if isinstance(x, Tensor):
        return True
    if type(x) in (tuple, list):
        return any(_has_tensor(y) for y in x)
    if type(x) is dict:
        return any(_has_tensor(v) for v in x.values())
    return False


def _plain_result(x: Any) -> Any:
    """The eager result as a replay returns it: tensors outside the graph, on plain arrays."""
    if isinstance(x, Tensor):
        d = _DATA.__get__(x, Tensor)
        return Tensor._make(np.ndarray.view(d, np.ndarray) if isinstance(d, _Traced) else d)
    if type(x) in (tuple, list):
        return type(x)(_plain_result(y) for y in x)
    if type(x) is dict:
        return {k: _plain_result(v) for k, v in x.items()}
    return x


def _choose(p: _Program, rec: _Recorder) -> None:
    """For each op and backward pass recorded both ways keep one: the NumPy calls inside it
    (lowered), or the whole op (a call of its forward or backward, on a ctx)."""
    drop: set[int] = set()
    for i, step in enumerate(p.steps):
        if step.sub is not None:
            if step.lowered and rec.no_lowering is None:
                drop.add(i)
            else:
                drop.update(range(*step.sub))
    p.steps = [step for i, step in enumerate(p.steps) if i not in drop]
    if rec.log is not None:
        rec.log[:] = [entry for i, entry in enumerate(rec.log) if i not in drop]


def _plan_memory(p: _Program, arrays: list[Any]) -> None:
    """Drop each slot right after the kernel that uses it last (results and live slots excepted);
    give the results of elementwise kernels preallocated buffers (_plan_buffers)."""
    last: dict[int, int] = {}
    for i, step in enumerate(p.steps):
        for k in step.uses:
            last[k] = i
        for k in step.outs:
            last.setdefault(k, i)
            last[k] = max(last[k], i)
    keep = _refs(p.result, set())
    frees: dict[int, list[int]] = {}
    for k, i in last.items():
        if k not in keep:
            frees.setdefault(i, []).append(k)
    for i, step in enumerate(p.steps):
        step.free = tuple(frees.get(i, ()))
    p.buffers, p.buffer_bytes = _plan_buffers(p, arrays, last, keep)
    p.code, p.guards, p.source = _generate(p)


def _ufunc_call(func: Any) -> np.ufunc | None:
    """The ufunc of a recorded ``ufunc.__call__`` (what the replay calls directly), else None."""
    u = getattr(func, "__self__", None)
    return u if isinstance(u, np.ufunc) and getattr(func, "__name__", "") == "__call__" else None


_FRESH = {  # NumPy calls whose result is always a new array (never a view of an argument)
    "np.dot", "np.matmul", "np.ones_like", "np.zeros_like", "np.empty_like", "np.full_like", "np.where",
    "np.copy", "ndarray.copy", "np.concatenate", "np.stack", "ndarray.dot", "np.clip", "ndarray.clip",
    "np.argmax", "np.argmin", "ndarray.argmax", "ndarray.argmin", "np.take", "ndarray.take",
    "ndarray.repeat", "ndarray.flatten", "ndarray.cumsum", "np.tensordot", "np.outer",
}  # fmt: skip


_VALUE_SHAPED = {  # NumPy calls whose result's shape depends on values
    "np.nonzero", "ndarray.nonzero", "np.flatnonzero", "np.argwhere", "np.unique", "np.compress",
    "np.extract",
}  # fmt: skip


def _fresh(label: str) -> bool:
    if label in _FRESH or label.startswith("generator."):
        return True
    return label.startswith("np.") and label.endswith((".__call__", ".reduce", ".accumulate", ".outer"))


def _plan_buffers(
    p: _Program, arrays: list[Any], last: dict[int, int], keep: set[int]
) -> tuple[dict[int, np.ndarray], int]:
    """Preallocated storage for the results of elementwise kernels, shared between slots whose
    lifetimes do not overlap: the replay passes it as the ufunc's ``out``.

    A slot gets a buffer when a ufunc call makes it as a new C-ordered array and nothing keeps
    it beyond the recording: not a result, not handed to a whole op, a .grad, an optimizer or
    an in-place tensor method. An array any other kernel makes may be a view of its inputs
    (a reshape, an index), so they count as one group: a buffer is free again only when the
    last array of its group has been used. Buffers are taken best fit from those free."""
    parent: dict[int, int] = {}

    def find(k: int) -> int:
        while parent.get(k, k) != k:
            k = parent[k]
        return k

    def join(outs: Any, uses: Any) -> None:
        for o in outs:
            for u in uses:
                a, b = find(o), find(u)
                if a != b:
                    parent[a] = b

    made: dict[int, int] = {}  # candidate slot -> the kernel that makes it
    held = set(keep)  # slots something outside the recording may keep
    # NOTE: an array whose shape depends on values (x[mask], nonzero) may have another shape
    # at the next replay, and so may all arrays computed from it: they get no buffer (a buffer
    # of the old shape would be an error, or worse, broadcast into)
    varying: set[int] = set()
    for i, step in enumerate(p.steps):
        spec = step.spec
        # (x[mask], or a whole op given a bool array: assumed to select by it)
        masked = step.label == "ndarray.__getitem__" or step.kind in ("forward", "nodebw")
        if not set(step.outs) <= step.uses and (
            step.label in _VALUE_SHAPED
            or (step.label == "np.where" and spec is not None and len(spec[1]) == 1)
            or step.uses & varying
            or (masked and any(arrays[k].dtype == np.bool_ for k in step.uses))
        ):  # fmt: skip
            varying.update(step.outs)
        if step.kind == "numpy":
            if spec is not None and spec[3] is not None:
                func, template, kw, k = spec
                u = _ufunc_call(func)
                a = arrays[k]
                if (
                    u is not None and u.nout == 1 and len(template) == u.nin and "out" not in kw
                    and k not in varying
                    and "where" not in kw and type(a) is np.ndarray and a.flags.c_contiguous
                    and a.dtype.kind in "biufc"
                ):  # fmt: skip
                    made[k] = i
            # NOTE: a kernel writing into its argument (out=, x[i] = v) or making a new array
            # makes no view; any other one may (reshape, transpose, indexing)
            if not set(step.outs) <= step.uses and not _fresh(step.label):
                join(step.outs, step.uses)
        elif step.kind != "guard":  # (NumPy calls keep nothing; whole ops, .grad, optimizers may)
            held.update(step.uses)
            held.update(step.outs)
            join(step.outs, step.uses)
    held_groups = {find(k) for k in held}
    end: dict[int, int] = {}
    for k, i in last.items():
        r = find(k)
        end[r] = max(end.get(r, i), i)
    # NOTE: the buffers live for good, so that the replay's peak stays at most what its arrays
    # take without them (what an eager step takes): the bytes each kernel's fresh arrays hold,
    # step by step, less those given buffers, plus the buffers, may not exceed that peak
    live = np.zeros(len(p.steps) + 1, np.int64)
    for i, step in enumerate(p.steps):
        for k in step.outs:
            allocates = _fresh(step.label) or step.kind in ("forward", "nodebw")
            if k in last and allocates and not set(step.outs) <= step.uses:
                live[i : end[find(k)] + 1] += arrays[k].nbytes
    ceiling = int(live.max()) if len(live) else 0
    # NOTE: the arrays alive at that peak first, each in a block of its own (together they
    # take no more than they did without buffers); then the others, each into a block big
    # enough and idle for its whole lifetime (best fit), or a new block if the peak allows
    peak = int(live.argmax()) if len(live) else 0
    wanted = [
        (k, i, end[find(k)], arrays[k].nbytes)
        for i, step in enumerate(p.steps)
        for k in step.outs
        if made.get(k) == i and find(k) not in held_groups
    ]
    wanted.sort(key=lambda c: (not c[1] <= peak <= c[2], -c[3]))
    sizes: list[int] = []  # bytes of each block
    busy: list[list[tuple[int, int]]] = []  # the lifetimes each block serves
    owner: dict[int, int] = {}  # slot -> its block
    for k, start, stop, n in wanted:
        idle = [
            b for b in range(len(sizes)) if sizes[b] >= n and all(e < start or s > stop for s, e in busy[b])
        ]  # fmt: skip
        live[start : stop + 1] -= n
        if idle:
            block = min(idle, key=sizes.__getitem__)
        elif sum(sizes) + n + int(live.max()) <= ceiling:
            block = len(sizes)
            sizes.append(n)
            busy.append([])
        else:  # a block of its own would raise the peak
            live[start : stop + 1] += n
            continue
        busy[block].append((start, stop))
        owner[k] = block
    storage = [np.empty(n, np.uint8) for n in sizes]
    buffers = {}
    for k, b in owner.items():
        a = arrays[k]
        buffers[k] = storage[b][: a.nbytes].view(a.dtype).reshape(a.shape)
    return buffers, sum(sizes)


def _install(rec: _Recorder) -> list[Callable[[], None]]:
    """Patch the classes whose calls are kernels; return the functions that undo each patch."""
    undo: list[Callable[[], None]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        old = owner.__dict__[name]
        setattr(owner, name, value)
        undo.append(lambda: setattr(owner, name, old))

    apply = Function.__dict__["apply"].__func__

    def traced_apply(cls: type, *args: Any, **kwargs: Any) -> Any:
        if rec.depth or rec.lowering:  # (inside an op being lowered: its NumPy calls are recorded)
            return apply(cls, *args, **kwargs)
        return rec.function(cls, args, kwargs, apply)

    patch(Function, "apply", classmethod(traced_apply))

    def get_data(t: Tensor) -> Any:
        raw = _DATA.__get__(t, Tensor)
        if rec.depth or type(raw) is not np.ndarray:
            if not rec.depth and backend.is_device_array(raw):
                rec.taint(_ON_DEVICE.format(backend.device_of(raw), _where()))
            return raw
        k = rec.tensor_slot(t)
        return raw if k is None else rec.traced(raw, k)

    def set_data(t: Tensor, value: Any) -> None:
        if isinstance(value, _Traced):
            k = value._slot
            value = np.ndarray.view(value, np.ndarray)
            if k is not None:
                rec.slot_of[id(value)] = k
                rec.keep.append(value)
        if not rec.depth and id(t) in rec.live:
            rec.set_data(t, value)
            rec.slot_of.setdefault(id(value), rec.live[id(t)])
        _DATA.__set__(t, value)

    patch(Tensor, "data", property(get_data, set_data))

    def set_grad(t: Tensor, value: Any) -> None:
        # NOTE: a tensor being made sets .grad before ._node: that is not the step's doing
        if not rec.depth and _made(t) and _NODE.__get__(t, Tensor) is None:
            rec.tensor_slot(t)  # a leaf: from now on read live
            if id(t) in rec.live:
                rec.set_grad(t, value)
        _GRAD.__set__(t, value)

    patch(Tensor, "grad", property(lambda t: _GRAD.__get__(t, Tensor), set_grad))

    run = engine._run

    def traced_run(roots: Any, retain_graph: Any, create_graph: bool, targets: Any = None) -> Any:
        if rec.depth:
            return run(roots, retain_graph, create_graph, targets)
        rec.depth += 1
        try:
            recorded = rec.backward(roots, retain_graph, create_graph, targets)
        finally:
            rec.depth -= 1
        rec.depth += 1
        try:
            return run(roots, retain_graph, create_graph, targets)
        finally:
            rec.depth -= 1
            if recorded and rec.log is not None:  # the gradients are known only now
                rec.log[-1] = (rec.log[-1][0], rec.observe(rec.p.steps[-1]))

    engine._run = traced_run
    undo.append(lambda: setattr(engine, "_run", run))

    for name in _INPLACE:
        patch(Tensor, name, _inplace_wrapper(rec, Tensor.__dict__[name], name))
    for name in ("item", "tolist", "numpy", "__array__", "__float__", "__int__", "__repr__", "__format__"):
        patch(Tensor, name, _reader(rec, Tensor.__dict__[name], name))

    # the methods that run live at each replay
    for module_name, class_name, methods in (
        ("neograd.optim.optimizer", "Optimizer", ("step", "zero_grad")),
        ("neograd.optim.lr_scheduler", "LRScheduler", ("step",)),
        ("neograd.optim.lr_scheduler", "ReduceLROnPlateau", ("step",)),
        ("neograd.nn.module", "Module", ("zero_grad",)),
    ):
        base = getattr(sys.modules.get(module_name), class_name, None)
        for cls in _subclasses(base) if base is not None else ():
            for name in methods:
                if name in cls.__dict__:
                    patch(cls, name, _live_wrapper(rec, cls.__dict__[name], f"{cls.__name__}.{name}"))

    # NOTE: np.asarray hands back a plain view of a traced array, whose values the recorder
    # would then bake in (clip_grad_norm_'s norms): backend.asarray keeps it traced
    asarray = backend.asarray

    def traced_asarray(value: Any, dtype: Any = None, like: Any = None) -> Any:
        if isinstance(value, _Traced) and not rec.depth:
            return value if dtype is None or value.dtype == np.dtype(dtype) else value.astype(dtype)
        return asarray(value, dtype, like)

    patch(backend, "asarray", traced_asarray)

    # neograd's generator: each module holding it gets a recording stand-in
    real = _random.default_generator
    proxy = _RecordingGenerator(real)
    for mod_name, mod in list(sys.modules.items()):
        # NOTE: the module's own dict: getattr could wake a lazily loading module
        if mod_name.startswith("neograd") and getattr(mod, "__dict__", {}).get("default_generator") is real:
            mod.default_generator = proxy
            undo.append(lambda mod=mod: setattr(mod, "default_generator", real))
    return undo


# the tensor methods that change values in place: x.add_(y), x += y, x[i] = y, ...
_INPLACE = [
    name
    for name, value in vars(Tensor).items()
    if (callable(value) and (name.endswith("_") and not name.startswith("_") and name != "requires_grad_"))
    or name in ("__iadd__", "__isub__", "__imul__", "__itruediv__", "__ipow__", "__setitem__")
]


def _subclasses(cls: type) -> list[type]:
    found, seen, stack = [], set(), [cls]  # (Module has a hundred subclasses: a set, not a list scan)
    while stack:
        c = stack.pop()
        if c not in seen:
            seen.add(c)
            found.append(c)
            stack.extend(c.__subclasses__())
    return found


def _inplace_wrapper(rec: _Recorder, method: Any, name: str) -> Callable[..., Any]:
    def wrapper(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        if rec.depth:
            return method(self, *args, **kwargs)
        return rec.inplace(method, self, args, kwargs, name)

    return wrapper


def _reader(rec: _Recorder, method: Any, name: str) -> Callable[..., Any]:
    def wrapper(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        if rec.depth:
            return method(self, *args, **kwargs)
        what = "printing a tensor" if name in ("__repr__", "__format__") else f"Tensor.{name.strip('_')}()"
        rec.taint(f"{what} inside the step ({_where()})")
        rec.depth += 1
        try:
            return method(self, *args, **kwargs)
        finally:
            rec.depth -= 1

    return wrapper


def _live_wrapper(rec: _Recorder, method: Any, name: str) -> Callable[..., Any]:
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if rec.depth:
            return method(self, *args, **kwargs)
        return rec.call(method, self, args, kwargs, name)

    return wrapper


# ---- guards on modules ---------------------------------------------------------------------------------
def _module_guards(fn: Callable[..., Any], inputs: tuple[Any, ...]) -> tuple[tuple[Any, ...], ...]:
    """Each module reachable from fn with its train flag; their non-empty parameter and buffer tables."""
    roots: list[Any] = []
    seen: set[int] = set()

    def visit(obj: Any) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if hasattr(obj, "training") and callable(getattr(obj, "modules", None)):
            roots.append(obj)

    visit(fn)
    visit(getattr(fn, "__self__", None))
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            visit(cell.cell_contents)
        except ValueError:  # an empty cell
            pass
    code, globs = getattr(fn, "__code__", None), getattr(fn, "__globals__", {})
    if code is not None:
        for name in code.co_names:
            if name in globs:
                visit(globs[name])
    for a in inputs:
        visit(a)
    modules: list[Any] = []
    for root in roots:
        modules.extend(m for m in root.modules() if all(m is not n for n in modules))
    tables = [t for m in modules for t in (m.__dict__.get("_parameters"), m.__dict__.get("_buffers")) if t]
    return tuple((m, m.training) for m in modules), tuple(tables)


# ---- check=True ------------------------------------------------------------------------------------------
def _observe_object(obj: Any) -> Any:
    """What an optimizer step or zero_grad changed: the parameters' values and grads."""
    groups = getattr(obj, "param_groups", None)
    params = [p for g in groups for p in g["params"]] if groups else []
    if not params and callable(getattr(obj, "parameters", None)):
        params = list(obj.parameters())
    return [
        (np.array(p.data, copy=True), None if p.grad is None else np.array(p.grad.data, copy=True))
        for p in params
    ]


class _Snapshot:
    """The state a recording changes (live tensors, their grads, optimizers, schedulers, the generator)."""

    def __init__(self, program: _Program) -> None:
        self.tensors = [
            (t, np.array(t.data, copy=True), None if t.grad is None else np.array(t.grad.data, copy=True))
            for t in program.live_tensors
        ]
        for obj in program.objects:
            for g in getattr(obj, "param_groups", None) or ():
                for p in g["params"]:
                    if all(p is not t for t, _, _ in self.tensors):
                        grad = None if p.grad is None else np.array(p.grad.data, copy=True)
                        self.tensors.append((p, np.array(p.data, copy=True), grad))
        self.objects = [(obj, obj.state_dict()) for obj in program.objects if hasattr(obj, "load_state_dict")]
        self.rng = _random.get_rng_state()

    def restore(self) -> None:
        for t, data, grad in self.tensors:
            np.copyto(t.data, data)
            t.grad = None if grad is None else Tensor._make(grad)
        for obj, state in self.objects:
            if not hasattr(obj, "training"):  # modules' own values are among the tensors above
                obj.load_state_dict(state)
        _random.set_rng_state(self.rng)


def _compare(program: _Program, replay_log: list[tuple[str, Any]], eager: _Program) -> None:
    """Raise on the first kernel the replay and the eager run do not share, or compute differently."""
    eager_log = eager.log or []
    for i, (step, (label, got)) in enumerate(zip(program.steps, replay_log)):
        if i >= len(eager.steps):
            break
        other = eager.steps[i]
        if step.label != other.label:
            raise CompileError(
                f"compile(check=True): kernel {i} differs: the recording ran {step.label} ({step.where}) "
                f"where the eager function now runs {other.label} ({other.where}). The step takes another "
                "path than when it was captured: Python control flow on values the recorder cannot see."
            )
        if not _same(got, eager_log[i][1]):
            raise CompileError(
                f"compile(check=True): kernel {i} ({label} at {step.where}) computes different values in "
                "the replay and in the eager function: the recording baked in something that changes "
                "(a value read outside tensors, NumPy's own random numbers, a global)"
            )
    if len(program.steps) != len(eager.steps):
        i = min(len(program.steps), len(eager.steps))
        raise CompileError(
            f"compile(check=True): the recording has {len(program.steps)} kernels, the eager function "
            f"now runs {len(eager.steps)}: they part at kernel {i}"
        )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
