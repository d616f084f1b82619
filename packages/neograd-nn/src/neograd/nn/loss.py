"""The original project's loss names: ``from neograd.nn.loss import BCE`` (also MSE, CE, SoftmaxCE).

They keep the original meaning and are Modules like torch's losses; the torch names
(BCELoss, CrossEntropyLoss, ...) are in neograd.nn. Each reduces to the mean over
examples, so the loss does not grow with the batch size.

Example (the seed's layout: outputs and targets of shape (1, examples))::

    loss_fn = BCE()
    loss = loss_fn(model(X_train), y_train)   # integer labels are fine
"""

from __future__ import annotations

import numpy as np

from neograd.autograd import Tensor
from neograd.nn.functional.loss import CrossEntropy, _target
from neograd.nn.module import Module
from neograd.nn.modules.loss import BCELoss, MSELoss

__all__ = ["MSE", "BCE", "CE", "SoftmaxCE"]


class MSE(MSELoss):
    """Mean squared error, mean((outputs - targets)^2) (torch's MSELoss).

    NOTE: the original halved it and divided the sum by the size of the first dim only.
    """


class BCE(BCELoss):
    """Binary cross-entropy of probabilities: mean(-(y log p + (1 - y) log(1 - p))), logs clamped at -100.

    The same as torch's BCELoss; integer targets (e.g. scikit-learn's labels) are
    converted to the outputs' dtype.
    """


def _class_axis(op: str, outputs: Tensor, axis: int) -> int:
    if not isinstance(outputs, Tensor) or outputs.ndim == 0:
        raise ValueError(f"{op}: outputs must be a tensor with a class axis")
    if not -outputs.ndim <= axis < outputs.ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for outputs of shape {outputs.shape}")
    return axis % outputs.ndim


class CE(Module):
    """Cross-entropy of probabilities: -sum_c y_c log p_c along ``axis``, averaged over the other positions.

    Args:
        axis: the class axis of outputs and targets (the last by default: (examples, classes)).

    Targets are one-hot vectors or probabilities of the outputs' shape. Probabilities
    are kept >= the dtype's smallest normal number, so log(0) cannot give -inf.
    """

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        axis = _class_axis("CE", outputs, self.axis)
        targets = _target("CE", outputs, targets)
        log_p = outputs.clamp(min=float(np.finfo(outputs.dtype).tiny)).log()
        return -(targets * log_p).sum(axis=axis).mean()

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class SoftmaxCE(Module):
    """Softmax along ``axis`` and cross-entropy in one op (the original's fused loss), from logits.

    mean over positions of -sum_c y_c log softmax(x)_c; its gradient is softmax(x) - y
    (divided by the number of positions), computed without overflow.

    Args:
        axis: the class axis (the last by default: (examples, classes)).
    """

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        axis = _class_axis("SoftmaxCE", outputs, self.axis)
        targets = _target("SoftmaxCE", outputs, targets)
        if targets.shape != outputs.shape:
            raise ValueError(
                f"SoftmaxCE: targets of shape {targets.shape} must match outputs {outputs.shape}"
            )
        positions = outputs.data.size // outputs.shape[axis] if outputs.data.size else 0
        return CrossEntropy.apply(outputs, targets, dim=axis, reduction="mean", divisor=float(positions))

    def extra_repr(self) -> str:
        return f"axis={self.axis}"
