"""NAdam: Adam with Nesterov momentum."""

from __future__ import annotations

from typing import Any

import numpy as np

from neograd.optim.optimizer import Optimizer, ParamsT

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), as torch.optim.NAdam.

    For each parameter p with gradient g, at step t (m and v start at zero, the product of
    the mu's at one; psi is ``momentum_decay``)::

        g = -g                                      if maximize
        p = p * (1 - lr * lambda)                   if decoupled_weight_decay
        g = g + lambda * p                          else, if weight_decay != 0
        mu_t = beta1 * (1 - 0.5 * 0.96^(t psi)),  mu_{t+1} likewise
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        d = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr (1 - mu_t) / (1 - mu_1...mu_t) * g / d
              - lr mu_{t+1} / (1 - mu_1...mu_{t+1}) * m / d

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate.
        betas: (beta1, beta2), the decay rates of the two moving averages, each in [0, 1).
        eps: added to the denominator for numerical stability.
        weight_decay: weight decay coefficient lambda.
        momentum_decay: psi, how fast the momentum schedule approaches beta1.
        decoupled_weight_decay: decay the weights directly, as AdamW (NAdamW).
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> opt = NAdam([w], lr=2e-3)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {
            "step": 0,
            "mu_product": 1.0,
            "exp_avg": np.zeros_like(param),
            "exp_avg_sq": np.zeros_like(param),
        }

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        lr, eps, weight_decay, momentum_decay = (
            group["lr"],
            group["eps"],
            group["weight_decay"],
            group["momentum_decay"],
        )
        beta1, beta2 = group["betas"]
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        step = state["step"]
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (1 - beta1) * (grad - exp_avg)  # torch's lerp towards g
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        denom = np.sqrt(exp_avg_sq / (1 - beta2**step))
        denom += eps
        param -= lr * (1.0 - mu) / (1.0 - mu_product) * (grad / denom)
        param -= lr * mu_next / (1.0 - mu_product * mu_next) * (exp_avg / denom)
