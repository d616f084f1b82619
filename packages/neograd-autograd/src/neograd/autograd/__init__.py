"""neograd.autograd: tensors with reverse-mode automatic differentiation over NumPy.

Read it in this order: tensor.py (the Tensor), function.py (how an op records itself in
the graph), ops/ (the ops, forward next to backward), engine.py (backward and
auto-removal), grad_mode.py (no_grad).

Example:
    >>> from neograd.autograd import tensor
    >>> a = tensor(3, requires_grad=True)
    >>> b = tensor([1, 2, 3], requires_grad=True)
    >>> c = a + b
    >>> c.backward([1, 1, 1])
    >>> a.grad, b.grad
    (tensor(3.), tensor([1., 1., 1.]))
"""

from neograd.autograd import cuda
from neograd.autograd.__about__ import __version__
from neograd.autograd._malloc import keep_freed_memory as _keep_freed_memory
from neograd.autograd.anomaly import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from neograd.autograd.backend import device
from neograd.autograd.compile import CompileError, CompileWarning, compile
from neograd.autograd.creation import *  # noqa: F403
from neograd.autograd.creation import __all__ as _creation_all
from neograd.autograd.dtypes import *  # noqa: F403
from neograd.autograd.dtypes import __all__ as _dtypes_all
from neograd.autograd.dtypes import bool_ as bool  # noqa: F401 -- torch.bool
from neograd.autograd.dtypes import float  # noqa: F401 -- torch.float is float32
from neograd.autograd.engine import backward, grad
from neograd.autograd.function import Function
from neograd.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, no_track, set_grad_enabled
from neograd.autograd.gradcheck import GradcheckError, gradcheck
from neograd.autograd.ops.elementwise import *  # noqa: F403
from neograd.autograd.ops.elementwise import __all__ as _elementwise_all
from neograd.autograd.ops.linalg import *  # noqa: F403
from neograd.autograd.ops.linalg import __all__ as _linalg_all
from neograd.autograd.ops.reduce import *  # noqa: F403
from neograd.autograd.ops.reduce import __all__ as _reduce_all
from neograd.autograd.ops.shape import *  # noqa: F403
from neograd.autograd.ops.shape import __all__ as _shape_all
from neograd.autograd.random import default_generator, get_rng_state, manual_seed, seed, set_rng_state
from neograd.autograd.tensor import Tensor, from_numpy, tensor
from neograd.autograd.viz import draw, to_dot

__all__ = [
    "__version__",
    "Tensor",
    "tensor",
    "device",
    "cuda",
    "from_numpy",
    "Function",
    "compile",
    "CompileError",
    "CompileWarning",
    "backward",
    "grad",
    "gradcheck",
    "GradcheckError",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "no_track",
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled",
    "default_generator",
    "manual_seed",
    "seed",
    "get_rng_state",
    "set_rng_state",
    "to_dot",
    "draw",
    *_creation_all,
    *_dtypes_all,
    *_elementwise_all,
    *_linalg_all,
    *_reduce_all,
    *_shape_all,
]

# NOTE: glibc would give NumPy's freed temporaries back to the system and fault them in again
# every step; see _malloc.py
_keep_freed_memory()
