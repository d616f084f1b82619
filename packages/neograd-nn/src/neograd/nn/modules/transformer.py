"""The Transformer of "Attention Is All You Need" and its layers, as torch.nn.Transformer & co."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from neograd.autograd import Tensor, as_dtype, from_numpy, get_default_dtype
from neograd.nn import functional as F  # noqa: N812 -- torch's F
from neograd.nn import init
from neograd.nn.module import Module
from neograd.nn.modules.attention import MultiheadAttention
from neograd.nn.modules.container import ModuleList
from neograd.nn.modules.dropout import Dropout
from neograd.nn.modules.linear import Linear, _check_device
from neograd.nn.modules.normalization import LayerNorm

__all__ = [
    "Transformer",
    "TransformerEncoder",
    "TransformerDecoder",
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
]

Activation = str | Callable[[Tensor], Tensor]


def _activation(op: str, activation: Activation) -> Callable[[Tensor], Tensor]:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if isinstance(activation, str) or not callable(activation):
        raise ValueError(f"{op}: activation should be 'relu', 'gelu' or a callable, not {activation!r}")
    return activation


def _clones(module: Module, n: int) -> ModuleList:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"expected num_layers to be a non-negative int, got {n!r}")
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _check_mask(op: str, name: str, mask: Any) -> None:
    if mask is not None and not isinstance(mask, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(mask).__name__}")
    if mask is not None and mask.dtype != np.bool_ and not mask.is_floating_point():
        raise TypeError(f"{op}: only bool and floating {name} are supported, got dtype {mask.dtype}")


def _detect_is_causal_mask(mask: Tensor | None, is_causal: bool | None, size: int) -> bool:
    """is_causal as given, or (None) whether ``mask`` is exactly the square subsequent mask (torch's rule)."""
    if is_causal is not None:
        return bool(is_causal)
    if mask is None or mask.shape != (size, size):
        return False
    causal = Transformer.generate_square_subsequent_mask(
        size, dtype=mask.dtype if mask.is_floating_point() else None
    )
    if mask.dtype == np.bool_:
        return bool((mask.data == np.isinf(causal.data)).all())
    return bool((mask.data == causal.data).all())


class TransformerEncoderLayer(Module):
    """x + SelfAttention(x), then x + FeedForward(x), each followed (norm_first: preceded) by LayerNorm.

    Post-norm (default): x = norm1(x + sa(x)); x = norm2(x + ff(x)). Pre-norm (``norm_first``):
    x = x + sa(norm1(x)); x = x + ff(norm2(x)). ff(x) = linear2(dropout(activation(linear1(x)))).

    Args:
        d_model: the width of the inputs.
        nhead: attention heads (d_model must be divisible by it).
        dim_feedforward: the hidden width of the feed-forward block.
        dropout: dropout after attention, inside and after the feed-forward block.
        activation: "relu", "gelu" or a callable (a function or a module).
        layer_norm_eps: LayerNorm's eps.
        batch_first: inputs are (N, S, E) instead of (S, N, E).
        norm_first: pre-norm instead of post-norm.
        bias: learn the biases of the Linear and LayerNorm layers.

    Shape:
        src (S, N, E) (or (N, S, E) with batch_first, or unbatched (S, E)) -> the same shape.

    Example:
        >>> layer = TransformerEncoderLayer(d_model=16, nhead=4, batch_first=True)
        >>> layer(randn(2, 10, 16)).shape
        (2, 10, 16)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_device("TransformerEncoderLayer", device)
        activation = _activation("TransformerEncoderLayer", activation)
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = activation

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        _check_mask("TransformerEncoderLayer", "src_mask", src_mask)
        _check_mask("TransformerEncoderLayer", "src_key_padding_mask", src_key_padding_mask)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Self-attention, attention to the encoder's output (memory), feed-forward; each a residual + LayerNorm.

    Post-norm (default): x = norm1(x + sa(x)); x = norm2(x + mha(x, memory)); x = norm3(x + ff(x)).
    Pre-norm (``norm_first``): x = x + sa(norm1(x)); x = x + mha(norm2(x), memory); x = x + ff(norm3(x)).

    Args: as TransformerEncoderLayer.

    Shape:
        tgt (T, N, E), memory (S, N, E) (batch first with batch_first, or unbatched) -> tgt's shape.

    Example:
        >>> layer = TransformerDecoderLayer(d_model=16, nhead=4)
        >>> layer(randn(7, 2, 16), randn(10, 2, 16)).shape
        (7, 2, 16)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_device("TransformerDecoderLayer", device)
        activation = _activation("TransformerDecoderLayer", activation)
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        self.multihead_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = activation

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        for name, mask in (
            ("tgt_mask", tgt_mask),
            ("memory_mask", memory_mask),
            ("tgt_key_padding_mask", tgt_key_padding_mask),
            ("memory_key_padding_mask", memory_key_padding_mask),
        ):
            _check_mask("TransformerDecoderLayer", name, mask)
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(
                x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            )
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout1(x)

    def _mha_block(
        self, x: Tensor, mem: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool
    ) -> Tensor:
        x = self.multihead_attn(
            x,
            mem,
            mem,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout2(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer`` (deep copies: no weights shared), then ``norm``.

    Args:
        encoder_layer: a TransformerEncoderLayer (or any module with its call signature).
        num_layers: how many copies.
        norm: applied to the last layer's output, if given.
        enable_nested_tensor: accepted for torch compatibility (neograd has no nested tensors).
        mask_check: accepted for torch compatibility.

    Example:
        >>> encoder = TransformerEncoder(TransformerEncoderLayer(16, 4), num_layers=2)
        >>> encoder(randn(10, 2, 16)).shape
        (10, 2, 16)
    """

    def __init__(
        self,
        encoder_layer: Module,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        _check_mask("TransformerEncoder", "mask", mask)
        _check_mask("TransformerEncoder", "src_key_padding_mask", src_key_padding_mask)
        first = self.layers[0] if len(self.layers) else None
        batch_first = first is not None and first.self_attn.batch_first
        seq_len = src.shape[1 if batch_first and src.ndim == 3 else 0]
        is_causal = _detect_is_causal_mask(mask, is_causal, seq_len)
        output = src
        for layer in self.layers:
            output = layer(
                output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask
            )
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of ``decoder_layer``, each attending to ``memory``, then ``norm``.

    Example:
        >>> decoder = TransformerDecoder(TransformerDecoderLayer(16, 4), num_layers=2)
        >>> decoder(randn(7, 2, 16), randn(10, 2, 16)).shape
        (7, 2, 16)
    """

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        _check_mask("TransformerDecoder", "tgt_mask", tgt_mask)
        first = self.layers[0] if len(self.layers) else None
        batch_first = first is not None and first.self_attn.batch_first
        seq_len = tgt.shape[1 if batch_first and tgt.ndim == 3 else 0]
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, seq_len)
        output = tgt
        for layer in self.layers:
            output = layer(
                output,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=tgt_is_causal,
                memory_is_causal=memory_is_causal,
            )
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """An encoder-decoder Transformer: memory = encoder(src); output = decoder(tgt, memory).

    Every parameter with more than one dim is re-drawn Xavier-uniform, as torch does.

    Args:
        d_model: the width of the inputs (default 512).
        nhead: attention heads (default 8).
        num_encoder_layers, num_decoder_layers: the depth of each stack (default 6).
        dim_feedforward: the hidden width of the feed-forward blocks (default 2048).
        dropout: dropout probability (default 0.1).
        activation: "relu", "gelu" or a callable.
        custom_encoder, custom_decoder: modules used instead of the default stacks.
        layer_norm_eps: LayerNorm's eps.
        batch_first: inputs are (N, S, E) instead of (S, N, E).
        norm_first: pre-norm layers.
        bias: learn the biases of the Linear and LayerNorm layers.

    Shape:
        src (S, N, E), tgt (T, N, E) -> (T, N, E) (batch first with batch_first; unbatched
        (S, E), (T, E) -> (T, E)).

    Example:
        >>> model = Transformer(d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=2)
        >>> tgt = randn(7, 2, 16)
        >>> mask = Transformer.generate_square_subsequent_mask(7)
        >>> model(randn(10, 2, 16), tgt, tgt_mask=mask).shape
        (7, 2, 16)
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_device("Transformer", device)
        options = dict(
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            layer_norm_eps=layer_norm_eps,
            batch_first=batch_first,
            norm_first=norm_first,
            bias=bias,
            dtype=dtype,
        )
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            encoder_layer = TransformerEncoderLayer(d_model, nhead, **options)
            encoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            self.encoder = TransformerEncoder(encoder_layer, num_encoder_layers, encoder_norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            decoder_layer = TransformerDecoderLayer(d_model, nhead, **options)
            decoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            self.decoder = TransformerDecoder(decoder_layer, num_decoder_layers, decoder_norm)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        for name, t in (("src", src), ("tgt", tgt)):
            if not isinstance(t, Tensor):
                raise TypeError(f"Transformer: {name} must be a Tensor, got {type(t).__name__}")
        if src.ndim not in (2, 3) or tgt.ndim != src.ndim:
            raise ValueError(
                f"Transformer: src and tgt must both be 3-D (batched) or 2-D (unbatched), "
                f"got {src.shape} and {tgt.shape}"
            )
        batch_dim = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise ValueError(
                f"Transformer: the batch number of src {src.shape} and tgt {tgt.shape} must be equal "
                f"(dim {batch_dim}, batch_first={self.batch_first})"
            )
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(
                f"Transformer: the feature number of src {src.shape} and tgt {tgt.shape} must be equal "
                f"to d_model={self.d_model}"
            )
        for name, mask in (
            ("src_mask", src_mask),
            ("tgt_mask", tgt_mask),
            ("memory_mask", memory_mask),
            ("src_key_padding_mask", src_key_padding_mask),
            ("tgt_key_padding_mask", tgt_key_padding_mask),
            ("memory_key_padding_mask", memory_key_padding_mask),
        ):
            _check_mask("Transformer", name, mask)
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """A (sz, sz) float mask: -inf above the diagonal (future positions), 0 elsewhere.

        Example:
            >>> Transformer.generate_square_subsequent_mask(3)
            tensor([[0., -inf, -inf],
                    [0., 0., -inf],
                    [0., 0., 0.]])
        """
        if isinstance(sz, bool) or not isinstance(sz, (int, np.integer)) or sz < 0:
            raise ValueError(f"generate_square_subsequent_mask: sz must be a non-negative int, got {sz!r}")
        _check_device("generate_square_subsequent_mask", device)
        dtype = get_default_dtype() if dtype is None else as_dtype(dtype)
        return from_numpy(np.triu(np.full((sz, sz), -np.inf, dtype), 1))

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
