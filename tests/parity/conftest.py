"""Parity with PyTorch: the same calls on the same inputs give the same values and gradients.

These tests skip where torch is absent, except in the parity environment (hatch run
parity:run), which sets NEOGRAD_REQUIRE_TORCH=1 so that a missing torch fails instead.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

if os.environ.get("NEOGRAD_REQUIRE_TORCH"):
    import torch  # fail loudly: the parity environment must have torch
else:
    pytest.importorskip("torch")

import torch

import neograd.autograd as ng

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


def _outputs(out: Any) -> tuple[Any, ...]:
    """One output, or the tensors of a tuple/list of outputs (split; max(dim) -> values, indices)."""
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def check_parity(
    ng_fn: Callable[..., Any],
    torch_fn: Callable[..., Any],
    inputs: Sequence[Any],
    *,
    atol: float | None = None,
    rtol: float = 1e-7,
    grad: bool = True,
    seed_grad: int = 0,
    requires_grad: Sequence[bool] | None = None,
) -> None:
    """Run ``ng_fn`` and ``torch_fn`` on the same inputs; compare outputs and input gradients.

    ``inputs`` are NumPy arrays (floating ones require grad) or other arguments passed as
    they are. ``requires_grad`` (one bool per input) narrows which floating arrays require
    grad. The functions may return one tensor or a tuple/list of tensors: each output's
    values, shape, dtype and requires_grad are compared; then every output that requires
    grad gets the same random output gradient on both sides, in one backward pass, and the
    input gradients (values and dtypes) are compared.
    """
    floats = (x.dtype.type for x in inputs if isinstance(x, np.ndarray) and x.dtype.kind == "f")
    dtype = next(floats, np.float64)
    atol = TOLERANCE.get(dtype, 1e-5) if atol is None else atol
    if requires_grad is None:
        requires_grad = [True] * len(inputs)
    if len(requires_grad) != len(inputs):
        raise ValueError(f"check_parity: {len(requires_grad)} requires_grad flags for {len(inputs)} inputs")
    wants = [grad and r for r in requires_grad]
    ng_in = [_to_neograd(x, w) for x, w in zip(inputs, wants)]
    th_in = [_to_torch(x, w) for x, w in zip(inputs, wants)]
    ng_outs, th_outs = _outputs(ng_fn(*ng_in)), _outputs(torch_fn(*th_in))
    assert len(ng_outs) == len(th_outs), f"{len(ng_outs)} outputs vs torch's {len(th_outs)}"
    for k, (a, b) in enumerate(zip(ng_outs, th_outs)):
        expected = b.detach().numpy()
        where = "forward" if len(ng_outs) == 1 else f"forward, output {k}"
        assert a.shape == expected.shape, f"{where}: shape {a.shape} vs {expected.shape}"
        np.testing.assert_allclose(a.data, expected, atol=atol, rtol=rtol, err_msg=where)
        assert a.dtype == expected.dtype, f"{where}: dtype {a.dtype} vs {b.dtype}"
        assert a.requires_grad == b.requires_grad, f"{where}: requires_grad {a.requires_grad} vs torch's"
    pairs = [(a, b) for a, b in zip(ng_outs, th_outs) if b.requires_grad]
    if not pairs:
        return
    rng = np.random.default_rng(seed_grad)
    gs = [rng.standard_normal(a.shape).astype(a.dtype) for a, _ in pairs]
    ng.backward([a for a, _ in pairs], gs)
    torch.autograd.backward([b for _, b in pairs], [torch.from_numpy(g.copy()) for g in gs])
    for i, (a, b) in enumerate(zip(ng_in, th_in)):
        if not (isinstance(b, torch.Tensor) and b.requires_grad):
            continue
        if b.grad is None:  # torch: the outputs do not depend on this input
            assert a.grad is None or not a.grad.data.any(), f"input {i}: torch gave no gradient"
            continue
        assert a.grad is not None, f"input {i}: neograd gave no gradient, torch did"
        np.testing.assert_allclose(
            a.grad.data, b.grad.numpy(), atol=atol, rtol=rtol, err_msg=f"gradient of input {i}"
        )
        assert a.grad.dtype == b.grad.numpy().dtype, f"input {i}: grad dtype {a.grad.dtype} vs {b.grad.dtype}"


def check_parity_same(fn: Callable[..., Any], inputs: Sequence[Any], **kwargs: Any) -> None:
    """``check_parity`` for one function written against both libraries: ``fn(lib, *inputs)``,
    where ``lib`` is ``neograd.autograd`` on one side and ``torch`` on the other."""
    check_parity(functools.partial(fn, ng), functools.partial(fn, torch), inputs, **kwargs)


@pytest.fixture
def parity() -> Callable[..., None]:
    """The ``check_parity`` helper, as a fixture: ``parity(ng_fn, torch_fn, [arrays...])``."""
    return check_parity


@pytest.fixture
def parity_same() -> Callable[..., None]:
    """``check_parity_same`` as a fixture: ``parity_same(lambda lib, x: lib.exp(x), [array])``."""
    return check_parity_same
