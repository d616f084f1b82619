"""The layers, one file per family; every class they export is re-exported by neograd.nn."""

# ruff: noqa: F403

# One line per file (each file lists its public classes in __all__).
from neograd.nn.modules.activation import *
from neograd.nn.modules.attention import *
from neograd.nn.modules.container import *
from neograd.nn.modules.conv import *
from neograd.nn.modules.dropout import *
from neograd.nn.modules.flatten import *
from neograd.nn.modules.linear import *
from neograd.nn.modules.loss import *
from neograd.nn.modules.normalization import *
from neograd.nn.modules.pooling import *
from neograd.nn.modules.rnn import *
from neograd.nn.modules.sparse import *
from neograd.nn.modules.transformer import *
from neograd.nn.modules.upsampling import *

__all__ = [name for name, value in list(globals().items()) if isinstance(value, type) and name[0] != "_"]
