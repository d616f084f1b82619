"""Matrix products."""

from __future__ import annotations

from typing import Any

import numpy as np

from neograd.autograd.function import Function
from neograd.autograd.ops._args import not_a_tensor
from neograd.autograd.ops.elementwise import _operands
from neograd.autograd.tensor import Tensor

__all__ = ["matmul", "mm", "bmm", "dot"]


class MatMul(Function):
    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        try:
            return a @ b
        except ValueError:
            raise ValueError(f"matmul: shapes {np.shape(a)} and {np.shape(b)} are not aligned") from None

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        # For matrices C = A B: dA = dC B^T and dB = A^T dC. A 1-D operand acts as a row
        # (left) or column (right) that matmul removes again; put those dims back first.
        # Batch dims that were broadcast are summed away by the engine.
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, without the reshaping below
            return (grad_output @ b.T if need_a else None), (a.T @ grad_output if need_b else None)
        if a.ndim == 1 and b.ndim == 1:
            return (grad_output * b if need_a else None), (grad_output * a if need_b else None)
        g = grad_output
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        if a.ndim == 1:
            g = g.reshape(g.shape[:-1] + (1, g.shape[-1]))
        if b.ndim == 1:
            g = g.reshape(g.shape + (1,))
        grad_a = grad_b = None
        if need_a:
            grad_a = g @ b2.swapaxes(-1, -2)
            if a.ndim == 1:
                grad_a = grad_a.reshape(grad_a.shape[:-2] + (grad_a.shape[-1],))
        if need_b:
            grad_b = a2.swapaxes(-1, -2) @ g
            if b.ndim == 1:
                grad_b = grad_b.reshape(grad_b.shape[:-1])
        return grad_a, grad_b


def matmul(input: Any, other: Any) -> Tensor:
    """The matrix product, as torch.matmul / NumPy's @.

    1-D @ 1-D is the dot product; a 1-D left (right) operand is a row (column) vector;
    with more than two dims the leading dims are batch dims and broadcast.

    Shape:
        (..., n, k) @ (..., k, m) -> (..., n, m)
    """
    a, b = _operands(input, other)
    return MatMul.apply(a, b)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """The product of two matrices (2-D only)."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("mm", input)
    if input.ndim != 2 or mat2.ndim != 2:
        raise ValueError(f"mm: expects two 2-D tensors, got shapes {input.shape} and {mat2.shape}")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of (b, n, k) and (b, k, m) tensors."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("bmm", input)
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise ValueError(f"bmm: expects (b, n, k) and (b, k, m), got shapes {input.shape} and {mat2.shape}")
    return matmul(input, mat2)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """The dot product of two 1-D tensors of the same length."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("dot", input)
    if input.ndim != 1 or other.ndim != 1 or input.shape != other.shape:
        raise ValueError(
            f"dot: expects two 1-D tensors of the same length, got shapes {input.shape} and {other.shape}"
        )
    return matmul(input, other)
