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

from neograd.autograd import backend
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
    "tril",
    "triu",
    "flip",
    "roll",
    "scatter",
    "scatter_add",
    "index_add",
    "index_select",
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
    # NOTE: looked for only when shape has a 1 (a bias's gradient, summed every step, has none)
    if 1 in shape:
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
        inverse = [0] * len(ctx.dims)  # NOTE: np.argsort of a short tuple costs ~5 us of conversions
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return Permute.apply(grad_output, dims=tuple(inverse))


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
        # NOTE: zeros_like, not zeros: an array made from values, which ng.compile's tracer sees
        xp = np if type(values) is np.ndarray else backend.array_module(values)
        out = xp.zeros_like(values, shape=shape)
        if _is_basic(index):
            out[index] = values
        else:
            backend.scatter_add(out, index, values)
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
    return GetItem.apply(input, index=_index(index, input.data))


def gather(input: Tensor, dim: int, index: Any) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` for dim 0 (and so on), as torch.gather."""
    if not isinstance(input, Tensor):
        raise not_a_tensor("gather", input)
    idx = backend.asarray(index.data if isinstance(index, Tensor) else index, like=input.data)
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
    grid = backend.sparse_grid(idx.shape, idx)
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


class Tril(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, diagonal: int) -> np.ndarray:
        ctx.diagonal = diagonal
        return np.tril(x, diagonal)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return Tril.apply(grad_output, diagonal=ctx.diagonal)  # the kept elements pass their gradient


class Triu(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, diagonal: int) -> np.ndarray:
        ctx.diagonal = diagonal
        return np.triu(x, diagonal)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return Triu.apply(grad_output, diagonal=ctx.diagonal)


def _triangle_args(op: str, input: Any, diagonal: Any) -> None:
    if not isinstance(input, Tensor):
        raise not_a_tensor(op, input)
    if input.ndim < 2:
        raise ValueError(f"{op}: input must have at least 2 dimensions, got shape {input.shape}")
    if not is_int(diagonal):
        raise TypeError(f"{op}: diagonal must be an int, got {diagonal!r}")


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims: ``input[..., i, j]`` where ``j - i <= diagonal``, else 0.

    Args:
        input: a tensor of at least 2 dims (more are batch dims).
        diagonal: 0 keeps the main diagonal, 1 also the one above it, -1 drops the main one.

    Example:
        >>> tril(ones(3, 3), diagonal=-1)
        tensor([[0., 0., 0.],
                [1., 0., 0.],
                [1., 1., 0.]])
    """
    _triangle_args("tril", input, diagonal)
    return Tril.apply(input, diagonal=int(diagonal))


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims: ``input[..., i, j]`` where ``j - i >= diagonal``, else 0.

    Example:
        >>> triu(ones(2, 2))
        tensor([[1., 1.],
                [0., 1.]])
    """
    _triangle_args("triu", input, diagonal)
    return Triu.apply(input, diagonal=int(diagonal))


class Flip(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
        ctx.dims = dims
        return np.flip(x, dims).copy()  # torch's flip gives new memory, not a view of input

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return Flip.apply(grad_output, dims=ctx.dims)  # flipping is its own inverse


def flip(input: Tensor, dims: Any) -> Tensor:
    """Reverse the order of the elements along each of ``dims`` (an int or a tuple of ints).

    Example:
        >>> flip(arange(4), 0)
        tensor([3, 2, 1, 0])
    """
    if not isinstance(input, Tensor):
        raise not_a_tensor("flip", input)
    return Flip.apply(input, dims=normalize_dims("flip", dims, input.ndim))


class Roll(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, shifts: tuple[int, ...], dims: tuple[int, ...] | None) -> np.ndarray:
        ctx.shifts, ctx.dims = shifts, dims
        # without dims, NumPy rolls the flattened array and restores the shape, as torch
        return np.roll(x, shifts[0] if dims is None else shifts, axis=dims)

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        return Roll.apply(grad_output, shifts=tuple(-s for s in ctx.shifts), dims=ctx.dims)


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift elements cyclically by ``shifts[i]`` along ``dims[i]``; without dims, along the flattened tensor.

    Args:
        input: the tensor.
        shifts: an int, or a tuple of ints (one per dim in ``dims``).
        dims: an int, a tuple of ints, or None to roll the flattened tensor (then one shift).

    Example:
        >>> roll(arange(5), 2)
        tensor([3, 4, 0, 1, 2])
    """
    if not isinstance(input, Tensor):
        raise not_a_tensor("roll", input)
    shift_list = (shifts,) if is_int(shifts) else tuple(shifts)
    dim_list = None if dims is None else (dims,) if is_int(dims) else tuple(dims)
    if not all(is_int(s) for s in shift_list):
        raise TypeError(f"roll: shifts must be an int or a tuple of ints, got {shifts!r}")
    if len(shift_list) != (1 if dim_list is None else len(dim_list)) or not shift_list:
        raise ValueError(f"roll: shifts {shifts!r} and dims {dims!r} must have the same length")
    if dim_list is not None:
        if input.ndim == 0:
            raise IndexError(f"roll: dims {dims!r} given for a 0-d tensor, which has no dims")
        dim_list = tuple(normalize_dim("roll", d, input.ndim) for d in dim_list)
    return Roll.apply(input, shifts=tuple(int(s) for s in shift_list), dims=dim_list)


def _scatter_index(op: str, input: Tensor, dim: Any, index: Any, src: Any) -> tuple[Any, ...]:
    """Where ``index[i][j][k]`` sends an element along dim 0 ([index[i][j][k]][j][k]), checked as torch."""
    idx = backend.asarray(index.data if isinstance(index, Tensor) else index, like=input.data)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {idx.dtype}")
    d = normalize_dim(op, dim, input.ndim)
    if idx.ndim != input.ndim:
        raise ValueError(f"{op}: index has {idx.ndim} dims but input has {input.ndim} (shape {input.shape})")
    for i, n in enumerate(idx.shape):
        if (i != d and n > input.shape[i]) or (isinstance(src, Tensor) and n > src.shape[i]):
            others = f" and src {src.shape}" if isinstance(src, Tensor) else ""
            raise ValueError(
                f"{op}: index of shape {idx.shape} must be no larger than input {input.shape} "
                f"(apart from dim {d}){others}"
            )
    size = input.shape[d] if input.ndim else 1
    if idx.size and (idx.min() < 0 or idx.max() >= size):  # NOTE: NumPy would wrap a negative index around
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"{op}: index {bad} is out of bounds for dimension {d} with size {size}")
    if input.ndim == 0:
        return ()
    grid = backend.sparse_grid(idx.shape, idx)
    grid[d] = idx
    return tuple(grid)


def _scatter_src(op: str, input: Tensor, src: Tensor, index: tuple[Any, ...]) -> Tensor:
    """The part of ``src`` that the index covers (src may be larger than index)."""
    if src.dtype != input.dtype:
        raise TypeError(f"{op}: src must have input's dtype {input.dtype}, got {src.dtype}")
    shape = np.broadcast_shapes(*(np.shape(i) for i in index)) if index else ()
    if src.shape == shape:
        return src
    return getitem(src, tuple(slice(0, n) for n in shape))


class Scatter(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, src: Any, index: tuple[Any, ...]) -> np.ndarray:
        ctx.index = index
        out = x.copy()
        out[index] = src  # NOTE: an index repeated along dim keeps one of the values (torch: undefined which)
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        # the overwritten elements of input get no gradient; each src element gets its target's
        need_x, need_src = ctx.needs_input_grad
        grad_x = Scatter.apply(grad_output, 0, index=ctx.index) if need_x else None
        return grad_x, (GetItem.apply(grad_output, index=ctx.index) if need_src else None)


def scatter(
    input: Tensor, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None
) -> Tensor:
    """A copy of input with src written at index along dim: ``out[index[i][j]][j] = src[i][j]`` for dim 0.

    Args:
        input: the tensor to write into (it is not changed; see ``Tensor.scatter_``).
        dim: the dim along which ``index`` points.
        index: an integer tensor with input's number of dims, no larger than src.
        src: a tensor of input's dtype, or a number (as ``value``) written at every index.
        value: a number to write instead of src.

    Example:
        >>> scatter(zeros(2, 3), 1, tensor([[2], [0]]), 1.0)
        tensor([[0., 0., 1.],
                [1., 0., 0.]])
    """
    if not isinstance(input, Tensor):
        raise not_a_tensor("scatter", input)
    if reduce is not None:
        raise ValueError(f"scatter: reduce={reduce!r} is not supported; use scatter_add for 'add'")
    if (src is None) == (value is None):
        raise TypeError("scatter: give either src (a tensor or a number) or value, not both or neither")
    src = value if src is None else src
    index = _scatter_index("scatter", input, dim, index, src)
    if isinstance(src, Tensor):
        return Scatter.apply(input, _scatter_src("scatter", input, src, index), index=index)
    if isinstance(src, (bool, np.bool_)) or not isinstance(src, (int, float, np.integer, np.floating)):
        raise TypeError(f"scatter: src must be a Tensor or a number, got {type(src).__name__}")
    return Scatter.apply(input, src, index=index)


class ScatterAdd(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, src: np.ndarray, index: tuple[Any, ...]) -> np.ndarray:
        ctx.index = index
        out = x.copy()
        backend.scatter_add(out, index, src)  # repeated indices accumulate
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any]:
        need_src = ctx.needs_input_grad[1]
        return grad_output, (GetItem.apply(grad_output, index=ctx.index) if need_src else None)


def scatter_add(input: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:
    """A copy of input with src added at index along dim: ``out[index[i][j]][j] += src[i][j]`` for dim 0.

    Elements sent to the same place add up. Arguments as :func:`scatter` (src a tensor).

    Example:
        >>> scatter_add(zeros(3), 0, tensor([0, 0, 2]), tensor([1., 2., 3.]))
        tensor([3., 0., 3.])
    """
    if not isinstance(input, Tensor):
        raise not_a_tensor("scatter_add", input)
    if not isinstance(src, Tensor):
        raise not_a_tensor("scatter_add", src, "src")
    index = _scatter_index("scatter_add", input, dim, index, src)
    return ScatterAdd.apply(input, _scatter_src("scatter_add", input, src, index), index=index)


def _vector_index(op: str, input: Tensor, dim: Any, index: Any) -> tuple[int, np.ndarray]:
    """dim as an int and index as a checked 1-D integer array (a 0-d index counts as one element)."""
    d = normalize_dim(op, dim, input.ndim)
    idx = backend.asarray(index.data if isinstance(index, Tensor) else index, like=input.data)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {idx.dtype}")
    if idx.ndim > 1:
        raise ValueError(f"{op}: index must be 1-D (a vector), got shape {idx.shape}")
    size = input.shape[d] if input.ndim else 1
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"{op}: index {bad} is out of bounds for dimension {d} with size {size}")
    return d, idx.reshape(-1)


def index_select(input: Tensor, dim: int, index: Any) -> Tensor:
    """The slices of input at the positions ``index`` (a 1-D integer tensor) along dim.

    An index may repeat; its slice's gradient is then the sum over the copies.

    Example:
        >>> index_select(tensor([[1, 2, 3], [4, 5, 6]]), 1, tensor([2, 0]))
        tensor([[3, 1],
                [6, 4]])
    """
    if not isinstance(input, Tensor):
        raise not_a_tensor("index_select", input)
    d, idx = _vector_index("index_select", input, dim, index)
    if input.ndim == 0:  # as torch: one index into a 0-d tensor gives the tensor
        if idx.size != 1:
            raise ValueError(f"index_select: a 0-d input takes one index, got {idx.size}")
        return GetItem.apply(input, index=())
    return GetItem.apply(input, index=(slice(None),) * d + (idx,))


def index_add(input: Tensor, dim: int, index: Any, source: Tensor, *, alpha: Any = 1) -> Tensor:
    """A copy of input with ``alpha * source`` added at ``index`` along dim.

    ``out[..., index[i], ...] += alpha * source[..., i, ...]``.

    Args:
        input: the tensor to add into (unchanged; see ``Tensor.index_add_``).
        dim: the dim that ``index`` picks along.
        index: a 1-D integer tensor with ``source.shape[dim]`` entries; repeats accumulate.
        source: input's shape except along dim, and input's dtype.
        alpha: a factor for source.

    Example:
        >>> index_add(zeros(3), 0, tensor([0, 0, 2]), tensor([1., 2., 3.]))
        tensor([3., 0., 3.])
    """
    if not isinstance(input, Tensor):
        raise not_a_tensor("index_add", input)
    if not isinstance(source, Tensor):
        raise not_a_tensor("index_add", source, "source")
    d, idx = _vector_index("index_add", input, dim, index)
    expected = input.shape[:d] + (idx.size,) + input.shape[d + 1 :] if input.ndim else ()
    if source.shape != expected:
        raise ValueError(
            f"index_add: source must have shape {expected} (input {input.shape} with {idx.size} "
            f"entries along dim {d}, one per index), got {source.shape}"
        )
    if source.dtype != input.dtype:
        raise TypeError(f"index_add: source must have input's dtype {input.dtype}, got {source.dtype}")
    if input.ndim == 0 and idx.size != 1:
        raise ValueError(f"index_add: a 0-d input takes one index, got {idx.size}")
    if alpha != 1:
        source = source * alpha
    if input.ndim == 0:
        return input + source
    # index_add is scatter_add with the index repeated across source's other dims
    shape = [1] * input.ndim
    shape[d] = idx.size
    spread = np.broadcast_to(idx.reshape(shape), source.shape)
    return ScatterAdd.apply(input, source, index=_scatter_index("index_add", input, d, spread, source))
