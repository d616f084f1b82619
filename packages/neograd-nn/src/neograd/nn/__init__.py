"""neograd.nn: modules, layers, losses and functional ops, built on neograd.autograd.

Example:
    >>> from neograd import nn
    >>> model = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1), nn.Sigmoid())
"""

from neograd.nn import functional, init, loss, modules
from neograd.nn.__about__ import __version__
from neograd.nn.module import Layer, Model, Module, Parameter
from neograd.nn.modules import *  # noqa: F403

__all__ = [
    "__version__",
    "Module",
    "Parameter",
    "Model",
    "Layer",
    "functional",
    "init",
    "loss",
    *modules.__all__,
]

from neograd.nn import utils
from neograd.nn.checkpoint import Checkpoint
from neograd.nn.serialization import load, save

__all__ += ["utils", "save", "load", "Checkpoint"]
