"""Attention: scaled_dot_product_attention against a NumPy reference, gradients (first and second
order) by finite differences, dropout from neograd's generator, the freed graph, MultiheadAttention's
parameters and both its paths, and errors that name the argument and change nothing."""

from __future__ import annotations

import numpy as np
import pytest

import neograd.autograd as ng
import neograd.nn as nn
import neograd.nn.functional as F  # noqa: N812 -- torch's F
from neograd.autograd import gradcheck

rng = np.random.default_rng(3)


def t64(*shape: int, requires_grad: bool = True) -> ng.Tensor:
    return ng.tensor(rng.standard_normal(shape), requires_grad=requires_grad)


def reference(q, k, v, additive=None, scale=None):
    s = q @ np.swapaxes(k, -1, -2) * (1 / np.sqrt(q.shape[-1]) if scale is None else scale)
    if additive is not None:
        s = s + additive
    m = s.max(axis=-1, keepdims=True)
    e = np.exp(s - np.where(np.isfinite(m), m, 0))
    total = e.sum(axis=-1, keepdims=True)
    return (e / np.where(total == 0, 1, total)) @ v


def test_values_against_numpy():
    q, k, v = t64(2, 3, 4, 5), t64(2, 3, 6, 5), t64(2, 3, 6, 2)
    bool_mask = rng.random((4, 6)) > 0.4
    float_mask = rng.standard_normal((3, 4, 6))
    np.testing.assert_allclose(
        F.scaled_dot_product_attention(q, k, v).data, reference(q.data, k.data, v.data)
    )
    got = F.scaled_dot_product_attention(q, k, v, attn_mask=ng.tensor(bool_mask))
    np.testing.assert_allclose(got.data, reference(q.data, k.data, v.data, np.where(bool_mask, 0, -np.inf)))
    got = F.scaled_dot_product_attention(q, k, v, attn_mask=ng.tensor(float_mask), scale=0.7)
    np.testing.assert_allclose(got.data, reference(q.data, k.data, v.data, float_mask, 0.7))
    causal = np.where(np.tril(np.ones((4, 6), bool)), 0, -np.inf)
    got = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    np.testing.assert_allclose(got.data, reference(q.data, k.data, v.data, causal))


def test_large_scores_take_the_stable_path():
    # scores far beyond exp's range: the row max must be subtracted (and masked keys ignored)
    q, k, v = t64(2, 3, 4) * 40, t64(2, 5, 4) * 40, t64(2, 5, 3)
    mask = rng.random((3, 5)) > 0.3
    mask[:, 0] = True
    for attn_mask, additive in ((None, None), (ng.tensor(mask), np.where(mask, 0, -np.inf))):
        got = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask).data
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, reference(q.data, k.data, v.data, additive), atol=1e-12)


def test_rows_with_every_key_masked_give_zero_output_and_gradient():
    q, k, v = t64(1, 3, 4), t64(1, 5, 4), t64(1, 5, 2)
    mask = np.ones((3, 5), bool)
    mask[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=ng.tensor(mask))
    assert not out.data[0, 1].any() and np.isfinite(out.data).all()
    out.sum().backward()
    assert not q.grad.data[0, 1].any()


CASES = {
    "plain": ((2, 3, 4), (2, 5, 4), (2, 5, 3), {}),
    "2d": ((3, 4), (5, 4), (5, 2), {}),
    "broadcast batch": ((2, 2, 3, 4), (1, 2, 5, 4), (2, 1, 5, 4), {}),
    "causal": ((2, 4, 3), (2, 4, 3), (2, 4, 3), {"is_causal": True}),
    "scale": ((2, 3, 4), (2, 5, 4), (2, 5, 3), {"scale": 0.3}),
    "gqa": ((1, 4, 3, 2), (1, 2, 5, 2), (1, 2, 5, 3), {"enable_gqa": True}),
}


@pytest.mark.parametrize("case", CASES)
def test_gradcheck(case):
    q_shape, k_shape, v_shape, kwargs = CASES[case]
    gradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs),
        (t64(*q_shape), t64(*k_shape), t64(*v_shape)),
    )


def test_gradcheck_masks():
    q, k, v = t64(2, 3, 4), t64(2, 5, 4), t64(2, 5, 3)
    bool_mask = ng.tensor(rng.random((2, 3, 5)) > 0.3)
    gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=bool_mask), (q, k, v))
    float_mask = t64(3, 5)  # a float mask gets a gradient too
    gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), (q, k, v, float_mask))


def test_gradcheck_with_dropout():
    def fn(q, k, v):
        ng.manual_seed(7)  # the same dropout mask at every evaluation
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)

    gradcheck(fn, (t64(2, 3, 4), t64(2, 5, 4), t64(2, 5, 3)))


@pytest.mark.parametrize("kwargs", [{}, {"is_causal": True}, {"dropout_p": 0.3}])
def test_second_order_gradients_by_finite_differences(kwargs):
    w = ng.tensor(rng.standard_normal((2, 4, 3)))

    def grad_of_q(q, k, v):
        ng.manual_seed(1)
        with ng.enable_grad():  # gradcheck's finite differences run under no_grad
            out = F.scaled_dot_product_attention(q, k, v, **kwargs)
            (g,) = ng.grad((out * w).sum(), [q], create_graph=True)
        return g

    gradcheck(grad_of_q, (t64(2, 4, 3), t64(2, 4, 3), t64(2, 4, 3)))


def test_dropout_uses_neograd_generator():
    q, k, v = t64(2, 3, 4), t64(2, 5, 4), t64(2, 5, 3)
    ng.manual_seed(0)
    got = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25).data
    ng.manual_seed(0)
    keep = (ng.default_generator.random((2, 3, 5), dtype=np.float32) >= 0.25) / 0.75
    s = q.data @ np.swapaxes(k.data, -1, -2) / 2
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(got, (p * keep) @ v.data, atol=1e-12)
    assert not F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).data.any()


def test_float32_stays_float32_and_graph_is_freed():
    q = ng.tensor(rng.standard_normal((2, 4, 8)).astype(np.float32), requires_grad=True)
    out = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    assert out.dtype == np.float32
    node = out.grad_fn
    assert len(node.saved) == 5  # q, k, v, mask, probabilities
    out.sum().backward()
    assert q.grad.dtype == np.float32
    assert node.saved == ()  # auto-removal released what backward used


@pytest.mark.parametrize(
    "args, kwargs, error, words",
    [
        ((t64(2, 3, 4), t64(2, 5, 3), t64(2, 5, 3)), {}, ValueError, ["query", "key", "(2, 5, 3)"]),
        ((t64(2, 3, 4), t64(2, 5, 4), t64(2, 6, 4)), {}, ValueError, ["key", "value", "(2, 6, 4)"]),
        ((t64(2, 3, 4), t64(3, 5, 4), t64(3, 5, 4)), {}, ValueError, ["broadcast", "(3, 5, 4)"]),
        ((t64(4), t64(5, 4), t64(5, 4)), {}, ValueError, ["query", "2 dims"]),
        (
            (t64(2, 3, 4), t64(2, 5, 4), t64(2, 5, 4)),
            {"attn_mask": ng.ones(4, 5)},
            ValueError,
            ["attn_mask", "(4, 5)"],
        ),
        (
            (t64(2, 3, 4), t64(2, 5, 4), t64(2, 5, 4)),
            {"attn_mask": ng.ones(3, 5, dtype=ng.int64)},
            TypeError,
            ["attn_mask", "int64"],
        ),
        (
            (t64(2, 3, 4), t64(2, 5, 4), t64(2, 5, 4)),
            {"attn_mask": ng.ones(3, 5), "is_causal": True},
            ValueError,
            ["attn_mask", "is_causal"],
        ),
        ((t64(2, 3, 4), t64(2, 5, 4), t64(2, 5, 4)), {"dropout_p": 1.5}, ValueError, ["dropout_p", "1.5"]),
        (
            (t64(1, 4, 3, 4), t64(1, 3, 5, 4), t64(1, 3, 5, 4)),
            {"enable_gqa": True},
            ValueError,
            ["enable_gqa", "(1, 3, 5, 4)"],
        ),
        ((t64(2, 3, 4), np.zeros((2, 5, 4)), t64(2, 5, 4)), {}, TypeError, ["key", "ndarray"]),
    ],
)
def test_errors_name_the_argument(args, kwargs, error, words):
    with pytest.raises(error) as info:
        F.scaled_dot_product_attention(*args, **kwargs)
    for word in words:
        assert word in str(info.value)


# ---- MultiheadAttention ------------------------------------------------------------------------------


def test_parameters_names_shapes_and_initialisation():
    mha = nn.MultiheadAttention(12, 3)
    shapes = {k: v.shape for k, v in mha.state_dict().items()}
    assert shapes == {
        "in_proj_weight": (36, 12),
        "in_proj_bias": (36,),
        "out_proj.weight": (12, 12),
        "out_proj.bias": (12,),
    }
    assert (
        isinstance(mha.out_proj, nn.Linear)
        and type(mha.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    )
    assert not mha.in_proj_bias.data.any() and not mha.out_proj.bias.data.any()
    bound = np.sqrt(6 / (36 + 12))  # xavier_uniform_ on the packed (3E, E) weight
    assert np.abs(mha.in_proj_weight.data).max() <= bound and mha.in_proj_weight.data.std() > bound / 3
    assert mha.q_proj_weight is None and mha.bias_k is None

    mha = nn.MultiheadAttention(12, 3, bias=False, add_bias_kv=True, kdim=5, vdim=7)
    assert list(mha.state_dict()) == [
        "q_proj_weight",
        "k_proj_weight",
        "v_proj_weight",
        "bias_k",
        "bias_v",
        "out_proj.weight",
    ]
    assert (
        mha.k_proj_weight.shape == (12, 5)
        and mha.v_proj_weight.shape == (12, 7)
        and mha.bias_k.shape == (1, 1, 12)
    )
    assert mha.in_proj_weight is None and mha.in_proj_bias is None


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_paths_agree_and_gradcheck(need_weights):
    mha = nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True).double()
    x, mem = t64(3, 2, 4), t64(5, 2, 4)
    padding = ng.tensor(np.array([[False] * 5, [False, False, False, True, True]]))
    mask = ng.tensor(rng.random((3, 5)) > 0.7)
    fast = mha(x, mem, mem, key_padding_mask=padding, attn_mask=mask, need_weights=False)[0]
    slow, weights = mha(x, mem, mem, key_padding_mask=padding, attn_mask=mask)
    np.testing.assert_allclose(fast.data, slow.data, atol=1e-12)
    assert weights.shape == (2, 3, 5 + 2)  # the bias key and the zero key
    np.testing.assert_allclose(weights.data.sum(-1), 1)

    def fn(x, mem, *params):
        return mha(x, mem, mem, key_padding_mask=padding, attn_mask=mask, need_weights=need_weights)[0]

    gradcheck(fn, (x, mem, *mha.parameters()))


def test_mha_dropout_in_training_only():
    mha = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = ng.randn(4, 2, 8)
    a = mha(x, x, x)[0]
    b = mha(x, x, x)[0]
    assert not np.allclose(a.data, b.data)
    mha.eval()
    np.testing.assert_array_equal(mha(x, x, x)[0].data, mha(x, x, x)[0].data)


def test_mha_batch_first_and_unbatched():
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    x = ng.randn(3, 5, 8)
    out, weights = mha(x, x, x, average_attn_weights=False)
    assert out.shape == (3, 5, 8) and weights.shape == (3, 2, 5, 5)
    single, single_weights = mha(x[1], x[1], x[1])
    np.testing.assert_allclose(single.data, out.data[1], atol=1e-5)
    assert single_weights.shape == (5, 5)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda m, x: m(x[..., :6], x, x), ValueError, ["query", "(5, 2, 6)"]),
        (lambda m, x: m(x, x[:, :1], x[:, :1]), ValueError, ["key", "(5, 1, 8)"]),
        (
            lambda m, x: m(x, x, x, attn_mask=ng.ones(4, 5, dtype=ng.bool)),
            ValueError,
            ["attn_mask", "(4, 5)"],
        ),
        (lambda m, x: m(x, x, x, attn_mask=ng.ones(5, 5, dtype=ng.int64)), TypeError, ["attn_mask", "int64"]),
        (
            lambda m, x: m(x, x, x, key_padding_mask=ng.zeros(2, 4, dtype=ng.bool)),
            ValueError,
            ["key_padding_mask", "(2, 4)"],
        ),
        (lambda m, x: m(x, x, x, is_causal=True), RuntimeError, ["attn_mask", "is_causal"]),
        (lambda m, x: m(x.numpy(), x, x), TypeError, ["query", "ndarray"]),
    ],
)
def test_mha_errors_change_nothing(call, error, words):
    mha = nn.MultiheadAttention(8, 2)
    before = {k: v.data.copy() for k, v in mha.state_dict().items()}
    with pytest.raises(error) as info:
        call(mha, ng.randn(5, 2, 8))
    for word in words:
        assert word in str(info.value)
    assert all(np.array_equal(before[k], v.data) for k, v in mha.state_dict().items())


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"embed_dim": 10, "num_heads": 3}, ["divisible", "10", "3"]),
        ({"embed_dim": 8, "num_heads": 0}, ["num_heads", "0"]),
        ({"embed_dim": 8, "num_heads": 2, "dropout": 2.0}, ["dropout", "2.0"]),
    ],
)
def test_mha_bad_construction(kwargs, words):
    with pytest.raises(ValueError) as info:
        nn.MultiheadAttention(**kwargs)
    for word in words:
        assert word in str(info.value)
