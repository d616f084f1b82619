"""The original neograd's optimizers, with its names, signatures and update rules.

``GD``, ``Momentum`` and ``RMSProp`` are what the original project offered in
``neograd.nn.optim``. They are full optimizers here (parameter groups, state_dict,
closures); torch's richer algorithms are :class:`SGD`, :class:`RMSprop` and :class:`Adam`
(which also accepts the original's ``beta1``, ``beta2`` and ``epsilon`` keywords).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neograd.optim.optimizer import Optimizer, ParamsT

__all__ = ["GD", "Momentum", "RMSProp"]


class GD(Optimizer):
    """Plain gradient descent: ``p = p - lr * g``.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate.

    Example:
        >>> w = tensor([1.0, 2.0], requires_grad=True)
        >>> opt = GD([w], 0.15)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([0.7000, 1.4000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float) -> None:
        super().__init__(params, {"lr": lr})

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        param -= group["lr"] * grad


class Momentum(Optimizer):
    """Gradient descent with momentum as a moving average of the gradients.

    ``v = beta * v + (1 - beta) * g``, then ``p = p - lr * v`` (v starts at zero). Unlike
    ``SGD(momentum=...)``, the velocity is an average, so ``lr`` keeps its scale.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate.
        beta: decay rate of the moving average, in [0, 1).

    Example:
        >>> opt = Momentum([w], 0.1, beta=0.9)
    """

    def __init__(self, params: ParamsT, lr: float, beta: float = 0.9) -> None:
        super().__init__(params, {"lr": lr, "beta": beta})

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {"velocity": np.zeros_like(param)}

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        beta, velocity = group["beta"], state["velocity"]
        velocity *= beta
        velocity += (1 - beta) * grad
        param -= group["lr"] * velocity


class RMSProp(Optimizer):
    """The original neograd's RMSProp: ``p = p - lr * g / (sqrt(s) + epsilon)``.

    ``s = beta * s + (1 - beta) * g^2`` is the moving average of the squared gradient (s
    starts at zero). torch's variant, with more options, is :class:`neograd.optim.RMSprop`.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate.
        beta: decay rate of the square average, in [0, 1).
        epsilon: added to the denominator for numerical stability.

    Example:
        >>> opt = RMSProp([w], 0.01, beta=0.9, epsilon=1e-8)
    """

    def __init__(self, params: ParamsT, lr: float, beta: float = 0.9, epsilon: float = 1e-8) -> None:
        super().__init__(params, {"lr": lr, "beta": beta, "epsilon": epsilon})

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {"square_avg": np.zeros_like(param)}

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        beta, square_avg = group["beta"], state["square_avg"]
        square_avg *= beta
        square_avg += (1 - beta) * np.square(grad)
        param -= group["lr"] * (grad / (np.sqrt(square_avg) + group["epsilon"]))
