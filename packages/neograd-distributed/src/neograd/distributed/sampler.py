"""DistributedSampler: each rank's share of a dataset's indices, as torch.utils.data.distributed's."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from neograd.distributed.process_group import get_rank, get_world_size, is_initialized

__all__ = ["DistributedSampler"]


class DistributedSampler:
    """The indices of rank ``rank``'s share of ``dataset``: every ``num_replicas``-th of one order.

    All ranks draw the same order (a permutation seeded by ``seed + epoch`` when ``shuffle``),
    pad it by repeating its first indices until it divides evenly (or, with ``drop_last``,
    cut its tail), and rank r takes the positions r, r + num_replicas, r + 2 num_replicas, ...
    So the ranks' shares are disjoint (but for the padding), together cover the dataset, and
    have the same length: every rank runs the same number of steps. Call ``set_epoch(epoch)``
    at the start of each epoch for a new order each epoch.

    torch's semantics throughout; the permutation itself comes from NumPy
    (``np.random.default_rng(seed + epoch)``), so the order differs from torch's.

    Args:
        dataset: anything with ``__len__``.
        num_replicas: the number of ranks (default: ``get_world_size()``).
        rank: this rank (default: ``get_rank()``).
        shuffle: a new order each epoch, else ``0, 1, 2, ...``.
        seed: the seed of the order; the same on every rank.
        drop_last: drop the tail that does not divide evenly instead of padding.

    Example:
        >>> sampler = DistributedSampler(train_set, shuffle=True, seed=0)
        >>> loader = DataLoader(train_set, batch_size=32, sampler=sampler)
        >>> for epoch in range(epochs):
        ...     sampler.set_epoch(epoch)
        ...     for x, y in loader:
        ...         ...
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if (num_replicas is None or rank is None) and not is_initialized():
            raise RuntimeError(
                "DistributedSampler: num_replicas and rank default to the process group's; call "
                "init_process_group() first, or pass both"
            )
        if num_replicas is None:
            num_replicas = get_world_size()
        if rank is None:
            rank = get_rank()
        for name, value in (("num_replicas", num_replicas), ("rank", rank), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"DistributedSampler: {name} must be an int, got {value!r}")
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be at least 1, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"DistributedSampler: invalid rank {rank}, rank should be in the interval "
                f"[0, {num_replicas - 1}]"
            )
        if not hasattr(dataset, "__len__"):
            raise TypeError(f"DistributedSampler: the dataset ({type(dataset).__name__}) needs __len__")
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.epoch = 0
        self.drop_last = bool(drop_last)
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = bool(shuffle)
        self.seed = int(seed)

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            elif indices:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[: self.total_size]
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s order from now on (call it on every rank, with the same epoch)."""
        self.epoch = epoch
