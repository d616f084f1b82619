"""Transformer layers: torch's parameter names, independent deep copies, shapes in every layout,
gradients by finite differences, train/eval, the causal mask, and errors that change nothing."""

from __future__ import annotations

import numpy as np
import pytest

import neograd.autograd as ng
import neograd.nn as nn
import neograd.nn.functional as F  # noqa: N812 -- torch's F
from neograd.autograd import gradcheck

rng = np.random.default_rng(4)


def t64(*shape: int, requires_grad: bool = True) -> ng.Tensor:
    return ng.tensor(rng.standard_normal(shape), requires_grad=requires_grad)


def test_encoder_layer_parameter_names():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    assert list(layer.state_dict()) == [
        "self_attn.in_proj_weight",
        "self_attn.in_proj_bias",
        "self_attn.out_proj.weight",
        "self_attn.out_proj.bias",
        "linear1.weight",
        "linear1.bias",
        "linear2.weight",
        "linear2.bias",
        "norm1.weight",
        "norm1.bias",
        "norm2.weight",
        "norm2.bias",
    ]
    no_bias = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, bias=False)
    assert not [k for k in no_bias.state_dict() if k.endswith("bias")]
    assert "multihead_attn.in_proj_weight" in no_bias.state_dict() and "norm3.weight" in no_bias.state_dict()


def test_stacks_are_independent_deep_copies():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    encoder = nn.TransformerEncoder(layer, num_layers=3, enable_nested_tensor=False)
    keys = list(encoder.state_dict())
    assert keys[0] == "layers.0.self_attn.in_proj_weight" and "layers.2.norm2.bias" in keys
    weights = [encoder.layers[i].self_attn.in_proj_weight for i in range(3)]
    assert weights[0] is not weights[1] and weights[0] is not layer.self_attn.in_proj_weight
    np.testing.assert_array_equal(weights[0].data, weights[2].data)  # copies start equal
    weights[0].data[...] = 0
    assert weights[1].data.any()


def test_transformer_parameters_and_initialisation():
    model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=16)
    keys = list(model.state_dict())
    assert "encoder.layers.1.linear2.weight" in keys and "encoder.norm.weight" in keys
    assert "decoder.layers.0.multihead_attn.out_proj.weight" in keys and "decoder.norm.bias" in keys
    bound = np.sqrt(6 / (16 + 8))  # every matrix re-drawn Xavier-uniform
    assert np.abs(model.encoder.layers[0].linear1.weight.data).max() <= bound


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", F.silu])
def test_encoder_layer_gradcheck(norm_first, activation):
    layer = nn.TransformerEncoderLayer(
        4, 2, 6, dropout=0.0, activation=activation, norm_first=norm_first
    ).double()
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=ng.float64)
    padding = ng.tensor(np.array([[False, False, True], [False, False, False]]))

    def fn(x, *params):
        return layer(x, src_mask=mask, src_key_padding_mask=padding)

    gradcheck(fn, (t64(3, 2, 4), *layer.parameters()))


def test_decoder_layer_gradcheck():
    layer = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, batch_first=True).double()
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=ng.float64)

    def fn(tgt, memory, *params):
        return layer(tgt, memory, tgt_mask=mask, tgt_is_causal=True)

    gradcheck(fn, (t64(2, 3, 4), t64(2, 5, 4), *layer.parameters()))


@pytest.mark.parametrize("batch_first", [False, True])
def test_shapes_batched_and_unbatched(batch_first):
    model = nn.Transformer(8, 2, 1, 2, 16, batch_first=batch_first).eval()
    src, tgt = (
        (ng.randn(2, 6, 8), ng.randn(2, 4, 8)) if batch_first else (ng.randn(6, 2, 8), ng.randn(4, 2, 8))
    )
    out = model(src, tgt, tgt_mask=nn.Transformer.generate_square_subsequent_mask(4))
    assert out.shape == tgt.shape
    one = model(ng.randn(6, 8), ng.randn(4, 8))
    assert one.shape == (4, 8)


def test_causal_mask_and_its_detection():
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    np.testing.assert_array_equal(mask.data, [[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]])
    assert mask.dtype == np.float32
    from neograd.nn.modules.transformer import _detect_is_causal_mask

    assert _detect_is_causal_mask(mask, None, 3)
    assert not _detect_is_causal_mask(ng.zeros(3, 3), None, 3)
    assert not _detect_is_causal_mask(mask, False, 3)
    # the encoder gives the same result whether the mask is recognised as causal or not
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 2)
    x = ng.randn(3, 2, 8)
    np.testing.assert_allclose(
        encoder(x, mask=mask).data, encoder(x, mask=mask, is_causal=False).data, atol=1e-6
    )


def test_future_positions_do_not_change_the_past():
    model = nn.Transformer(8, 2, 1, 1, 16, dropout=0.0)
    src, tgt = ng.randn(5, 1, 8), ng.randn(4, 1, 8)
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    a = model(src, tgt, tgt_mask=mask).data
    tgt.data[3] += 1.0
    b = model(src, tgt, tgt_mask=mask).data
    np.testing.assert_allclose(a[:3], b[:3], atol=1e-6)
    assert not np.allclose(a[3], b[3])


def test_dropout_only_in_training():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = ng.randn(4, 2, 8)
    assert not np.allclose(layer(x).data, layer(x).data)
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer(x).data)


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: nn.TransformerEncoderLayer(8, 3), ValueError, ["divisible", "8", "3"]),
        (lambda: nn.TransformerEncoderLayer(8, 2, activation="tanh"), ValueError, ["activation", "tanh"]),
        (lambda: nn.TransformerDecoderLayer(8, 2, activation=3), ValueError, ["activation", "3"]),
        (
            lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), -1),
            ValueError,
            ["num_layers", "-1"],
        ),
    ],
)
def test_bad_construction(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda m: m(ng.randn(5, 2, 8), ng.randn(4, 3, 8)), ValueError, ["batch", "(5, 2, 8)", "(4, 3, 8)"]),
        (lambda m: m(ng.randn(5, 2, 6), ng.randn(4, 2, 6)), ValueError, ["d_model=8", "(5, 2, 6)"]),
        (lambda m: m(ng.randn(5, 2, 8), ng.randn(4, 8)), ValueError, ["src", "tgt", "(4, 8)"]),
        (
            lambda m: m(ng.randn(5, 2, 8), ng.randn(4, 2, 8), tgt_mask=ng.zeros(5, 5)),
            ValueError,
            ["attn_mask", "(5, 5)"],
        ),
        (
            lambda m: m(ng.randn(5, 2, 8), ng.randn(4, 2, 8), src_mask=ng.zeros(5, 5, dtype=ng.int64)),
            TypeError,
            ["src_mask", "int64"],
        ),
        (
            lambda m: m(
                ng.randn(5, 2, 8), ng.randn(4, 2, 8), src_key_padding_mask=ng.zeros(2, 4, dtype=ng.bool)
            ),
            ValueError,
            ["key_padding_mask", "(2, 4)"],
        ),
    ],
)
def test_bad_input_changes_nothing(call, error, words):
    model = nn.Transformer(8, 2, 1, 1, 16)
    before = {k: v.data.copy() for k, v in model.state_dict().items()}
    with pytest.raises(error) as info:
        call(model)
    for word in words:
        assert word in str(info.value)
    assert all(np.array_equal(before[k], v.data) for k, v in model.state_dict().items())
