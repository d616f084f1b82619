"""gradcheck: compare backward's gradients with central finite differences."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neograd.autograd import backend
from neograd.autograd.engine import grad
from neograd.autograd.grad_mode import no_grad
from neograd.autograd.tensor import Tensor

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when an analytical gradient disagrees with the numerical one."""


def _outputs(fn: Callable[..., Any], inputs: tuple[Any, ...]) -> list[Tensor]:
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def gradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check the gradients of ``fn`` at ``inputs`` against central differences, as torch's gradcheck.

    Every input tensor that requires grad is perturbed element by element,
    (f(x + eps) - f(x - eps)) / (2 eps), and the result compared with the Jacobian that
    backward computes: they agree when ``|analytical - numerical| <= atol + rtol * |numerical|``.
    Use float64 inputs: in float32 the differences are mostly rounding error.

    Args:
        fn: a function of the inputs returning a tensor or a tuple of tensors.
        inputs: a tensor or a tuple of arguments for ``fn``.
        eps: the perturbation.
        atol, rtol: the tolerances.
        raise_exception: raise GradcheckError on a mismatch (else return False).

    Returns:
        True when every gradient agrees.

    Example:
        >>> x = randn(3, dtype=float64, requires_grad=True)
        >>> gradcheck(lambda t: (t * t).sum(), (x,))
        True
    """
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, got {type(fn).__name__}")
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    wrt = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradcheck: no input is a Tensor that requires grad")
    for i, t in wrt:
        if t.dtype != np.float64:
            warnings.warn(
                f"gradcheck: input {i} is {t.dtype}, not float64; the check is likely to fail "
                "from rounding alone",
                UserWarning,
                stacklevel=2,
            )

    outputs = _outputs(fn, inputs)
    if not outputs:
        raise ValueError("gradcheck: fn returned no floating tensor to differentiate")
    worst: tuple[float, str] | None = None
    for oi, out in enumerate(outputs):
        analytical = _analytical(out, [t for _, t in wrt])
        for (ii, t), jac in zip(wrt, analytical):
            numerical = _numerical(fn, inputs, t, oi, eps, out.data.size)
            err = np.abs(jac - numerical) - (atol + rtol * np.abs(numerical))
            if err.size and (np.nanmax(err) > 0 or np.isnan(err).any()):
                k = int(np.nanargmax(np.where(np.isnan(err), np.inf, err)))
                row, col = np.unravel_index(k, err.shape)
                where = np.unravel_index(col, t.shape) if t.shape else ()
                msg = (
                    f"gradcheck: Jacobian mismatch for output {oi} with respect to input {ii}: "
                    f"at input element {tuple(int(w) for w in where)} and output element "
                    f"{tuple(int(w) for w in np.unravel_index(row, out.shape))}, numerical "
                    f"{numerical[row, col]:.8g} vs analytical {jac[row, col]:.8g} "
                    f"(atol={atol}, rtol={rtol})"
                )
                excess = float(err[row, col]) if not np.isnan(err[row, col]) else np.inf
                if worst is None or excess > worst[0]:
                    worst = (excess, msg)
    if worst is not None:
        if raise_exception:
            raise GradcheckError(worst[1])
        return False
    return True


def _analytical(out: Tensor, wrt: list[Tensor]) -> list[np.ndarray]:
    """Jacobians d out / d t, one row per element of ``out``, by one backward per row."""
    jacobians = [np.zeros((out.data.size, t.data.size)) for t in wrt]
    if not out.requires_grad:
        return jacobians
    for row in range(out.data.size):
        seed = np.zeros(out.shape, out.dtype)
        seed.flat[row] = 1
        seed = backend.to_device(seed, out.device)  # (the Jacobians themselves are kept on the host)
        grads = grad(out, wrt, grad_outputs=seed, retain_graph=True, allow_unused=True)
        for jac, g in zip(jacobians, grads):
            if g is not None:
                jac[row] = backend.to_numpy(g.data).ravel()
    return jacobians


def _numerical(
    fn: Callable[..., Any], inputs: Sequence[Any], t: Tensor, oi: int, eps: float, size: int
) -> np.ndarray:
    """d out[oi] / d t by central differences, perturbing t's data in place and restoring it."""
    jacobian = np.zeros((size, t.data.size))
    with no_grad():
        for col, idx in enumerate(np.ndindex(t.shape)):
            original = t.data[idx]
            t.data[idx] = original + eps
            plus = backend.to_numpy(_outputs(fn, tuple(inputs))[oi].data).astype(np.float64)
            t.data[idx] = original - eps
            minus = backend.to_numpy(_outputs(fn, tuple(inputs))[oi].data).astype(np.float64)
            t.data[idx] = original
            jacobian[:, col] = ((plus - minus) / (2 * eps)).ravel()
    return jacobian
