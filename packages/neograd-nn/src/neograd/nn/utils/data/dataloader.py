"""DataLoader: batches of a dataset, optionally shuffled; default_collate; the original's get_batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from neograd.autograd import Tensor, backend, default_generator, stack, tensor
from neograd.nn.utils.data.dataset import Subset, TensorDataset

__all__ = ["DataLoader", "default_collate", "get_batches"]


def default_collate(batch: Sequence[Any]) -> Any:
    """Join a list of samples into a batch, as torch's default_collate.

    Tensors and ndarrays are stacked along a new first dimension (keeping their dtype),
    Python floats become a float64 tensor, ints an int64 tensor (bools a bool tensor),
    strings stay a list, and dicts, named tuples, tuples and lists are collated field by
    field (tuples and lists give lists).

    Example:
        >>> default_collate([(tensor([1., 2.]), 0), (tensor([3., 4.]), 1)])
        [tensor([[1., 2.],
                [3., 4.]]), tensor([0, 1])]
    """
    if len(batch) == 0:
        raise ValueError("default_collate: the batch is empty")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch))
    if isinstance(elem, (np.ndarray, np.generic)):
        if elem.dtype.kind not in "biuf":
            raise TypeError(f"default_collate: cannot batch arrays of dtype {elem.dtype}")
        return Tensor._make(np.stack(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=np.float64)
    if isinstance(elem, int):  # bools too
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple keeps its type
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(elem, Sequence):
        if len({len(sample) for sample in batch}) != 1:
            raise RuntimeError("default_collate: each element in the batch should be of equal size")
        return [default_collate(list(field)) for field in zip(*batch)]
    raise TypeError(
        "default_collate: a batch must contain tensors, numpy arrays, numbers, strings, dicts or lists; "
        f"found {type(elem).__name__}"
    )


def _gather(dataset: Any, indices: list[int]) -> list[Tensor] | None:
    """The batch of a TensorDataset (or a Subset of one) by one fancy index per tensor, else None.

    The result equals default_collate of the items one by one, without a Python loop over
    the batch.
    """
    while isinstance(dataset, Subset):
        indices = [dataset.indices[i] for i in indices]
        dataset = dataset.dataset
    if not isinstance(dataset, TensorDataset) or any(t.requires_grad for t in dataset.tensors):
        return None
    index = np.asarray(indices, dtype=np.int64)
    return [Tensor._make(t.data[backend.asarray(index, like=t.data)]) for t in dataset.tensors]


class DataLoader:
    """Iterate over a dataset in batches, optionally shuffled, as torch.utils.data.DataLoader.

    Args:
        dataset: any object with ``__len__`` and ``__getitem__`` (e.g. a TensorDataset).
        batch_size: samples per batch; None yields the samples one by one, uncollated.
        shuffle: draw a new random order at the start of every epoch (from ``generator``,
            by default neograd's, so ``manual_seed`` makes it reproducible). The order is
            drawn when iteration starts: a ``Checkpoint`` resumes it exactly at epoch
            boundaries; to resume mid-epoch, seed a generator per epoch (see Checkpoint).
        sampler: an iterable of indices giving the order instead (not with shuffle).
        num_workers: only 0: batches are loaded in the main process.
        collate_fn: joins a list of samples into a batch (default: :func:`default_collate`).
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        generator: the np.random.Generator used to shuffle.

    Example:
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
        >>> for inputs, targets in loader:
        ...     ...
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool = False,
        *,
        sampler: Iterable[int] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        drop_last: bool = False,
        generator: np.random.Generator | None = None,
    ) -> None:
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0
        ):
            raise ValueError(
                f"DataLoader: batch_size should be a positive integer or None, got {batch_size!r}"
            )
        if batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None disables batching and is mutually exclusive with drop_last"
            )
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if num_workers != 0:
            raise ValueError(
                "DataLoader: neograd loads batches in the main process; "
                f"num_workers must be 0, got {num_workers!r}"
            )
        if sampler is None and not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"DataLoader: the dataset ({type(dataset).__name__}) needs __len__ and __getitem__"
            )
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(
                f"DataLoader: generator must be an np.random.Generator, got {type(generator).__name__}"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.sampler = sampler
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.generator = generator

    def _indices(self) -> list[int]:
        if self.sampler is not None:
            return [int(i) for i in self.sampler]
        if self.shuffle:
            generator = default_generator if self.generator is None else self.generator
            return generator.permutation(len(self.dataset)).tolist()
        return list(range(len(self.dataset)))

    def __iter__(self) -> Iterator[Any]:
        indices = self._indices()
        if self.batch_size is None:
            for i in indices:
                yield self.dataset[i]
            return
        for start in range(0, len(indices), self.batch_size):
            chunk = indices[start : start + self.batch_size]
            if self.drop_last and len(chunk) < self.batch_size:
                return
            batch = _gather(self.dataset, chunk) if self.collate_fn is None else None
            if batch is None:
                collate = default_collate if self.collate_fn is None else self.collate_fn
                batch = collate([self.dataset[i] for i in chunk])
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)  # type: ignore[arg-type]
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def get_batches(inputs: Any, targets: Any = None, batch_size: int | None = None) -> Iterator[Any]:
    """The original project's batching: consecutive slices along the first dimension, in order.

    Yields ``(inputs[start:end], targets[start:end])``, or just ``inputs[start:end]``
    without targets; the last batch holds what is left. No shuffling (use
    :class:`DataLoader` for that).

    Args:
        inputs: a Tensor or ndarray, examples along the first dimension.
        targets: the matching targets (same first dimension), or None.
        batch_size: examples per batch, at most the number of examples (None: all of
            them in one batch).

    Example:
        >>> for x, y in get_batches(inputs, targets, batch_size=32):
        ...     loss = loss_fn(model(x), y)
    """
    num_examples = inputs.shape[0]
    if targets is not None and targets.shape[0] != num_examples:
        raise ValueError(
            f"get_batches: inputs and targets must have the same first dimension (examples), "
            f"got {tuple(inputs.shape)} and {tuple(targets.shape)}"
        )
    if batch_size is None:
        batch_size = num_examples
    elif isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"get_batches: batch_size must be a positive integer, got {batch_size!r}")
    elif batch_size > num_examples:
        raise ValueError(
            f"get_batches: batch_size ({batch_size}) cannot be greater than the number of examples "
            f"({num_examples})"
        )
    for start in range(0, num_examples, batch_size):
        end = min(start + batch_size, num_examples)
        yield inputs[start:end] if targets is None else (inputs[start:end], targets[start:end])
