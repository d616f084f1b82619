"""Parity of scaled_dot_product_attention and MultiheadAttention with torch: values and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF  # noqa: N812

import neograd.autograd as ng
import neograd.nn as nn
import neograd.nn.functional as F  # noqa: N812 -- torch's F

RNG = np.random.default_rng(0)


def randn(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


# (query, key, value shapes, the mask or None, keyword arguments)
SDPA_CASES = {
    "plain": ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7), None, {}),
    "3d": ((3, 5, 4), (3, 6, 4), (3, 6, 4), None, {}),
    "2d": ((5, 4), (6, 4), (6, 3), None, {}),
    "broadcast batch": ((2, 3, 5, 4), (1, 3, 6, 4), (1, 3, 6, 4), None, {}),
    "bool mask": ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), RNG.random((5, 6)) > 0.3, {}),
    "bool mask per batch": ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), RNG.random((2, 1, 5, 6)) > 0.3, {}),
    "float mask": ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), randn(2, 3, 5, 6), {}),
    "float mask broadcast": ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), randn(5, 6), {}),
    "causal": ((2, 3, 5, 4), (2, 3, 5, 4), (2, 3, 5, 4), None, {"is_causal": True}),
    "causal L < S": ((2, 2, 3, 4), (2, 2, 6, 4), (2, 2, 6, 4), None, {"is_causal": True}),
    "causal L > S": ((2, 2, 6, 4), (2, 2, 3, 4), (2, 2, 3, 4), None, {"is_causal": True}),
    "scale": ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), None, {"scale": 0.3}),
    "gqa": ((2, 4, 5, 4), (2, 2, 6, 4), (2, 2, 6, 3), None, {"enable_gqa": True}),
    "fully masked rows": (
        (1, 2, 3, 4),
        (1, 2, 5, 4),
        (1, 2, 5, 4),
        np.array([[1, 1, 0, 0, 1], [0] * 5, [1] * 5], bool),
        {},
    ),
    "fully masked float rows": (
        (1, 2, 3, 4),
        (1, 2, 5, 4),
        (1, 2, 5, 4),
        np.array([[0, 0, -np.inf, 0, 0], [-np.inf] * 5, [0] * 5]),
        {},
    ),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", SDPA_CASES)
def test_scaled_dot_product_attention(parity, case, dtype):
    q_shape, k_shape, v_shape, mask, kwargs = SDPA_CASES[case]
    inputs = [randn(*q_shape, dtype=dtype), randn(*k_shape, dtype=dtype), randn(*v_shape, dtype=dtype)]
    if mask is None:
        parity(
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs),
            lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, **kwargs),
            inputs,
            atol=1e-10 if dtype == np.float64 else 1e-5,
        )
    else:
        mask = mask.astype(dtype) if mask.dtype != bool else mask
        parity(
            lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, **kwargs),
            lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, attn_mask=m, **kwargs),
            [*inputs, mask],
            atol=1e-10 if dtype == np.float64 else 1e-5,
        )


def test_float_mask_gets_its_gradient(parity):
    parity(
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
        lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, attn_mask=m),
        [randn(2, 3, 5, 4), randn(2, 3, 6, 4), randn(2, 3, 6, 4), randn(1, 3, 5, 6)],
        requires_grad=[False, True, False, True],
    )


def test_second_order_gradient():
    # d/dk and d/dv of |d(out . w)/dq|^2, through create_graph
    q, k, v, w = randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3), randn(2, 3, 3)
    mask = np.tril(np.ones((3, 5), bool))
    nq, nk, nv = (ng.tensor(a, requires_grad=True) for a in (q, k, v))
    out = F.scaled_dot_product_attention(nq, nk, nv, attn_mask=ng.tensor(mask))
    (gq,) = ng.grad((out * ng.tensor(w)).sum(), [nq], create_graph=True)
    (gq**2).sum().backward()
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    out = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.tensor(mask))
    (gq,) = torch.autograd.grad((out * torch.tensor(w)).sum(), [tq], create_graph=True)
    (gq**2).sum().backward()
    np.testing.assert_allclose(nk.grad.data, tk.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(nv.grad.data, tv.grad.numpy(), atol=1e-10)


# ---- MultiheadAttention -----------------------------------------------------------------------------


def compare_modules(ng_module, th_module, ng_inputs, th_inputs, call, atol):
    """Outputs, input gradients and every parameter gradient of ``call(module, *inputs)``, by name."""
    ng_outs = call(ng_module, *ng_inputs)
    th_outs = call(th_module, *th_inputs)
    ng_outs = [o for o in (ng_outs if isinstance(ng_outs, tuple) else (ng_outs,)) if o is not None]
    th_outs = [o for o in (th_outs if isinstance(th_outs, tuple) else (th_outs,)) if o is not None]
    assert len(ng_outs) == len(th_outs)
    grads = []
    for a, b in zip(ng_outs, th_outs):
        np.testing.assert_allclose(a.data, b.detach().numpy(), atol=atol, err_msg="forward")
        grads.append(RNG.standard_normal(a.shape).astype(a.dtype))
    ng.backward(ng_outs, grads)
    torch.autograd.backward(th_outs, [torch.from_numpy(g) for g in grads])
    for i, (a, b) in enumerate(zip(ng_inputs, th_inputs)):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), atol=atol, err_msg=f"grad of input {i}")
    th_params = dict(th_module.named_parameters())
    ng_params = dict(ng_module.named_parameters())
    assert list(ng_params) == list(th_params)
    for name, p in ng_params.items():
        np.testing.assert_allclose(
            p.grad.data, th_params[name].grad.numpy(), atol=atol, err_msg=f"grad of {name}"
        )


def mha_pair(dtype=np.float64, **kwargs):
    torch.manual_seed(0)
    th = torch.nn.MultiheadAttention(**kwargs).to(torch.float64 if dtype == np.float64 else torch.float32)
    if th.bias_k is not None:
        th.bias_k.data.normal_()
        th.bias_v.data.normal_()
    if th.in_proj_bias is not None:  # torch zeroes the biases: give them values so they are tested
        th.in_proj_bias.data.normal_()
        th.out_proj.bias.data.normal_()
    own = nn.MultiheadAttention(**kwargs).to(dtype)
    own.load_state_dict({k: v.numpy() for k, v in th.state_dict().items()})
    return own, th


def as_pair(array, requires_grad=True):
    grad = requires_grad and array.dtype.kind == "f"
    return ng.tensor(array, requires_grad=grad), torch.tensor(array, requires_grad=grad)


MHA_CASES = {
    "self": ({}, {}),
    "batch_first": ({"batch_first": True}, {}),
    "no bias": ({"bias": False}, {}),
    "kdim vdim": ({"kdim": 5, "vdim": 3}, {}),
    "bias_kv zero_attn": ({"add_bias_kv": True, "add_zero_attn": True}, {}),
    "per head weights": ({}, {"average_attn_weights": False}),
    "no weights": ({}, {"need_weights": False}),
}


@pytest.mark.parametrize("case", MHA_CASES)
@pytest.mark.parametrize("masks", ["none", "bool", "float"])
def test_multihead_attention(case, masks):
    options, call_kwargs = MHA_CASES[case]
    embed, heads, batch, tgt_len, src_len = 8, 2, 3, 4, 5
    own, th = mha_pair(embed_dim=embed, num_heads=heads, **options)
    first = options.get("batch_first", False)
    lead = (lambda n: (batch, n)) if first else (lambda n: (n, batch))
    query = randn(*lead(tgt_len), embed)
    key = randn(*lead(src_len), options.get("kdim", embed))
    value = randn(*lead(src_len), options.get("vdim", embed))
    pairs = [as_pair(a) for a in (query, key, value)]
    if masks != "none":
        padding = np.zeros((batch, src_len), bool)
        padding[0, -2:] = True
        attn = RNG.random((tgt_len, src_len)) > 0.8
        attn[:, 0] = False
        if masks == "float":
            padding = np.where(padding, -1e9, 0.0) + randn(batch, src_len) * 0.1
            attn = randn(batch * heads, tgt_len, src_len)
        extra = {"key_padding_mask": as_pair(padding, False), "attn_mask": as_pair(attn, False)}
    else:
        extra = {}

    def call(side):
        def run(module, q, k, v):
            kw = {name: pair[side] for name, pair in extra.items()}
            return module(q, k, v, **kw, **call_kwargs)

        return run

    ng_in, th_in = [p[0] for p in pairs], [p[1] for p in pairs]
    ng_out = call(0)(own, *ng_in)
    th_out = call(1)(th, *th_in)
    assert (ng_out[1] is None) == (th_out[1] is None)
    # fresh inputs for the gradient comparison (one forward per side)
    pairs = [as_pair(a) for a in (query, key, value)]
    own.zero_grad()
    th.zero_grad()

    def both(module, q, k, v):
        side = 0 if isinstance(module, nn.Module) else 1
        return call(side)(module, q, k, v)

    compare_modules(own, th, [p[0] for p in pairs], [p[1] for p in pairs], both, atol=1e-10)


def test_multihead_attention_self_attention_causal_and_unbatched():
    own, th = mha_pair(embed_dim=8, num_heads=4)
    x = randn(6, 8)  # unbatched
    mask = np.triu(np.full((6, 6), -np.inf), 1)
    ng_mask, th_mask = as_pair(mask, False)
    for need_weights in (True, False):
        a, b = as_pair(x)

        def call(m, t, need_weights=need_weights):
            attn_mask = ng_mask if isinstance(m, nn.Module) else th_mask
            return m(t, t, t, attn_mask=attn_mask, is_causal=True, need_weights=need_weights)

        compare_modules(own, th, [a], [b], call, atol=1e-10)
        own.zero_grad()
        th.zero_grad()


def test_multihead_attention_float32_and_torch_layout():
    own, th = mha_pair(np.float32, embed_dim=16, num_heads=4, batch_first=True)
    assert list(own.state_dict()) == list(th.state_dict())
    a, b = as_pair(randn(2, 7, 16, dtype=np.float32))
    compare_modules(own, th, [a], [b], lambda m, t: m(t, t, t), atol=1e-5)


@pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning")
# NOTE: neograd's softmax warns (NumPy's "invalid value") on a row of -inf, where torch is silent
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("kinds", [("bool", "bool"), ("bool", "float"), ("float", "bool")])
def test_multihead_attention_mixed_masks_and_fully_masked_rows(kinds, need_weights):
    # a query row that sees no key: 0 from the fused attention, nan from the weights path, as torch
    own, th = mha_pair(embed_dim=8, num_heads=2)
    attn = np.zeros((3, 4), bool)
    attn[1] = True
    padding = np.array([[False, False, True, False], [False] * 4])
    masks = [attn, padding]
    masks = [m if kind == "bool" else np.where(m, -np.inf, 0.0) for m, kind in zip(masks, kinds)]
    x, mem = randn(3, 2, 8), randn(4, 2, 8)
    got = own(
        ng.tensor(x),
        ng.tensor(mem),
        ng.tensor(mem),
        attn_mask=ng.tensor(masks[0]),
        key_padding_mask=ng.tensor(masks[1]),
        need_weights=need_weights,
    )
    want = th(
        torch.tensor(x),
        torch.tensor(mem),
        torch.tensor(mem),
        attn_mask=torch.tensor(masks[0]),
        key_padding_mask=torch.tensor(masks[1]),
        need_weights=need_weights,
    )
    np.testing.assert_allclose(got[0].data, want[0].detach().numpy(), atol=1e-10)
    if need_weights:
        np.testing.assert_allclose(got[1].data, want[1].detach().numpy(), atol=1e-10)
