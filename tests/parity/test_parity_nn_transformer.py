"""Parity of the Transformer layers with torch: torch's weights load by name, outputs and all gradients match.

Weights also cross through safetensors in both directions.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import neograd.autograd as ng
import neograd.nn as nn

if os.environ.get("NEOGRAD_REQUIRE_TORCH"):
    import safetensors  # fail loudly: the parity environment must have it
else:
    pytest.importorskip("safetensors")

import safetensors.torch

# torch's own advice about its fast paths, not about the results compared here
pytestmark = [
    pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning"),
    pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning"),
]
RNG = np.random.default_rng(0)
D_MODEL, NHEAD, FF = 8, 2, 12
# NOTE: neograd's gelu computes erf with its own approximation, about 1e-9 off in float64
GELU_ATOL = 1e-7


def randn(*shape):
    return RNG.standard_normal(shape)


def load_from_torch(own, th):
    """Give torch's module random biases and LayerNorm affines (its init makes them 0/1), then copy it."""
    with torch.no_grad():
        for p in th.parameters():
            if p.ndim == 1:
                p.normal_()
    own.load_state_dict({k: v.numpy() for k, v in th.state_dict().items()})


def compare(own, th, arrays, call, atol=1e-10):
    """Forward and backward on both sides; outputs, input gradients and every parameter gradient, by name."""
    ng_in = [ng.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    th_in = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    a, b = call(own, ng, *ng_in), call(th, torch, *th_in)
    np.testing.assert_allclose(a.data, b.detach().numpy(), atol=atol, err_msg="forward")
    g = RNG.standard_normal(a.shape)
    a.backward(ng.tensor(g))
    b.backward(torch.tensor(g))
    for i, (x, y) in enumerate(zip(ng_in, th_in)):
        if y.requires_grad:
            np.testing.assert_allclose(x.grad.data, y.grad.numpy(), atol=atol, err_msg=f"grad of input {i}")
    th_params = dict(th.named_parameters())
    assert list(own.state_dict()) == list(th.state_dict())
    for name, p in own.named_parameters():
        np.testing.assert_allclose(
            p.grad.data, th_params[name].grad.numpy(), atol=atol, err_msg=f"grad of {name}"
        )


def square_mask(lib, size):
    return (nn.Transformer if lib is ng else torch.nn.Transformer).generate_square_subsequent_mask(
        size, dtype=lib.float64
    )


LAYER_OPTIONS = {
    "post-norm relu": {},
    "pre-norm gelu": {"norm_first": True, "activation": "gelu"},
    "batch_first no bias": {"batch_first": True, "bias": False},
}


@pytest.mark.parametrize("options", LAYER_OPTIONS)
def test_encoder_layer(options):
    kwargs = dict(LAYER_OPTIONS[options], dim_feedforward=FF, dropout=0.0)
    torch.manual_seed(0)
    th = torch.nn.TransformerEncoderLayer(D_MODEL, NHEAD, **kwargs).double()
    own = nn.TransformerEncoderLayer(D_MODEL, NHEAD, **kwargs).double()
    load_from_torch(own, th)
    padding = np.zeros((3, 5), bool)
    padding[1, -2:] = True

    def call(module, lib, x, pad):
        return module(x, src_mask=square_mask(lib, 5), src_key_padding_mask=pad)

    x = randn(3, 5, D_MODEL) if kwargs.get("batch_first") else randn(5, 3, D_MODEL)
    compare(own, th, [x, padding], call, atol=GELU_ATOL if kwargs.get("activation") == "gelu" else 1e-10)


@pytest.mark.parametrize("options", LAYER_OPTIONS)
def test_decoder_layer(options):
    kwargs = dict(LAYER_OPTIONS[options], dim_feedforward=FF, dropout=0.0)
    torch.manual_seed(0)
    th = torch.nn.TransformerDecoderLayer(D_MODEL, NHEAD, **kwargs).double()
    own = nn.TransformerDecoderLayer(D_MODEL, NHEAD, **kwargs).double()
    load_from_torch(own, th)
    first = kwargs.get("batch_first", False)
    tgt, memory = (
        (randn(3, 4, D_MODEL), randn(3, 6, D_MODEL))
        if first
        else (randn(4, 3, D_MODEL), randn(6, 3, D_MODEL))
    )
    memory_padding = np.zeros((3, 6), bool)
    memory_padding[2, :3] = True

    def call(module, lib, t, m, pad):
        return module(t, m, tgt_mask=square_mask(lib, 4), memory_key_padding_mask=pad, tgt_is_causal=True)

    compare(
        own,
        th,
        [tgt, memory, memory_padding],
        call,
        atol=GELU_ATOL if kwargs.get("activation") == "gelu" else 1e-10,
    )


def test_encoder_and_decoder_stacks():
    torch.manual_seed(0)
    th_enc = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, dropout=0.0),
        2,
        norm=torch.nn.LayerNorm(D_MODEL),
        enable_nested_tensor=False,
    ).double()
    own_enc = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, dropout=0.0), 2, norm=nn.LayerNorm(D_MODEL)
    )
    own_enc.double()
    load_from_torch(own_enc, th_enc)
    assert "layers.1.self_attn.in_proj_weight" in own_enc.state_dict()
    compare(own_enc, th_enc, [randn(5, 2, D_MODEL)], lambda m, lib, x: m(x, mask=square_mask(lib, 5)))

    torch.manual_seed(1)
    th_dec = torch.nn.TransformerDecoder(
        torch.nn.TransformerDecoderLayer(D_MODEL, NHEAD, FF, dropout=0.0), 2
    ).double()
    own_dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(D_MODEL, NHEAD, FF, dropout=0.0), 2).double()
    load_from_torch(own_dec, th_dec)
    compare(
        own_dec,
        th_dec,
        [randn(4, 2, D_MODEL), randn(5, 2, D_MODEL)],
        lambda m, lib, t, mem: m(t, mem, tgt_mask=square_mask(lib, 4)),
    )


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer(batch_first):
    kwargs = dict(
        d_model=D_MODEL,
        nhead=NHEAD,
        num_encoder_layers=2,
        num_decoder_layers=1,
        dim_feedforward=FF,
        dropout=0.0,
        batch_first=batch_first,
    )
    torch.manual_seed(0)
    th = torch.nn.Transformer(**kwargs).double()
    own = nn.Transformer(**kwargs).double()
    load_from_torch(own, th)
    src, tgt = (
        (randn(2, 6, D_MODEL), randn(2, 4, D_MODEL))
        if batch_first
        else (randn(6, 2, D_MODEL), randn(4, 2, D_MODEL))
    )
    src_padding = np.zeros((2, 6), bool)
    src_padding[0, -1] = True

    def call(module, lib, s, t, pad):
        return module(
            s, t, tgt_mask=square_mask(lib, 4), src_key_padding_mask=pad, memory_key_padding_mask=pad
        )

    compare(own, th, [src, tgt, src_padding], call)


def test_generate_square_subsequent_mask():
    for size in (0, 1, 5):
        np.testing.assert_array_equal(
            nn.Transformer.generate_square_subsequent_mask(size).data,
            torch.nn.Transformer.generate_square_subsequent_mask(size).numpy(),
        )
    assert nn.Transformer.generate_square_subsequent_mask(3).dtype == np.float32


def test_safetensors_both_ways(tmp_path):
    torch.manual_seed(0)
    th = torch.nn.Transformer(D_MODEL, NHEAD, 1, 1, FF, dropout=0.0).eval()
    path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file(th.state_dict(), str(path))
    own = nn.Transformer(D_MODEL, NHEAD, 1, 1, FF, dropout=0.0).eval()
    own.load_state_dict(nn.load(path))  # strict: every key, shape and dtype matches
    src, tgt = randn(5, 2, D_MODEL).astype(np.float32), randn(3, 2, D_MODEL).astype(np.float32)
    with torch.no_grad():
        expected = th(torch.from_numpy(src), torch.from_numpy(tgt)).numpy()
    np.testing.assert_allclose(own(ng.tensor(src), ng.tensor(tgt)).data, expected, atol=1e-5)

    # and back: neograd's own weights (scrambled) into a fresh torch model
    for value in own.state_dict().values():
        value.data[...] = RNG.standard_normal(value.shape).astype(np.float32) * 0.3
    path = tmp_path / "neograd.safetensors"
    nn.save(own.state_dict(), path)
    target = torch.nn.Transformer(D_MODEL, NHEAD, 1, 1, FF, dropout=0.0).eval()
    target.load_state_dict(safetensors.torch.load_file(str(path)))
    with torch.no_grad():
        got = target(torch.from_numpy(src), torch.from_numpy(tgt)).numpy()
    np.testing.assert_allclose(got, own(ng.tensor(src), ng.tensor(tgt)).data, atol=1e-4)
