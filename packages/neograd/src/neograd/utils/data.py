"""neograd.utils.data: neograd-nn's data tools at torch's path (``torch.utils.data``).

The same objects as :mod:`neograd.nn.utils.data`, which holds the code.

Example:
    >>> from neograd.utils.data import DataLoader, TensorDataset, random_split
    >>> train, test = random_split(TensorDataset(inputs, targets), [0.8, 0.2])
    >>> for x, y in DataLoader(train, batch_size=32, shuffle=True):
    ...     ...
"""

from neograd.nn.utils.data import *  # noqa: F403
from neograd.nn.utils.data import __all__ as __all__
