"""Attention: softmax(q k^T * scale + mask) v, and the multi-head attention built on it, as torch."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from neograd.autograd import Function, Tensor, backend, cat, from_numpy, softmax, zeros
from neograd.autograd.random import device_generator
from neograd.nn.functional.dropout import dropout
from neograd.nn.functional.linear import _ones, linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


class ScaledDotProductAttention(Function):
    """softmax(q k^T * scale + mask) v as one node that keeps q, k, v and the probabilities.

    ``mask`` is added to the scores (a float mask, or None); ``allowed`` (bool, or None)
    says which scores take part; ``keep`` is dropout's mask, already scaled by 1 / (1 - p).

    NOTE: one fused node rather than composed ones (matmul, mul, add, softmax, matmul): on
    the tiny GPT's shapes (16 x 4 heads x 32 x 16, causal, float32, one thread) forward +
    backward takes 0.39 ms of CPU against 0.63 ms composed (torch: 0.54 ms), because the
    composed ops spend their time in Python per op and in NumPy's slow reductions over a
    short last axis, which the fused forward avoids (row sums as a matmul with ones; no
    row max when the scores cannot overflow exp). It also keeps one (*, L, S) array for
    backward, the probabilities, where the composed ops keep three.
    """

    @staticmethod
    def forward(ctx: Any, q: Any, k: Any, v: Any, mask: Any, *, allowed: Any, scale: float, keep: Any) -> Any:
        s = q @ np.swapaxes(k, -1, -2)
        s *= s.dtype.type(scale)
        shape = np.broadcast_shapes(s.shape, *[np.shape(m) for m in (mask, allowed) if m is not None])
        if shape != s.shape:  # a mask with more batch dims than q, k and v
            s = np.broadcast_to(s, shape).copy()
        if mask is not None:
            s += mask
        # NOTE: softmax subtracts each row's max so that exp cannot overflow; when every
        # score is within +-_EXP_SAFE the shift changes nothing but rounding, and NumPy's
        # max over a short last axis costs as much as the rest of the forward: skip it then
        if s.dtype.itemsize >= 4 and (s.size == 0 or (-_EXP_SAFE < s.min() and s.max() < _EXP_SAFE)):
            p = np.exp(s, out=s)
            if allowed is not None:
                p *= allowed
        else:
            if allowed is not None:
                s = np.where(allowed, s, s.dtype.type(-np.inf))
            m = s.max(axis=-1, keepdims=True)
            m[~np.isfinite(m)] = 0  # a row that masks every key: probabilities 0, as torch's CPU kernels
            s -= m
            p = np.exp(s, out=s)
        # NOTE: row sums as one matmul (7x faster)
        total = (p @ _ones(p.shape[-1], p.dtype, backend.device_of(p)))[..., None]
        total[total == 0] = 1
        p /= total
        ctx.scale, ctx.keep, ctx.allowed = scale, keep, allowed
        ctx.save_for_backward(q, k, v, mask, p)
        return (p if keep is None else p * keep) @ v

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any, Any, Any]:
        # with P' = P * keep (dropout): dv = P'^T g, dP = (g v^T) * keep,
        # dS = P * (dP - rowsum(dP * P)) (softmax), dq = dS k * scale, dk = dS^T q * scale, dmask = dS
        q, k, v, mask, p = ctx.saved_tensors
        scale, keep = ctx.scale, ctx.keep
        need_q, need_k, need_v, need_mask = ctx.needs_input_grad
        if ctx._create_graph:
            # NOTE: p is an intermediate, a constant here: rebuild it from q and k (tensors
            # now) with differentiable ops, so that the gradient can be differentiated again
            s = (q @ k.swapaxes(-1, -2)) * scale
            if ctx.allowed is not None:
                s = s + np.where(ctx.allowed, s.dtype.type(0), s.dtype.type(-np.inf))
            p = softmax(s if mask is None else s + mask, -1)
            dp = grad_output @ v.swapaxes(-1, -2)
            dp = dp if keep is None else dp * keep
            ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
        else:
            dp = grad_output @ np.swapaxes(v, -1, -2)
            if keep is not None:
                dp *= keep
            rows = np.einsum("...ij,...ij->...i", dp, p)[..., None]  # NOTE: 5x NumPy's (dp * p).sum(-1)
            dp -= rows
            ds = np.multiply(dp, p, out=dp)
        pk = p if keep is None else p * keep
        grad_v = pk.swapaxes(-1, -2) @ grad_output if need_v else None
        grad_q = (ds @ k) * scale if need_q else None
        grad_k = (ds.swapaxes(-1, -2) @ q) * scale if need_k else None
        return grad_q, grad_k, grad_v, (ds if need_mask else None)


# exp(x) for |x| < 60 is a finite, normal float32 (or float64) whose sum over a billion
# terms still fits; float16 would overflow, so it always takes the shifted path
_EXP_SAFE = 60.0


@functools.lru_cache(maxsize=32)
def _causal_mask(target_len: int, source_len: int, device: backend.device = backend.cpu) -> np.ndarray:
    """True on and below the diagonal (query i sees keys 0..i), read-only and cached (one per device)."""
    mask = np.tril(backend.create(device, "ones", (target_len, source_len), bool))
    if device.type == "cpu":
        mask.flags.writeable = False
    return mask


def _check_tensor(op: str, name: str, t: Any) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")


def _repeat_heads(t: Tensor, repeats: int) -> Tensor:
    """Each head ``repeats`` times in a row along dim -3 (torch's repeat_interleave), for GQA."""
    shape = t.shape
    expanded = t.unsqueeze(-3).expand(*shape[:-2], repeats, *shape[-2:])
    return expanded.reshape(*shape[:-3], shape[-3] * repeats, *shape[-2:])


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(Q K^T * scale + M) V, as torch.nn.functional.scaled_dot_product_attention.

    Args:
        query: (*, L, E).
        key: (*, S, E).
        value: (*, S, Ev).
        attn_mask: broadcastable to (*, L, S): bool (True = the key takes part) or
            floating (added to the scores; it gets a gradient if it requires one).
        dropout_p: probability of zeroing an attention weight (applied whenever > 0, as
            torch; modules pass 0 in eval mode); drawn from neograd's generator.
        is_causal: query i attends to keys 0..i only (the mask is aligned top-left).
            Not together with ``attn_mask``.
        scale: the factor of the scores; default 1 / sqrt(E).
        enable_gqa: grouped-query attention: key and value may have fewer heads (dim -3)
            than query, a divisor of its number; each serves consecutive query heads.

    A row whose keys are all masked out gives an output of 0 (and gradient 0), as torch's
    CPU kernels.

    Shape:
        (*, L, E), (*, S, E), (*, S, Ev) -> (*, L, Ev); the leading dims broadcast.

    Example:
        >>> q = randn(2, 4, 8, 16)   # (batch, heads, L, E)
        >>> scaled_dot_product_attention(q, q, q, is_causal=True).shape
        (2, 4, 8, 16)
    """
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(op, name, t)
        if not t.is_floating_point():
            raise TypeError(f"{op}: {name} must be floating, got dtype {t.dtype}")
        if t.ndim < 2:
            raise ValueError(
                f"{op}: {name} must have at least 2 dims (*, seq, features), got shape {t.shape}"
            )
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(
            f"{op}: query, key and value must have the same dtype, "
            f"got {query.dtype}, {key.dtype} and {value.dtype}"
        )
    if key.shape[-1] != query.shape[-1]:
        raise ValueError(
            f"{op}: query of shape {query.shape} and key of shape {key.shape} must have the same last dim"
        )
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"{op}: key of shape {key.shape} and value of shape {value.shape} must have the same "
            "sequence length (dim -2)"
        )
    if not isinstance(dropout_p, (int, float)) or isinstance(dropout_p, bool) or not 0 <= dropout_p <= 1:
        raise ValueError(f"{op}: dropout_p has to be between 0 and 1, but got {dropout_p!r}")
    if scale is not None and (not isinstance(scale, (int, float)) or isinstance(scale, bool)):
        raise TypeError(f"{op}: scale must be a number or None, got {scale!r}")
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        heads, kv_heads = query.shape[-3], key.shape[-3]
        if value.shape[-3] != kv_heads or heads % kv_heads:
            raise ValueError(
                f"{op}: with enable_gqa, key and value must have the same number of heads (dim -3), "
                f"a divisor of query's; got query {query.shape}, key {key.shape}, value {value.shape}"
            )
        key, value = _repeat_heads(key, heads // kv_heads), _repeat_heads(value, heads // kv_heads)
    try:
        batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ValueError(
            f"{op}: the leading dims of query {query.shape}, key {key.shape} and value {value.shape} "
            "do not broadcast (pass enable_gqa=True for fewer key/value heads)"
        ) from None
    target_len, source_len = query.shape[-2], key.shape[-2]
    weights_shape = batch + (target_len, source_len)

    mask: Any = None
    allowed = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError(
                f"{op}: give attn_mask or is_causal=True, not both (torch documents it an error)"
            )
        allowed = _causal_mask(target_len, source_len, query.device)
    elif attn_mask is not None:
        _check_tensor(op, "attn_mask", attn_mask)
        if attn_mask.dtype != np.bool_ and not attn_mask.is_floating_point():
            raise TypeError(f"{op}: attn_mask must be bool or floating, got dtype {attn_mask.dtype}")
        try:
            np.broadcast_shapes(attn_mask.shape, weights_shape)
        except ValueError:
            raise ValueError(
                f"{op}: attn_mask of shape {attn_mask.shape} does not broadcast to the attention "
                f"weights' shape {weights_shape} (*, L, S)"
            ) from None
        if attn_mask.dtype == np.bool_:
            allowed = attn_mask.data
        elif attn_mask.requires_grad:
            if attn_mask.dtype != query.dtype:
                raise TypeError(
                    f"{op}: a float attn_mask must have query's dtype {query.dtype}, got {attn_mask.dtype}"
                )
            mask = attn_mask
        else:
            mask = attn_mask.data.astype(query.dtype, copy=False)

    keep = None
    if dropout_p > 0:
        if dropout_p == 1:
            keep = np.zeros_like(query.data, shape=weights_shape)
        else:
            draw = device_generator(query.device).random(weights_shape, dtype=np.float32)
            keep = (draw >= dropout_p) * query.dtype.type(1 / (1 - dropout_p))
    factor = 1 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    return ScaledDotProductAttention.apply(query, key, value, mask, allowed=allowed, scale=factor, keep=keep)


# ---- multi-head attention -----------------------------------------------------------------------


def _check_mask(op: str, name: str, mask: Tensor | None) -> None:
    if mask is not None:
        _check_tensor(op, name, mask)
        if mask.dtype != np.bool_ and not mask.is_floating_point():
            raise TypeError(f"{op}: only bool and floating {name} are supported, got dtype {mask.dtype}")


def _float_mask(mask: Tensor | None, dtype: np.dtype) -> Tensor | None:
    """A bool mask (True = masked out) as 0 / -inf in ``dtype``; a floating one as it is (torch's)."""
    if mask is None or mask.dtype != np.bool_:
        return mask
    return from_numpy(np.where(mask.data, dtype.type(-np.inf), dtype.type(0)))


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention, sequence-first, as torch.nn.functional.multi_head_attention_forward.

    Project query, key and value (one packed weight, or three with
    ``use_separate_proj_weight``), split the embedding into ``num_heads`` heads, attend in
    each head (scaled_dot_product_attention), join the heads and project the result with
    ``out_proj_weight``. Masks: ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or
    (N * num_heads, L, S); bool ones mark with True what is *masked out* (the opposite of
    scaled_dot_product_attention's), floating ones are added to the scores.

    Returns:
        ``(attn_output, attn_weights)``: (L, N, E), and with ``need_weights`` the attention
        weights (N, L, S) averaged over heads (``average_attn_weights``) or (N, num_heads, L, S);
        unbatched inputs (L, E) drop the N dim.
    """
    op = "multi_head_attention_forward"
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(op, name, t)
    if query.ndim not in (2, 3):
        raise ValueError(f"{op}: query must be 2-D (L, E) or 3-D (L, N, E), got shape {query.shape}")
    is_batched = query.ndim == 3
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(
            f"{op}: key and value must be {query.ndim}-D as query {query.shape}, "
            f"got {key.shape} and {value.shape}"
        )
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise ValueError(
            f"{op}: key_padding_mask must be {query.ndim - 1}-D (N, S) or (S) for a {query.ndim}-D query, "
            f"got shape {key_padding_mask.shape}"
        )
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        raise ValueError(
            f"{op}: attn_mask must be 2-D (L, S) or 3-D (N*num_heads, L, S), got shape {attn_mask.shape}"
        )
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise ValueError(f"{op}: query of shape {query.shape} does not end in embed_dim={embed_dim_to_check}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise ValueError(f"{op}: embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2] or key.shape[1] != bsz:
            raise ValueError(
                f"{op}: key {key.shape} and value {value.shape} must share (S, N) with query's N={bsz}"
            )
    elif key.shape != value.shape or key.shape[1:] != (bsz, embed_dim):
        raise ValueError(
            f"{op}: key {key.shape} and value {value.shape} must have the same shape (S, N, E) with "
            f"query's N={bsz} and E={embed_dim}"
        )
    if attn_mask is not None:
        expected = (tgt_len, src_len) if attn_mask.ndim == 2 else (bsz * num_heads, tgt_len, src_len)
        if attn_mask.shape != expected:
            raise ValueError(
                f"{op}: the shape of the {attn_mask.ndim}D attn_mask is {attn_mask.shape}, "
                f"but should be {expected}"
            )
    if key_padding_mask is not None and key_padding_mask.shape != (bsz, src_len):
        raise ValueError(
            f"{op}: key_padding_mask of shape {key_padding_mask.shape} should be (N, S) = {(bsz, src_len)}"
        )
    if is_causal and attn_mask is None:
        raise RuntimeError(
            f"{op}: need attn_mask if specifying the is_causal hint; "
            "Transformer.generate_square_subsequent_mask makes one"
        )
    if (bias_k is None) != (bias_v is None):
        raise ValueError(f"{op}: give both bias_k and bias_v or neither")
    if bias_k is not None and (static_k is not None or static_v is not None):
        raise ValueError(f"{op}: bias_k/bias_v cannot be added to static_k/static_v")
    for name, static in (("static_k", static_k), ("static_v", static_v)):
        if static is not None and (
            static.ndim != 3 or static.shape[0] != bsz * num_heads or static.shape[2] != head_dim
        ):
            raise ValueError(
                f"{op}: {name} must be (N*num_heads, S, head_dim) = ({bsz * num_heads}, S, {head_dim}), "
                f"got {static.shape}"
            )
    _check_mask(op, "key_padding_mask", key_padding_mask)
    _check_mask(op, "attn_mask", attn_mask)
    # NOTE: is_causal says attn_mask is the causal mask: without padding or returned weights,
    # the attention can build it (cached) instead, as torch does
    causal = is_causal and key_padding_mask is None and not need_weights
    if causal:
        attn_mask = None
    # NOTE: bool masks stay bool (True = masked out) while both are, so that the fused
    # attention gets a bool mask and can skip its row max; a float one turns both float
    if any(m is not None and m.dtype != np.bool_ for m in (attn_mask, key_padding_mask)):
        attn_mask, key_padding_mask = (
            _float_mask(attn_mask, query.dtype),
            _float_mask(key_padding_mask, query.dtype),
        )

    # ---- input projections
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise ValueError(f"{op}: use_separate_proj_weight is False but in_proj_weight is None")
        if query is key and key is value:  # NOTE: self-attention: one product for q, k and v
            q, k, v = linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
        else:
            w_q, w_k, w_v = in_proj_weight.chunk(3)
            b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
            q, k, v = linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)
    else:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ValueError(f"{op}: use_separate_proj_weight is True but a q/k/v_proj_weight is None")
        b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = (
            linear(query, q_proj_weight, b_q),
            linear(key, k_proj_weight, b_k),
            linear(value, v_proj_weight, b_v),
        )

    if bias_k is not None:
        k = cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = cat([v, bias_v.expand(1, bsz, embed_dim)])
        attn_mask = None if attn_mask is None else _pad_last(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)

    # ---- heads: (L, N, E) -> (N * num_heads, L, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_k is None else static_k
    v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_v is None else static_v
    if add_zero_attn:
        k = cat([k, zeros(bsz * num_heads, 1, head_dim, dtype=k.dtype)], dim=1)
        v = cat([v, zeros(bsz * num_heads, 1, head_dim, dtype=v.dtype)], dim=1)
        attn_mask = None if attn_mask is None else _pad_last(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)
    src_len = k.shape[1]

    if key_padding_mask is not None:
        padding = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        padding = padding.reshape(bsz * num_heads, 1, src_len)
        if attn_mask is None:
            attn_mask = padding
        else:
            attn_mask = attn_mask | padding if padding.dtype == np.bool_ else attn_mask + padding
    if attn_mask is not None and attn_mask.ndim == 2:
        attn_mask = attn_mask.unsqueeze(0)
    if not training:
        dropout_p = 0.0

    if need_weights:
        # written out (not the fused op) because the weights themselves are returned and
        # differentiable; a row masked everywhere gives nan here, as torch's
        scores = (q * math.sqrt(1.0 / head_dim)) @ k.transpose(-2, -1)
        attn_mask = _float_mask(attn_mask, query.dtype)
        weights = softmax(scores if attn_mask is None else scores + attn_mask, -1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = weights @ v
    else:
        if attn_mask is not None and attn_mask.dtype == np.bool_:
            attn_mask = ~attn_mask  # scaled_dot_product_attention's bool masks mark what takes part
        out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal=causal)
    out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if not need_weights:
        return (out if is_batched else out.squeeze(1)), None
    weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
    if average_attn_weights:
        weights = weights.mean(dim=1)
    if not is_batched:
        out, weights = out.squeeze(1), weights.squeeze(0)
    return out, weights


def _pad_last(mask: Tensor) -> Tensor:
    """One more key column of 0 / False (a bias_k or zero-attention key nobody masks)."""
    return cat([mask, zeros(*mask.shape[:-1], 1, dtype=mask.dtype)], dim=-1)
