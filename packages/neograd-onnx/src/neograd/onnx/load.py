"""load: an ONNX graph as an nn.Module that runs on neograd's ops (and so trains).

The file is only parsed (protobuf), never executed: each node is looked up in ``OPS`` by
its op type and run with neograd's ops in forward. Floating initializers become
Parameters (BatchNormalization's running statistics and 0-d scalars become buffers),
named after the ONNX names: ``fc1.weight`` lands in a submodule ``fc1`` as ``weight``, so
``state_dict()`` keys are the ONNX names wherever those are valid attribute paths
(``model.onnx_names`` maps every key to its ONNX name).

Values flowing through the graph are Tensors where they carry data, and NumPy arrays
where they are constants (shapes, axes, indices): an op on constants only is computed in
NumPy, as an exporter's Shape -> Gather -> Concat -> Reshape chain needs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import IO, Any

import numpy as np

import onnx
from neograd.autograd import Tensor, cat, clamp, stack, to_dtype, where
from neograd.autograd.ops import shape as shape_ops
from neograd.nn import Module, Parameter
from neograd.nn import functional as F  # noqa: N812 -- torch's F
from neograd.nn.functional.activation import NormalCdf
from neograd.nn.functional.rnn import GRUScan, LSTMScan, RNNScan
from onnx import helper, numpy_helper

__all__ = ["load", "OnnxModule", "OPS", "MAX_BYTES", "MAX_NODES"]

MAX_BYTES = 2**31 - 1  # protobuf's own limit for one message
MAX_NODES = 100_000
_SQRT2 = math.sqrt(2.0)


class _Node:
    """What forward needs of one ONNX node: plain Python values, nothing of the protobuf."""

    __slots__ = ("attrs", "inputs", "name", "op_type", "outputs")

    def __init__(self, proto: onnx.NodeProto) -> None:
        self.op_type, self.name = proto.op_type, proto.name or proto.op_type
        self.inputs, self.outputs = list(proto.input), list(proto.output)
        self.attrs = {a.name: _attribute(a, self) for a in proto.attribute}


def _attribute(a: onnx.AttributeProto, node: Any) -> Any:
    if a.type == onnx.AttributeProto.GRAPH or a.type == onnx.AttributeProto.GRAPHS:
        raise ValueError(f"load: node {node.name!r} ({node.op_type}) has a subgraph attribute; not supported")
    value = helper.get_attribute_value(a)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, onnx.TensorProto):
        return _array(value)
    if isinstance(value, list):
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
    return value


def _array(t: onnx.TensorProto) -> np.ndarray:
    if t.data_location == onnx.TensorProto.EXTERNAL:
        raise ValueError(
            f"load: tensor {t.name!r} keeps its data in an external file; external data is not "
            "supported (save the model with its weights inside: onnx.save_model(model, path, "
            "save_as_external_data=False))"
        )
    try:
        return numpy_helper.to_array(t)
    except Exception as e:  # a wrong byte count, an unknown data type: the file is damaged
        raise ValueError(f"load: tensor {t.name!r} cannot be read: {e}") from None


def _attr_name(part: str) -> str:
    """One dotted part of an ONNX name as a Module attribute: Module only forbids '' and '.'."""
    name = part or "_"
    if hasattr(Module, name):  # "forward", "training", "eval", ...: would hide the method
        name += "_"
    return name


class OnnxModule(Module):
    """An ONNX graph run with neograd's ops; made by :func:`load`.

    ``forward(*inputs)`` takes the graph's inputs in order (Tensors or arrays) and returns
    its output, or a tuple when it has several. ``onnx_names`` maps each ``state_dict``
    key to the ONNX initializer it came from; ``input_names``/``output_names`` are the
    graph's.
    """

    def __init__(self, model: onnx.ModelProto) -> None:
        super().__init__()
        graph = model.graph
        opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
        if opset is None:
            raise ValueError("load: the model imports no version of the standard ONNX opset")
        self.opset = int(opset)
        for o in model.opset_import:
            if o.domain not in ("", "ai.onnx") and any(n.domain == o.domain for n in graph.node):
                raise ValueError(f"load: operators of the domain {o.domain!r} are not supported")
        self._nodes = [_Node(n) for n in graph.node]
        for node in self._nodes:
            if node.op_type not in OPS:
                raise ValueError(
                    f"load: unsupported ONNX operator {node.op_type!r} (node {node.name!r}); supported: "
                    f"{', '.join(sorted(OPS))}"
                )
        initializers = {t.name: _array(t) for t in graph.initializer}
        self.input_names = [i.name for i in graph.input if i.name not in initializers]
        self.output_names = [o.name for o in graph.output]
        self._check_graph(initializers)
        stats = {n.inputs[k] for n in self._nodes if n.op_type == "BatchNormalization" for k in (3, 4)}
        self._constants: dict[str, np.ndarray] = {}
        self._tensors: dict[str, tuple[Module, str]] = {}
        self.onnx_names: dict[str, str] = {}
        for name, array in initializers.items():
            if array.dtype.kind != "f":
                self._constants[name] = array
                continue
            kind = "buffer" if name in stats or array.ndim == 0 else "parameter"
            self._add_tensor(name, array, kind)

    def _check_graph(self, initializers: dict[str, np.ndarray]) -> None:
        """Every value is defined before it is used (no cycles, nothing missing)."""
        defined = set(initializers) | set(self.input_names) | {""}
        for node in self._nodes:
            for name in node.inputs:
                if name not in defined:
                    raise ValueError(
                        f"load: the graph is malformed: node {node.name!r} ({node.op_type}) reads {name!r}, "
                        "which no earlier node, input or initializer defines"
                    )
            defined.update(node.outputs)
        for name in self.output_names:
            if name not in defined:
                raise ValueError(f"load: the graph is malformed: output {name!r} is never computed")

    def _add_tensor(self, name: str, array: np.ndarray, kind: str) -> None:
        parts = [_attr_name(p) for p in name.split(".")]
        owner: Module = self
        for part in parts[:-1]:
            child = owner._modules.get(part)
            if child is None:
                if part in owner.__dict__ or part in owner._parameters or part in owner._buffers:
                    parts = [_attr_name(name.replace(".", "_"))]  # a clash: keep it flat
                    owner = self
                    break
                child = Module()
                owner.add_module(part, child)
            owner = child
        leaf = parts[-1]
        while (
            leaf in owner.__dict__
            or leaf in owner._parameters
            or leaf in owner._buffers
            or leaf in owner._modules
        ):
            leaf += "_"
        tensor = Tensor._make(np.array(array))  # a writable copy: training changes it in place
        if kind == "parameter":
            owner.register_parameter(leaf, Parameter(tensor.data))
        else:
            owner.register_buffer(leaf, tensor)
        self._tensors[name] = (owner, leaf)
        key = ".".join([*parts[:-1], leaf]) if owner is not self else leaf
        self.onnx_names[key] = name

    def forward(self, *inputs: Any) -> Any:
        if len(inputs) != len(self.input_names):
            raise TypeError(
                f"OnnxModule: expected {len(self.input_names)} inputs {self.input_names}, got {len(inputs)}"
            )
        env: dict[str, Any] = {"": None}
        env.update(self._constants)
        for name, (owner, leaf) in self._tensors.items():
            env[name] = getattr(owner, leaf)
        for name, x in zip(self.input_names, inputs):
            env[name] = x if isinstance(x, Tensor) else Tensor._make(np.asarray(x))
        for node in self._nodes:
            args = [env[i] for i in node.inputs]
            try:
                result = OPS[node.op_type](self, node, *args)
            except (ValueError, TypeError, RuntimeError, IndexError) as e:
                raise type(e)(f"{node.op_type} node {node.name!r}: {e}") from e
            results = result if isinstance(result, tuple) else (result,)
            for name, value in zip(node.outputs, results):
                env[name] = value
        outputs = tuple(env[name] for name in self.output_names)
        return outputs[0] if len(outputs) == 1 else outputs

    def extra_repr(self) -> str:
        return f"opset={self.opset}, nodes={len(self._nodes)}, inputs={self.input_names}"


def load(
    f: str | os.PathLike[str] | IO[bytes] | bytes | onnx.ModelProto,
    max_bytes: int = MAX_BYTES,
    max_nodes: int = MAX_NODES,
) -> OnnxModule:
    """An ONNX model (a path, a binary file, its bytes or a ModelProto) as a trainable nn.Module.

    Nothing in the file is executed: it is parsed as protobuf and each node is run with
    neograd's ops. Initializers become Parameters named after them.

    Args:
        f: where the model is.
        max_bytes: refuse larger files (before reading them whole).
        max_nodes: refuse graphs with more nodes.

    Raises:
        ValueError: a malformed or truncated file, external data, an unsupported operator
            (named), or a model over the size limits.

    Example:
        >>> model = load("mlp.onnx")
        >>> y = model(randn(8, 4))
        >>> optimizer = optim.SGD(model.parameters(), lr=0.1)
    """
    if isinstance(f, onnx.ModelProto):
        proto = f
        if proto.ByteSize() > max_bytes:
            raise ValueError(f"load: the model has {proto.ByteSize()} bytes, over max_bytes={max_bytes}")
    else:
        data = _read(f, max_bytes)
        proto = onnx.ModelProto()
        try:
            proto.ParseFromString(data)
        except Exception as e:  # protobuf's DecodeError: a truncated or damaged file
            raise ValueError(f"load: not a valid ONNX file (truncated or damaged?): {e}") from None
    if not proto.HasField("graph") or not proto.graph.node:
        raise ValueError(
            "load: not a valid ONNX model: it has no graph (an empty, truncated or foreign file?)"
        )
    if len(proto.graph.node) > max_nodes:
        raise ValueError(f"load: the graph has {len(proto.graph.node)} nodes, over max_nodes={max_nodes}")
    if proto.functions:
        raise ValueError("load: models with local functions are not supported")
    return OnnxModule(proto)


def _read(f: Any, max_bytes: int) -> bytes:
    if isinstance(f, (bytes, bytearray, memoryview)):
        data = bytes(f)
    elif isinstance(f, (str, os.PathLike)):
        size = os.path.getsize(f)
        if size > max_bytes:
            raise ValueError(f"load: {os.fspath(f)!r} has {size} bytes, over max_bytes={max_bytes}")
        with open(f, "rb") as fh:
            data = fh.read()
    elif hasattr(f, "read"):
        data = f.read(max_bytes + 1)
    else:
        raise TypeError(
            f"load: expected a path, a binary file, bytes or a ModelProto, got {type(f).__name__}"
        )
    if len(data) > max_bytes:
        raise ValueError(f"load: the model has over max_bytes={max_bytes} bytes")
    if not data:
        raise ValueError("load: the file is empty")
    return data


# ---- the ops -----------------------------------------------------------------------------------
OPS: dict[str, Callable[..., Any]] = {}


def _op(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def add(fn: Callable[..., Any]) -> Callable[..., Any]:
        for name in names:
            OPS[name] = fn
        return fn

    return add


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._make(np.asarray(x))


def _np(x: Any) -> np.ndarray:
    """A constant input (a shape, axes, indices) as an array."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _ints(x: Any) -> list[int]:
    return [int(v) for v in _np(x).reshape(-1)]


def _const(*xs: Any) -> bool:
    return all(x is None or not isinstance(x, Tensor) for x in xs)


OPS["Add"] = lambda m, n, a, b: np.add(a, b) if _const(a, b) else _t(a) + _operand(b, a)
OPS["Sub"] = lambda m, n, a, b: np.subtract(a, b) if _const(a, b) else _t(a) - _operand(b, a)
OPS["Mul"] = lambda m, n, a, b: np.multiply(a, b) if _const(a, b) else _t(a) * _operand(b, a)
OPS["Pow"] = lambda m, n, a, b: np.power(a, b) if _const(a, b) else _t(a) ** _operand(b, a)
OPS["MatMul"] = lambda m, n, a, b: np.matmul(a, b) if _const(a, b) else _t(a) @ _t(b)


def _operand(b: Any, a: Any) -> Any:
    """The second operand: a Tensor, or a constant in the first one's dtype (as ONNX requires)."""
    if isinstance(b, Tensor):
        return b
    dtype = a.dtype if isinstance(a, Tensor) else np.asarray(a).dtype
    return Tensor._make(np.asarray(b, dtype))


@_op("Div")
def _div(m: OnnxModule, node: _Node, a: Any, b: Any) -> Any:
    if _const(a, b):
        a, b = np.asarray(a), np.asarray(b)
        return a // b if a.dtype.kind in "iu" and b.dtype.kind in "iu" else a / b
    return _t(a) / _operand(b, a)


@_op("Max", "Min")
def _max_min(m: OnnxModule, node: _Node, *xs: Any) -> Any:
    fold = np.maximum if node.op_type == "Max" else np.minimum
    y = xs[0]
    for x in xs[1:]:
        if _const(y, x):
            y = fold(y, x)
        else:
            y = _t(y).maximum(_operand(x, y)) if node.op_type == "Max" else _t(y).minimum(_operand(x, y))
    return y


def _unary(
    np_fn: Callable[[np.ndarray], np.ndarray], tensor_fn: Callable[[Tensor], Tensor]
) -> Callable[..., Any]:
    return lambda m, node, x: np_fn(x) if _const(x) else tensor_fn(x)


OPS["Neg"] = _unary(np.negative, lambda x: -x)
OPS["Abs"] = _unary(np.abs, lambda x: x.abs())
OPS["Exp"] = _unary(np.exp, lambda x: x.exp())
OPS["Log"] = _unary(np.log, lambda x: x.log())
OPS["Sqrt"] = _unary(np.sqrt, lambda x: x.sqrt())
OPS["Sin"] = _unary(np.sin, lambda x: x.sin())
OPS["Cos"] = _unary(np.cos, lambda x: x.cos())
OPS["Tanh"] = _unary(np.tanh, lambda x: x.tanh())
OPS["Sigmoid"] = lambda m, node, x: _t(x).sigmoid()
OPS["Relu"] = _unary(lambda x: np.maximum(x, 0), lambda x: x.relu())
OPS["Sign"] = _unary(np.sign, lambda x: x.sign())
OPS["Reciprocal"] = _unary(np.reciprocal, lambda x: 1 / x)
OPS["Identity"] = lambda m, node, x: x
OPS["Erf"] = lambda m, node, x: NormalCdf.apply(_t(x) * _SQRT2) * 2 - 1  # erf(x) = 2 Phi(x sqrt 2) - 1
OPS["Softplus"] = lambda m, node, x: F.softplus(_t(x), threshold=math.inf)
OPS["LeakyRelu"] = lambda m, node, x: F.leaky_relu(_t(x), node.attrs.get("alpha", 0.01))
OPS["Elu"] = lambda m, node, x: F.elu(_t(x), node.attrs.get("alpha", 1.0))
OPS["Gelu"] = lambda m, node, x: F.gelu(_t(x), approximate=node.attrs.get("approximate", "none"))


OPS["HardSwish"] = lambda m, node, x: F.hardswish(_t(x))
OPS["Mish"] = lambda m, node, x: F.mish(_t(x))


@_op("HardSigmoid")
def _hard_sigmoid(m: OnnxModule, node: _Node, x: Any) -> Tensor:
    alpha, beta = node.attrs.get("alpha", 0.2), node.attrs.get("beta", 0.5)
    return clamp(_t(x) * alpha + beta, 0.0, 1.0)


@_op("PRelu")
def _prelu(m: OnnxModule, node: _Node, x: Any, slope: Any) -> Tensor:
    x = _t(x)
    return where(x > 0, x, x * _operand(slope, x))


@_op("Softmax", "LogSoftmax")
def _softmax(m: OnnxModule, node: _Node, x: Any) -> Tensor:
    x = _t(x)
    fn = F.softmax if node.op_type == "Softmax" else F.log_softmax
    if m.opset >= 13:
        return fn(x, dim=node.attrs.get("axis", -1))
    # NOTE: before opset 13 the input is read as 2-D: dims before axis as rows, the rest as one row
    axis = node.attrs.get("axis", 1) % max(x.ndim, 1)
    return fn(x.reshape(math.prod(x.shape[:axis]), -1), dim=1).reshape(x.shape)


@_op("Where")
def _where(m: OnnxModule, node: _Node, condition: Any, a: Any, b: Any) -> Any:
    cond = _np(condition).astype(bool)
    if _const(a, b):
        return np.where(cond, a, b)
    like = a if isinstance(a, Tensor) else b
    return where(cond, _operand(a, like), _operand(b, like))


@_op("Clip")
def _clip(m: OnnxModule, node: _Node, x: Any, lo: Any = None, hi: Any = None) -> Any:
    lo = node.attrs.get("min") if lo is None else float(_np(lo))
    hi = node.attrs.get("max") if hi is None else float(_np(hi))
    if _const(x):
        return np.clip(x, lo, hi)
    return x if lo is None and hi is None else clamp(_t(x), lo, hi)


@_op("Cast")
def _cast(m: OnnxModule, node: _Node, x: Any) -> Any:
    dtype = helper.tensor_dtype_to_np_dtype(node.attrs["to"])
    if isinstance(x, Tensor) and dtype.kind == "f":
        return to_dtype(x, dtype)
    return _np(x).astype(dtype)  # to an integer or bool: not differentiable, a constant


for _name, _fn in (
    ("Equal", np.equal),
    ("Greater", np.greater),
    ("Less", np.less),
    ("GreaterOrEqual", np.greater_equal),
    ("LessOrEqual", np.less_equal),
    ("And", np.logical_and),
    ("Or", np.logical_or),
):
    OPS[_name] = lambda m, node, a, b, _fn=_fn: _fn(_np(a), _np(b))
OPS["Not"] = lambda m, node, x: np.logical_not(_np(x))
OPS["IsNaN"] = lambda m, node, x: np.isnan(_np(x))
OPS["BitwiseNot"] = lambda m, node, x: np.invert(_np(x))
OPS["BitwiseAnd"] = lambda m, node, a, b: np.bitwise_and(_np(a), _np(b))
OPS["BitwiseOr"] = lambda m, node, a, b: np.bitwise_or(_np(a), _np(b))


@_op("Constant")
def _constant(m: OnnxModule, node: _Node) -> np.ndarray:
    for key, dtype in (
        ("value", None),
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        if key in node.attrs:
            return np.asarray(node.attrs[key], dtype)
    raise ValueError(f"Constant attributes {sorted(node.attrs)} are not supported")


@_op("ConstantOfShape")
def _constant_of_shape(m: OnnxModule, node: _Node, shape: Any) -> np.ndarray:
    value = node.attrs.get("value", np.zeros(1, np.float32))
    return np.full(_ints(shape), value.reshape(-1)[0], value.dtype)


@_op("Shape")
def _shape(m: OnnxModule, node: _Node, x: Any) -> np.ndarray:
    shape = np.array(x.shape, np.int64)
    return shape[node.attrs.get("start", 0) : node.attrs.get("end", len(shape))]


@_op("Range")
def _range(m: OnnxModule, node: _Node, start: Any, limit: Any, delta: Any) -> np.ndarray:
    return np.arange(_np(start), _np(limit), _np(delta)).astype(_np(start).dtype)


# ---- linear algebra and layers -----------------------------------------------------------------
@_op("Gemm")
def _gemm(m: OnnxModule, node: _Node, a: Any, b: Any, c: Any = None) -> Tensor:
    a, b = _t(a), _t(b)
    alpha, beta = node.attrs.get("alpha", 1.0), node.attrs.get("beta", 1.0)
    if node.attrs.get("transA", 0):
        a = a.T
    if c is not None and alpha == 1.0 and beta == 1.0 and not node.attrs.get("transA", 0):
        # the common case (a Linear layer) as one fused op
        weight = b if node.attrs.get("transB", 0) else b.T
        bias = _t(c)
        if bias.ndim == 1 and bias.shape[0] == weight.shape[0]:
            return F.linear(a, weight, bias)
    y = a @ (b.T if node.attrs.get("transB", 0) else b)
    if alpha != 1.0:
        y = y * alpha
    if c is not None:
        y = y + (_t(c) * beta if beta != 1.0 else _operand(c, y))
    return y


def _pairs(node: _Node, d: int) -> tuple[list[int], list[int]]:
    pads = node.attrs.get("pads", [0] * (2 * d))
    return list(pads[:d]), list(pads[d:])


def _auto_pad(
    node: _Node, size: tuple[int, ...], kernel: list[int], strides: list[int], dilations: list[int]
) -> tuple[list[int], list[int]]:
    mode = node.attrs.get("auto_pad", "NOTSET")
    d = len(kernel)
    if mode in ("NOTSET", ""):
        return _pairs(node, d)
    if mode == "VALID":
        return [0] * d, [0] * d
    begins, ends = [], []
    for n, k, s, dl in zip(size, kernel, strides, dilations):
        total = max(0, (-(-n // s) - 1) * s + dl * (k - 1) + 1 - n)
        small = total // 2
        begins.append(small if mode == "SAME_UPPER" else total - small)
        ends.append(total - begins[-1])
    return begins, ends


def _spatial_args(
    node: _Node, x: Tensor, kernel: list[int]
) -> tuple[list[int], list[int], list[int], list[int]]:
    d = len(kernel)
    strides = list(node.attrs.get("strides", [1] * d))
    dilations = list(node.attrs.get("dilations", [1] * d))
    begins, ends = _auto_pad(node, x.shape[2:], kernel, strides, dilations)
    return strides, dilations, begins, ends


def _pad_input(x: Tensor, begins: list[int], ends: list[int], value: float) -> Tensor:
    widths: list[int] = []
    for lo, hi in zip(reversed(begins), reversed(ends)):
        widths += [lo, hi]
    return shape_ops.pad(x, widths, value=value)


@_op("Conv")
def _conv(m: OnnxModule, node: _Node, x: Any, w: Any, b: Any = None) -> Tensor:
    x, w = _t(x), _t(w)
    kernel = list(node.attrs.get("kernel_shape", w.shape[2:]))
    strides, dilations, begins, ends = _spatial_args(node, x, kernel)
    if len(kernel) not in (1, 2):
        raise ValueError(f"{len(kernel)}-D convolution is not supported (1-D and 2-D are)")
    padding: Any = begins
    if begins != ends:  # asymmetric: pad first
        x, padding = _pad_input(x, begins, ends, 0.0), [0] * len(kernel)
    conv = F.conv1d if len(kernel) == 1 else F.conv2d
    bias = None if b is None else _t(b)
    return conv(x, w, bias, tuple(strides), tuple(padding), tuple(dilations), node.attrs.get("group", 1))


@_op("ConvTranspose")
def _conv_transpose(m: OnnxModule, node: _Node, x: Any, w: Any, b: Any = None) -> Tensor:
    x, w = _t(x), _t(w)
    kernel = list(node.attrs.get("kernel_shape", w.shape[2:]))
    d = len(kernel)
    if d not in (1, 2):
        raise ValueError(f"{d}-D transposed convolution is not supported (1-D and 2-D are)")
    if "output_shape" in node.attrs or node.attrs.get("auto_pad", "NOTSET") not in ("NOTSET", ""):
        raise ValueError("ConvTranspose with output_shape or auto_pad is not supported (give pads)")
    begins, ends = _pairs(node, d)
    if begins != ends:
        raise ValueError(f"ConvTranspose with asymmetric pads {begins + ends} is not supported")
    fn = F.conv_transpose1d if d == 1 else F.conv_transpose2d
    return fn(
        x,
        w,
        None if b is None else _t(b),
        tuple(node.attrs.get("strides", [1] * d)),
        tuple(begins),
        tuple(node.attrs.get("output_padding", [0] * d)),
        node.attrs.get("group", 1),
        tuple(node.attrs.get("dilations", [1] * d)),
    )


@_op("MaxPool", "AveragePool")
def _pool(m: OnnxModule, node: _Node, x: Any) -> Tensor:
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ValueError("MaxPool's Indices output is not supported")
    x = _t(x)
    kernel = list(node.attrs["kernel_shape"])
    d = len(kernel)
    if d not in (1, 2):
        raise ValueError(f"{d}-D pooling is not supported (1-D and 2-D are)")
    strides, dilations, begins, ends = _spatial_args(node, x, kernel)
    ceil = bool(node.attrs.get("ceil_mode", 0))
    fits = begins == ends and all(p <= k // 2 for p, k in zip(begins, kernel))
    if node.op_type == "MaxPool":
        padding: Any = begins
        if not fits:  # NOTE: -inf padding never wins a maximum, so padding first is exact
            x, padding = _pad_input(x, begins, ends, -math.inf), [0] * d
        fn = F.max_pool1d if d == 1 else F.max_pool2d
        return fn(x, tuple(kernel), tuple(strides), tuple(padding), tuple(dilations), ceil)
    if any(dl != 1 for dl in dilations):
        raise ValueError("AveragePool with dilations is not supported")
    include = bool(node.attrs.get("count_include_pad", 0))
    if not fits:
        if not include:
            raise ValueError(
                f"AveragePool with pads {begins + ends} and count_include_pad=0 is not supported"
            )
        x, begins = _pad_input(x, begins, ends, 0.0), [0] * d
    fn = F.avg_pool1d if d == 1 else F.avg_pool2d
    return fn(x, tuple(kernel), tuple(strides), tuple(begins), ceil, include)


@_op("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(m: OnnxModule, node: _Node, x: Any) -> Tensor:
    x = _t(x)
    dims = tuple(range(2, x.ndim))
    return x.mean(dims, keepdim=True) if node.op_type == "GlobalAveragePool" else x.amax(dims, keepdim=True)


@_op("BatchNormalization")
def _batch_norm(m: OnnxModule, node: _Node, x: Any, scale: Any, bias: Any, mean: Any, var: Any) -> Tensor:
    if any(node.outputs[1:]):
        raise ValueError("BatchNormalization's running-statistics outputs are not supported")
    # NOTE: ONNX's momentum weighs the old statistics, torch's the new batch
    momentum = 1.0 - node.attrs.get("momentum", 0.9)
    return F.batch_norm(
        _t(x), _t(mean), _t(var), _t(scale), _t(bias), m.training, momentum, node.attrs.get("epsilon", 1e-5)
    )


@_op("LayerNormalization")
def _layer_norm(m: OnnxModule, node: _Node, x: Any, scale: Any, bias: Any = None) -> Any:
    if any(node.outputs[1:]):
        raise ValueError("LayerNormalization's Mean and InvStdDev outputs are not supported")
    x = _t(x)
    axis = node.attrs.get("axis", -1) % x.ndim
    shape = x.shape[axis:]
    eps = node.attrs.get("epsilon", 1e-5)
    scale, bias = _t(scale), None if bias is None else _t(bias)
    if scale.shape == shape and (bias is None or bias.shape == shape):
        return F.layer_norm(x, shape, scale, bias, eps)
    y = F.layer_norm(x, shape, None, None, eps) * scale  # a scale that broadcasts
    return y if bias is None else y + bias


# ---- recurrent layers ---------------------------------------------------------------------------
# Each of torch's gate blocks as ONNX's block number: ONNX's LSTM gates are i, o, f, c where
# torch's (and neograd's scans) are i, f, g, o; ONNX's GRU z, r, h where torch's are r, z, n.
_TORCH_ORDER = {"LSTM": (0, 2, 3, 1), "GRU": (1, 0, 2), "RNN": (0,)}
_ACTIVATIONS = {"LSTM": ["sigmoid", "tanh", "tanh"], "GRU": ["sigmoid", "tanh"], "RNN": ["tanh"]}


def _check_recurrent(node: _Node, directions: int) -> str:
    """What neograd's scans cannot do, refused by name; returns the RNN's nonlinearity."""
    op, attrs = node.op_type, node.attrs
    activations = [a.lower() for a in attrs.get("activations", _ACTIVATIONS[op] * directions)]
    if op == "RNN" and activations == ["relu"] * directions:
        return "relu"
    if activations != _ACTIVATIONS[op] * directions:
        raise ValueError(
            f"{op} with activations {attrs['activations']} is not supported (only torch's: "
            f"{[a.capitalize() for a in _ACTIVATIONS[op]]}{' or Relu' if op == 'RNN' else ''})"
        )
    if attrs.get("clip") is not None:
        raise ValueError(f"{op} with clip={attrs['clip']} is not supported")
    if attrs.get("input_forget", 0):
        raise ValueError("LSTM with input_forget=1 is not supported")
    if op == "GRU" and not attrs.get("linear_before_reset", 0):
        raise ValueError(
            "GRU with linear_before_reset=0 is not supported: torch's GRU (and neograd's) applies the "
            "reset gate after the recurrent product, which is linear_before_reset=1"
        )
    return "tanh"


@_op("LSTM", "GRU", "RNN")
def _recurrent(
    m: OnnxModule,
    node: _Node,
    x: Any,
    w: Any,
    r: Any,
    b: Any = None,
    sequence_lens: Any = None,
    initial_h: Any = None,
    initial_c: Any = None,
    p: Any = None,
) -> tuple[Tensor, ...]:
    op, attrs = node.op_type, node.attrs
    direction = attrs.get("direction", "forward")
    if direction not in ("forward", "reverse", "bidirectional"):
        raise ValueError(f"unknown direction {direction!r} (forward, reverse or bidirectional)")
    directions = 2 if direction == "bidirectional" else 1
    nonlinearity = _check_recurrent(node, directions)
    if p is not None:
        raise ValueError("LSTM's peephole weights (input P) are not supported")
    x, w, r = _t(x), _t(w), _t(r)
    if x.ndim != 3 or r.ndim != 3:
        raise ValueError(f"X and R must be 3-D, got shapes {x.shape} and {r.shape}")
    layout = attrs.get("layout", 0)
    if layout:  # (B, T, I): batch first
        x = x.transpose(0, 1)
    steps, batch = x.shape[0], x.shape[1]
    hidden = r.shape[-1]
    n = len(_TORCH_ORDER[op]) * hidden
    states = [initial_h, initial_c] if op == "LSTM" else [initial_h]
    states = [None if s is None else _t(s).transpose(0, 1) if layout else _t(s) for s in states]
    if (
        w.shape != (directions, n, x.shape[2])
        or r.shape != (directions, n, hidden)
        or attrs.get("hidden_size", hidden) != hidden
        or any(s is not None and s.shape != (directions, batch, hidden) for s in states)
    ):
        raise ValueError(
            f"X {x.shape}, W {w.shape}, R {r.shape} and the initial states "
            f"{[None if s is None else s.shape for s in states]} do not fit "
            f"hidden_size={attrs.get('hidden_size')} and {directions} direction(s)"
        )
    if sequence_lens is not None and np.any(_np(sequence_lens) != steps):
        raise ValueError(
            f"sequence_lens {_ints(sequence_lens)} shorter than the sequence ({steps} steps) "
            "are not supported"
        )
    order = np.concatenate([np.arange(k * hidden, (k + 1) * hidden) for k in _TORCH_ORDER[op]])
    flat = x.reshape(steps * batch, x.shape[2])
    batch_sizes = (batch,) * steps
    outputs: list[Tensor] = []
    finals: list[list[Tensor]] = [[] for _ in states]
    for d in range(directions):
        reverse = direction == "reverse" or d == 1
        b_ih = b_hh = None
        if b is not None:
            bias = _t(b)[d]
            b_ih, b_hh = bias[order], bias[order + n]
        first = [Tensor._make(np.zeros((batch, hidden), x.dtype)) if s is None else s[d] for s in states]
        gx = F.linear(flat, w[d][order], b_ih)
        w_hh = r[d][order]
        if op == "LSTM":
            both = LSTMScan.apply(gx, *first, w_hh, b_hh, None, batch_sizes=batch_sizes, reverse=reverse)
            out = both[:, :hidden]
        elif op == "GRU":
            both = out = GRUScan.apply(gx, *first, w_hh, b_hh, batch_sizes=batch_sizes, reverse=reverse)
        else:
            both = out = RNNScan.apply(
                gx, *first, w_hh, b_hh, batch_sizes=batch_sizes, reverse=reverse, nonlinearity=nonlinearity
            )
        # the last step's rows: step T - 1 forward in time, step 0 backward
        last = both[:batch] if reverse else both[(steps - 1) * batch :]
        finals[0].append(last[:, :hidden])
        if op == "LSTM":
            finals[1].append(last[:, hidden:])
        outputs.append(out.reshape(steps, batch, hidden))
    y = stack(outputs, dim=1)  # (T, D, B, H)
    states_out = [stack(f) for f in finals]  # (D, B, H)
    if layout:
        y, states_out = y.permute(2, 0, 1, 3), [s.transpose(0, 1) for s in states_out]
    return (y, *states_out)


@_op("Dropout")
def _dropout(m: OnnxModule, node: _Node, x: Any, ratio: Any = None, training_mode: Any = None) -> Any:
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ValueError("Dropout's mask output is not supported")
    p = float(_np(ratio)) if ratio is not None else node.attrs.get("ratio", 0.5)
    return F.dropout(_t(x), p, m.training)


# ---- shapes ------------------------------------------------------------------------------------
@_op("Flatten")
def _flatten(m: OnnxModule, node: _Node, x: Any) -> Any:
    axis = node.attrs.get("axis", 1) % (x.ndim + 1) if x.ndim else 0
    shape = (math.prod(x.shape[:axis]), -1)
    return x.reshape(shape) if isinstance(x, (Tensor, np.ndarray)) else np.reshape(x, shape)


@_op("Reshape")
def _reshape(m: OnnxModule, node: _Node, x: Any, shape: Any) -> Any:
    target = _ints(shape)
    if not node.attrs.get("allowzero", 0):
        target = [x.shape[i] if n == 0 else n for i, n in enumerate(target)]
    return x.reshape(tuple(target)) if isinstance(x, Tensor) else np.reshape(x, target)


@_op("Transpose")
def _transpose(m: OnnxModule, node: _Node, x: Any) -> Any:
    perm = node.attrs.get("perm", list(reversed(range(np.ndim(x)))))
    return x.permute(*perm) if isinstance(x, Tensor) else np.transpose(x, perm)


def _axes(m: OnnxModule, node: _Node, given: Any) -> list[int] | None:
    if given is not None:
        return _ints(given)
    return node.attrs.get("axes")


@_op("Squeeze")
def _squeeze(m: OnnxModule, node: _Node, x: Any, axes: Any = None) -> Any:
    dims = _axes(m, node, axes)
    if isinstance(x, Tensor):
        return x.squeeze() if dims is None else x.squeeze(tuple(dims))
    return np.squeeze(x, None if dims is None else tuple(dims))


@_op("Unsqueeze")
def _unsqueeze(m: OnnxModule, node: _Node, x: Any, axes: Any = None) -> Any:
    dims = _axes(m, node, axes) or []
    rank = np.ndim(x) + len(dims)
    shape = list(np.shape(x))
    for d in sorted(d % rank for d in dims):
        shape.insert(d, 1)
    return x.reshape(tuple(shape)) if isinstance(x, Tensor) else np.reshape(x, shape)


@_op("Concat")
def _concat(m: OnnxModule, node: _Node, *xs: Any) -> Any:
    axis = node.attrs["axis"]
    if _const(*xs):
        return np.concatenate([np.asarray(x) for x in xs], axis=axis)
    floating = next(x for x in xs if isinstance(x, Tensor))
    return cat([_operand(x, floating) for x in xs], dim=axis)


@_op("Slice")
def _slice(
    m: OnnxModule, node: _Node, x: Any, starts: Any, ends: Any, axes: Any = None, steps: Any = None
) -> Any:
    starts, ends = _ints(starts), _ints(ends)
    axes = _ints(axes) if axes is not None else list(range(len(starts)))
    steps = _ints(steps) if steps is not None else [1] * len(starts)
    index = [slice(None)] * np.ndim(x)
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[a] = slice(s, e if st > 0 or e >= -(2**62) else None, st)
    return x[tuple(index)]


@_op("Gather")
def _gather(m: OnnxModule, node: _Node, x: Any, indices: Any) -> Any:
    axis = node.attrs.get("axis", 0) % np.ndim(x)
    idx = _np(indices).astype(np.int64)
    idx = np.where(idx < 0, idx + np.shape(x)[axis], idx)
    if _const(x):
        return np.take(x, idx, axis=axis)
    if axis == 0 and x.ndim == 2 and idx.ndim >= 1:
        return F.embedding(idx, x)  # an embedding lookup: one op, its gradient adds rows
    index = (slice(None),) * axis + ((int(idx),) if idx.ndim == 0 else (idx,))
    return x[index]


@_op("Expand")
def _expand(m: OnnxModule, node: _Node, x: Any, shape: Any) -> Any:
    target = np.broadcast_shapes(np.shape(x), tuple(_ints(shape)))
    return x.broadcast_to(target) if isinstance(x, Tensor) else np.broadcast_to(x, target).copy()


@_op("Tile")
def _tile(m: OnnxModule, node: _Node, x: Any, repeats: Any) -> Any:
    return x.repeat(*_ints(repeats)) if isinstance(x, Tensor) else np.tile(x, _ints(repeats))


@_op("Pad")
def _pad(m: OnnxModule, node: _Node, x: Any, pads: Any = None, value: Any = None, axes: Any = None) -> Any:
    mode = node.attrs.get("mode", "constant")
    if mode != "constant":
        raise ValueError(f"Pad mode {mode!r} is not supported (constant is)")
    pads = _ints(pads) if pads is not None else list(node.attrs.get("pads", []))
    rank = np.ndim(x)
    axes_ = _ints(axes) if axes is not None else list(range(rank))
    begins, ends = [0] * rank, [0] * rank
    for k, a in enumerate(axes_):
        begins[a % rank], ends[a % rank] = pads[k], pads[k + len(axes_)]
    if min(begins + ends) < 0:
        raise ValueError(f"Pad with negative pads {pads} is not supported")
    fill = float(_np(value)) if value is not None else node.attrs.get("value", 0.0)
    if _const(x):
        return np.pad(x, list(zip(begins, ends)), constant_values=fill)
    return _pad_input(x, begins, ends, fill) if rank else x


# ---- reductions --------------------------------------------------------------------------------
@_op("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceLogSumExp")
def _reduce(m: OnnxModule, node: _Node, x: Any, axes: Any = None) -> Any:
    dims = _axes(m, node, axes)
    keep = bool(node.attrs.get("keepdims", 1))
    if not dims:
        if node.attrs.get("noop_with_empty_axes", 0):
            return x
        dims = list(range(np.ndim(x)))
    dims_t = tuple(d % max(np.ndim(x), 1) for d in dims)
    if _const(x):
        fn = {"ReduceSum": np.sum, "ReduceMean": np.mean, "ReduceMax": np.max, "ReduceMin": np.min}.get(
            node.op_type
        )
        if fn is not None:
            return fn(x, axis=dims_t, keepdims=keep)
        x = _t(x)
    method = {
        "ReduceSum": "sum",
        "ReduceMean": "mean",
        "ReduceMax": "amax",
        "ReduceMin": "amin",
        "ReduceLogSumExp": "logsumexp",
    }[node.op_type]
    return getattr(x, method)(dims_t, keepdim=keep)
