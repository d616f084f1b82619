"""neograd.optim: optimizers and learning-rate schedulers for any tensors that require grad."""

from neograd.optim.__about__ import __version__

__all__ = ["__version__"]
