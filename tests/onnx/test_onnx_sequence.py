"""neograd.onnx for sequence models: LSTM/GRU/RNN as ONNX's own ops, attention and Transformers.

Each exported case passes onnx.checker.check_model(full_check=True), runs in onnxruntime
and matches neograd's eval output (float32, 1e-5), then comes back through load() and
matches again. Hand-built LSTM/GRU/RNN graphs (onnx.helper) are imported and checked
against onnxruntime, and an imported LSTM fine-tunes.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import neograd as ng
from neograd import nn
from neograd.nn import functional as F  # noqa: N812 -- torch's F
from neograd.nn.modules.rnn import RNNBase
from neograd.onnx import export, load

TOL = {"rtol": 1e-5, "atol": 1e-5}
FLOAT = TensorProto.FLOAT


def _x(*shape: int, seed: int = 0) -> ng.Tensor:
    return ng.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def _flat(out: Any) -> list[np.ndarray]:
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flat(o)]
    return [out.numpy()]


def _neograd(model: Any, inputs: tuple[Any, ...]) -> list[np.ndarray]:
    with ng.no_grad():
        return _flat(model(*inputs))


def _session(proto: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _close(got: list[Any], expected: list[np.ndarray]) -> None:
    assert len(got) == len(expected)
    for r, e in zip(got, expected):
        r = r.numpy() if isinstance(r, ng.Tensor) else r
        assert r.shape == e.shape and r.dtype == e.dtype
        np.testing.assert_allclose(r, e, **TOL)


def check(model: nn.Module, args: tuple[Any, ...], **kwargs: Any) -> onnx.ModelProto:
    """Export, check, run in onnxruntime and through load(); returns the ModelProto."""
    model.eval()
    buffer = io.BytesIO()
    proto = export(model, args, buffer, **kwargs)
    onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()), full_check=True)
    expected = _neograd(model, args)
    leaves = _flat(args)
    names = [i.name for i in proto.graph.input]
    _close(_session(proto).run(None, dict(zip(names, leaves))), expected)
    imported = load(buffer.getvalue()).eval()
    _close(_neograd(imported, tuple(ng.tensor(a) for a in leaves)), expected)
    return proto


def _ops(proto: onnx.ModelProto) -> set[str]:
    return {n.op_type for n in proto.graph.node}


# ---- recurrent layers -------------------------------------------------------------------------------
RECURRENT = {
    "lstm": lambda: nn.LSTM(3, 4),
    "lstm_2_layers_bidirectional_batch_first": lambda: nn.LSTM(
        3, 4, num_layers=2, bidirectional=True, batch_first=True
    ),
    "lstm_no_bias": lambda: nn.LSTM(3, 4, bias=False),
    "gru": lambda: nn.GRU(3, 4),
    "gru_2_layers_bidirectional": lambda: nn.GRU(3, 4, num_layers=2, bidirectional=True),
    "rnn_tanh": lambda: nn.RNN(3, 4),
    "rnn_relu_bidirectional_batch_first": lambda: nn.RNN(
        3, 4, nonlinearity="relu", bidirectional=True, batch_first=True
    ),
}


@pytest.mark.parametrize("name", sorted(RECURRENT))
def test_recurrent_layer_is_one_onnx_op_per_layer(name: str) -> None:
    ng.manual_seed(0)
    module = RECURRENT[name]()
    proto = check(module, (_x(2, 5, 3) if module.batch_first else _x(5, 2, 3),))
    op_type = {"LSTM": "LSTM", "GRU": "GRU"}.get(module.mode, "RNN")
    assert sum(n.op_type == op_type for n in proto.graph.node) == module.num_layers
    assert len(proto.graph.output) == (3 if op_type == "LSTM" else 2)  # output, h_n (, c_n)
    # the initializers are the parameters, with their names and torch's layout
    assert {i.name for i in proto.graph.initializer} == {n for n, _ in module.named_parameters()}


def test_lstm_with_initial_states_as_graph_inputs() -> None:
    ng.manual_seed(1)
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    args = (_x(5, 2, 3), (_x(4, 2, 4, seed=1), _x(4, 2, 4, seed=2)))
    proto = check(lstm, args)
    assert [i.name for i in proto.graph.input] == ["input_0", "input_1", "input_2"]


def test_gru_and_rnn_with_an_initial_state() -> None:
    ng.manual_seed(2)
    check(nn.GRU(3, 4, num_layers=2, batch_first=True), (_x(2, 5, 3), _x(2, 2, 4, seed=1)))
    check(nn.RNN(3, 4, nonlinearity="relu", bidirectional=True), (_x(5, 2, 3), _x(2, 2, 4, seed=1)))


def test_unbatched_input() -> None:
    ng.manual_seed(3)
    check(nn.LSTM(3, 4, num_layers=2), (_x(5, 3), (_x(2, 4, seed=1), _x(2, 4, seed=2))))
    check(nn.GRU(3, 4, bidirectional=True), (_x(5, 3),))


def test_lstm_proj_size_is_refused_by_name() -> None:
    with pytest.raises(RuntimeError, match="proj_size=2 has no ONNX form"):
        export(nn.LSTM(3, 4, proj_size=2), (_x(5, 2, 3),), None)


def test_packed_sequence_is_refused_by_name() -> None:
    lstm = nn.LSTM(3, 4)

    class Packed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = lstm

        def forward(self, x: Any) -> Any:
            return self.lstm(nn.utils.rnn.PackedSequence(x, [2, 2, 1]))[1][0]

    with pytest.raises(RuntimeError, match="PackedSequence"):
        export(Packed(), (_x(5, 3),), None)


def test_the_tracer_leaves_rnn_forward_as_it_was() -> None:
    before = RNNBase.__dict__["forward"]
    export(nn.GRU(3, 4), (_x(5, 2, 3),), None)
    assert RNNBase.__dict__["forward"] is before


CELLS = {
    "lstm_cell": (lambda: nn.LSTMCell(3, 4), lambda: (_x(2, 3), (_x(2, 4, seed=1), _x(2, 4, seed=2)))),
    "lstm_cell_no_state": (lambda: nn.LSTMCell(3, 4), lambda: (_x(2, 3),)),
    "gru_cell": (lambda: nn.GRUCell(3, 4), lambda: (_x(2, 3), _x(2, 4, seed=1))),
    "gru_cell_unbatched_no_bias": (lambda: nn.GRUCell(3, 4, bias=False), lambda: (_x(3), _x(4, seed=1))),
    "rnn_cell_relu": (lambda: nn.RNNCell(3, 4, nonlinearity="relu"), lambda: (_x(2, 3), _x(2, 4, seed=1))),
}


@pytest.mark.parametrize("name", sorted(CELLS))
def test_recurrent_cell_is_one_step_of_the_onnx_op(name: str) -> None:
    ng.manual_seed(13)
    make, args = CELLS[name]
    proto = check(make(), args())
    assert _ops(proto) & {"LSTM", "GRU", "RNN"}


class Unrolled(nn.Module):
    """An LSTMCell run over the steps in a Python loop (a decoder's shape), then a head."""

    def __init__(self) -> None:
        super().__init__()
        self.cell = nn.LSTMCell(3, 5)
        self.head = nn.Linear(5, 2)

    def forward(self, x: Any) -> Any:
        h, c = self.cell(x[0])
        for t in range(1, x.shape[0]):
            h, c = self.cell(x[t], (h, c))
        return self.head(h)


def test_a_cell_unrolled_in_a_loop_with_dynamic_batch() -> None:
    ng.manual_seed(14)
    proto = check(Unrolled(), (_x(4, 2, 3),), dynamic_axes={"input": [1], "output": [0]})
    assert sum(n.op_type == "LSTM" for n in proto.graph.node) == 4


class SequenceClassifier(nn.Module):
    """Embedding -> 2-layer bidirectional LSTM (batch first) -> the last step -> Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 6)
        self.lstm = nn.LSTM(6, 8, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, tokens: Any) -> Any:
        output, _ = self.lstm(self.embed(tokens))
        return self.head(output[:, -1])


def test_lstm_model_with_dynamic_batch_and_length() -> None:
    ng.manual_seed(4)
    model = SequenceClassifier()
    tokens = ng.tensor(np.random.default_rng(0).integers(0, 20, (2, 7)))
    dynamic = {"input": {0: "batch", 1: "length"}, "output": {0: "batch"}}
    proto = check(model, (tokens,), dynamic_axes=dynamic)
    assert {"LSTM", "Gather"} <= _ops(proto)
    other = np.random.default_rng(1).integers(0, 20, (5, 4))
    expected = _neograd(model, (ng.tensor(other),))
    _close(_session(proto).run(None, {"input": other}), expected)
    _close(_neograd(load(proto).eval(), (ng.tensor(other),)), expected)


def test_exported_lstm_model_imports_and_fine_tunes() -> None:
    ng.manual_seed(5)
    model = SequenceClassifier()
    tokens = ng.tensor(np.random.default_rng(2).integers(0, 20, (16, 6)))
    labels = ng.tensor(np.random.default_rng(3).integers(0, 3, 16))
    imported = load(export(model, (tokens,), None))
    assert "lstm.weight_ih_l0" in imported.onnx_names.values()
    optimizer = ng.optim.Adam(imported.parameters(), lr=0.02)
    losses = []
    for _ in range(15):
        loss = F.cross_entropy(imported(tokens), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


# ---- hand-built recurrent graphs ---------------------------------------------------------------------
def _recurrent_model(op_type: str, directions: int, gates: int, **attrs: Any) -> onnx.ModelProto:
    """One LSTM/GRU/RNN node with initial states as inputs (the weights are the same for every call)."""
    rng = np.random.default_rng(6)
    steps, batch, features, hidden = 4, 3, 2, 5
    first = attrs.get("layout", 0)  # batch first: (B, T, *) and (B, D, H)
    x_shape = [batch, steps, features] if first else [steps, batch, features]
    state_shape = [batch, directions, hidden] if first else [directions, batch, hidden]
    y_shape = [batch, steps, directions, hidden] if first else [steps, directions, batch, hidden]

    def init(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.5).astype(np.float32), name)

    inits = [
        init("W", directions, gates * hidden, features),
        init("R", directions, gates * hidden, hidden),
        init("B", directions, 2 * gates * hidden),
        numpy_helper.from_array(np.full(batch, steps, np.int32), "lens"),
    ]
    state_names = ["h0", "c0"] if op_type == "LSTM" else ["h0"]
    outputs = ["Y", "Y_h", "Y_c"] if op_type == "LSTM" else ["Y", "Y_h"]
    node = helper.make_node(
        op_type, ["x", "W", "R", "B", "lens", *state_names], outputs, hidden_size=hidden, **attrs
    )
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        [node],
        "hand",
        [value("x", FLOAT, x_shape)] + [value(n, FLOAT, state_shape) for n in state_names],
        [value("Y", FLOAT, y_shape)] + [value(n, FLOAT, state_shape) for n in outputs[1:]],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


HAND_BUILT = {
    "lstm_bidirectional": ("LSTM", 2, 4, {"direction": "bidirectional"}),
    "lstm_reverse": ("LSTM", 1, 4, {"direction": "reverse"}),
    "gru": ("GRU", 1, 3, {"linear_before_reset": 1}),
    "gru_bidirectional": ("GRU", 2, 3, {"linear_before_reset": 1, "direction": "bidirectional"}),
    "rnn_relu": ("RNN", 1, 1, {"activations": ["Relu"]}),
    "rnn_tanh_bidirectional": ("RNN", 2, 1, {"direction": "bidirectional"}),
}


@pytest.mark.parametrize("name", sorted(HAND_BUILT))
def test_hand_built_recurrent_graph_matches_onnxruntime(name: str) -> None:
    op_type, directions, gates, attrs = HAND_BUILT[name]
    model = _recurrent_model(op_type, directions, gates, **attrs)
    rng = np.random.default_rng(7)
    feeds = {
        i.name: rng.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim]).astype(np.float32)
        for i in model.graph.input
    }
    expected = _session(model).run(None, feeds)
    imported = load(model).eval()
    with ng.no_grad():
        got = imported(*[ng.tensor(a) for a in feeds.values()])
    _close(list(got), expected)
    # it trains: the gradient reaches every weight
    loss = sum((o * o).sum() for o in imported(*[ng.tensor(a) for a in feeds.values()]))
    loss.backward()
    assert all(p.grad is not None and np.abs(p.grad.numpy()).sum() > 0 for p in imported.parameters())


def test_hand_built_batch_first_layout() -> None:
    # onnxruntime does not run layout=1: compare with the same weights in layout 0, transposed
    attrs = {"direction": "bidirectional"}
    reference = _recurrent_model("LSTM", 2, 4, **attrs)
    rng = np.random.default_rng(8)
    x, h0, c0 = (rng.standard_normal(s).astype(np.float32) for s in ((4, 3, 2), (2, 3, 5), (2, 3, 5)))
    y, h_n, c_n = _session(reference).run(None, {"x": x, "h0": h0, "c0": c0})
    imported = load(_recurrent_model("LSTM", 2, 4, layout=1, **attrs)).eval()
    with ng.no_grad():
        got = imported(*[ng.tensor(np.ascontiguousarray(a.swapaxes(0, 1))) for a in (x, h0, c0)])
    _close(list(got), [y.transpose(2, 0, 1, 3), h_n.swapaxes(0, 1), c_n.swapaxes(0, 1)])


@pytest.mark.parametrize(
    ("op_type", "gates", "attrs", "message"),
    [
        ("GRU", 3, {}, "linear_before_reset=0 is not supported"),
        ("LSTM", 4, {"clip": 1.0}, "clip=1.0 is not supported"),
        ("LSTM", 4, {"activations": ["Sigmoid", "Relu", "Tanh"]}, "activations"),
        ("LSTM", 4, {"input_forget": 1}, "input_forget"),
    ],
)
def test_recurrent_options_neograd_cannot_run_are_named(
    op_type: str, gates: int, attrs: dict[str, Any], message: str
) -> None:
    model = _recurrent_model(op_type, 1, gates, **attrs)
    imported = load(model)
    inputs = [
        ng.tensor(np.zeros([d.dim_value for d in i.type.tensor_type.shape.dim], np.float32))
        for i in model.graph.input
    ]
    with pytest.raises(ValueError, match=message):
        imported(*inputs)


# ---- attention and Transformers ----------------------------------------------------------------------
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_encoder_layer(norm_first: bool, batch_first: bool) -> None:
    ng.manual_seed(8)
    layer = nn.TransformerEncoderLayer(
        16, 4, 32, dropout=0.1, activation="gelu", batch_first=batch_first, norm_first=norm_first
    )
    proto = check(layer, (_x(2, 5, 16) if batch_first else _x(5, 2, 16),))
    assert {"Softmax", "LayerNormalization"} <= _ops(proto)


class CausalDecoder(nn.Module):
    def __init__(self, norm_first: bool) -> None:
        super().__init__()
        self.layer = nn.TransformerDecoderLayer(16, 4, 32, batch_first=True, norm_first=norm_first)

    def forward(self, x: Any, memory: Any) -> Any:
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1])
        return self.layer(x, memory, tgt_mask=mask, tgt_is_causal=True)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_decoder_layer_with_a_causal_mask(norm_first: bool) -> None:
    ng.manual_seed(15)
    check(CausalDecoder(norm_first), (_x(2, 5, 16), _x(2, 7, 16, seed=1)))


def test_the_whole_transformer() -> None:
    ng.manual_seed(16)
    check(nn.Transformer(16, 2, 1, 1, 32, batch_first=True), (_x(2, 5, 16), _x(2, 4, 16, seed=1)))


class TransformerClassifier(nn.Module):
    """Embedding + learned positions -> TransformerEncoder (2 layers, with a final norm) -> mean -> Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 16)
        self.positions = nn.Parameter(ng.randn(8, 16) * 0.1)
        layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(16))
        self.head = nn.Linear(16, 3)

    def forward(self, tokens: Any) -> Any:
        x = self.embed(tokens) + self.positions[: tokens.shape[1]]
        return self.head(self.encoder(x).mean(1))


def test_transformer_encoder_model_with_dynamic_batch() -> None:
    ng.manual_seed(9)
    model = TransformerClassifier()
    tokens = ng.tensor(np.random.default_rng(0).integers(0, 20, (2, 8)))
    proto = check(model, (tokens,), dynamic_axes={"input": [0], "output": [0]})
    other = np.random.default_rng(1).integers(0, 20, (5, 8))
    _close(_session(proto).run(None, {"input": other}), _neograd(model, (ng.tensor(other),)))


class TinyGPT(nn.Module):
    """Token + position embeddings, causal self-attention blocks (norm first), a tied-size head."""

    def __init__(self, vocab: int = 24, dim: int = 16, context: int = 12) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab, dim)
        self.positions = nn.Embedding(context, dim)
        layer = nn.TransformerEncoderLayer(dim, 2, 4 * dim, dropout=0.1, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, 2)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, idx: Any) -> Any:
        steps = idx.shape[1]
        x = self.tokens(idx) + self.positions(ng.arange(steps))
        mask = nn.Transformer.generate_square_subsequent_mask(steps)
        return self.head(self.norm(self.blocks(x, mask=mask, is_causal=True)))


def test_gpt_like_model_with_dynamic_batch_and_length() -> None:
    ng.manual_seed(10)
    model = TinyGPT()
    idx = ng.tensor(np.random.default_rng(2).integers(0, 24, (2, 6)))
    dynamic = {"input": {0: "batch", 1: "length"}, "output": {0: "batch", 1: "length"}}
    proto = check(model, (idx,), dynamic_axes=dynamic)
    # the positions (arange of the length) and the causal mask are written from the length
    assert sum(n.op_type == "Range" for n in proto.graph.node) >= 2
    imported = load(proto).eval()
    for shape in ((5, 6), (1, 1), (3, 12)):
        other = np.random.default_rng(shape[1]).integers(0, 24, shape)
        expected = _neograd(model, (ng.tensor(other),))
        _close(_session(proto).run(None, {"input": other}), expected)
        _close(_neograd(imported, (ng.tensor(other),)), expected)


def test_dynamic_axes_of_the_same_example_size_are_refused_where_they_would_mix() -> None:
    with pytest.raises(RuntimeError, match="have the same size 4 in the example"):
        export(TinyGPT(), (ng.tensor(np.zeros((4, 4), np.int64)),), None, dynamic_axes={"input": [0, 1]})


def test_sequence_first_encoder_layer_with_dynamic_length_and_batch() -> None:
    ng.manual_seed(17)
    layer = nn.TransformerEncoderLayer(16, 4, 32)
    proto = check(layer, (_x(5, 2, 16),), dynamic_axes={"input": [0, 1], "output": [0, 1]})
    other = _x(3, 4, 16, seed=5)
    _close(_session(proto).run(None, {"input": other.numpy()}), _neograd(layer, (other,)))


class CausalEncoder(nn.Module):
    """Causal self-attention over embeddings (no positions: nothing else depends on the length)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(24, 16)
        self.blocks = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32, batch_first=True), 2)

    def forward(self, idx: Any) -> Any:
        mask = nn.Transformer.generate_square_subsequent_mask(idx.shape[1])
        return self.blocks(self.embed(idx), mask=mask, is_causal=True)


def test_the_causal_mask_follows_a_dynamic_length() -> None:
    ng.manual_seed(12)
    model = CausalEncoder()
    idx = ng.tensor(np.random.default_rng(2).integers(0, 24, (2, 6)))
    proto = check(model, (idx,), dynamic_axes={"input": {1: "length"}, "output": {1: "length"}})
    assert "Range" in _ops(proto)  # the mask is written from the length, not stored for one length
    for length in (3, 11):
        other = np.random.default_rng(length).integers(0, 24, (2, length))
        expected = _neograd(model, (ng.tensor(other),))
        _close(_session(proto).run(None, {"input": other}), expected)
        _close(_neograd(load(proto).eval(), (ng.tensor(other),)), expected)


def test_a_slice_computed_from_a_dynamic_size_is_refused() -> None:
    class Shifted(nn.Module):
        def forward(self, x: Any) -> Any:
            return x[:, : x.shape[1] - 1] * 2

    with pytest.raises(RuntimeError, match="'index' of GetItem changes with the input"):
        export(Shifted(), (_x(2, 5),), None, dynamic_axes={"input": [1]})


class Attention(nn.Module):
    def __init__(self, mask: Any = None, is_causal: bool = False) -> None:
        super().__init__()
        self.mask, self.is_causal = mask, is_causal

    def forward(self, q: Any, k: Any, v: Any) -> Any:
        return F.scaled_dot_product_attention(q, k, v, self.mask, is_causal=self.is_causal, scale=0.3)


def test_scaled_dot_product_attention_masks() -> None:
    q, k, v = _x(2, 3, 4, 8), _x(2, 3, 6, 8, seed=1), _x(2, 3, 6, 5, seed=2)
    float_mask = _x(4, 6, seed=3)
    bool_mask = np.random.default_rng(4).random((2, 1, 4, 6)) > 0.3
    bool_mask[0, 0, 1] = False  # a query that sees no key: 0, as neograd (not ONNX Softmax's nan)
    for mask, causal in ((None, False), (float_mask, False), (ng.tensor(bool_mask), False), (None, True)):
        check(Attention(mask, causal), (q, k, v))


def test_multihead_attention_with_padding_mask_and_weights() -> None:
    ng.manual_seed(11)
    attention = nn.MultiheadAttention(16, 4, batch_first=True)
    padding = ng.tensor(np.array([[False] * 5, [False] * 3 + [True] * 2]))

    class Padded(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attention = attention

        def forward(self, x: Any) -> Any:
            out, weights = self.attention(x, x, x, key_padding_mask=padding)
            fused, _ = self.attention(x, x, x, key_padding_mask=padding, need_weights=False)
            return out, weights, fused

    check(Padded(), (_x(2, 5, 16),))


class PaddedEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True)

    def forward(self, x: Any, padding: Any) -> Any:
        return self.layer(x, src_key_padding_mask=padding)


def test_a_padding_mask_as_a_graph_input_follows_its_values() -> None:
    ng.manual_seed(18)
    model = PaddedEncoder()
    x = _x(2, 5, 16)
    padding = np.array([[False] * 5, [False] * 3 + [True] * 2])
    proto = check(model, (x, ng.tensor(padding)))
    imported = load(proto).eval()
    other = np.array([[False] * 2 + [True] * 3, [False] * 4 + [True]])
    expected = _neograd(model, (x, ng.tensor(other)))
    _close(_session(proto).run(None, {"input_0": x.numpy(), "input_1": other}), expected)
    _close(_neograd(imported, (x, ng.tensor(other))), expected)


def test_a_mask_made_from_an_input_with_numpy_is_refused() -> None:
    class Outside(nn.Module):
        def forward(self, x: Any, keep: Any) -> Any:
            return F.scaled_dot_product_attention(x, x, x, ng.tensor(~keep.numpy()))

    with pytest.raises(RuntimeError, match="changes with the input"):
        export(Outside(), (_x(2, 3, 8), ng.tensor(np.eye(3, dtype=bool))), None)


class Bitwise(nn.Module):
    def forward(self, x: Any, index: Any) -> Any:
        folded = ng.tensor(np.array([0, 1, 2, 3])) & ng.tensor(np.array([1, 1, 2, 2]))  # constants only
        return x[:, folded] + x[:, index | ng.tensor(np.array([1, 0]))][:, :1]


def test_integer_bitwise_ops() -> None:
    x, index = _x(2, 4), ng.tensor(np.array([2, 0]))
    with pytest.raises(RuntimeError, match="needs opset_version >= 18"):
        export(Bitwise(), (x, index), None)
    proto = check(Bitwise(), (x, index), opset_version=18)
    other = np.array([0, 2])
    expected = _neograd(Bitwise(), (x, ng.tensor(other)))
    _close(_session(proto).run(None, {"input_0": x.numpy(), "input_1": other}), expected)


def test_attention_with_dropout_is_refused() -> None:
    def attend(q: Any) -> Any:
        return F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)

    class Dropping(nn.Module):
        def forward(self, q: Any) -> Any:
            return attend(q)

    with pytest.raises(RuntimeError, match="dropout"):
        export(Dropping(), (_x(2, 4, 8),), None)
