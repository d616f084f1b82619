"""Bad input to every public name of neograd.nn (modules, functional, init, utils, data, save/load).

Each call either works as torch's does or raises a TypeError, ValueError, IndexError,
RuntimeError (or NotImplementedError, FileNotFoundError) that names the function or
layer, raised by neograd itself, never an AttributeError or an exception from NumPy.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import neograd.autograd as ng
from neograd import nn
from neograd.nn import functional as F  # noqa: N812 -- torch's F
from neograd.nn import init
from neograd.nn.utils import data

CLEAR = (TypeError, ValueError, IndexError, RuntimeError, NotImplementedError, FileNotFoundError)


def assert_clear_error(call: Callable[[], Any], name: str) -> None:
    with pytest.raises(BaseException) as info:
        call()
    error = info.value
    assert isinstance(error, CLEAR), f"{name}: {type(error).__name__}: {error}"
    assert name in str(error), f"the message does not name {name!r}: {error}"
    innermost = traceback.extract_tb(error.__traceback__)[-1].filename
    assert "/numpy/" not in innermost, f"{name}: raised inside NumPy ({innermost}): {error}"


X = ng.ones(2, 3)
IMG = ng.ones(1, 3, 5, 5)

# ---- layers: constructor arguments, then inputs ---------------------------------------------------------
BAD_LAYERS = [
    ("Linear", lambda: nn.Linear(-1, 2)),
    ("Linear", lambda: nn.Linear("a", 2)),
    ("Linear", lambda: nn.Linear(3.5, 2)),
    ("linear", lambda: nn.Linear(3, 2)(ng.ones(4, 5))),
    ("linear", lambda: nn.Linear(3, 2)(ng.tensor([[1, 2, 3]]))),
    ("linear", lambda: nn.Linear(3, 2)("abc")),  # was: AttributeError
    ("linear", lambda: nn.Linear(3, 2)(None)),  # was: AttributeError
    ("linear", lambda: nn.Linear(3, 2)(ng.tensor(1.0))),
    ("bilinear", lambda: nn.Bilinear(2, 3, 4)(ng.ones(5, 2), ng.ones(4, 3))),
    ("conv2d", lambda: nn.Conv2d(3, 4, 3)(ng.ones(1, 2, 5, 5))),
    ("conv2d", lambda: nn.Conv2d(3, 4, 3)(ng.ones(1, 3, 2, 2))),
    ("conv2d", lambda: nn.Conv2d(3, 4, 3)(None)),  # was: AttributeError
    ("Conv2d", lambda: nn.Conv2d(3, 4, 0)),
    ("Conv2d", lambda: nn.Conv2d(3, 4, 3, stride=0)),
    ("Conv2d", lambda: nn.Conv2d(3, 4, 3, padding=-1)),
    ("Conv2d", lambda: nn.Conv2d(3, 4, 3, groups=2)),
    ("conv1d", lambda: nn.Conv1d(3, 4, 3)(ng.ones(2, 3))),
    ("conv_transpose2d", lambda: nn.ConvTranspose2d(3, 4, 3)(ng.ones(1, 2, 5, 5))),
    ("conv_transpose1d", lambda: nn.ConvTranspose1d(3, 4, 3)(ng.ones(1, 2, 5))),
    ("max_pool2d", lambda: nn.MaxPool2d(3)(ng.ones(1, 1, 2, 2))),
    ("max_pool2d", lambda: nn.MaxPool2d(2)(ng.ones(4, 4))),
    ("max_pool1d", lambda: nn.MaxPool1d(5)(ng.ones(1, 1, 4))),
    ("avg_pool2d", lambda: nn.AvgPool2d(2, stride=0)(IMG)),
    ("avg_pool1d", lambda: nn.AvgPool1d(5)(ng.ones(1, 1, 4))),
    ("adaptive_avg_pool2d", lambda: nn.AdaptiveAvgPool2d(0)(ng.ones(1, 1, 4, 4))),
    ("adaptive_avg_pool1d", lambda: nn.AdaptiveAvgPool1d(0)(ng.ones(1, 1, 4))),
    ("batch_norm", lambda: nn.BatchNorm1d(3)(ng.ones(2, 4))),
    ("batch_norm", lambda: nn.BatchNorm1d(3)(ng.ones(1, 3))),
    ("BatchNorm1d", lambda: nn.BatchNorm1d(0)),
    ("BatchNorm1d", lambda: nn.BatchNorm1d(3, momentum=2)),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(3)(ng.ones(2, 3))),
    ("layer_norm", lambda: nn.LayerNorm(3)(ng.ones(2, 4))),
    ("LayerNorm", lambda: nn.LayerNorm(0)),
    ("GroupNorm", lambda: nn.GroupNorm(2, 3)),
    ("group_norm", lambda: nn.GroupNorm(2, 4)(ng.ones(2, 3, 5))),
    ("embedding", lambda: nn.Embedding(5, 3)(ng.tensor([5]))),
    ("embedding", lambda: nn.Embedding(5, 3)(ng.tensor([-1]))),
    ("embedding", lambda: nn.Embedding(5, 3)(ng.tensor([1.0]))),
    ("Embedding", lambda: nn.Embedding(5, 3, padding_idx=7)),
    ("Dropout", lambda: nn.Dropout(1.5)),
    ("Dropout", lambda: nn.Dropout("a")),
    ("softmax", lambda: nn.Softmax(dim=5)(ng.ones(2))),
    ("log_softmax", lambda: nn.LogSoftmax(dim=5)(ng.ones(2))),
    ("flatten", lambda: nn.Flatten(5)(X)),
    ("reshape", lambda: nn.Unflatten(1, (2, 2))(X)),
    ("relu", lambda: nn.ReLU()("abc")),
    ("leaky_relu", lambda: nn.LeakyReLU()(None)),
    ("elu", lambda: nn.ELU()([1.0])),
    ("GELU", lambda: nn.GELU(approximate="foo")(X)),
    ("gelu", lambda: F.gelu(X, approximate="foo")),
    ("silu", lambda: nn.SiLU()("abc")),
    ("sigmoid", lambda: nn.Sigmoid()("abc")),
    ("tanh", lambda: nn.Tanh()("abc")),
    ("softplus", lambda: nn.Softplus()("abc")),
    ("add_module", lambda: nn.Sequential(1, 2)),
    ("Sequential", lambda: nn.Sequential(nn.ReLU())[5]),
    ("add_module", lambda: nn.ModuleList([1])),
    ("add_module", lambda: nn.ModuleDict({"a": 1})),
    ("Dropout1d", lambda: nn.Dropout1d(1.5)),
    ("dropout1d", lambda: nn.Dropout1d()(ng.ones(2, 3, 4, 5))),
    ("Dropout2d", lambda: nn.Dropout2d(-0.1)),
    ("dropout2d", lambda: F.dropout2d(ng.ones(3))),
    ("InstanceNorm1d", lambda: nn.InstanceNorm1d(0)),
    ("InstanceNorm1d", lambda: nn.InstanceNorm1d(3)(ng.ones(2, 3, 4, 5))),
    ("InstanceNorm2d", lambda: nn.InstanceNorm2d(3, affine=True)(ng.ones(2, 4, 3, 3))),
    ("instance_norm", lambda: F.instance_norm(ng.ones(2, 3, 4), weight=ng.ones(4))),
    ("Upsample", lambda: nn.Upsample()),
    ("UpsamplingNearest2d", lambda: nn.UpsamplingNearest2d(size=2, scale_factor=2)),
    ("UpsamplingBilinear2d", lambda: nn.UpsamplingBilinear2d()),
    ("interpolate", lambda: nn.Upsample(scale_factor=2, mode="bilinear")(ng.ones(1, 2, 3))),
    ("interpolate", lambda: F.interpolate(IMG, size=(4, 4, 4))),
    ("PReLU", lambda: nn.PReLU(0)),
    ("prelu", lambda: nn.PReLU(3)(ng.ones(2, 4))),
    ("Hardtanh", lambda: nn.Hardtanh(1.0, -1.0)),
    ("hardtanh", lambda: F.hardtanh(X, 2.0, 1.0)),
    ("relu6", lambda: nn.ReLU6()(ng.tensor([1, 2]))),
    ("hardsigmoid", lambda: nn.Hardsigmoid()("abc")),
    ("hardswish", lambda: nn.Hardswish()(ng.tensor([1, 2]))),
    ("mish", lambda: nn.Mish()(None)),
]


@pytest.mark.parametrize(
    ("name", "call"), BAD_LAYERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_LAYERS)]
)
def test_layers_refuse_bad_arguments_and_inputs(name: str, call: Callable[[], Any]) -> None:
    assert_clear_error(call, name)


# ---- losses --------------------------------------------------------------------------------------------
BAD_LOSSES = [
    ("mse_loss", lambda: nn.MSELoss()(ng.ones(2), ng.ones(3))),
    ("MSELoss", lambda: nn.MSELoss(reduction="avg")),
    ("l1_loss", lambda: nn.L1Loss()("a", ng.ones(2))),
    ("smooth_l1_loss", lambda: nn.SmoothL1Loss()(ng.ones(2), ng.ones(3))),
    ("huber_loss", lambda: nn.HuberLoss()(ng.ones(2), ng.ones(3))),
    ("binary_cross_entropy", lambda: nn.BCELoss()(ng.tensor([1.5]), ng.tensor([1.0]))),
    ("binary_cross_entropy_with_logits", lambda: nn.BCEWithLogitsLoss()(ng.ones(2), ng.ones(3))),
    ("binary_cross_entropy_with_logits", lambda: nn.BCEWithLogitsLoss(pos_weight=ng.ones(2))(X, X)),
    ("cross_entropy", lambda: nn.CrossEntropyLoss()(X, ng.tensor([0, 3]))),
    ("cross_entropy", lambda: nn.CrossEntropyLoss()(X, ng.tensor([0, -1]))),
    ("cross_entropy", lambda: nn.CrossEntropyLoss()(X, ng.tensor([0.0, 1.0]))),
    ("cross_entropy", lambda: nn.CrossEntropyLoss()(X, ng.tensor([0, 1, 2]))),
    ("cross_entropy", lambda: nn.CrossEntropyLoss(weight=ng.ones(2))(X, ng.tensor([0, 1]))),
    ("CrossEntropyLoss", lambda: nn.CrossEntropyLoss(label_smoothing=2)),
    ("nll_loss", lambda: nn.NLLLoss()(X, ng.tensor([0, 5]))),
    ("kl_div", lambda: nn.KLDivLoss()(ng.ones(2), ng.ones(3))),
    ("one_hot", lambda: F.one_hot(ng.tensor([0, 5]), 3)),
    ("one_hot", lambda: F.one_hot(ng.tensor([0.0]), 3)),
]


@pytest.mark.filterwarnings("ignore:kl_div")
@pytest.mark.parametrize(
    ("name", "call"), BAD_LOSSES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_LOSSES)]
)
def test_losses_refuse_bad_inputs(name: str, call: Callable[[], Any]) -> None:
    assert_clear_error(call, name)


def test_losses_of_empty_batches_are_nan_as_in_torch() -> None:
    with np.errstate(invalid="ignore"):
        assert np.isnan(nn.MSELoss()(ng.ones(0), ng.ones(0)).item())
        assert np.isnan(nn.CrossEntropyLoss()(ng.ones(0, 3), ng.tensor(np.zeros(0, np.int64))).item())
        assert np.isnan(nn.CrossEntropyLoss(ignore_index=0)(X, ng.tensor([0, 0])).item())
    assert nn.MSELoss(reduction="sum")(ng.ones(0), ng.ones(0)).item() == 0.0


# ---- every functional op with an input that is not a tensor ---------------------------------------------
FUNCTIONAL_ARGS: dict[str, Callable[[Any], Any]] = {
    **{n: getattr(F, n) for n in "relu leaky_relu elu gelu silu sigmoid tanh softplus".split()},
    "softmax": lambda x: F.softmax(x, 0),
    "log_softmax": lambda x: F.log_softmax(x, 0),
    "conv1d": lambda x: F.conv1d(x, ng.ones(1, 1, 1)),
    "conv2d": lambda x: F.conv2d(x, ng.ones(1, 1, 1, 1)),
    "conv_transpose1d": lambda x: F.conv_transpose1d(x, ng.ones(1, 1, 1)),
    "conv_transpose2d": lambda x: F.conv_transpose2d(x, ng.ones(1, 1, 1, 1)),
    "dropout": F.dropout,
    "linear": lambda x: F.linear(x, ng.ones(2, 2)),
    "bilinear": lambda x: F.bilinear(x, ng.ones(2, 2), ng.ones(1, 2, 2)),
    **{
        n: (lambda x, n=n: getattr(F, n)(x, X))
        for n in "mse_loss l1_loss smooth_l1_loss huber_loss kl_div".split()
    },
    "binary_cross_entropy": lambda x: F.binary_cross_entropy(x, X),
    "binary_cross_entropy_with_logits": lambda x: F.binary_cross_entropy_with_logits(x, X),
    "cross_entropy": lambda x: F.cross_entropy(x, ng.tensor([0, 1])),
    "nll_loss": lambda x: F.nll_loss(x, ng.tensor([0, 1])),
    "batch_norm": lambda x: F.batch_norm(x, None, None, training=True),
    "layer_norm": lambda x: F.layer_norm(x, (3,)),
    "group_norm": lambda x: F.group_norm(x, 1),
    "pad": lambda x: F.pad(x, (1, 1)),
    **{
        n: (lambda x, n=n: getattr(F, n)(x, 1)) for n in "max_pool1d max_pool2d avg_pool1d avg_pool2d".split()
    },
    "adaptive_avg_pool1d": lambda x: F.adaptive_avg_pool1d(x, 1),
    "adaptive_avg_pool2d": lambda x: F.adaptive_avg_pool2d(x, 1),
    "embedding": lambda x: F.embedding(x, ng.ones(3, 2)),
    "one_hot": F.one_hot,
}


@pytest.mark.filterwarnings("ignore:kl_div")
@pytest.mark.parametrize("name", sorted(FUNCTIONAL_ARGS))
@pytest.mark.parametrize("bad", ["abc", None, [1.0, 2.0], object()], ids=lambda b: type(b).__name__)
def test_functional_ops_refuse_inputs_that_are_not_tensors(name: str, bad: Any) -> None:
    with pytest.raises(TypeError) as info:
        FUNCTIONAL_ARGS[name](bad)
    assert name in str(info.value) or "Tensor" in str(info.value), str(info.value)


# ---- init -------------------------------------------------------------------------------------------------
BAD_INIT = [
    ("uniform_", lambda: init.uniform_(ng.ones(2), 1, 0)),  # was: NumPy's "high - low < 0"
    ("uniform_", lambda: init.uniform_("a")),  # was: AttributeError
    ("normal_", lambda: init.normal_(None)),  # was: AttributeError
    ("normal_", lambda: init.normal_(ng.ones(2), std=-1)),
    ("constant_", lambda: init.constant_([1.0], 0.0)),
    ("zeros_", lambda: init.zeros_(None)),
    ("ones_", lambda: init.ones_("a")),
    ("xavier_uniform_", lambda: init.xavier_uniform_(ng.ones(2))),
    ("xavier_uniform_", lambda: init.xavier_uniform_("a")),  # was: AttributeError
    ("xavier_normal_", lambda: init.xavier_normal_(None)),
    ("kaiming_uniform_", lambda: init.kaiming_uniform_(ng.ones(2, 2), mode="foo")),
    ("kaiming_uniform_", lambda: init.kaiming_uniform_([1.0])),
    ("kaiming_normal_", lambda: init.kaiming_normal_(ng.ones(2, 0))),
    ("calculate_gain", lambda: init.kaiming_normal_(ng.ones(2, 2), nonlinearity="foo")),
    ("orthogonal_", lambda: init.orthogonal_(ng.ones(2))),
    ("orthogonal_", lambda: init.orthogonal_(None)),  # was: AttributeError
    ("calculate_gain", lambda: init.calculate_gain("foo")),
    ("calculate_gain", lambda: init.calculate_gain("leaky_relu", "a")),
]


@pytest.mark.parametrize(("name", "call"), BAD_INIT, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_INIT)])
def test_init_refuses_bad_arguments(name: str, call: Callable[[], Any]) -> None:
    assert_clear_error(call, name)


def test_a_refused_init_draws_no_random_numbers() -> None:
    ng.manual_seed(0)
    before = ng.get_rng_state()
    with pytest.raises(ValueError):
        init.uniform_(ng.ones(3), 2.0, 1.0)
    with pytest.raises(TypeError):
        init.xavier_normal_("a")
    assert ng.get_rng_state() == before


# ---- utils, data, save/load, Module ------------------------------------------------------------
P = ng.ones(2, requires_grad=True)
DATASET = data.TensorDataset(ng.ones(4))
BAD_UTILS = [
    ("clip_grad_norm_", lambda: nn.utils.clip_grad_norm_([P], -1)),
    ("clip_grad_value_", lambda: nn.utils.clip_grad_value_([P], -1)),
    ("vector_to_parameters", lambda: nn.utils.vector_to_parameters(ng.ones(3), [P])),
    (
        "vector_to_parameters",
        lambda: nn.utils.vector_to_parameters(ng.ones(2, 2), [ng.ones(4, requires_grad=True)]),
    ),
    ("parameters_to_vector", lambda: nn.utils.parameters_to_vector([])),
    ("parameters_to_vector", lambda: nn.utils.parameters_to_vector("a")),
    ("TensorDataset", lambda: data.TensorDataset(ng.ones(2), ng.ones(3))),
    ("TensorDataset", lambda: data.TensorDataset()),
    ("getitem", lambda: data.TensorDataset(ng.ones(2))[5]),
    ("getitem", lambda: data.Subset(data.TensorDataset(ng.ones(2)), [5])[0]),
    ("random_split", lambda: data.random_split(DATASET, [3, 3])),
    ("random_split", lambda: data.random_split(DATASET, [0.5, 0.6])),
    ("random_split", lambda: data.random_split(DATASET, [-1, 5])),
    ("DataLoader", lambda: data.DataLoader(DATASET, batch_size=0)),
    ("DataLoader", lambda: data.DataLoader(DATASET, shuffle=True, sampler=[0])),
    ("DataLoader", lambda: data.DataLoader(DATASET, num_workers=2)),
    ("DataLoader", lambda: data.DataLoader(5)),
    ("DataLoader", lambda: data.DataLoader(DATASET, generator=5)),
    ("default_collate", lambda: data.default_collate([])),  # was: IndexError "list index out of range"
    ("default_collate", lambda: data.default_collate([object()])),
    ("stack", lambda: data.default_collate([ng.ones(2), ng.ones(3)])),
    ("get_batches", lambda: list(data.get_batches(ng.ones(4), ng.ones(3)))),
    ("get_batches", lambda: list(data.get_batches(ng.ones(4), batch_size=0))),
    ("get_batches", lambda: list(nn.utils.get_batches(ng.ones(4), batch_size=5))),
    ("grad_check", lambda: nn.utils.grad_check("not a model", ng.ones(2), ng.ones(2), nn.MSELoss())),
    ("save", lambda: nn.save({"a": "b"}, "/tmp/never-written.safetensors")),
    ("save", lambda: nn.save({1: ng.ones(2)}, "/tmp/never-written.safetensors")),
    ("save", lambda: nn.save(nn.Linear(2, 2), "/tmp/never-written.safetensors")),
    ("save", lambda: nn.save({"a": np.array(["x"])}, "/tmp/never-written.safetensors")),
    ("never-written", lambda: nn.save({"a": ng.ones(2)}, "/nonexistent/dir/never-written.safetensors")),
    ("load", lambda: nn.load("/tmp/x.safetensors", format="foo")),
    ("nonexistent", lambda: nn.load("/nonexistent.safetensors")),
    ("load_state_dict", lambda: nn.Linear(2, 2).load_state_dict("a")),
    ("size mismatch", lambda: nn.Linear(2, 2).load_state_dict({"weight": ng.ones(3, 3), "bias": ng.ones(2)})),
    ("Missing key", lambda: nn.Linear(2, 2).load_state_dict({"weight": ng.ones(2, 2)})),
    ("register_buffer", lambda: nn.Linear(2, 2).register_buffer("x", 3)),
    ("register_parameter", lambda: nn.Linear(2, 2).register_parameter("x", ng.ones(2))),
    ("Parameter", lambda: nn.Parameter(ng.tensor([1, 2]))),
    ("forward", lambda: nn.Module()(X)),
    ("get_submodule", lambda: nn.Linear(2, 2).get_submodule("foo")),
    ("train", lambda: nn.Linear(2, 2).train("yes")),
    ("dtype", lambda: nn.Linear(2, 2).to("foo")),
]


@pytest.mark.parametrize(("name", "call"), BAD_UTILS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_UTILS)])
def test_utils_data_serialization_and_module_refuse_bad_arguments(name: str, call: Callable[[], Any]) -> None:
    if name == "get_submodule":  # torch raises AttributeError here too, naming the missing submodule
        with pytest.raises(AttributeError, match="foo"):
            call()
        return
    assert_clear_error(call, name)


def test_empty_and_0d_inputs_through_layers() -> None:
    ng.manual_seed(0)
    assert nn.Linear(3, 2)(ng.ones(0, 3)).shape == (0, 2)
    assert nn.Linear(3, 2)(ng.ones(3)).shape == (2,)  # unbatched, as torch
    assert nn.Conv2d(3, 4, 3)(ng.ones(0, 3, 5, 5)).shape == (0, 4, 3, 3)
    assert nn.Conv2d(3, 4, 3)(ng.ones(3, 5, 5)).shape == (4, 3, 3)
    assert list(data.DataLoader(data.TensorDataset(ng.ones(0)), batch_size=2)) == []
    assert nn.ReLU()(ng.tensor(-1.0)).item() == 0.0
    assert nn.Identity()(X) is X
    assert nn.Dropout(1.0)(ng.ones(3)).data.tolist() == [0.0, 0.0, 0.0]


BAD_RNN = [
    ("RNNBase", lambda: nn.RNNBase("FOO", 2, 3)),
    ("RNNCellBase", lambda: nn.RNNCellBase(2, -1, True, 1)),
    ("RNN", lambda: nn.RNN(2, 3, nonlinearity="sigmoid")),
    ("RNN", lambda: nn.RNN(2, 3)(None)),
    ("LSTM", lambda: nn.LSTM(2, 0)),
    ("LSTM", lambda: nn.LSTM(2, 3, proj_size=3)),
    ("LSTM", lambda: nn.LSTM(2, 3)(ng.ones(4, 1, 5))),
    ("LSTM", lambda: nn.LSTM(2, 3)(ng.ones(4, 1, 2), ng.ones(1, 1, 3))),
    ("LSTM", lambda: nn.LSTM(2, 3)(ng.ones(0, 1, 2))),
    ("GRU", lambda: nn.GRU(2, 3)(ng.ones(4, 1, 2), ng.ones(2, 1, 3))),
    ("GRU", lambda: nn.GRU(2, 3)(ng.ones(1, 4, 1, 2))),
    ("RNNCell", lambda: nn.RNNCell(2, 3)(ng.ones(1, 5))),
    ("LSTMCell", lambda: nn.LSTMCell(2, 3)(ng.ones(1, 2), ng.ones(1, 3))),
    ("GRUCell", lambda: nn.GRUCell(2, 3)(ng.ones(3, 3, 2))),
    ("rnn_tanh_cell", lambda: F.rnn_tanh_cell(ng.ones(1, 2), ng.ones(1, 4), ng.ones(3, 2), ng.ones(3, 3))),
    ("rnn_relu_cell", lambda: F.rnn_relu_cell(None, ng.ones(1, 3), ng.ones(3, 2), ng.ones(3, 3))),
    ("lstm_cell", lambda: F.lstm_cell(ng.ones(1, 2), ng.ones(1, 3), ng.ones(12, 2), ng.ones(12, 3))),
    ("gru_cell", lambda: F.gru_cell(ng.ones(1, 2), ng.ones(1, 3), ng.ones(12, 2), ng.ones(12, 3))),
    ("pad_sequence", lambda: nn.utils.rnn.pad_sequence([ng.ones(2, 3), ng.ones(2, 4)])),
    ("pack_padded_sequence", lambda: nn.utils.rnn.pack_padded_sequence(ng.ones(4, 3), [1, 4, 2])),
    ("pad_packed_sequence", lambda: nn.utils.rnn.pad_packed_sequence(ng.ones(4, 3))),
    ("pack_sequence", lambda: nn.utils.rnn.pack_sequence([])),
]


@pytest.mark.parametrize(("name", "call"), BAD_RNN, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_RNN)])
def test_recurrent_layers_refuse_bad_arguments(name: str, call: Callable[[], Any]) -> None:
    assert_clear_error(call, name)


Q = ng.ones(2, 4, 3, 8)
BAD_ATTENTION = [
    ("scaled_dot_product_attention", lambda: F.scaled_dot_product_attention(Q, Q, ng.ones(2, 4, 5, 8))),
    (
        "scaled_dot_product_attention",
        lambda: F.scaled_dot_product_attention(Q, Q, Q, attn_mask=ng.ones(4, 4)),
    ),
    (
        "scaled_dot_product_attention",
        lambda: F.scaled_dot_product_attention(Q, Q, Q, attn_mask=ng.ones(3, 3, dtype=ng.int64)),
    ),
    (
        "multi_head_attention_forward",
        lambda: F.multi_head_attention_forward(
            ng.ones(3, 2, 8),
            ng.ones(3, 2, 8),
            ng.ones(3, 2, 8),
            6,
            2,
            ng.ones(24, 8),
            ng.ones(24),
            None,
            None,
            False,
            0.0,
            ng.ones(8, 8),
            ng.ones(8),
        ),
    ),
    ("MultiheadAttention", lambda: nn.MultiheadAttention(10, 3)),
    (
        "multi_head_attention_forward",
        lambda: nn.MultiheadAttention(8, 2)(
            ng.ones(3, 2, 8),
            ng.ones(3, 2, 8),
            ng.ones(3, 2, 8),
            key_padding_mask=ng.ones(2, 4, dtype=ng.bool),
        ),
    ),
    (
        "MultiheadAttention",
        lambda: nn.MultiheadAttention(8, 2)(ng.ones(3, 2, 6), ng.ones(3, 2, 8), ng.ones(3, 2, 8)),
    ),
    ("linear", lambda: nn.NonDynamicallyQuantizableLinear(4, 2)(ng.ones(3, 5))),
    ("MultiheadAttention", lambda: nn.TransformerEncoderLayer(8, 3)),
    ("TransformerEncoderLayer", lambda: nn.TransformerEncoderLayer(8, 2, activation="swish")),
    (
        "MultiheadAttention",
        lambda: nn.TransformerDecoderLayer(8, 2, dim_feedforward=16)(ng.ones(3, 2, 8), ng.ones(4, 2, 6)),
    ),
    (
        "multi_head_attention_forward",
        lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2)(
            ng.ones(3, 2, 8), mask=ng.ones(4, 4)
        ),
    ),
    (
        "multi_head_attention_forward",
        lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 1)(
            ng.ones(3, 2, 8), ng.ones(4, 2, 8), tgt_mask=ng.ones(2, 2)
        ),
    ),
    ("Transformer", lambda: nn.Transformer(8, 2, 1, 1, 16)(ng.ones(3, 2, 8), ng.ones(4, 3, 8))),
    ("generate_square_subsequent_mask", lambda: nn.Transformer.generate_square_subsequent_mask(-1)),
]


@pytest.mark.parametrize(
    ("name", "call"), BAD_ATTENTION, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_ATTENTION)]
)
def test_attention_and_transformers_refuse_bad_arguments(name: str, call: Callable[[], Any]) -> None:
    assert_clear_error(call, name)


def test_every_public_name_is_exercised_here() -> None:
    """Walk the __all__ of nn, nn.functional, nn.init, nn.utils and nn.utils.data."""
    text = Path(__file__).read_text()
    names = set(nn.__all__) | set(F.__all__) | set(init.__all__) | set(nn.utils.__all__) | set(data.__all__)
    not_callable = {
        "__version__",
        "functional",
        "init",
        "loss",
        "utils",
        "data",
        "rnn",
        "Module",
        "Model",
        "Layer",
    }
    elsewhere = {"Checkpoint"}  # test_checkpoint.py and test_safe_loading.py
    missing = sorted(
        n for n in names - not_callable - elsewhere if f"{n}(" not in text and f'"{n}"' not in text
    )
    assert not missing, f"public names without a bad-input test: {missing}"
