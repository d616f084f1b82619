"""neograd.onnx.load: graphs written by hand with onnx.helper, fine-tuning, and files it must refuse."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import neograd as ng
from neograd import nn
from neograd.onnx import OnnxModule, export, load

TOL = {"rtol": 1e-5, "atol": 1e-5}
RNG = np.random.default_rng(0)
FLOAT = TensorProto.FLOAT


def _init(name: str, *shape: int, scale: float = 0.5) -> onnx.TensorProto:
    return numpy_helper.from_array((RNG.standard_normal(shape) * scale).astype(np.float32), name)


def _ints(name: str, values: list[int]) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(values, np.int64), name)


def _model(
    nodes: list[Any], inputs: list[Any], outputs: list[Any], inits: list[Any], opset: int = 17
) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "hand", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def _check_against_onnxruntime(model: onnx.ModelProto, *inputs: np.ndarray) -> OnnxModule:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    expected = session.run(None, dict(zip(names, inputs)))
    module = load(model).eval()
    with ng.no_grad():
        got = module(*inputs)
    for e, r in zip(expected, got if isinstance(got, tuple) else (got,)):
        assert r.shape == e.shape
        np.testing.assert_allclose(r.numpy(), e, **TOL)
    return module


def mlp_model() -> onnx.ModelProto:
    nodes = [
        helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "fc2.weight", "fc2.bias"], ["y"], alpha=0.5, beta=2.0),
    ]
    inits = [_init("fc1.weight", 8, 4), _init("fc1.bias", 8), _init("fc2.weight", 8, 3), _init("fc2.bias", 3)]
    return _model(
        nodes,
        [helper.make_tensor_value_info("x", FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", FLOAT, ["N", 3])],
        inits,
    )


def test_gemm_mlp() -> None:
    module = _check_against_onnxruntime(mlp_model(), RNG.standard_normal((5, 4)).astype(np.float32))
    assert list(module.state_dict()) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert module.onnx_names["fc1.weight"] == "fc1.weight"
    assert all(p.requires_grad for p in module.parameters())


def cnn_model() -> onnx.ModelProto:
    nodes = [
        helper.make_node(
            "Conv",
            ["x", "conv.weight", "conv.bias"],
            ["c"],
            kernel_shape=[3, 3],
            auto_pad="SAME_UPPER",
            strides=[2, 2],
        ),
        helper.make_node(
            "BatchNormalization", ["c", "bn.weight", "bn.bias", "bn.mean", "bn.var"], ["b"], epsilon=1e-3
        ),
        helper.make_node("Relu", ["b"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], pads=[0, 0, 1, 1], strides=[1, 1]),
        helper.make_node(
            "AveragePool", ["p"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1
        ),
        helper.make_node("GlobalAveragePool", ["a"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "fc.weight"], ["m"]),
        helper.make_node("Add", ["m", "fc.bias"], ["z"]),
        helper.make_node("Softmax", ["z"], ["y"], axis=-1),
    ]
    var = numpy_helper.from_array(RNG.uniform(0.5, 2, 6).astype(np.float32), "bn.var")
    inits = [
        _init("conv.weight", 6, 2, 3, 3),
        _init("conv.bias", 6),
        _init("bn.weight", 6),
        _init("bn.bias", 6),
        _init("bn.mean", 6),
        var,
        _init("fc.weight", 6, 4),
        _init("fc.bias", 4),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("x", FLOAT, [2, 2, 9, 9])],
        [helper.make_tensor_value_info("y", FLOAT, [2, 4])],
        inits,
    )


def test_conv_batchnorm_pool_classifier() -> None:
    module = _check_against_onnxruntime(cnn_model(), RNG.standard_normal((2, 2, 9, 9)).astype(np.float32))
    assert {"bn.mean", "bn.var"} == {k for k, _ in module.named_buffers()}


def transformer_like_model() -> onnx.ModelProto:
    """What torch's exporter writes for x.view(x.size(0), -1), erf GELU, layer norm and friends."""
    c = math.sqrt(2)
    nodes = [
        helper.make_node("Constant", [], ["sqrt2"], value=numpy_helper.from_array(np.array(c, np.float32))),
        helper.make_node("Constant", [], ["one"], value_float=1.0),
        helper.make_node("Constant", [], ["half"], value_float=0.5),
        helper.make_node("Div", ["x", "sqrt2"], ["d"]),
        helper.make_node("Erf", ["d"], ["e"]),
        helper.make_node("Add", ["e", "one"], ["e1"]),
        helper.make_node("Mul", ["x", "e1"], ["xe"]),
        helper.make_node("Mul", ["xe", "half"], ["gelu"]),
        helper.make_node(
            "LayerNormalization", ["gelu", "ln.weight", "ln.bias"], ["ln"], axis=-1, epsilon=1e-5
        ),
        helper.make_node("Transpose", ["ln"], ["t"], perm=[0, 2, 1]),
        helper.make_node("Unsqueeze", ["t", "axis1"], ["u"]),
        helper.make_node("Squeeze", ["u", "axis1"], ["s"]),
        helper.make_node("Slice", ["s", "starts", "ends", "axes", "steps"], ["sl"]),
        helper.make_node("Concat", ["sl", "sl"], ["cc"], axis=2),
        helper.make_node("Shape", ["cc"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "axis0"], ["batch1"]),
        helper.make_node("Concat", ["batch1", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["cc", "target"], ["flat"]),
        helper.make_node("Gather", ["flat", "cols"], ["picked"], axis=1),
        helper.make_node("Sub", ["picked", "ln.bias_head"], ["sb"]),
        helper.make_node("Tanh", ["sb"], ["th"]),
        helper.make_node("Sigmoid", ["th"], ["sg"]),
        helper.make_node("LogSoftmax", ["sg"], ["y"], axis=1),
    ]
    inits = [
        _init("ln.weight", 6),
        _init("ln.bias", 6),
        _ints("axis1", [1]),
        _ints("axis0", [0]),
        _ints("starts", [1]),
        _ints("ends", [4]),
        _ints("axes", [1]),
        _ints("steps", [2]),
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        _ints("minus1", [-1]),
        _ints("cols", [0, 5, 3, 3, -1]),
        _init("ln.bias_head", 5),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("x", FLOAT, ["N", 3, 6])],
        [helper.make_tensor_value_info("y", FLOAT, ["N", 5])],
        inits,
    )


def test_torch_style_ops_with_shape_arithmetic() -> None:
    model = transformer_like_model()
    _check_against_onnxruntime(model, RNG.standard_normal((4, 3, 6)).astype(np.float32))
    _check_against_onnxruntime(model, RNG.standard_normal((1, 3, 6)).astype(np.float32))


def test_more_ops_against_onnxruntime() -> None:
    nodes = [
        helper.make_node("ConvTranspose", ["x", "w"], ["ct"], strides=[2], pads=[1, 1], output_padding=[1]),
        helper.make_node("Clip", ["ct", "lo", "hi"], ["cl"]),
        helper.make_node("Pad", ["cl", "pads", "pv"], ["pd"], mode="constant"),
        helper.make_node("ReduceMean", ["pd", "axes_m"], ["rm"], keepdims=1),
        helper.make_node("Expand", ["rm", "eshape"], ["ex"]),
        helper.make_node("Tile", ["ex", "reps"], ["tl"]),
        helper.make_node("ReduceSum", ["tl", "axes2"], ["rs"], keepdims=0),
        helper.make_node("Pow", ["rs", "two"], ["pw"]),
        helper.make_node("Sqrt", ["pw"], ["sq"]),
        helper.make_node("Max", ["sq", "rs"], ["mx"]),
        helper.make_node("LeakyRelu", ["mx"], ["lr"], alpha=0.3),
        helper.make_node("Greater", ["lr", "zero_f"], ["gt"]),
        helper.make_node("Where", ["gt", "lr", "zero_f"], ["wh"]),
        helper.make_node("Gelu", ["wh"], ["y"], approximate="tanh"),
    ]
    inits = [
        _init("w", 3, 2, 3),
        numpy_helper.from_array(np.array(-0.5, np.float32), "lo"),
        numpy_helper.from_array(np.array(0.8, np.float32), "hi"),
        _ints("pads", [0, 0, 1, 0, 0, 2]),
        numpy_helper.from_array(np.array(0.25, np.float32), "pv"),
        _ints("eshape", [2, 2, 4]),
        _ints("reps", [1, 1, 2]),
        _ints("axes2", [1]),
        _ints("axes_m", [2]),
        numpy_helper.from_array(np.array(2.0, np.float32), "two"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero_f"),
    ]
    model = _model(
        nodes,
        [helper.make_tensor_value_info("x", FLOAT, [2, 3, 5])],
        [helper.make_tensor_value_info("y", FLOAT, [2, 8])],
        inits,
        opset=20,
    )
    _check_against_onnxruntime(model, RNG.standard_normal((2, 3, 5)).astype(np.float32))


# ---- training an imported model -------------------------------------------------------------------
def test_an_imported_model_fine_tunes() -> None:
    module = load(mlp_model())
    x = ng.tensor(RNG.standard_normal((32, 4)).astype(np.float32))
    y = ng.tensor(RNG.integers(0, 3, 32))
    optimizer = ng.optim.Adam(module.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(20):
        loss = loss_fn(module(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_exported_then_imported_cnn_trains_and_round_trips_its_state(tmp_path: Any) -> None:
    ng.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3)
    )
    path = tmp_path / "cnn.onnx"
    export(model, ng.randn(2, 1, 4, 4), path, dynamic_axes={"input": [0]})
    module = load(path)
    assert set(module.state_dict()) == set(model.state_dict()) - {"1.num_batches_tracked"}
    x, y = ng.randn(16, 1, 4, 4), ng.tensor(RNG.integers(0, 3, 16))
    before = dict(module.named_buffers())["1.running_mean"].numpy().copy()
    optimizer = ng.optim.SGD(module.parameters(), lr=0.1)
    losses = []
    for _ in range(10):
        loss = nn.functional.cross_entropy(module.train()(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert not np.allclose(
        dict(module.named_buffers())["1.running_mean"].numpy(), before
    )  # batch statistics tracked
    ng.save(module.state_dict(), tmp_path / "tuned.safetensors")
    again = load(path)
    again.load_state_dict(ng.load(tmp_path / "tuned.safetensors"))
    with ng.no_grad():
        np.testing.assert_allclose(again.eval()(x).numpy(), module.eval()(x).numpy(), rtol=1e-6)


# ---- files it refuses -----------------------------------------------------------------------------
def test_unsupported_operator_is_named() -> None:
    model = _model(
        [helper.make_node("Hardmax", ["x"], ["y"])],
        [helper.make_tensor_value_info("x", FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", FLOAT, [2, 3])],
        [],
    )
    with pytest.raises(ValueError, match="unsupported ONNX operator 'Hardmax'"):
        load(model)


def test_truncated_and_damaged_files_are_refused(tmp_path: Any) -> None:
    data = mlp_model().SerializeToString()
    for cut in sorted(
        {1, 2, 5, 10, len(data) // 3, len(data) // 2, len(data) - 40, len(data) - 3, len(data) - 1}
    ):
        with pytest.raises(ValueError, match="load: "):
            load(data[:cut])
    with pytest.raises(ValueError, match="not a valid ONNX"):
        load(b"\xff\xfe this is not protobuf at all \x00\x01")
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load(empty)
    with pytest.raises(TypeError, match="expected a path"):
        load(123)  # type: ignore[arg-type]


def test_size_limits() -> None:
    data = mlp_model().SerializeToString()
    with pytest.raises(ValueError, match="max_bytes"):
        load(data, max_bytes=100)
    with pytest.raises(ValueError, match="max_bytes"):
        load(io.BytesIO(data), max_bytes=100)
    with pytest.raises(ValueError, match="max_nodes"):
        load(data, max_nodes=2)


def test_external_data_is_refused(tmp_path: Any) -> None:
    model = mlp_model()
    onnx.save_model(
        model,
        str(tmp_path / "ext.onnx"),
        save_as_external_data=True,
        size_threshold=0,
        all_tensors_to_one_file=True,
        location="weights.bin",
    )
    with pytest.raises(ValueError, match="external"):
        load(tmp_path / "ext.onnx")


def test_a_value_read_before_it_is_defined_is_refused() -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["missing"], ["y"])],
        "bad",
        [helper.make_tensor_value_info("x", FLOAT, [2])],
        [helper.make_tensor_value_info("y", FLOAT, [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ValueError, match="'missing'"):
        load(model.SerializeToString())


def test_wrong_number_of_inputs() -> None:
    with pytest.raises(TypeError, match="expected 1 inputs"):
        load(mlp_model())(ng.randn(2, 4), ng.randn(2, 4))


def test_initializer_names_become_state_dict_keys_even_when_odd() -> None:
    nodes = [
        helper.make_node("MatMul", ["x", "onnx::MatMul_5"], ["m"]),
        helper.make_node("Add", ["m", "a"], ["s"]),
        helper.make_node("Mul", ["s", "a.b"], ["t"]),
        helper.make_node("Sub", ["t", "training"], ["y"]),
    ]
    inits = [_init("onnx::MatMul_5", 3, 2), _init("a", 2), _init("a.b", 2), _init("training", 2)]
    model = _model(
        nodes,
        [helper.make_tensor_value_info("x", FLOAT, [4, 3])],
        [helper.make_tensor_value_info("y", FLOAT, [4, 2])],
        inits,
    )
    module = _check_against_onnxruntime(model, RNG.standard_normal((4, 3)).astype(np.float32))
    assert module.onnx_names == {
        "onnx::MatMul_5": "onnx::MatMul_5",
        "a": "a",
        "a_b": "a.b",
        "training_": "training",
    }
    assert set(module.state_dict()) == set(module.onnx_names)
    assert module.training is False  # the attribute rules kept Module's own names intact
