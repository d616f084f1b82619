"""Parity with PyTorch: the same calls on the same inputs give the same values and gradients.

These tests skip where torch is absent, except in the parity environment (hatch run
parity:run), which sets NEOGRAD_REQUIRE_TORCH=1 so that a missing torch fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

if os.environ.get("NEOGRAD_REQUIRE_TORCH"):
    import torch  # noqa: F401 -- fail loudly: the parity environment must have torch
else:
    pytest.importorskip("torch")

import torch  # noqa: E402

import neograd.autograd as ng  # noqa: E402

TOLERANCE = {np.float64: 1e-10, np.float32: 1e-5}


def _to_torch(x: Any, requires_grad: bool) -> Any:
    if isinstance(x, np.ndarray):
        t = torch.from_numpy(x.copy())
        return t.requires_grad_(requires_grad and x.dtype.kind == "f")
    return x


def _to_neograd(x: Any, requires_grad: bool) -> Any:
    if isinstance(x, np.ndarray):
        return ng.tensor(x, requires_grad=requires_grad and x.dtype.kind == "f")
    return x


def check_parity(
    ng_fn: Callable[..., Any],
    torch_fn: Callable[..., Any],
    inputs: Sequence[Any],
    *,
    atol: float | None = None,
    rtol: float = 1e-7,
    grad: bool = True,
    seed_grad: int = 0,
) -> None:
    """Run ``ng_fn`` and ``torch_fn`` on the same inputs; compare outputs and input gradients.

    ``inputs`` are NumPy arrays (floating ones require grad) or other arguments passed as
    they are. The backward pass uses the same random output gradient on both sides.
    """
    dtype = next((x.dtype.type for x in inputs if isinstance(x, np.ndarray) and x.dtype.kind == "f"), np.float64)
    atol = TOLERANCE.get(dtype, 1e-5) if atol is None else atol
    ng_in = [_to_neograd(x, grad) for x in inputs]
    th_in = [_to_torch(x, grad) for x in inputs]
    ng_out = ng_fn(*ng_in)
    th_out = torch_fn(*th_in)
    np.testing.assert_allclose(ng_out.data, th_out.detach().numpy(), atol=atol, rtol=rtol, err_msg="forward")
    assert ng_out.dtype == th_out.detach().numpy().dtype, f"dtype {ng_out.dtype} vs {th_out.dtype}"
    if not grad or not th_out.requires_grad:
        return
    g = np.random.default_rng(seed_grad).standard_normal(ng_out.shape).astype(ng_out.dtype)
    ng_out.backward(g)
    th_out.backward(torch.from_numpy(g.copy()))
    for i, (a, b) in enumerate(zip(ng_in, th_in)):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            assert a.grad is not None, f"input {i}: neograd gave no gradient, torch did"
            np.testing.assert_allclose(
                a.grad.data, b.grad.numpy(), atol=atol, rtol=rtol, err_msg=f"gradient of input {i}"
            )


@pytest.fixture
def parity() -> Callable[..., None]:
    """The ``check_parity`` helper, as a fixture: ``parity(ng_fn, torch_fn, [arrays...])``."""
    return check_parity
