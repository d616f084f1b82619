"""The original project's grad_check: a model's parameter gradients against finite differences."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from neograd.autograd import GradcheckError, get_rng_state, gradcheck, set_rng_state

__all__ = ["grad_check"]


def grad_check(
    model: Any,
    inputs: Any,
    targets: Any,
    loss_fn: Callable[[Any, Any], Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check backward's gradient of ``loss_fn(model(inputs), targets)`` for every trainable parameter.

    Each parameter element is moved by +-eps and the loss's central difference
    (L(p + eps) - L(p - eps)) / (2 eps) compared with the gradient backward computes, with
    :func:`neograd.autograd.gradcheck`. Convert the model and the inputs to float64 first
    (``model.double()``): in float32 the differences are mostly rounding error. Every
    evaluation sees the same random numbers (Dropout masks), and the model's buffers
    (e.g. BatchNorm's running statistics) and the random state are restored at the end.

    Args:
        model: the Module to check.
        inputs: what the model is called with (a small batch is enough).
        targets: the targets passed to ``loss_fn``.
        loss_fn: a function or loss module of (outputs, targets) returning a scalar tensor.
        eps, atol, rtol: the step and the tolerances, as in gradcheck.

    Returns:
        True when every gradient agrees.

    Raises:
        GradcheckError: naming the parameter and element with the worst disagreement.

    Example:
        >>> model = Sequential(Linear(3, 4), Tanh(), Linear(4, 1)).double()
        >>> x, y = randn(5, 3, dtype=float64), randn(5, 1, dtype=float64)
        >>> grad_check(model, x, y, MSELoss())
        True
    """
    if not hasattr(model, "named_parameters"):
        raise TypeError(f"grad_check: model must be a Module, got {type(model).__name__}")
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError(f"grad_check: {type(model).__name__} has no parameter that requires grad")
    rng_state = get_rng_state()
    buffers = {name: b.data.copy() for name, b in model.named_buffers()}

    def loss(*params: Any) -> Any:
        set_rng_state(rng_state)
        return loss_fn(model(inputs), targets)

    try:
        return gradcheck(loss, tuple(p for _, p in named), eps=eps, atol=atol, rtol=rtol)
    except GradcheckError as e:
        # gradcheck numbers its inputs: name the parameter instead
        message = str(e).replace("gradcheck: ", "", 1)
        found = re.search(r"for output \d+ with respect to input (\d+)", message)
        if found:
            name = named[int(found.group(1))][0]
            message = message.replace(found.group(0), f"of the loss with respect to parameter {name!r}")
            message = message.replace("at input element", "at element").replace(" and output element ()", "")
        raise GradcheckError(f"grad_check: {message}") from None
    finally:
        for name, b in model.named_buffers():
            if name in buffers:
                b.data = buffers[name]
        set_rng_state(rng_state)
