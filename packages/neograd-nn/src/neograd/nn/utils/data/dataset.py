"""Datasets: anything with ``__len__`` and ``__getitem__``; TensorDataset, Subset and random_split."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from neograd.autograd import Tensor, default_generator, from_numpy

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split"]


class Dataset:
    """Base class of map-style datasets: subclass it and define ``__getitem__`` and ``__len__``.

    Any object with those two methods works with :class:`DataLoader`; subclassing only
    documents the intent, as in torch.

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 10
        ...     def __getitem__(self, i):
        ...         return float(i), float(i * i)
    """

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """A dataset of tensors that share their first dimension: item i is ``(t[i] for t in tensors)``.

    Args:
        *tensors: Tensors (or ndarrays, wrapped without copying) with the same first
            dimension, e.g. inputs and targets.

    Example:
        >>> ds = TensorDataset(randn(100, 3), randint(0, 2, (100,)))
        >>> x, y = ds[0]
        >>> len(ds)
        100
    """

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        converted = []
        for i, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = from_numpy(t)
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset: argument {i} is a {type(t).__name__}, not a Tensor or ndarray"
                )
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is 0-d; each tensor needs a first dimension")
            converted.append(t)
        if len({t.shape[0] for t in converted}) != 1:
            raise ValueError(
                "TensorDataset: size mismatch between tensors: first dimensions "
                f"{[t.shape[0] for t in converted]}"
            )
        self.tensors: tuple[Tensor, ...] = tuple(converted)

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``: item i is ``dataset[indices[i]]``.

    Args:
        dataset: the whole dataset.
        indices: the positions to keep, in order.
    """

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(
    dataset: Any, lengths: Sequence[int | float], generator: np.random.Generator = default_generator
) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping Subsets of the given lengths, as torch's.

    ``lengths`` are item counts that add up to ``len(dataset)``, or fractions that add up
    to 1: each split then gets ``floor(len * fraction)`` items and the remainder is handed
    out one by one, round-robin from the first split.

    Args:
        dataset: the dataset to split.
        lengths: the sizes (or fractions) of the splits.
        generator: the random generator of the permutation (neograd's by default, so
            ``manual_seed`` makes the split reproducible).

    Example:
        >>> train, test = random_split(TensorDataset(randn(10, 2)), [0.8, 0.2])
        >>> len(train), len(test)
        (8, 2)
    """
    n = len(dataset)
    lengths = list(lengths)
    if any(isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) for x in lengths):
        raise TypeError(f"random_split: lengths must be ints or fractions, got {lengths}")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1: {frac}")
        counts = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"random_split: the split at index {i} is empty", UserWarning, stacklevel=2)
    else:
        counts = lengths
        if any(not isinstance(c, (int, np.integer)) or c < 0 for c in counts):
            raise ValueError(
                f"random_split: lengths must be non-negative ints or fractions summing to 1, got {lengths}"
            )
    if sum(counts) != n:
        raise ValueError(
            f"random_split: the lengths {lengths} add up to {sum(counts)}, not to the dataset's length {n}"
        )
    order = generator.permutation(n).tolist()
    splits, start = [], 0
    for count in counts:
        splits.append(Subset(dataset, order[start : start + count]))
        start += count
    return splits
