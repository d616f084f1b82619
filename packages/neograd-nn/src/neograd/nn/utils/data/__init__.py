"""neograd.nn.utils.data: datasets and batching, as torch.utils.data (``ng.utils.data``).

Example:
    >>> from neograd.nn.utils.data import DataLoader, TensorDataset, random_split
    >>> train, test = random_split(TensorDataset(inputs, targets), [0.8, 0.2])
    >>> for x, y in DataLoader(train, batch_size=32, shuffle=True):
    ...     ...
"""

from neograd.nn.utils.data.dataloader import DataLoader, default_collate, get_batches
from neograd.nn.utils.data.dataset import Dataset, Subset, TensorDataset, random_split

__all__ = [
    "Dataset",
    "TensorDataset",
    "Subset",
    "random_split",
    "DataLoader",
    "default_collate",
    "get_batches",
]
