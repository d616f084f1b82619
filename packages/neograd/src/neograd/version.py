"""The version of each piece of neograd, as ``torch.version``: ``ng.version.nn`` is neograd-nn's.

Each is read from the piece's own ``__about__.py``, the one place its version is declared;
``ng.version.distributed`` is None when neograd-distributed (an extra) is not installed.

Example:
    >>> import neograd as ng
    >>> print(f"neograd {ng.__version__}: autograd {ng.version.autograd}, nn {ng.version.nn}")
"""

from neograd.__about__ import __version__
from neograd.autograd.__about__ import __version__ as autograd
from neograd.nn.__about__ import __version__ as nn
from neograd.optim.__about__ import __version__ as optim

try:
    from neograd.distributed.__about__ import __version__ as distributed
except ModuleNotFoundError:  # neograd-distributed is an extra (neograd[distributed])
    distributed = None

__all__ = ["__version__", "autograd", "nn", "optim", "distributed"]
