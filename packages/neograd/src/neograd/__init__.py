"""neograd: a deep-learning framework in Python and NumPy with PyTorch's API.

``import neograd as ng`` gives what ``import torch`` gives:

- every public name of neograd.autograd: ``ng.tensor``, ``ng.zeros``, ``ng.no_grad``,
  ``ng.manual_seed``, ``ng.float32``, ...
- the sub-packages ``ng.autograd``, ``ng.nn``, ``ng.optim``, and ``ng.utils.data``
  (datasets and ``DataLoader``, as ``torch.utils.data``);
- ``ng.save(state_dict, path)`` and ``ng.load(path)``: tensors on disk as safetensors, or
  NumPy's .npz when the name ends in .npz; nothing is ever pickled or unpickled;
- ``ng.distributed`` (as ``torch.distributed``) when neograd-distributed is installed
  (``pip install neograd[distributed]``); imported on first use;
- ``ng.onnx`` (``ng.onnx.export``, ``ng.onnx.load``, as ``torch.onnx``) when neograd-onnx is
  installed (``pip install neograd[onnx]``); imported on first use;
- ``ng.__version__`` (this package's version) and ``ng.version``, the version of each piece
  (``ng.version.autograd``, ``ng.version.nn``, ``ng.version.optim``), as ``torch.version``.

The original neograd's paths keep working: ``from neograd.nn.loss import BCE``,
``from neograd.nn.optim import GD``, ``ng.nn.Model``, ``ng.no_track()``.

Example:
    >>> import neograd as ng
    >>> model = ng.nn.Sequential(ng.nn.Linear(2, 8), ng.nn.ReLU(), ng.nn.Linear(8, 1))
    >>> optimizer = ng.optim.Adam(model.parameters(), lr=1e-2)
    >>> loss = model(ng.randn(4, 2)).pow(2).mean()
    >>> loss.backward()
    >>> optimizer.step()
    >>> ng.save(model.state_dict(), "model.safetensors")
    >>> model.load_state_dict(ng.load("model.safetensors"))
"""

# The sub-packages are separate distributions sharing the `neograd` namespace; with
# editable installs each lives in its own source root, so extend the search path to all.
import pkgutil

__path__ = pkgutil.extend_path(__path__, __name__)

import sys as _sys

from neograd import autograd, nn, optim, utils, version
from neograd.__about__ import __version__
from neograd.autograd import *  # noqa: F403
from neograd.autograd import __all__ as _autograd_all
from neograd.autograd import bool as bool  # torch.bool
from neograd.nn.serialization import load, save

# The original project's optimizers lived in neograd.nn.optim (`from neograd.nn.optim import GD`);
# registered here, since neograd-nn itself never depends on neograd-optim.
_sys.modules.setdefault("neograd.nn.optim", optim)
nn.optim = optim

# Separate distributions, installed through an extra (`pip install neograd[distributed]`):
# imported on first access, and when missing, the error says how to get them.
_OPTIONAL = {"distributed": "neograd-distributed", "onnx": "neograd-onnx"}


def __getattr__(name: str) -> object:
    if name in _OPTIONAL:
        import importlib

        try:
            return importlib.import_module(f"neograd.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"neograd.{name}":
                raise
            raise AttributeError(
                f"module 'neograd' has no attribute '{name}': ng.{name} is the separate package "
                f"{_OPTIONAL[name]}; install it with `pip install neograd[{name}]`"
            ) from None
    raise AttributeError(f"module 'neograd' has no attribute '{name}'")


__all__ = [
    "__version__",
    "version",
    "autograd",
    "nn",
    "optim",
    "utils",
    "save",
    "load",
    *[name for name in _autograd_all if name != "__version__"],
]
