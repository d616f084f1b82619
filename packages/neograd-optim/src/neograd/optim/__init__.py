"""neograd.optim: optimizers and learning-rate schedulers for any tensors that require grad.

Optimizers follow torch.optim (names, arguments, update rules, ``param_groups``,
``state_dict``); ``GD``, ``Momentum`` and ``RMSProp`` are the original neograd's. The
schedulers live in :mod:`neograd.optim.lr_scheduler`. Only neograd-autograd is needed.

Example:
    >>> from neograd.autograd import tensor
    >>> from neograd.optim import SGD
    >>> w = tensor([1.0, 2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     loss = (w * w).sum()
    ...     loss.backward()
    ...     opt.step()
"""

from neograd.optim import lr_scheduler
from neograd.optim.__about__ import __version__
from neograd.optim.adadelta import Adadelta
from neograd.optim.adagrad import Adagrad
from neograd.optim.adam import Adam, AdamW
from neograd.optim.nadam import NAdam
from neograd.optim.optimizer import Optimizer
from neograd.optim.original import GD, Momentum, RMSProp
from neograd.optim.radam import RAdam
from neograd.optim.rmsprop import RMSprop
from neograd.optim.sgd import SGD

__all__ = [
    "__version__",
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "NAdam",
    "RAdam",
    "GD",
    "Momentum",
    "RMSProp",
    "lr_scheduler",
]
