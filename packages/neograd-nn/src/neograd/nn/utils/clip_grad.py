"""Gradient clipping: rescale (clip_grad_norm_) or clamp (clip_grad_value_) gradients in place."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from neograd.autograd import Tensor, backend, no_grad

__all__ = ["clip_grad_norm_", "clip_grad_value_"]

Parameters = Tensor | Iterable[Tensor]


def _grads(parameters: Parameters) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def _vector_norm(x: np.ndarray, norm_type: float) -> np.ndarray:
    """The p-norm of ``x`` flattened: (sum |x|^p)^(1/p); max |x| for inf, min for -inf, nonzeros for 0."""
    return backend.asarray(np.linalg.norm(x.reshape(-1), ord=norm_type))


def clip_grad_norm_(
    parameters: Parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``, as torch's.

    The total norm is the ``norm_type``-norm of all gradients as if concatenated into
    one vector. Each gradient is multiplied by ``min(1, max_norm / (total_norm + 1e-6))``.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` is clipped
            (e.g. ``model.parameters()``); tensors without a gradient are skipped.
        max_norm: the largest norm allowed.
        norm_type: the p of the p-norm; ``float("inf")`` (or ``"inf"``) for the largest
            absolute value.
        error_if_nonfinite: raise RuntimeError, changing nothing, when the total norm is
            NaN or infinite (otherwise the gradients are scaled by it anyway, as torch does).

    Returns:
        The total norm of the gradients before clipping, a 0-d tensor.

    Example:
        >>> loss.backward()
        >>> clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> optimizer.step()
    """
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not max_norm >= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be non-negative, got {max_norm}")
    grads = _grads(parameters)
    if not grads:
        return Tensor._make(np.array(0.0, np.float32))
    norms = [_vector_norm(g.data, norm_type) for g in grads]
    total = _vector_norm(np.stack(norms), norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    # NOTE: computed in the norm's dtype, as torch does; 1e-6 keeps a zero norm from dividing by zero
    coef = np.minimum(total.dtype.type(max_norm) / (total + total.dtype.type(1e-6)), total.dtype.type(1.0))
    # a non-finite norm makes NaNs on purpose (see error_if_nonfinite): no warning for them
    with no_grad(), np.errstate(invalid="ignore", over="ignore"):
        for g in grads:
            g.mul_(coef.astype(g.dtype))
    return Tensor._make(total)


def clip_grad_value_(parameters: Parameters, clip_value: float) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``, in place, as torch's.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` is clipped.
        clip_value: the largest absolute value allowed.

    Example:
        >>> clip_grad_value_(model.parameters(), 0.5)
    """
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value}")
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)
