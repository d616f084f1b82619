"""neograd: a deep-learning framework in Python and NumPy with PyTorch's API.

``import neograd as ng`` gives every public name of neograd.autograd (ng.tensor,
ng.no_grad, ng.float32, ...) and the sub-packages ng.autograd, ng.nn and ng.optim.
"""

# The sub-packages are separate distributions sharing the `neograd` namespace; with
# editable installs each lives in its own source root, so extend the search path to all.
import pkgutil

__path__ = pkgutil.extend_path(__path__, __name__)

import sys as _sys

from neograd import autograd, nn, optim
from neograd.__about__ import __version__
from neograd.autograd import *  # noqa: F403
from neograd.autograd import __all__ as _autograd_all
from neograd.autograd import bool as bool  # torch.bool
from neograd.autograd import float as float  # torch.float is float32

# The original project's optimizers lived in neograd.nn.optim (`from neograd.nn.optim import GD`);
# registered here, since neograd-nn itself never depends on neograd-optim.
_sys.modules.setdefault("neograd.nn.optim", optim)
nn.optim = optim

__all__ = ["__version__", "autograd", "nn", "optim", *[n for n in _autograd_all if n != "__version__"]]
