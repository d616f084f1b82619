"""neograd.utils: as ``torch.utils``, the home of ``data`` (datasets and ``DataLoader``)."""

from neograd.utils import data

__all__ = ["data"]
