"""neograd.onnx.export: every supported layer and whole models, checked by onnx and run in onnxruntime.

Each case exports a model, passes onnx.checker.check_model(full_check=True), runs in
onnxruntime and matches neograd's own eval output (float32, 1e-5), then comes back through
neograd.onnx.load and matches again.
"""

from __future__ import annotations

import io
import math
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import neograd as ng
from neograd import nn
from neograd.autograd import Function
from neograd.nn import functional as F  # noqa: N812 -- torch's F
from neograd.onnx import export, load

TOL = {"rtol": 1e-5, "atol": 1e-5}


class Fn(nn.Module):
    """A module around a function of tensors (for the functional ops)."""

    def __init__(self, fn: Any) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs: Any) -> Any:
        return self.fn(*xs)


def _session(proto: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _expected(model: Any, inputs: tuple[ng.Tensor, ...]) -> list[np.ndarray]:
    if hasattr(model, "eval"):
        model.eval()
    with ng.no_grad():
        out = model(*inputs)
    return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]


def check_export(model: Any, *inputs: ng.Tensor, dynamic: bool = False, **kwargs: Any) -> onnx.ModelProto:
    """Export, check, run in onnxruntime and through load(); returns the ModelProto."""
    names = [f"input_{i}" for i in range(len(inputs))] if len(inputs) > 1 else ["input"]
    if dynamic:
        kwargs["dynamic_axes"] = {n: [0] for n in names}
    buffer = io.BytesIO()
    proto = export(model, inputs, buffer, **kwargs)
    onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()), full_check=True)
    expected = _expected(model, inputs)
    got = _session(proto).run(None, {n: x.numpy() for n, x in zip(names, inputs)})
    for e, r in zip(expected, got):
        assert r.shape == e.shape and r.dtype == e.dtype
        np.testing.assert_allclose(r, e, **TOL)
    imported = load(buffer.getvalue()).eval()
    with ng.no_grad():
        again = imported(*inputs)
    for e, r in zip(expected, again if isinstance(again, tuple) else (again,)):
        np.testing.assert_allclose(r.numpy(), e, **TOL)
    return proto


def _x(*shape: int, seed: int = 0) -> ng.Tensor:
    return ng.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def _bn(cls: Any, channels: int) -> Any:
    bn = cls(channels)
    rng = np.random.default_rng(1)
    bn.running_mean.data[...] = rng.standard_normal(channels)
    bn.running_var.data[...] = rng.uniform(0.5, 2.0, channels)
    bn.weight.data[...] = rng.standard_normal(channels)
    bn.bias.data[...] = rng.standard_normal(channels)
    return bn


LAYERS = {
    "linear": (lambda: nn.Linear(6, 4), (5, 6)),
    "linear_3d": (lambda: nn.Linear(6, 4), (2, 3, 6)),
    "linear_no_bias": (lambda: nn.Linear(6, 4, bias=False), (5, 6)),
    "conv1d": (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    "conv2d": (lambda: nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2), (2, 4, 7, 6)),
    "conv2d_same": (lambda: nn.Conv2d(2, 3, (3, 4), padding="same"), (2, 2, 6, 6)),
    "conv_transpose1d": (lambda: nn.ConvTranspose1d(3, 2, 3, stride=2, output_padding=1), (2, 3, 5)),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, groups=2), (2, 4, 4, 5)),
    "max_pool1d": (lambda: nn.MaxPool1d(3, stride=2, padding=1), (2, 3, 9)),
    "max_pool2d": (lambda: nn.MaxPool2d(2), (2, 3, 8, 6)),
    "max_pool2d_ceil": (lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 8, 8)),
    "avg_pool1d": (lambda: nn.AvgPool1d(3, stride=2, padding=1), (2, 3, 9)),
    "avg_pool2d": (lambda: nn.AvgPool2d(2), (2, 3, 8, 6)),
    "avg_pool2d_exclude_pad": (
        lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
        (2, 3, 7, 7),
    ),
    "adaptive_avg_pool1d": (lambda: nn.AdaptiveAvgPool1d(1), (2, 3, 7)),
    "adaptive_avg_pool2d_1": (lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 4)),
    "adaptive_avg_pool2d_2x3": (lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 5, 7)),
    "batch_norm1d": (lambda: _bn(nn.BatchNorm1d, 4), (5, 4)),
    "batch_norm2d": (lambda: _bn(nn.BatchNorm2d, 3), (2, 3, 4, 4)),
    "layer_norm": (lambda: nn.LayerNorm(6), (2, 3, 6)),
    "layer_norm_2d": (lambda: nn.LayerNorm((3, 6), elementwise_affine=False), (2, 3, 6)),
    "group_norm": (lambda: nn.GroupNorm(2, 4), (3, 4, 5)),
    "dropout": (lambda: nn.Dropout(0.5), (4, 5)),
    "flatten": (lambda: nn.Flatten(), (2, 3, 4, 5)),
    "relu": (nn.ReLU, (4, 5)),
    "leaky_relu": (lambda: nn.LeakyReLU(0.2), (4, 5)),
    "elu": (lambda: nn.ELU(0.7), (4, 5)),
    "gelu": (nn.GELU, (4, 5)),
    "gelu_tanh": (lambda: nn.GELU(approximate="tanh"), (4, 5)),
    "silu": (nn.SiLU, (4, 5)),
    "sigmoid": (nn.Sigmoid, (4, 5)),
    "tanh": (nn.Tanh, (4, 5)),
    "softmax": (lambda: nn.Softmax(dim=1), (4, 5)),
    "log_softmax": (lambda: nn.LogSoftmax(dim=-1), (4, 5)),
    "softplus": (lambda: nn.Softplus(beta=2.0, threshold=3.0), (4, 5)),
    "softplus_default": (nn.Softplus, (4, 5)),
    "prelu": (lambda: nn.PReLU(3, init=0.2), (2, 3, 4)),
    "prelu_shared": (nn.PReLU, (4, 5)),
    "hardtanh": (lambda: nn.Hardtanh(-0.5, 1.5), (4, 5)),
    "relu6": (nn.ReLU6, (4, 5)),
    "hardsigmoid": (nn.Hardsigmoid, (4, 5)),
    "hardswish": (nn.Hardswish, (4, 5)),
    "mish": (nn.Mish, (4, 5)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_exports_and_matches_onnxruntime(name: str) -> None:
    factory, shape = LAYERS[name]
    ng.manual_seed(0)
    check_export(factory(), _x(*shape) * 3)


@pytest.mark.parametrize(
    "name", ["linear", "conv2d", "max_pool2d", "batch_norm2d", "layer_norm", "group_norm"]
)
def test_layer_exports_with_a_dynamic_batch(name: str) -> None:
    factory, shape = LAYERS[name]
    ng.manual_seed(0)
    model = factory().eval()
    proto = check_export(model, _x(*shape), dynamic=True)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    bigger = _x(7, *shape[1:], seed=3)
    (got,) = _session(proto).run(None, {"input": bigger.numpy()})
    np.testing.assert_allclose(got, _expected(model, (bigger,))[0], **TOL)


def test_bilinear_with_two_inputs() -> None:
    ng.manual_seed(0)
    check_export(nn.Bilinear(3, 4, 2), _x(5, 3), _x(5, 4, seed=1), dynamic=True)


def test_embedding_takes_integer_indices() -> None:
    ng.manual_seed(0)
    indices = ng.tensor(np.array([[0, 3, 9], [2, 2, 1]], np.int64))
    check_export(nn.Embedding(10, 4), indices, dynamic=True)


FUNCTIONS = {
    "add_mul_sub_div": (lambda x, y: (x + y) * 2.5 - x / (y.abs() + 1), 2),
    "broadcast": (lambda x, y: x * y[0] + y.sum(0, keepdim=True), 2),
    "pow_neg_exp_log": (lambda x: (-(x.abs() + 0.5).log() + x.exp()) ** 2, 1),
    "sqrt_sin_cos_sign": (lambda x: x.abs().sqrt() + x.sin() * x.cos() + x.sign(), 1),
    "log1p_clamp": (lambda x: ng.log1p(x.abs()) + x.clamp(-0.5, 0.7) + x.clamp(min=0.1), 1),
    "maximum_minimum_where": (lambda x, y: ng.maximum(x, y) - ng.minimum(x, 0.2) + ng.where(x > 0, x, y), 2),
    "reductions": (
        lambda x: x.sum()
        + x.mean(1).sum()
        + x.amax(0).sum()
        + x.amin(-1, keepdim=True).sum()
        + x.var(1).sum(),
        1,
    ),
    "std_logsumexp": (lambda x: x.std(0) + x.logsumexp(0), 1),
    "softmax_fn": (lambda x: F.softmax(x, dim=0) + F.log_softmax(x, dim=1), 1),
    "matmul": (lambda x, y: x @ y.T, 2),
    "reshape_permute": (lambda x: x.reshape(2, -1).T.reshape(5, 2, 2).permute(2, 0, 1), 1),
    "cat_stack": (lambda x, y: ng.cat([x, y], 1) + ng.stack([x, y], 0).sum(0).repeat(1, 2), 2),
    "slicing": (lambda x: x[1:3, ::2] * x[-1, None, 0:5:2] + x[1:3, ..., 0, None], 1),
    "negative_step": (lambda x: x[::-1, 3:0:-2], 1),
    "integer_index": (lambda x: x[:, np.array([0, 3, 1, 3])] + x[np.array([1]), :2].sum(), 1),
    "expand_unsqueeze_squeeze": (lambda x: x[:, :1].expand(4, 5) + x.unsqueeze(0).squeeze(0), 1),
    "pad": (lambda x: ng.pad(x, (1, 2, 0, 1), value=0.5), 1),
    "to_dtype": (lambda x: x.double().exp().float(), 1),
    "comparisons": (
        lambda x, y: ng.where((x > y) | (x <= -0.5), x, 0.0)
        + (x == y).float()
        - (x != 0.3).float()
        + (x >= 1).float(),
        2,
    ),
    "logical": (lambda x: ng.where(ng.logical_and(x < 1, ng.logical_not(x < -1)), x, -x), 1),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_functional_ops_export(name: str) -> None:
    fn, arity = FUNCTIONS[name]
    inputs = [_x(4, 5, seed=i) for i in range(arity)]
    check_export(Fn(fn), *inputs)


def test_initializers_are_named_after_the_parameters() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    proto = export(model, _x(1, 1, 6, 6), None)
    names = {t.name for t in proto.graph.initializer}
    expected = {n for n, _ in model.named_parameters()} | {"1.running_mean", "1.running_var"}
    assert expected <= names
    assert [n.op_type for n in proto.graph.node if n.op_type != "Constant"] == [
        "Conv",
        "BatchNormalization",
        "Reshape",
        "Gemm",
    ]
    assert model.training  # the model's mode is restored after tracing


def test_default_opset_is_17_and_can_be_raised() -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.GELU())
    assert export(model, _x(2, 3), None).opset_import[0].version == 17
    proto = check_export(model, _x(2, 3), opset_version=20)
    assert proto.opset_import[0].version == 20
    assert "Gelu" in [n.op_type for n in proto.graph.node]
    with pytest.raises(ValueError, match="opset_version"):
        export(model, _x(2, 3), None, opset_version=9)


def test_input_output_names_and_file_path(tmp_path: Any) -> None:
    model = Fn(lambda a, b: (a + b, a * b))
    path = tmp_path / "two.onnx"
    export(model, (_x(2, 3), _x(2, 3, seed=1)), path, input_names=["a", "b"], output_names=["sum", "product"])
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == ["a", "b"]
    assert [o.name for o in proto.graph.output] == ["sum", "product"]
    with pytest.raises(ValueError, match="input_names"):
        export(model, (_x(2, 3), _x(2, 3)), None, input_names=["a"])
    with pytest.raises(ValueError, match="dynamic_axes"):
        export(model, (_x(2, 3), _x(2, 3)), None, dynamic_axes={"nope": [0]})


class Cube(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx: Any, grad_output: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x**2


class CubeWithSymbolic(Cube):
    @staticmethod
    def symbolic(g: Any, x: str) -> str:
        return g.op("Mul", g.op("Mul", x, x), x)


def test_a_custom_function_needs_a_symbolic() -> None:
    with pytest.raises(RuntimeError, match="Cube"):
        export(Fn(lambda x: Cube.apply(x) + 1), _x(3, 4), None)
    check_export(Fn(lambda x: CubeWithSymbolic.apply(x) + 1), _x(3, 4))


def test_the_tracer_leaves_function_apply_as_it_was() -> None:
    before = Function.__dict__["apply"]
    with pytest.raises(RuntimeError):
        export(Fn(lambda x: Cube.apply(x)), _x(3, 4), None)
    assert Function.__dict__["apply"] is before
    assert F.layer_norm.__module__ == "neograd.nn.functional.normalization"


def test_an_output_computed_outside_neograd_ops_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="output 0"):
        export(Fn(lambda x: ng.tensor(x.numpy() * 2)), _x(3, 4), None)


# ---- whole models -------------------------------------------------------------------------------
def seed_mlp() -> nn.Module:
    """The original neograd README's network (2-10-1, ReLU, sigmoid), read column-wise."""

    class NN(nn.Model):
        def __init__(self) -> None:
            super().__init__()
            self.stack = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1), nn.Sigmoid())

        def forward(self, inputs: Any) -> Any:
            return self.stack(inputs)

    return NN()


def digits_cnn() -> nn.Module:
    """The model of examples/digits_cnn.py."""
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128, 10),
    )


class TextClassifier(nn.Module):
    """Embedding + LayerNorm + mean over tokens + a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.norm = nn.LayerNorm(8)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Linear(8, 3)

    def forward(self, tokens: Any) -> Any:
        return self.head(self.drop(F.gelu(self.norm(self.embed(tokens)))).mean(1))


def test_seed_mlp_in_float64_columns() -> None:
    ng.manual_seed(0)
    model = seed_mlp()
    x = ng.tensor(np.random.default_rng(0).standard_normal((2, 30)))  # (features, examples), float64
    with pytest.warns(UserWarning, match="features, examples"):
        proto = export(model, x, None, dynamic_axes={"input": [1], "output": [1]})
    onnx.checker.check_model(proto, full_check=True)
    other = np.random.default_rng(1).standard_normal((2, 7))
    (got,) = _session(proto).run(None, {"input": other})
    np.testing.assert_allclose(got, _expected(model, (ng.tensor(other),))[0], rtol=1e-12, atol=1e-12)


def test_digits_cnn_with_dynamic_batch() -> None:
    ng.manual_seed(0)
    model = digits_cnn()
    check_export(model, _x(4, 1, 8, 8), dynamic=True)


def test_embedding_layer_norm_model() -> None:
    ng.manual_seed(0)
    tokens = ng.tensor(np.random.default_rng(0).integers(0, 20, (4, 6)))
    proto = check_export(TextClassifier(), tokens, dynamic=True)
    assert "LayerNormalization" in [n.op_type for n in proto.graph.node]


def test_float64_export_keeps_its_dtype() -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh()).double()
    x = ng.tensor(np.random.default_rng(0).standard_normal((4, 3)))
    proto = export(model, x, None)
    (got,) = _session(proto).run(None, {"input": x.numpy()})
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _expected(model, (x,))[0], rtol=1e-12)


def test_gelu_erf_constant_is_exact() -> None:
    # the exact GELU as written for opset 17: x * (1 + erf(x / sqrt 2)) / 2
    x = _x(50)
    proto = export(nn.GELU(), x, None)
    (got,) = _session(proto).run(None, {"input": x.numpy()})
    expected = x.numpy() * 0.5 * (1 + np.vectorize(math.erf)(x.numpy() / math.sqrt(2)))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_the_meta_package_exposes_it_as_ng_onnx() -> None:
    import neograd.onnx

    assert ng.onnx is neograd.onnx
    assert ng.onnx.export is export and ng.onnx.load is load


def test_a_constant_computed_from_the_input_outside_neograd_ops_is_an_error() -> None:
    # x.numpy() > 0 is a NumPy array: the graph would keep this input's mask for every input
    with pytest.raises(RuntimeError, match="changes with the input"):
        export(Fn(lambda x: ng.where(x.numpy() > 0, x, 0.0)), _x(3, 4), None)


def test_a_comparison_follows_the_input() -> None:
    proto = export(Fn(lambda x: ng.where(x > 0, x, 0.0) * 2), _x(3, 4), None)
    other = _x(3, 4, seed=5)
    (got,) = _session(proto).run(None, {"input": other.numpy()})
    np.testing.assert_allclose(got, np.where(other.numpy() > 0, other.numpy(), 0) * 2, **TOL)


def test_indexing_with_an_index_tensor_input() -> None:
    model = Fn(lambda x, idx: x[idx] * 2)
    idx = ng.tensor(np.array([2, 0, 2], np.int64))
    proto = export(model, (_x(4, 5), idx), None)
    (got,) = _session(proto).run(
        None, {"input_0": _x(4, 5).numpy(), "input_1": np.array([1, 3, 3], np.int64)}
    )
    np.testing.assert_allclose(got, _x(4, 5).numpy()[[1, 3, 3]] * 2, **TOL)


def test_ng_onnx_says_how_to_install_it_when_missing() -> None:
    code = textwrap.dedent(
        """
        import sys

        class NoOnnx:
            def find_spec(self, name, path=None, target=None):
                if name == "neograd.onnx" or name.startswith("neograd.onnx."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NoOnnx())
        import neograd as ng
        try:
            ng.onnx
        except AttributeError as e:
            print(e)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "pip install neograd[onnx]" in proc.stdout


def test_a_gpu_model_is_exported_from_a_cpu_copy_and_stays_on_the_gpu(monkeypatch: Any) -> None:
    # on the fake CuPy of the device tests (its arrays refuse to become NumPy arrays silently)
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "device"))
    import fake_cupy

    fake_cupy.install(monkeypatch)
    ng.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).to("cuda").eval()
    x = ng.randn(5, 3, device="cuda")
    proto = export(model, (x,), None, dynamic_axes={"input": [0], "output": [0]})
    (got,) = _session(proto).run(None, {"input": x.cpu().numpy()})
    with ng.no_grad():
        expected = model(x).cpu().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert all(p.device.type == "cuda" for p in model.parameters())
    assert all(b.device.type == "cuda" for b in model.buffers())
