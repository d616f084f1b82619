"""Adam and AdamW: moving averages of the gradient and of its square, with bias correction."""

from __future__ import annotations

from typing import Any

import numpy as np

from neograd.optim.optimizer import Optimizer, ParamsT

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2014), as torch.optim.Adam.

    For each parameter p with gradient g, at step t (m and v start at zero)::

        g = -g                                  if maximize
        p = p * (1 - lr * lambda)               if decoupled_weight_decay (AdamW)
        g = g + lambda * p                      else, if weight_decay != 0
        m = beta1 * m + (1 - beta1) * g         (first moment)
        v = beta2 * v + (1 - beta2) * g^2       (second moment)
        v_max = max(v_max, v); use v_max for v  if amsgrad
        p = p - lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate.
        betas: (beta1, beta2), the decay rates of the two moving averages, each in [0, 1).
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty lambda.
        amsgrad: use the AMSGrad variant (the maximum of all second moments so far).
        maximize: maximize the objective instead of minimizing it.
        decoupled_weight_decay: decay the weights directly instead of through the gradient (AdamW).
        beta1, beta2, epsilon: the original neograd's names for betas[0], betas[1] and eps;
            when given they replace those.

    Example:
        >>> w = tensor([1.0, -2.0], requires_grad=True)
        >>> opt = Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()      # the first Adam step moves each weight by lr against its gradient's sign
        >>> w
        tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
        beta1: float | None = None,
        beta2: float | None = None,
        epsilon: float | None = None,
    ) -> None:
        if beta1 is not None or beta2 is not None:
            betas = (betas[0] if beta1 is None else beta1, betas[1] if beta2 is None else beta2)
        defaults = {
            "lr": lr,
            "betas": tuple(betas) if isinstance(betas, list) else betas,
            "eps": eps if epsilon is None else epsilon,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": 0, "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        return state

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param
        state["step"] += 1
        step = state["step"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]

        # NOTE: one scratch array and in-place ufuncs (out=): no other temporary of the
        # parameter's size is made, which is what makes this step as fast as torch's.
        buf = np.empty_like(param)
        exp_avg *= beta1
        np.multiply(grad, 1 - beta1, out=buf)
        exp_avg += buf
        exp_avg_sq *= beta2
        np.multiply(grad, grad, out=buf)
        buf *= 1 - beta2
        exp_avg_sq += buf
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            exp_avg_sq = state["max_exp_avg_sq"]

        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        # m / (sqrt(v) / s + eps) = s * m / (sqrt(v) + eps * s), with s = sqrt(1 - beta2^t):
        # the bias correction moves onto scalars, saving a pass over the array
        np.sqrt(exp_avg_sq, out=buf)
        buf += eps * bias_correction2_sqrt
        np.divide(exp_avg, buf, out=buf)
        buf *= lr / bias_correction1 * bias_correction2_sqrt
        param -= buf


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov and Hutter, 2017), as torch.optim.AdamW.

    The weights decay directly, ``p = p * (1 - lr * weight_decay)``, before the Adam update,
    instead of through the gradient; see :class:`Adam` for the rest.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate.
        betas: (beta1, beta2), the decay rates of the two moving averages.
        eps: added to the denominator for numerical stability.
        weight_decay: decoupled weight decay coefficient.
        amsgrad: use the AMSGrad variant.
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> opt = AdamW([w], lr=1e-3, weight_decay=1e-2)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True
        )
