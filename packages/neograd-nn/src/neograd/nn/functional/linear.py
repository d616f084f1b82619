"""Affine maps: linear (x W^T + b, one fused op) and bilinear."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from neograd.autograd import Function, Tensor, backend

__all__ = ["linear", "bilinear"]


class Linear(Function):
    """y = x W^T + b as one node: one matmul forward, two backward, instead of three nodes."""

    @staticmethod
    def forward(ctx: Any, x: Any, weight: Any, bias: Any) -> Any:
        ctx.save_for_backward(x, weight)
        # NOTE: batch dims flattened: one 2-D product is one BLAS call, where NumPy's
        # matmul of a 3-D x runs up to 1.6x slower
        y = backend.mm(_rows(x), weight.T)
        if bias is not None:
            y += bias  # NOTE: in place on the fresh product: no second output-sized array
        if x.ndim == 2:
            return y  # NOTE: nothing to reshape, and reshape would still make a new view
        return y.reshape(x.shape[:-1] + (weight.shape[0],))

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any, Any]:
        # dx = g W, dW = g^T x, db = sum of g over every batch position; batch dims are
        # flattened so that dW is one matrix product whatever the input's rank
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        g2 = _rows(grad_output)
        grad_x = None
        if need_x:
            grad_x = backend.mm(g2, weight)
            if x.ndim != 2:  # NOTE: as in forward, no view when there is nothing to reshape
                grad_x = grad_x.reshape(x.shape)
        grad_w = backend.mm(g2.T, _rows(x)) if need_w else None
        # NOTE: db as ones @ g, one BLAS call: NumPy sums a narrow (batch, 10) array over
        # axis 0 row by row, up to 5x slower (both add in float32, neither pairwise); on a
        # GPU (CuPy arrays) the plain sum is the fast one
        grad_b = None
        if need_b:
            grad_b = np.dot(_ones(len(g2), g2.dtype), g2) if isinstance(g2, np.ndarray) else g2.sum(axis=0)
        return grad_x, grad_w, grad_b


def _rows(a: Any) -> Any:
    """``a`` as a matrix, one row per batch position: (*, n) -> (prod(*), n)."""
    # NOTE: the row count spelled out, not -1, which NumPy cannot infer when a is empty
    return a if a.ndim == 2 else a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


@functools.lru_cache(maxsize=16)
def _ones(n: int, dtype: np.dtype, device: backend.device = backend.cpu) -> np.ndarray:
    """n ones, read-only and cached: every bias gradient needs them (np.ones costs 1 us a call)."""
    ones = backend.create(device, "ones", n, dtype)
    if device.type == "cpu":
        ones.flags.writeable = False
    return ones


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b, as torch.nn.functional.linear.

    Args:
        input: (*, in_features).
        weight: (out_features, in_features).
        bias: (out_features) or None.

    Shape:
        (*, in_features) -> (*, out_features)

    Example:
        >>> linear(ones(4, 2), ones(3, 2), zeros(3)).shape
        (4, 3)
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"linear: input must be a Tensor, got {type(input).__name__}")
    if not isinstance(weight, Tensor):
        raise TypeError(f"linear: weight must be a Tensor, got {type(weight).__name__}")
    # NOTE: the arrays' attributes read directly: these checks run at every call of every Linear
    x, w = input.data, weight.data
    if x.dtype.kind != "f":
        raise TypeError(f"linear: input must be floating, got dtype {x.dtype}; convert it with .float()")
    if w.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {w.shape}")
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} does not end in in_features={w.shape[1]} "
            f"(weight shape {w.shape})"
        )
    if bias is not None and bias.shape != (w.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    return Linear.apply(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x1^T A_k x2 + b_k, as torch.nn.functional.bilinear.

    Built from matmul, multiply and sum, so its gradients (of any order) come from them.

    Args:
        input1: (*, in1_features).
        input2: (*, in2_features), the same leading dims.
        weight: (out_features, in1_features, in2_features).
        bias: (out_features) or None.

    Shape:
        (*, in1), (*, in2) -> (*, out)
    """
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"bilinear: {name} must be a Tensor, got {type(t).__name__}")
    if weight.ndim != 3:
        raise ValueError(f"bilinear: weight must be 3-D (out, in1, in2), got shape {weight.shape}")
    out, in1, in2 = weight.shape
    if input1.shape[:-1] != input2.shape[:-1] or input1.shape[-1:] != (in1,) or input2.shape[-1:] != (in2,):
        raise ValueError(
            f"bilinear: inputs of shapes {input1.shape} and {input2.shape} do not match weight "
            f"{weight.shape} "
            "(expected (*, in1_features) and (*, in2_features) with the same leading dims)"
        )
    if bias is not None and bias.shape != (out,):
        raise ValueError(f"bilinear: bias must have shape ({out},), got {bias.shape}")
    lead = input1.shape[:-1]
    x1 = input1.reshape(-1, 1, 1, in1)
    x2 = input2.reshape(-1, 1, in2)
    # (n, 1, 1, in1) @ (out, in1, in2) -> (n, out, 1, in2): x1^T A_k for every k
    y = ((x1 @ weight).reshape(-1, out, in2) * x2).sum(axis=-1)
    if bias is not None:
        y = y + bias
    return y.reshape(lead + (out,))
