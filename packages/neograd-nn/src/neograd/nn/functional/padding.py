"""pad: constant padding (the core's op) plus reflect, replicate and circular modes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neograd.autograd import Tensor
from neograd.autograd import pad as _constant_pad

__all__ = ["pad"]

_NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last dims; ``pad`` lists (before, after) widths from the last dim backwards.

    As torch.nn.functional.pad: ``pad=(1, 2)`` pads the last dim with 1 before and 2 after.
    Modes: ``"constant"`` (``value``, default 0), ``"reflect"`` (mirror without repeating
    the edge), ``"replicate"`` (repeat the edge), ``"circular"`` (wrap around). The
    non-constant modes pick input elements by index, so their gradient adds up the
    contributions of every copy.

    Example:
        >>> pad(tensor([[1., 2., 3.]]), (2, 1), mode="reflect")
        tensor([[3., 2., 1., 2., 3., 2.]])
    """
    if mode == "constant":
        return _constant_pad(input, pad, value=0.0 if value is None else value)
    if mode not in _NUMPY_MODE:
        raise NotImplementedError(f"pad: mode must be constant, reflect, replicate or circular, got {mode!r}")
    if value is not None and value != 0:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in value argument")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: needs (before, after) pairs for at most {input.ndim} dims, got {pad}")
    index: list[np.ndarray | slice] = [slice(None)] * input.ndim
    for k in range(len(pad) // 2):
        dim = input.ndim - 1 - k
        before, after = pad[2 * k], pad[2 * k + 1]
        n = input.shape[dim]
        limit = n - 1 if mode == "reflect" else n
        if min(before, after) < 0 or max(before, after) > limit or n == 0:
            raise ValueError(
                f"pad: {mode} padding of ({before}, {after}) is invalid for dim {dim} of size {n} "
                f"(each width must be between 0 and {limit})"
            )
        index[dim] = np.pad(np.arange(n), (before, after), mode=_NUMPY_MODE[mode])
    grids = [i for i in index if isinstance(i, np.ndarray)]
    mesh = iter(np.ix_(*grids))
    return input[tuple(next(mesh) if isinstance(i, np.ndarray) else i for i in index)]
