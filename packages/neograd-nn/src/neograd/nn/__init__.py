"""neograd.nn: modules, layers, losses and functional ops, built on neograd.autograd."""

from neograd.nn.__about__ import __version__

__all__ = ["__version__"]
