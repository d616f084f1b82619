"""Shape ops: moving values around without changing them.

Their backward moves the gradient back the same way: reshape it back, permute it back,
scatter it back into zeros, slice it apart. ``sum_to`` is the one place where
broadcasting is undone.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from neograd.autograd.function import Function
from neograd.autograd.ops._args import is_int, normalize_dim, normalize_dims, not_a_tensor, shape_arg
from neograd.autograd.tensor import Tensor, _index

__all__ = [
    "sum_to",
    "reshape",
    "view",
    "flatten",
    "squeeze",
    "unsqueeze",
    "permute",
    "transpose",
    "swapaxes",
    "expand",
    "broadcast_to",
    "getitem",
    "gather",
    "cat",
    "concatenate",
    "stack",
    "split",
    "chunk",
    "pad",
    "repeat",
    "tile",
]


def sum_to(x: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``x`` down to ``shape``: the adjoint of broadcasting ``shape`` up to ``x.shape``.

    Works on arrays and on tensors (then it is differentiable). Raises ValueError when
    ``x`` is not a broadcast of ``shape``.
    """
    shape = tuple(shape)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to: cannot sum shape {tuple(x.shape)} to the larger shape {shape}")
    # the dims that were 1 and got stretched keep their place; the leading dims broadcasting added go
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)
    if stretched:
        x = x.sum(axis=stretched, keepdims=True)
    if lead:
        # NOTE: np.add.reduce skips the Python layer of ndarray.sum (this runs for every bias)
        leading = tuple(range(lead))
        x = np.add.reduce(x, axis=leading) if isinstance(x, np.ndarray) else x.sum(axis=leading)
    if x.shape != shape:
        raise ValueError(f"sum_to: shape {tuple(x.shape)} is not a broadcast of {shape}")
    return x


class Reshape(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        ctx.input_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into {shape}"
            ) from None

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return grad_output.reshape(ctx.input_shape)


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """The same values in a new shape (one dim may be -1), as torch.reshape.

    Example:
        >>> arange(6).reshape(2, 3).shape
        (2, 3)
    """
    if not isinstance(input, Tensor):
        raise not_a_tensor("reshape", input)
    return Reshape.apply(input, shape=shape_arg("reshape", shape))


view = reshape


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("flatten", input)
    shape = input.shape
    if not shape:
        return reshape(input, 1)
    s, e = normalize_dim("flatten", start_dim, len(shape)), normalize_dim("flatten", end_dim, len(shape))
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(input, shape[:s] + (-1,) + shape[e + 1 :])


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Remove dims of size 1 (all of them, or those in ``dim`` that have size 1)."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("squeeze", input)
    shape = input.shape
    dims = normalize_dims("squeeze", dim, len(shape))
    keep = [n for i, n in enumerate(shape) if n != 1 or (dims is not None and i not in dims)]
    return reshape(input, tuple(keep))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 at position ``dim``."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("unsqueeze", input)
    shape = input.shape
    d = normalize_dim("unsqueeze", dim, len(shape) + 1)
    return reshape(input, shape[:d] + (1,) + shape[d:])


class Permute(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return Permute.apply(grad_output, dims=tuple(np.argsort(ctx.dims)))


def permute(input: Tensor, *dims: Any) -> Tensor:
    """Reorder the dimensions: result dim i is input dim ``dims[i]``."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("permute", input)
    dims = shape_arg("permute", dims)
    n = input.ndim
    norm = tuple(normalize_dim("permute", d, n) for d in dims)
    if sorted(norm) != list(range(n)):
        raise ValueError(f"permute: {dims} is not a permutation of the {n} dims of shape {input.shape}")
    return Permute.apply(input, dims=norm)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("transpose", input)
    n = input.ndim
    dims = list(range(n))
    a, b = normalize_dim("transpose", dim0, n), normalize_dim("transpose", dim1, n)
    dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(input, dims=tuple(dims))


swapaxes = transpose


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"expand: cannot broadcast shape {x.shape} to {shape}") from None

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return grad_output  # the engine sums it back to the input's shape


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    """A read-only view of ``input`` broadcast to ``shape``."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("broadcast_to", input)
    return BroadcastTo.apply(input, shape=shape_arg("broadcast_to", (shape,)))


def expand(input: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to ``sizes``; -1 keeps a dimension's size, as torch.Tensor.expand."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("expand", input)
    sizes = shape_arg("expand", sizes)
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes given for a tensor with {input.ndim} dims")
    shape = tuple(input.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
    return BroadcastTo.apply(input, shape=shape)


def _is_basic(index: Any) -> bool:
    """True for indices made only of ints, slices, None and Ellipsis (no repeated elements possible)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, slice) or (is_int(i)) for i in items)


class GetItem(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, index: Any) -> np.ndarray:
        ctx.input_shape, ctx.index = x.shape, index
        try:
            return x[index]
        except IndexError as e:
            raise IndexError(f"getitem: index {index!r} for a tensor of shape {x.shape}: {e}") from None

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return AddAt.apply(grad_output, shape=ctx.input_shape, index=ctx.index)


class AddAt(Function):
    """Zeros of ``shape`` with ``values`` added at ``index`` (repeated indices accumulate)."""

    @staticmethod
    def forward(ctx: Any, values: np.ndarray, shape: tuple[int, ...], index: Any) -> np.ndarray:
        ctx.index = index
        out = np.zeros(shape, values.dtype)
        if _is_basic(index):
            out[index] = values
        else:
            np.add.at(out, index, values)
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return GetItem.apply(grad_output, index=ctx.index)


def getitem(input: Tensor, index: Any) -> Tensor:
    """``input[index]``: basic slicing, integer-array and boolean-mask indexing, as NumPy.

    In backward, the gradient is added back at the same positions, so an element picked
    several times receives the sum of their gradients.
    """
    if not isinstance(input, Tensor):
        raise not_a_tensor("getitem", input)
    return GetItem.apply(input, index=_index(index))


def gather(input: Tensor, dim: int, index: Any) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` for dim 0 (and so on), as torch.gather."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("gather", input)
    idx = np.asarray(index.data if isinstance(index, Tensor) else index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got dtype {idx.dtype}")
    d = normalize_dim("gather", dim, input.ndim)
    if idx.ndim != input.ndim:
        raise ValueError(f"gather: index has {idx.ndim} dims but input has {input.ndim}")
    for i, (n, m) in enumerate(zip(idx.shape, input.shape)):
        if i != d and n > m:
            raise ValueError(f"gather: index shape {idx.shape} exceeds input shape {input.shape} at dim {i}")
    size = input.shape[d] if input.ndim else 1
    if idx.size and (idx.min() < 0 or idx.max() >= size):  # NOTE: NumPy would wrap a negative index around
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"gather: index {bad} is out of bounds for dimension {d} with size {size}")
    grid = list(np.indices(idx.shape, sparse=True))
    grid[d] = idx
    return GetItem.apply(input, index=tuple(grid))


class Cat(Function):
    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray, dim: int) -> np.ndarray:
        ctx.dim, ctx.sizes = dim, [a.shape[dim] for a in arrays]
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, ...]:
        bounds = np.cumsum([0, *ctx.sizes])
        lead = (slice(None),) * ctx.dim
        return tuple(grad_output[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))


def cat(tensors: Sequence[Tensor], dim: int = 0, **aliases: Any) -> Tensor:
    """Join tensors along an existing dimension."""
    dim = aliases.pop("axis", dim)
    tensors = _tensor_list("cat", tensors)
    ref = tensors[0].shape
    if any(t.ndim == 0 for t in tensors):
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated; use stack, or unsqueeze them")
    d = normalize_dim("cat", dim, len(ref))
    for t in tensors[1:]:
        if t.ndim != len(ref) or t.shape[:d] + t.shape[d + 1 :] != ref[:d] + ref[d + 1 :]:
            raise ValueError(f"cat: shapes {[t.shape for t in tensors]} differ outside dim {dim}")
    return Cat.apply(*tensors, dim=d)


concatenate = cat


class Stack(Function):
    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray, dim: int) -> np.ndarray:
        ctx.dim, ctx.count = dim, len(arrays)
        return np.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, ...]:
        lead = (slice(None),) * ctx.dim
        return tuple(grad_output[lead + (i,)] for i in range(ctx.count))


def stack(tensors: Sequence[Tensor], dim: int = 0, **aliases: Any) -> Tensor:
    """Join tensors of the same shape along a new dimension."""
    dim = aliases.pop("axis", dim)
    tensors = _tensor_list("stack", tensors)
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {[t.shape for t in tensors]}")
    d = normalize_dim("stack", dim, tensors[0].ndim + 1)
    return Stack.apply(*tensors, dim=d)


def _tensor_list(op: str, tensors: Any) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expects a list or tuple of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}: expects a non-empty list of tensors")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    floats = [t.dtype for t in tensors if t.dtype.kind == "f"]
    if floats and len(floats) < len(tensors):  # torch: integer tensors join floats in the float dtype
        return [t if t.dtype.kind == "f" else t.to(np.result_type(*floats)) for t in tensors]
    return tensors


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into pieces of ``split_size`` (the last may be smaller) or of the given sizes."""
    if not isinstance(tensor, Tensor):
        raise not_a_tensor("split", tensor)
    d = normalize_dim("split", dim, tensor.ndim)
    n = tensor.shape[d]
    if is_int(split_size_or_sections):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [builtins.min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to {n}, the size of dim {dim}")
    lead = (slice(None),) * d
    bounds = np.cumsum([0, *sizes])
    return tuple(getitem(tensor, lead + (slice(int(a), int(b)),)) for a, b in zip(bounds[:-1], bounds[1:]))


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` pieces of equal size (the last may be smaller), as torch.chunk."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("chunk", input)
    if not is_int(chunks) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    n = input.shape[normalize_dim("chunk", dim, input.ndim)]
    return split(input, builtins.max(1, -(-n // chunks)), dim)


class Pad(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, widths: tuple[tuple[int, int], ...], value: float) -> np.ndarray:
        ctx.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return np.pad(x, widths, constant_values=value)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return grad_output[ctx.inner]


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad with a constant; ``pad`` lists (before, after) pairs from the last dim backwards.

    As torch.nn.functional.pad: ``pad=(1, 2)`` pads the last dim with 1 before and 2 after;
    ``(1, 1, 2, 2)`` also pads the dim before it with 2 on each side.
    """
    if not isinstance(input, Tensor):
        raise not_a_tensor("pad", input)
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported here, got {mode!r}")
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: needs pairs for at most {input.ndim} dims, got {pad}")
    if any(not is_int(p) or p < 0 for p in pad):
        raise ValueError(f"pad: widths must be non-negative ints, got {pad}")
    pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]
    widths = [(0, 0)] * (input.ndim - len(pairs)) + pairs[::-1]
    return Pad.apply(input, widths=tuple(widths), value=value)


class Repeat(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
        ctx.input_shape, ctx.sizes = x.shape, sizes
        return np.tile(x, sizes)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        # each output dim is (repeat count, original size) flattened: split them, sum the counts
        shape = (1,) * (len(ctx.sizes) - len(ctx.input_shape)) + ctx.input_shape
        split_shape = tuple(v for pair in zip(ctx.sizes, shape) for v in pair)
        g = grad_output.reshape(split_shape).sum(axis=tuple(range(0, len(split_shape), 2)))
        return g.reshape(ctx.input_shape)


def repeat(input: Tensor, *sizes: Any) -> Tensor:
    """Repeat the tensor ``sizes[i]`` times along dim i, as torch.Tensor.repeat."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("repeat", input)
    sizes = shape_arg("repeat", sizes)
    if len(sizes) < input.ndim:
        raise ValueError(f"repeat: got {len(sizes)} sizes for a tensor with {input.ndim} dims")
    if any(s < 0 for s in sizes):
        raise ValueError(f"repeat: sizes must be non-negative, got {sizes}")
    return Repeat.apply(input, sizes=sizes)


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """As repeat, but fewer ``dims`` than the tensor has are padded with ones in front."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("tile", input)
    dims = shape_arg("tile", (dims,))
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)
