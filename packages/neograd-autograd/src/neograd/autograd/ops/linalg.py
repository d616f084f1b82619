"""Matrix products."""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from neograd.autograd import backend
from neograd.autograd.function import Function
from neograd.autograd.ops._args import not_a_tensor
from neograd.autograd.ops.elementwise import Where, _operands, mul
from neograd.autograd.ops.shape import expand, reshape
from neograd.autograd.tensor import Tensor

__all__ = ["matmul", "mm", "bmm", "dot", "einsum", "outer", "baddbmm"]


class MatMul(Function):
    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        try:
            return backend.mm(a, b) if a.ndim == 2 and b.ndim == 2 else a @ b
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
            grad_a = backend.mm(grad_output, b.T) if need_a else None
            return grad_a, (backend.mm(a.T, grad_output) if need_b else None)
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


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product of two 1-D tensors: ``out[i, j] = input[i] * vec2[j]``."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("outer", input)
    if not isinstance(vec2, Tensor):
        raise not_a_tensor("outer", vec2, "vec2")
    if input.ndim != 1 or vec2.ndim != 1:
        raise ValueError(f"outer: expects two 1-D tensors, got shapes {input.shape} and {vec2.shape}")
    return mul(reshape(input, (-1, 1)), vec2)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)``, one matrix product per batch.

    Args:
        input: broadcastable to the product's shape (b, n, m).
        batch1, batch2: (b, n, k) and (b, k, m) tensors of input's dtype.
        beta: input's factor; with beta=0 input is ignored (nan and inf in it do not propagate).
        alpha: the product's factor.

    Shape:
        input (b, n, m) or broadcastable, batch1 (b, n, k), batch2 (b, k, m) -> (b, n, m)
    """
    for name, t in (("input", input), ("batch1", batch1), ("batch2", batch2)):
        if not isinstance(t, Tensor):
            raise not_a_tensor("baddbmm", t, name)
    if not input.dtype == batch1.dtype == batch2.dtype:
        raise TypeError(
            f"baddbmm: input, batch1 and batch2 must have the same dtype, got "
            f"{input.dtype}, {batch1.dtype} and {batch2.dtype}"
        )
    product = bmm(batch1, batch2)
    try:
        fits = np.broadcast_shapes(input.shape, product.shape) == product.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"baddbmm: input of shape {input.shape} does not broadcast to the product's {product.shape}"
        )
    if alpha != 1:
        product = product * alpha
    if beta == 0:  # input's values are not used, but it still gets a (zero) gradient, as torch
        return Where.apply(np.zeros_like(product.data, dtype=bool), input, product)
    return product + (input if beta == 1 else input * beta)


_LABELS = string.ascii_letters  # einsum's subscripts, as torch and NumPy: a-z and A-Z


class Einsum(Function):
    @staticmethod
    def forward(ctx: Any, *operands: np.ndarray, equation: str) -> np.ndarray:
        ctx.equation = equation
        ctx.save_for_backward(*operands)
        # optimize: contract pairwise with BLAS in a good order (its planning costs only with 2+ operands)
        out = np.einsum(equation, *operands, optimize=len(operands) > 1)
        if len(operands) == 1 and np.may_share_memory(out, operands[0]):
            out = out.copy()  # 'ij->ji' and 'ii->i' come back as views of the input
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, ...]:
        # out = sum over the other labels of prod_j operand_j, so d out / d operand_i is the product
        # of the others: contract grad_output with them back to operand i's subscripts
        operands = ctx.saved_tensors
        inputs, output = ctx.equation.split("->")
        subscripts = inputs.split(",")
        return tuple(
            _einsum_grad(i, subscripts, output, grad_output, operands) if need else None
            for i, need in enumerate(ctx.needs_input_grad)
        )


def _einsum_grad(i: int, subscripts: list[str], output: str, grad_output: Any, operands: Any) -> Any:
    """The gradient of operand i as one einsum of grad_output, the other operands and constants."""
    terms = [output] + [s for j, s in enumerate(subscripts) if j != i]
    args = [grad_output] + [o for j, o in enumerate(operands) if j != i]
    shape, dtype = operands[i].shape, grad_output.dtype
    dev = backend.device_of(grad_output.data if isinstance(grad_output, Tensor) else grad_output)
    used = ",".join(subscripts)
    spare = iter([c for c in _LABELS if c not in used])
    present, result = set("".join(terms)), []
    for axis, c in enumerate(subscripts[i]):
        if c in result:  # a repeated label (a diagonal): a new label tied to it by an identity matrix
            f = next(spare)
            terms.append(c + f)
            args.append(backend.create(dev, "eye", shape[axis], dtype=dtype))
            result.append(f)
            continue
        if c not in present:  # summed in operand i alone: every element gets the same gradient
            terms.append(c)
            args.append(backend.create(dev, "ones", shape[axis], dtype=dtype))
            present.add(c)
        result.append(c)
    return Einsum.apply(*args, equation=",".join(terms) + "->" + "".join(result))


def _sublist_equation(args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """torch's other form, einsum(op0, [0, 1], op1, [1, 2], [0, 2]), as an equation and the operands."""

    def letters(sublist: Any) -> str:
        out = []
        for n in sublist:
            if n is Ellipsis:
                out.append("...")
            elif isinstance(n, (int, np.integer)) and 0 <= n < 52:
                out.append(chr(ord("A") + n) if n < 26 else chr(ord("a") + n - 26))
            else:
                raise ValueError(f"einsum: subscripts in a sublist must be ints in [0, 52) or ..., got {n!r}")
        return "".join(out)

    has_output = len(args) % 2  # an odd count ends with the output's sublist
    operands, sublists = args[: len(args) - has_output : 2], args[1::2]
    equation = ",".join(letters(s) for s in sublists)
    if has_output:
        equation += "->" + letters(args[-1])
    return equation, operands


def _einsum_equation(equation: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """Each operand's subscripts and the output's, with ``...`` spelled out as letters."""
    eq = "".join(equation.split())
    lhs, arrow, rhs = eq.partition("->")
    subscripts = lhs.split(",")
    if len(subscripts) != len(shapes):
        raise ValueError(
            f"einsum: the equation {equation!r} has subscripts for {len(subscripts)} operands, "
            f"but {len(shapes)} operands were given"
        )
    for term in [*subscripts, rhs]:
        rest = term.replace("...", "", 1)
        if any(c not in _LABELS for c in rest):
            raise ValueError(
                f"einsum: invalid subscripts {term!r} in {equation!r}: use letters a-z, A-Z and one ..."
            )
    spare = [c for c in _LABELS if c not in eq]
    counts = []  # how many dims each operand's ... stands for
    for term, shape in zip(subscripts, shapes):
        labels = len(term.replace("...", ""))
        k = len(shape) - labels
        if k < 0 or (k > 0 and "..." not in term):
            raise ValueError(
                f"einsum: subscripts {term!r} ({labels} labels) do not fit an operand of shape {shape}"
            )
        counts.append(k if "..." in term else 0)
    n = max(counts, default=0)
    if n > len(spare):
        raise ValueError(f"einsum: {equation!r} leaves too few free letters for the dims under ...")
    ellipsis = "".join(spare[:n])  # right-aligned: an operand with fewer such dims takes the last ones
    subscripts = [t.replace("...", ellipsis[n - k :]) for t, k in zip(subscripts, counts)]
    if arrow:
        output = rhs.replace("...", ellipsis)
    else:  # implicit output: the ... dims, then the labels used once, in alphabetical order
        labels = "".join(subscripts)
        once = sorted(c for c in set(labels) if c not in ellipsis and labels.count(c) == 1)
        output = ellipsis + "".join(once)
    for c in output:
        if output.count(c) > 1:
            raise ValueError(f"einsum: output subscript {c!r} appears more than once in {equation!r}")
        if c not in "".join(subscripts):
            raise ValueError(f"einsum: output subscript {c!r} in {equation!r} appears in no operand")
    return subscripts, output


def einsum(equation: Any, *operands: Any) -> Tensor:
    """Einstein summation: multiply the operands along the labelled dims, sum the labels not in the output.

    ``einsum("ij,jk->ik", a, b)`` is ``a @ b``; ``"ii->i"`` the diagonal, ``"ii"`` the trace,
    ``"...ij->...ji"`` a batched transpose. Without ``->`` the output is the ``...`` dims, then
    the labels used exactly once, in alphabetical order. Labelled dims of size 1 broadcast.
    Also accepts the operands as one list, and torch's sublist form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``.

    Args:
        equation: the subscripts: letters, ``...``, commas between operands, ``->`` before the output.
        operands: tensors of one dtype, one per comma-separated term.

    Example:
        >>> a, b = ones(2, 3), ones(3, 4)
        >>> einsum("ij,jk->ik", a, b).shape
        (2, 4)
    """
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation, *operands))
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    for k, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise not_a_tensor("einsum", t, f"operands[{k}]")
    if len({t.dtype for t in operands}) > 1:
        raise TypeError(f"einsum: operands must have one dtype, got {[str(t.dtype) for t in operands]}")
    subscripts, output = _einsum_equation(equation, [t.shape for t in operands])
    sizes: dict[str, int] = {}
    for term, t in zip(subscripts, operands):
        for c, n in zip(term, t.shape):
            if term.count(c) > 1 and t.shape[term.index(c)] != n:
                raise ValueError(
                    f"einsum: label {c!r} repeats in {term!r} with sizes {t.shape[term.index(c)]} != {n}"
                )
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise ValueError(
                    f"einsum: label {c!r} has size {n} in operand of shape {t.shape}, "
                    f"which does not broadcast with size {sizes[c]}"
                )
            if n != 1 or c not in sizes:
                sizes[c] = n
    # broadcast size-1 dims here, so that Einsum sees matching sizes (the engine sums them back)
    operands = tuple(
        t if all(sizes[c] == n for c, n in zip(term, t.shape)) else expand(t, tuple(sizes[c] for c in term))
        for term, t in zip(subscripts, operands)
    )
    return Einsum.apply(*operands, equation=",".join(subscripts) + "->" + output)
