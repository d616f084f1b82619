"""Sequences of different lengths: padding and packing, as torch.nn.utils.rnn.

A padded batch (T, B, *) wastes the steps past each sequence's end; a PackedSequence
keeps only the real steps, time-major: step t holds ``batch_sizes[t]`` rows, one per
sequence still running, the sequences sorted longest first. Recurrent layers take a
PackedSequence and return one, so the padding never enters their state.

Example:
    >>> a, b = ones(3, 2), ones(1, 2)
    >>> packed = pack_sequence([a, b])
    >>> packed.batch_sizes
    tensor([2, 1, 1])
    >>> padded, lengths = pad_packed_sequence(packed)   # (3, 2, 2), tensor([3, 1])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from neograd.autograd import Tensor, backend, cat, full, tensor

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence"]


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedFields):
    """A batch of sequences of different lengths, packed time-major (as torch's namedtuple).

    Attributes:
        data: (sum of lengths, *): the steps, time-major (all sequences' step 0, then step 1, ...).
        batch_sizes: int64 tensor (T,): how many sequences are still running at each step.
        sorted_indices: int64 tensor (B,) or None: original batch index of each packed column.
        unsorted_indices: int64 tensor (B,) or None: its inverse (packed column of each original index).

    Build it with ``pack_padded_sequence`` or ``pack_sequence`` rather than by hand.
    """

    def __new__(
        cls,
        data: Tensor,
        batch_sizes: Any = None,
        sorted_indices: Any = None,
        unsorted_indices: Any = None,
    ) -> PackedSequence:
        if batch_sizes is None:
            raise TypeError("PackedSequence: batch_sizes is required; build one with pack_padded_sequence")
        batch_sizes = _int_tensor(batch_sizes)
        if sorted_indices is not None:
            sorted_indices = _int_tensor(sorted_indices)
            if unsorted_indices is None:
                unsorted_indices = tensor(_invert(sorted_indices.data))
        if unsorted_indices is not None:
            unsorted_indices = _int_tensor(unsorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def float(self) -> PackedSequence:
        return self._replace(data=self.data.float())

    def double(self) -> PackedSequence:
        return self._replace(data=self.data.double())

    @property
    def is_cuda(self) -> bool:
        return False


def _int_tensor(x: Any) -> Tensor:
    return tensor(np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.int64))


def _invert(permutation: np.ndarray) -> np.ndarray:
    inverse = np.empty_like(permutation)
    inverse[permutation] = np.arange(len(permutation))
    return inverse


def _lengths(op: str, lengths: Any, batch: int) -> np.ndarray:
    values = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
    if values.ndim != 1 or values.dtype.kind not in "iu":
        raise TypeError(f"{op}: lengths must be a 1-D sequence of ints, got {lengths!r}")
    if len(values) != batch:
        raise ValueError(f"{op}: got {len(values)} lengths for a batch of {batch} sequences")
    return values.astype(np.int64)


def pad_sequence(
    sequences: Sequence[Tensor] | Tensor,
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences (L_i, *) into one (T, B, *) tensor, T = max L_i, filling with ``padding_value``.

    Args:
        sequences: the tensors, each (L_i, *) with the same trailing dims.
        batch_first: return (B, T, *) instead of (T, B, *).
        padding_value: the value of the padding positions.
        padding_side: ``"right"`` (padding after each sequence) or ``"left"``.

    Example:
        >>> pad_sequence([ones(3), ones(1)], batch_first=True)
        tensor([[1., 1., 1.],
                [1., 0., 0.]])
    """
    if isinstance(sequences, Tensor):
        sequences = [sequences[i] for i in range(sequences.shape[0])] if sequences.ndim else sequences
    if not isinstance(sequences, (list, tuple)) or not sequences:
        raise TypeError(f"pad_sequence: sequences must be a non-empty list of tensors, got {sequences!r}")
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: sequences[{i}] must be a Tensor, got {type(s).__name__}")
        if s.ndim == 0 or s.shape[1:] != sequences[0].shape[1:]:
            raise ValueError(
                "pad_sequence: every sequence must be (L_i, *) with the same trailing dims, got shapes "
                f"{[tuple(q.shape) for q in sequences]}"
            )
    lengths = np.array([s.shape[0] for s in sequences])
    total = int(lengths.max())
    # one gather from all the steps plus one row of padding: index n (the padding row) where there is no step
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    steps = np.arange(total)[:, None]
    offset = (
        steps - (total - lengths) if padding_side == "left" else np.broadcast_to(steps, (total, len(lengths)))
    )
    valid = (offset >= 0) & (offset < lengths)
    index = np.where(valid, starts + offset, lengths.sum())
    pad_row = full(
        (1, *sequences[0].shape[1:]), padding_value, dtype=sequences[0].dtype, device=sequences[0].device
    )
    rows = cat([*sequences, pad_row])[index]  # (T, B, *)
    return rows.transpose(0, 1) if batch_first else rows


def pack_padded_sequence(
    input: Tensor, lengths: Any, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch (T, B, *) whose sequence b has ``lengths[b]`` real steps.

    Args:
        input: (T, B, *) padded sequences ((B, T, *) with ``batch_first``).
        lengths: the length of each sequence (list or int64 tensor), all in 1..T.
        batch_first: the input is (B, T, *).
        enforce_sorted: require lengths sorted longest first; otherwise they are sorted
            here and ``sorted_indices`` records the order.

    Returns:
        A PackedSequence.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(
            f"pack_padded_sequence: input must be at least 2-D (T, B, *), got shape {input.shape}"
        )
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    values = _lengths("pack_padded_sequence", lengths, batch)
    if values.min() <= 0 or values.max() > steps:
        raise ValueError(
            f"pack_padded_sequence: every length must be in 1..{steps} (the padded length), "
            f"got {values.tolist()}"
        )
    if enforce_sorted:
        if np.any(np.diff(values) > 0):
            raise RuntimeError(
                f"pack_padded_sequence: `lengths` array must be sorted in decreasing order when "
                f"`enforce_sorted` is True, got {values.tolist()}. You can pass `enforce_sorted=False` "
                "to pack_padded_sequence and/or pack_sequence to sidestep this requirement."
            )
        order, sorted_indices = np.arange(batch), None
    else:
        order = np.argsort(-values, kind="stable")
        sorted_indices = order
    sorted_lengths = values[order]
    batch_sizes = (sorted_lengths[None, :] > np.arange(int(sorted_lengths[0]))[:, None]).sum(axis=1)
    t_idx = np.repeat(np.arange(len(batch_sizes)), batch_sizes)
    col = np.concatenate([np.arange(b) for b in batch_sizes])
    index = (order[col], t_idx) if batch_first else (t_idx, order[col])
    return PackedSequence(input[index], batch_sizes, sorted_indices)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Undo ``pack_padded_sequence``: (padded (T, B, *), lengths), in the original batch order.

    Args:
        sequence: a PackedSequence.
        batch_first: return (B, T, *).
        padding_value: the value of the padding positions.
        total_length: pad to this many steps (at least the longest sequence) instead of the longest.

    Returns:
        The padded tensor and an int64 tensor of the lengths.
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(
            f"pad_packed_sequence: sequence must be a PackedSequence, got {type(sequence).__name__}"
        )
    data, batch_sizes = sequence.data, sequence.batch_sizes.data
    steps, batch = len(batch_sizes), int(batch_sizes[0])
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "pad_packed_sequence: expected total_length to be at least the length of the longest "
                f"sequence in input, but got total_length={total_length} and max sequence length "
                f"being {steps}"
            )
        steps = total_length
    # sorted_lengths[j]: how many steps have a row for packed column j
    sorted_lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)
    starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]])
    t = np.arange(steps)[:, None]
    col = np.arange(batch)[None, :]
    row = starts[np.minimum(t, len(batch_sizes) - 1)] + col
    index = np.where(t < sorted_lengths[None, :], row, data.shape[0])  # (T, packed column)
    lengths = sorted_lengths
    if sequence.unsorted_indices is not None:
        unsorted = backend.to_numpy(sequence.unsorted_indices.data)  # (the index is built on the host)
        index, lengths = index[:, unsorted], sorted_lengths[unsorted]
    pad_row = full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = cat([data, pad_row])[index]
    return (padded.transpose(0, 1) if batch_first else padded), tensor(lengths.astype(np.int64))


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, *): ``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    if not isinstance(sequences, (list, tuple)) or not sequences:
        raise TypeError(f"pack_sequence: sequences must be a non-empty list of tensors, got {sequences!r}")
    lengths = [s.shape[0] if isinstance(s, Tensor) else -1 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
