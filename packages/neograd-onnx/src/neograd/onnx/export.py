"""export: run a model under a tracer and write what it computed as an ONNX graph.

The tracer records every Function that neograd executes (``Function.apply`` is wrapped
for the duration of the run, and restored afterwards; neograd's core needs no hook), with
the arrays that went in and came out. Arrays are matched to graph values by identity: the
model's inputs become graph inputs, its parameters and buffers initializers named as in
``named_parameters()``, other arrays that show up as arguments become Constant nodes, and
the result of each Function becomes the output of the ONNX nodes its symbolic emits
(symbolic.py).

A few functions are recorded whole instead of as the Functions they are made of: those
ONNX has as one op (``layer_norm``, ``batch_norm`` in eval mode), and the comparisons,
which make bool tensors without a Function. So are the recurrent layers' and cells'
forward (``RNNBase.forward`` recorded as ``"rnn"``, ``RNNCell``/``LSTMCell``/``GRUCell``
``.forward`` as ``"rnn_cell"``): ONNX has LSTM, GRU and RNN ops for the whole layer, which
read the parameters in their own layout. Such a record may have several results (output,
h_n, c_n), and its symbolic returns a name for each.

The model runs twice: the second time on other input values, and with the dynamic axes
one longer. A constant that differs between the runs was computed from the input outside
neograd's ops (NumPy on ``.data``): the graph could not follow it, so export refuses it.
And every value knows which of its dims follow the dynamic axes; the symbolics use that to
write shapes that hold for any size (0 or -1 in a Reshape, 1 in an Expand).

NOTE: the patching is process-wide: ops that other threads run during an export would be
recorded too, so exports hold a lock and should not overlap with training in other threads.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any

import numpy as np

import onnx
from neograd.autograd import Function, Tensor, no_grad
from neograd.onnx.__about__ import __version__
from onnx import helper, numpy_helper

__all__ = ["export", "Graph", "DEFAULT_OPSET"]

DEFAULT_OPSET = 17
_MIN_OPSET = 17
# NOTE: one export at a time: the tracer patches Function.apply for the whole process
_lock = threading.Lock()


class _Record:
    """One op the model ran: a Function class (or a composite's name), its arguments and results."""

    __slots__ = ("args", "kwargs", "op", "outs")

    def __init__(self, op: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        self.op, self.args, self.kwargs = op, args, kwargs
        self.outs: list[Tensor] = _flatten(out)

    @property
    def out(self) -> Tensor:
        return self.outs[0]

    @property
    def name(self) -> str:
        return self.op if isinstance(self.op, str) else self.op.__name__


# The composites recorded whole (their inner Functions are not): name -> where they are defined
# (comparisons are here because they are not Functions: they make bool tensors directly)
_COMPOSITES = {
    "layer_norm": "neograd.nn.functional.normalization",
    "batch_norm": "neograd.nn.functional.normalization",
    **dict.fromkeys(
        ("eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_not"),
        "neograd.autograd.ops.elementwise",
    ),
    "_bitwise": "neograd.autograd.tensor",  # a Tensor's ~, & and | (a mask inverted, say)
}


# The methods recorded whole: (name, module, class, method)
_METHODS = [
    ("rnn", "neograd.nn.modules.rnn", "RNNBase", "forward"),
    *(("rnn_cell", "neograd.nn.modules.rnn", cls, "forward") for cls in ("RNNCell", "LSTMCell", "GRUCell")),
]


def _flatten(out: Any) -> list[Any]:
    """The tensors of a (nested) tuple or list, in order (a single result as a list of one)."""
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in _flatten(item)]
    return [out]


@contextlib.contextmanager
def _tracing(records: list[_Record]) -> Iterator[None]:
    """Record the outermost Function calls (and composites) made inside the block."""
    original = Function.__dict__["apply"]
    apply = original.__func__
    depth = [0]  # calls made by a recorded call (a Function's forward, a composite) are its own business

    def traced_apply(cls: type, *args: Any, **kwargs: Any) -> Any:
        if depth[0]:
            return apply(cls, *args, **kwargs)
        depth[0] += 1
        try:
            out = apply(cls, *args, **kwargs)
        finally:
            depth[0] -= 1
        if isinstance(out, Tensor):
            records.append(_Record(cls, args, kwargs, out))
        return out

    def composite(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(fn)

        def traced(*args: Any, **kwargs: Any) -> Any:
            if depth[0]:
                return fn(*args, **kwargs)
            depth[0] += 1
            try:
                out = fn(*args, **kwargs)
            finally:
                depth[0] -= 1
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            records.append(_Record(name, (), dict(bound.arguments), out))
            return out

        return traced

    patched: list[tuple[Any, str, Any]] = []
    for name, where in _COMPOSITES.items():
        fn = getattr(sys.modules[where], name)
        wrapper = composite(name, fn)
        # every neograd module that imported the function by name calls it through its own global
        for module in list(sys.modules.values()):
            module_name = getattr(module, "__name__", "")
            if module_name.split(".")[0] == "neograd" and module.__dict__.get(name) is fn:
                patched.append((module, name, fn))
                setattr(module, name, wrapper)
    for name, where, cls_name, method in _METHODS:
        module = sys.modules.get(where)
        if module is not None:  # not imported: the model cannot be using it
            cls = getattr(module, cls_name)
            patched.append((cls, method, cls.__dict__[method]))
            setattr(cls, method, composite(name, cls.__dict__[method]))
    Function.apply = classmethod(traced_apply)
    try:
        yield
    finally:
        Function.apply = original
        for owner, name, fn in patched:
            setattr(owner, name, fn)


class Graph:
    """The ONNX graph being written; symbolics receive it as ``g``.

    ``g.op("Relu", x)`` adds a node and returns its output's name; values are names
    (strings). ``g.const(array)`` adds a Constant node. ``g.shape(v)``, ``g.dtype(v)`` and
    ``g.dynamic(v)`` describe the traced values (inputs of the op being converted).
    ``g.parameter(t)`` is the initializer of a parameter the op reads without taking it as
    an argument (a recorded module's own weights).
    """

    def __init__(self, opset: int) -> None:
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, np.ndarray] = {}
        self._meta: dict[str, tuple[tuple[int, ...], np.dtype, tuple[int, ...]]] = {}
        self._count = 0
        # the traced result of the op being converted (its shape in both runs, its dtype)
        self.output_dtype: np.dtype = np.dtype(np.float32)
        self.out_shape: tuple[int, ...] = ()
        self.out_shape2: tuple[int, ...] = ()
        # the graph value an array of the trace is, if any (an index tensor in a kwarg, say)
        self.value_of: Callable[[Any], str | None] = lambda array: None
        # the graph value of a tensor the op reads without taking it as an argument (a layer's
        # parameter read by a symbolic of a whole module): an initializer named after it
        self.parameter: Callable[[Tensor], str] = lambda t: ""
        # the dynamic axes of the graph's inputs: (input, dim) -> symbol
        self.symbols: dict[tuple[str, int], str] = {}

    def _fresh(self, hint: str) -> str:
        self._count += 1
        return f"/{hint}_{self._count}"

    def op(self, op_type: str, *inputs: str | None, outputs: int = 1, **attrs: Any) -> Any:
        """Add a node; returns its output name (a list of names when outputs > 1)."""
        names = [self._fresh(op_type) for _ in range(outputs)]
        inputs_ = list(inputs)
        while inputs_ and inputs_[-1] is None:  # absent optional inputs at the end are left out
            inputs_.pop()
        attrs = {k: v for k, v in attrs.items() if v is not None}
        node = helper.make_node(
            op_type, ["" if i is None else i for i in inputs_], names, name=names[0] + "_node", **attrs
        )
        self.nodes.append(node)
        return names[0] if outputs == 1 else names

    def const(self, value: Any, dtype: Any = None) -> str:
        """A Constant node holding ``value`` (converted to ``dtype`` when given)."""
        array = np.asarray(value, dtype=dtype)
        name = self._fresh("Constant")
        tensor = numpy_helper.from_array(np.array(array, order="C"), name)
        self.nodes.append(helper.make_node("Constant", [], [name], name=name + "_node", value=tensor))
        self.describe(name, array.shape, array.dtype)
        return name

    def initializer(self, array: np.ndarray, name: str) -> str:
        """A named initializer (a parameter or buffer of the model)."""
        self.initializers[name] = array
        self.describe(name, array.shape, array.dtype)
        return name

    def ints(self, values: Sequence[int]) -> str:
        """A 1-D int64 constant (the form ONNX takes shapes, axes and pads in)."""
        return self.const(np.array(list(values), dtype=np.int64))

    def operand(self, x: Any, like: Any = None) -> str:
        """A value name for ``x``: itself if already one, else a constant of ``like``'s dtype."""
        if isinstance(x, str):
            return x
        dtype = self.dtype(like) if isinstance(like, str) else self.output_dtype
        return self.const(np.asarray(x, dtype=dtype))

    def cast_to_output(self, name: str | None) -> str | None:
        """``name`` cast to the op's result dtype where they differ (NumPy promotes, ONNX does not)."""
        if name is None or name not in self._meta:
            return name
        dtype = self._meta[name][1]
        if dtype == self.output_dtype or dtype.kind != "f" or self.output_dtype.kind != "f":
            return name
        return self.op("Cast", name, to=helper.np_dtype_to_tensor_dtype(self.output_dtype))

    def describe(
        self, name: str, shape: tuple[int, ...], dtype: Any, shape2: tuple[int, ...] | None = None
    ) -> None:
        """Record a value's traced shape and dtype (and its shape in the second run)."""
        self._meta[name] = (tuple(shape), np.dtype(dtype), tuple(shape if shape2 is None else shape2))

    def shape(self, name: str) -> tuple[int, ...]:
        """The traced shape of a value."""
        return self._meta[name][0]

    def shape2(self, name: str) -> tuple[int, ...]:
        """The shape the value had in the second trace (with the dynamic dims changed)."""
        return self._meta[name][2]

    def dtype(self, name: str) -> np.dtype:
        """The traced dtype of a value."""
        return self._meta[name][1]

    def dynamic(self, name: str) -> set[int]:
        """The dims of a value that follow the dynamic axes of the inputs."""
        a, b = self._meta[name][0], self._meta[name][2]
        if len(a) != len(b):
            return set(range(len(a)))
        return {i for i, (m, n) in enumerate(zip(a, b)) if m != n}

    def size(self, n: int, n2: int) -> str | None:
        """A 1-D int64 value holding a dynamic size: a Shape of the dim of a traced value that
        was n in the first run and n2 in the second (an input's first), or None if there is none.

        Raises:
            RuntimeError: inputs' dynamic axes of different symbols have that same size, so
                which one is meant cannot be told.
        """
        if n == n2:
            return None
        symbols = {
            symbol: (name, d)
            for (name, d), symbol in self.symbols.items()
            if self._meta[name][0][d] == n and self._meta[name][2][d] == n2
        }
        if len(symbols) > 1:
            raise RuntimeError(
                f"export: the dynamic axes {sorted(symbols)} have the same size {n} in the example "
                "inputs, so a shape made of them cannot tell which is which: give example inputs whose "
                "dynamic axes differ in size (or name them with one symbol in dynamic_axes if they "
                "always have the same size)"
            )
        found = next(iter(symbols.values()), None)
        for name, (a, _, b) in self._meta.items():
            if found is None and len(a) == len(b):
                found = next(((name, d) for d, mm in enumerate(zip(a, b)) if mm == (n, n2)), None)
        if found is None:
            return None
        return self.op("Shape", found[0], start=found[1], end=found[1] + 1)

    def reduce(self, op_type: str, x: str, axes: Sequence[int] | None, keepdims: bool) -> str:
        """A Reduce* node; axes became an input in opset 13 (ReduceSum) or 18 (the others)."""
        k = int(bool(keepdims))
        if axes is None:
            return self.op(op_type, x, keepdims=k)
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, x, self.ints(axes), keepdims=k)
        return self.op(op_type, x, axes=list(axes), keepdims=k)


def _symbolic_for(op: Any) -> Callable[..., Any]:
    from neograd.onnx.symbolic import REGISTRY

    fn = REGISTRY.get(op)
    if fn is None and not isinstance(op, str):
        fn = getattr(op, "symbolic", None)
    if fn is None:
        name = op if isinstance(op, str) else f"{op.__module__}.{op.__qualname__}"
        raise RuntimeError(
            f"export: no ONNX mapping for the Function {name}. Give the class a static method "
            "`symbolic(g, *inputs, **kwargs)` that adds its ONNX nodes with g.op(...) and returns "
            "the output's name, or register one in neograd.onnx.symbolic.REGISTRY"
        )
    return fn


def _on_the_cpu(model: Any, inputs: tuple[Tensor, ...]) -> tuple[Any, tuple[Tensor, ...]]:
    """The model and inputs to trace: a copy on the CPU where any of them is on a GPU.

    The trace compares and stores NumPy arrays (the weights become initializers), so a GPU
    model is exported from a CPU copy, as torch.onnx.export also writes host memory; the
    model itself stays where it is.
    """
    tensors = [*inputs, *(model.parameters() if hasattr(model, "parameters") else ())]
    tensors += list(model.buffers()) if hasattr(model, "buffers") else []
    if all(t.device.type == "cpu" for t in tensors):
        return model, inputs
    if hasattr(model, "parameters"):
        model = copy.deepcopy(model).cpu()
    return model, tuple(t.cpu() for t in inputs)


def _as_inputs(args: Any) -> tuple[tuple[Tensor, ...], Callable[[Sequence[Tensor]], tuple[Any, ...]]]:
    """The graph's inputs (the tensors of ``args``, nested tuples flattened in order, as torch)
    and how to put such tensors back into the shape of ``args`` to call the model with."""
    if isinstance(args, (Tensor, np.ndarray)):
        args = (args,)
    if not isinstance(args, (tuple, list)) or not args:
        raise TypeError(
            f"export: args must be a Tensor or a non-empty tuple of Tensors, got {type(args).__name__}"
        )
    out: list[Tensor] = []

    def leaves(a: Any, where: str) -> Any:
        if isinstance(a, (tuple, list)):  # an LSTM's (h_0, c_0), say
            return tuple(leaves(x, f"{where}[{i}]") for i, x in enumerate(a))
        if isinstance(a, np.ndarray):
            a = Tensor._make(a)
        if not isinstance(a, Tensor):
            raise TypeError(f"export: {where} must be a Tensor, got {type(a).__name__}")
        out.append(a)
        return len(out) - 1

    structure = tuple(leaves(a, f"args[{i}]") for i, a in enumerate(args))

    def rebuild(tensors: Sequence[Tensor], item: Any = structure) -> Any:
        return tuple(rebuild(tensors, x) for x in item) if isinstance(item, tuple) else tensors[item]

    return tuple(out), rebuild


def _dynamic_dims(spec: Any, name: str, ndim: int) -> dict[int, str]:
    """{dim: symbol} from a dynamic_axes entry (a list of dims or a {dim: name} dict)."""
    items = spec.items() if isinstance(spec, Mapping) else ((d, None) for d in spec)
    dims = {}
    for d, symbol in items:
        if not isinstance(d, int) or not -ndim <= d < ndim:
            raise ValueError(f"export: dynamic_axes[{name!r}] names dim {d!r}, but {name!r} has {ndim} dims")
        d %= ndim
        dims[d] = symbol if symbol is not None else f"{name}_dynamic_axes_{d + 1}"
    return dims


def _changed(t: Tensor, dims: Mapping[int, str]) -> Tensor:
    """The input for the second run: other values, and its dynamic dims one longer.

    Floats are scaled and shifted, integers rotated (so indices stay in range), and the
    dynamic dims grow by repeating values: a constant that differs between the two runs was
    computed from the input outside neograd's ops, which the graph could not follow.
    """
    a = t.data
    if a.dtype.kind == "f":
        a = a * a.dtype.type(1.5) + a.dtype.type(0.25)
    elif a.dtype.kind in "iub" and a.size > 1:  # masks too: a mask inverted with NumPy must show
        a = np.roll(a.reshape(-1), 1).reshape(a.shape)
    for d in dims:
        n = a.shape[d]
        if n == 0:
            raise ValueError(f"export: dynamic dim {d} of an input of shape {t.shape} is empty")
        a = np.take(a, np.arange(n + 1) % n, axis=d)
    return Tensor._make(np.ascontiguousarray(a))


def _same(a: Any, b: Any) -> bool:
    """Whether two constant arguments of an op agree between the two runs (arrays by value)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return True


def _run(model: Callable[..., Any], inputs: tuple[Tensor, ...]) -> tuple[list[_Record], list[Tensor]]:
    records: list[_Record] = []
    with no_grad(), _tracing(records):
        result = model(*inputs)
    outputs = _flatten(result)  # nested tuples (an LSTM's (output, (h_n, c_n))) as torch: in order
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"export: the model's output {i} is a {type(out).__name__}, not a Tensor")
    return records, outputs


def _arange(a: np.ndarray) -> bool:
    """Whether ``a`` is 0, 1, ..., n - 1 (n > 0) in an integer dtype."""
    return a.ndim == 1 and a.dtype.kind in "iu" and len(a) > 0 and np.array_equal(a, np.arange(len(a)))


def _causal(a: Any) -> bool:
    """Whether ``a`` is a causal attention mask: a 2-D bool lower triangle of True."""
    return (
        isinstance(a, np.ndarray)
        and a.dtype == np.bool_
        and a.ndim == 2
        and np.array_equal(a, np.tril(np.ones(a.shape, bool)))
    )


def _constant_agrees(a: Any, b: Any, values: Mapping[int, str]) -> bool:
    """A non-tensor argument is the same in both runs, arrays that are graph values aside."""
    if isinstance(a, np.ndarray) and id(a) in values:
        return True
    if _causal(a) and _causal(b):
        return True  # the causal mask of attention: its symbolic writes it for any sequence length
    if isinstance(a, slice) or isinstance(b, slice):
        return a == b  # x[:n] with n from .shape: the Slice written would keep the first run's n
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_constant_agrees(x, y, values) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    return True


def _names(given: Sequence[str] | None, n: int, what: str) -> list[str]:
    if given is None:
        return [what] if n == 1 else [f"{what}_{i}" for i in range(n)]
    given = list(given)
    if len(given) != n or len(set(given)) != n or not all(isinstance(s, str) and s for s in given):
        raise ValueError(f"export: {what}_names must be {n} distinct non-empty strings, got {given!r}")
    return given


def _value_info(name: str, array: np.ndarray, symbols: Mapping[int, str]) -> onnx.ValueInfoProto:
    shape = [symbols.get(d, n) for d, n in enumerate(array.shape)]
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(array.dtype), shape)


def export(
    model: Callable[..., Any],
    args: Any,
    f: str | os.PathLike[str] | IO[bytes] | None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_axes: Mapping[str, Any] | None = None,
    opset_version: int | None = None,
) -> onnx.ModelProto:
    """Write ``model`` as an ONNX file, as torch.onnx.export: trace one call ``model(*args)`` in eval mode.

    Args:
        model: a Module (or any callable of Tensors returning a Tensor or a tuple of Tensors).
        args: the example input(s): a Tensor or a tuple of Tensors (nested tuples, such as an
            LSTM's ``(h_0, c_0)``, become one graph input per tensor, in order).
        f: a path or a binary file object to write to (None: only return the model).
        input_names, output_names: the graph's input and output names (default ``input``,
            ``output``, or ``input_0``, ``input_1``, ... when there are several).
        dynamic_axes: ``{name: [dims]}`` or ``{name: {dim: "symbol"}}``: the dims of the
            named inputs and outputs that may have any size (the batch dim, typically).
        opset_version: the ONNX opset (default 17, the first with LayerNormalization).

    Returns:
        The ModelProto written (it passes ``onnx.checker.check_model(full_check=True)``).

    Raises:
        RuntimeError: the model ran a Function with no ONNX mapping (the message names its
            class: give it a ``symbolic`` static method), or an op cannot be written for
            the dynamic axes asked for.

    Example:
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> export(model, randn(1, 4), "mlp.onnx", dynamic_axes={"input": [0], "output": [0]})
    """
    opset = DEFAULT_OPSET if opset_version is None else opset_version
    latest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int) or not _MIN_OPSET <= opset <= latest:
        raise ValueError(
            f"export: opset_version must be an int in [{_MIN_OPSET}, {latest}], got {opset_version!r}"
        )
    inputs, rebuild = _as_inputs(args)
    model, inputs = _on_the_cpu(model, inputs)
    in_names = _names(input_names, len(inputs), "input")
    dynamic_axes = dict(dynamic_axes or {})

    modules = list(model.modules()) if hasattr(model, "modules") else []
    modes = [(m, m.training) for m in modules]
    for m in modules:
        object.__setattr__(m, "training", False)
    with _lock:
        try:
            records, outputs = _run(model, rebuild(inputs))
            out_names = _names(output_names, len(outputs), "output")
            unknown = set(dynamic_axes) - set(in_names) - set(out_names)
            if unknown:
                raise ValueError(
                    f"export: dynamic_axes names {sorted(unknown)}, which are neither inputs {in_names} "
                    f"nor outputs {out_names}"
                )
            in_dims = [_dynamic_dims(dynamic_axes.get(n, ()), n, t.ndim) for n, t in zip(in_names, inputs)]
            inputs2 = tuple(_changed(t, d) for t, d in zip(inputs, in_dims))
            records2, outputs2 = _run(model, rebuild(inputs2))
        finally:
            for m, mode in modes:
                object.__setattr__(m, "training", mode)
    if len(records2) != len(records) or any(a.op is not b.op for a, b in zip(records, records2)):
        raise RuntimeError(
            "export: the model ran different ops on other input values (and sizes, for the dynamic "
            "axes): its control flow depends on the input, which a graph cannot follow"
        )

    g = Graph(opset)
    named: dict[int, str] = {}
    keep: list[Any] = [inputs, inputs2, records, records2]  # NOTE: ids are only unique while alive
    if hasattr(model, "named_parameters"):
        for name, t in [*model.named_parameters(), *model.named_buffers()]:
            named.setdefault(id(t.data), name)
    values: dict[int, str] = {}
    for name, t, t2, dims in zip(in_names, inputs, inputs2, in_dims):
        values[id(t.data)] = name
        g.describe(name, t.shape, t.dtype, t2.shape)
        g.symbols.update({(name, d): symbol for d, symbol in dims.items()})

    def value(a: Any, a2: Any, op: str) -> str:
        data = a.data if isinstance(a, Tensor) else np.asarray(a)
        name = values.get(id(data))
        if name is not None:
            return name
        data2 = a2.data if isinstance(a2, Tensor) else np.asarray(a2)
        if not _same(data, data2) and _arange(data) and _arange(data2):
            # arange(x.shape[d]) along a dynamic axis (a model's positions): a Range of that size
            size = g.size(len(data), len(data2))
            if size is not None:
                end = g.op("Squeeze", size, g.ints([0]))
                if data.dtype != np.int64:
                    end = g.op("Cast", end, to=helper.np_dtype_to_tensor_dtype(data.dtype))
                name = g.op("Range", g.const(data.dtype.type(0)), end, g.const(data.dtype.type(1)))
                g.describe(name, data.shape, data.dtype, data2.shape)
                keep.append(data)
                values[id(data)] = name
                return name
        if not _same(data, data2):
            raise RuntimeError(
                f"export: {op} uses a constant of shape {data.shape} that changes with the input: it was "
                "computed outside neograd's ops (from .data, .numpy() or NumPy), so the graph cannot "
                "follow it. Compute it with tensor ops"
            )
        param = named.get(id(data))
        if param is not None and param not in g.initializers:
            name = g.initializer(data, param)
        elif param is not None:
            name = param
        else:
            name = g.const(data)
        keep.append(data)
        values[id(data)] = name
        return name

    def convert(x: Any, x2: Any, op: str, arrays: bool) -> Any:
        if isinstance(x, Tensor) or (arrays and isinstance(x, (np.ndarray, np.generic))):
            return value(x, x2, op)
        if isinstance(x, tuple) and any(isinstance(i, Tensor) for i in x):  # an LSTM's (h_0, c_0)
            return tuple(convert(i, j, op, arrays) for i, j in zip(x, x2))
        return x

    g.value_of = lambda array: values.get(id(array))
    for rec, rec2 in zip(records, records2):
        composite = isinstance(rec.op, str)
        args_ = [convert(a, b, rec.name, True) for a, b in zip(rec.args, rec2.args)]
        kwargs_ = {k: convert(v, rec2.kwargs[k], rec.name, composite) for k, v in rec.kwargs.items()}
        g.output_dtype, g.out_shape, g.out_shape2 = rec.out.dtype, rec.out.shape, rec2.out.shape
        g.parameter = lambda t, op=rec.name: value(t, t, op)
        # NOTE: the symbolic first, so that its own errors (which name the option) come first
        result = _symbolic_for(rec.op)(g, *args_, **kwargs_)
        for k, v in kwargs_.items():
            if not isinstance(v, str) and not _constant_agrees(v, rec2.kwargs[k], values):
                raise RuntimeError(
                    f"export: the argument {k!r} of {rec.name} changes with the input: it was computed "
                    "outside neograd's ops (from .data, NumPy, or .shape along a dynamic axis), so the "
                    "graph cannot follow it"
                )
        results = list(result) if isinstance(result, (tuple, list)) else [result]
        if len(results) != len(rec.outs) or not all(isinstance(r, str) for r in results):
            raise TypeError(
                f"export: the symbolic of {rec.name} returned {result!r}, not {len(rec.outs)} value name(s)"
            )
        for name, out, out2 in zip(results, rec.outs, rec2.outs):
            g.describe(name, out.shape, out.dtype, out2.shape)
            values[id(out.data)] = name

    graph_outputs, renames = [], {}
    for i, (name, out, out2) in enumerate(zip(out_names, outputs, outputs2)):
        produced = values.get(id(out.data))
        if produced is None:
            raise RuntimeError(
                f"export: output {i} of the model was not computed by neograd's ops from the inputs "
                "(was it made from .data or NumPy?), so it cannot be traced"
            )
        symbols = _dynamic_dims(dynamic_axes.get(name, ()), name, out.ndim)
        dynamic = {d for d, (m, n) in enumerate(zip(out.shape, out2.shape)) if m != n}
        symbols = {d: symbols.get(d, f"{name}_dynamic_axes_{d + 1}") for d in dynamic}
        graph_outputs.append(_value_info(name, out.data, symbols))
        node = next((n for n in g.nodes if produced in n.output), None)
        if node is None or produced in renames or produced in in_names:
            g.nodes.append(helper.make_node("Identity", [produced], [name], name=f"/output_{i}"))
        else:
            renames[produced] = name
    for node in g.nodes:
        for seq in (node.input, node.output):
            for j, v in enumerate(seq):
                if v in renames:
                    seq[j] = renames[v]

    graph_inputs = [_value_info(n, t.data, d) for n, t, d in zip(in_names, inputs, in_dims)]
    initializers = [
        numpy_helper.from_array(np.array(a, order="C"), name) for name, a in g.initializers.items()
    ]
    proto = helper.make_model(
        helper.make_graph(g.nodes, "neograd", graph_inputs, graph_outputs, initializers),
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="neograd",
        producer_version=__version__,
    )
    # NOTE: the IR version the opset came with: newer runtimes read older IR, not the reverse
    proto.ir_version = min(proto.ir_version, _ir_version(opset))
    onnx.checker.check_model(proto, full_check=True)
    if f is not None:
        if isinstance(f, (str, os.PathLike)):
            onnx.save_model(proto, os.fspath(f))
        else:
            f.write(proto.SerializeToString())
    return proto


def _ir_version(opset: int) -> int:
    for entry in helper.VERSION_TABLE:
        # (release, ir_version, ai.onnx opset, ai.onnx.ml opset, ...)
        if entry[2] >= opset:
            return entry[1]
    return onnx.IR_VERSION
