"""Lookups by integer index: embedding and one_hot."""

from __future__ import annotations

from typing import Any

import numpy as np

from neograd.autograd import Function, Tensor, backend

__all__ = ["embedding", "one_hot"]


class Embedding(Function):
    """Rows of ``weight`` picked by ``indices``. Backward is plain NumPy (no double backward)."""

    @staticmethod
    def forward(ctx: Any, weight: np.ndarray, indices: np.ndarray, *, padding_idx: int | None) -> np.ndarray:
        ctx.indices, ctx.num, ctx.padding_idx = indices, weight.shape[0], padding_idx
        return np.take(weight, indices, axis=0)  # NOTE: the same rows as weight[indices], 2x faster

    @staticmethod
    def backward(ctx: Any, grad_output: np.ndarray) -> tuple[np.ndarray, None]:
        dim = grad_output.shape[-1]
        grad = np.zeros_like(grad_output, shape=(ctx.num, dim))
        # a row picked several times gets the sum of its gradients
        backend.scatter_add_rows(grad, ctx.indices.reshape(-1), grad_output.reshape(-1, dim))
        if ctx.padding_idx is not None:
            grad[ctx.padding_idx] = 0  # the padding row is never trained
        return grad, None


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """``weight[input]``: one row of ``weight`` per index, as torch.nn.functional.embedding.

    Args:
        input: an integer tensor of indices in [0, num_embeddings).
        weight: (num_embeddings, embedding_dim).
        padding_idx: the row at this index receives no gradient.

    Shape:
        (*) -> (*, embedding_dim)

    Example:
        >>> embedding(tensor([[0, 2]]), eye(3)).shape
        (1, 2, 3)
    """
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not supported")
    idx = input.data if isinstance(input, Tensor) else backend.asarray(input, like=weight.data)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got dtype {idx.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got {weight.shape}")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"embedding: index {bad} is out of range for {n} embeddings")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within num_embeddings={n}")
        padding_idx %= n
    return Embedding.apply(weight, idx, padding_idx=padding_idx)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Int64 one-hot encoding: ``out[..., k] = 1`` where ``tensor[...] == k``.

    Args:
        tensor: integer class indices.
        num_classes: the number of classes (-1: the largest index + 1).

    Shape:
        (*) -> (*, num_classes)
    """
    idx = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, got dtype {idx.dtype}")
    if num_classes == -1:
        if idx.size == 0:
            raise RuntimeError("one_hot: can not infer the number of classes from an empty tensor")
        num_classes = int(idx.max()) + 1
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise RuntimeError(
            f"one_hot: class values must be in [0, {num_classes}), got {idx.min()}..{idx.max()}"
        )
    classes = backend.create(backend.device_of(idx), "arange", num_classes)
    return Tensor._make((idx[..., None] == classes).astype(np.int64))
