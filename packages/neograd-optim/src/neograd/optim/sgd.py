"""SGD: stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from neograd.optim.optimizer import Optimizer, ParamsT

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), as torch.optim.SGD.

    For each parameter p with gradient g (b is the momentum buffer, mu the momentum,
    tau the dampening, lambda the weight decay)::

        g = -g                         if maximize
        g = g + lambda * p             if weight_decay != 0
        b = g                          on the first step, then
        b = mu * b + (1 - tau) * g     if momentum != 0
        g = g + mu * b                 if nesterov, else g = b
        p = p - lr * g

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate.
        momentum: momentum factor mu (0 turns momentum off).
        dampening: dampening tau of the momentum.
        weight_decay: L2 penalty lambda.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> w = tensor([1.0, 2.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([0.8000, 1.6000], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any], where: str) -> None:
        super()._check_group(group, where)
        if group.get("nesterov") and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"{where}: Nesterov momentum requires a momentum and zero dampening, got "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        # the buffer starts as the first gradient itself (see _update), so there is none yet
        return {"momentum_buffer": None} if group["momentum"] != 0 else {}

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param
        if momentum != 0:
            buf = state["momentum_buffer"]
            if buf is None:
                buf = state["momentum_buffer"] = np.copy(grad).astype(param.dtype, copy=False)  # a copy
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= lr * grad
