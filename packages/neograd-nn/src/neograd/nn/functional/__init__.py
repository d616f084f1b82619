"""neograd.nn.functional: the stateless form of every layer and loss.

Example:
    >>> import neograd.nn.functional as F
    >>> F.relu(tensor([-1.0, 2.0]))
    tensor([0., 2.])
"""

# ruff: noqa: F403

# One line per file (each file lists its public functions in __all__).
from neograd.nn.functional.activation import *
from neograd.nn.functional.attention import *
from neograd.nn.functional.conv import *
from neograd.nn.functional.dropout import *
from neograd.nn.functional.linear import *
from neograd.nn.functional.loss import *
from neograd.nn.functional.normalization import *
from neograd.nn.functional.padding import *
from neograd.nn.functional.pooling import *
from neograd.nn.functional.rnn import *
from neograd.nn.functional.sparse import *
from neograd.nn.functional.upsampling import *

__all__ = [name for name, value in list(globals().items()) if callable(value) and name[0] != "_"]
