"""The autograd ops on a GPU: same values and gradients as on the CPU.

The ``gpu`` fixture (conftest.py) runs each test on the fake GPU (fake_cupy.py), whose
arrays refuse to turn into NumPy arrays and to mix with them, as CuPy's do, so an op that
makes a NumPy array where it should use its input's module fails here; and, where CuPy
finds a GPU, on the real one too.
Each case runs on the CPU and on "cuda", forward and backward, and the results must agree
and stay on their device.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import neograd as ng


def _draw(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    if kind == "pos":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "distinct":
        n = int(np.prod(shape, dtype=int))
        return (rng.permutation(n).reshape(shape) * 0.3 + rng.uniform(-0.05, 0.05, shape)).astype(np.float64)
    return rng.standard_normal(shape)


def _run(fn: Callable[..., Any], arrays: list[np.ndarray], device: str) -> tuple[Any, list[Any]]:
    inputs = [ng.tensor(a, requires_grad=True).to(device) for a in arrays]
    leaves = inputs if device == "cpu" else [t.detach().requires_grad_() for t in inputs]
    out = fn(*leaves)
    outs = out if isinstance(out, tuple) else (out,)
    values = [o.cpu().detach().numpy() for o in outs]
    float_outs = [o for o in outs if o.requires_grad]
    for o in float_outs:
        assert o.device == ng.device(device if device == "cpu" else "cuda:0")
    if float_outs:
        total = sum(
            (o * ng.tensor(np.linspace(0.5, 1.5, o.numel()).reshape(o.shape), dtype=o.dtype).to(device)).sum()
            for o in float_outs
        )
        total.backward()
    grads = []
    for t in leaves:
        if t.grad is None:
            grads.append(None)
            continue
        assert t.grad.device == t.device
        grads.append(t.grad.cpu().numpy())
    return values, grads


def A(*shape: int, kind: str = "any") -> tuple[tuple[int, ...], str]:
    return tuple(shape), kind


# name: (fn, inputs)
CASES: dict[str, tuple[Callable[..., Any], list[tuple[tuple[int, ...], str]]]] = {
    "add_broadcast": (lambda a, b: a + b, [A(2, 3), A(3)]),
    "sub_scalar": (lambda a: 2.0 - a, [A(2, 3)]),
    "mul": (lambda a, b: a * b, [A(2, 1, 3), A(4, 1)]),
    "div": (lambda a, b: a / b, [A(2, 3), A(3, kind="pos")]),
    "pow": (lambda a, b: a**b, [A(2, 3, kind="pos"), A(2, 3)]),
    "pow_scalar": (lambda a: a**2, [A(4)]),
    "rpow": (lambda a: 2.0**a, [A(4)]),
    "neg_abs": (lambda a: (-a).abs(), [A(5)]),
    "exp_log": (lambda a: a.exp() + a.log(), [A(5, kind="pos")]),
    "log1p_sqrt": (lambda a: a.log1p() * a.sqrt(), [A(5, kind="pos")]),
    "trig": (lambda a: a.sin() + a.cos() + a.tanh(), [A(2, 3)]),
    "sigmoid_relu": (lambda a: a.sigmoid() * a.relu(), [A(2, 3)]),
    "square_sign": (lambda a: a.square() + a.sign(), [A(6)]),
    "maximum_minimum": (lambda a, b: ng.maximum(a, b) - ng.minimum(a, b), [A(2, 3), A(3)]),
    "where": (lambda a, b: ng.where(a > 0, a, b), [A(2, 3), A(2, 3)]),
    "masked_fill": (lambda a: a.masked_fill(a < 0, 0.5), [A(2, 3)]),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [A(8)]),
    "clamp_min": (lambda a: a.clamp(min=0.1), [A(8)]),
    "comparisons": (lambda a, b: ((a > b) | (a <= 0)).float() * a, [A(6), A(6)]),
    "eq_ne": (lambda a: (a == a).float() * a + (a != 0).float(), [A(3)]),
    "to_dtype": (lambda a: a.to(ng.float32).double() * 2, [A(3)]),
    "clone": (lambda a: a.clone() * 3, [A(3)]),
    "sum_dim": (lambda a: a.sum(1), [A(2, 3, 4)]),
    "sum_all_keepdim": (lambda a: a.sum((0, 2), keepdim=True), [A(2, 3, 4)]),
    "mean": (lambda a: a.mean(0), [A(3, 4)]),
    "var_std": (lambda a: a.var(1) + a.std(0).sum(), [A(3, 4)]),
    "amax_amin": (lambda a: a.amax(1) + a.amin(0).sum(), [A(3, 4, kind="distinct")]),
    "max_dim": (lambda a: a.max(1).values, [A(3, 4, kind="distinct")]),
    "max_all": (lambda a: a.max(), [A(3, 4, kind="distinct")]),
    "argmax": (lambda a: a.argmax(1).float() + a.argmin().float() + a.sum(), [A(3, 4, kind="distinct")]),
    "logsumexp": (lambda a: a.logsumexp(1), [A(3, 4)]),
    "softmax": (lambda a: a.softmax(-1), [A(3, 4)]),
    "log_softmax": (lambda a: a.log_softmax(0), [A(3, 4)]),
    "cumsum": (lambda a: a.cumsum(1), [A(3, 4)]),
    "cumprod": (lambda a: a.cumprod(1), [A(3, 4, kind="pos")]),
    "sort": (lambda a: a.sort(1).values * 2, [A(3, 4, kind="distinct")]),
    "argsort": (lambda a: a.argsort(0).float() + a, [A(3, 4, kind="distinct")]),
    "topk": (lambda a: a.topk(2, dim=1).values, [A(3, 4, kind="distinct")]),
    "matmul": (lambda a, b: a @ b, [A(2, 3, 4), A(4, 5)]),
    "matvec": (lambda a, b: a @ b, [A(3, 4), A(4)]),
    "dot_outer": (lambda a, b: ng.outer(a, b).sum() + ng.dot(a, b), [A(4), A(4)]),
    "baddbmm": (
        lambda c, a, b: ng.baddbmm(c, a, b, beta=0.5, alpha=2.0),
        [A(2, 3, 5), A(2, 3, 4), A(2, 4, 5)],
    ),
    "baddbmm_beta0": (lambda c, a, b: ng.baddbmm(c, a, b, beta=0), [A(2, 3, 5), A(2, 3, 4), A(2, 4, 5)]),
    "einsum": (lambda a, b: ng.einsum("ij,jk->ik", a, b), [A(3, 4), A(4, 2)]),
    "einsum_diag": (lambda a: ng.einsum("ii->i", a), [A(3, 3)]),
    "reshape_permute": (lambda a: a.reshape(4, 6).T.permute(1, 0).flatten(), [A(2, 3, 4)]),
    "squeeze_unsqueeze": (lambda a: a.unsqueeze(0).squeeze(), [A(3, 1, 4)]),
    "expand_broadcast": (lambda a: a.expand(3, 4) + a.broadcast_to((3, 4)), [A(1, 4)]),
    "getitem_basic": (lambda a: a[1:, ::2], [A(3, 4)]),
    "getitem_array": (lambda a: a[ng.tensor([0, 2, 0])], [A(3, 4)]),
    "getitem_list": (lambda a: a[[1, 1, 0]], [A(3, 4)]),
    "getitem_mask": (lambda a: a[a > 0], [A(3, 4)]),
    "gather": (lambda a: a.gather(1, ng.tensor([[0, 0], [1, 0], [2, 1]])), [A(3, 4)]),
    "cat_stack": (lambda a, b: ng.cat([a, b], 0).sum() + ng.stack([a, b]).sum(1), [A(2, 3), A(2, 3)]),
    "split_chunk": (lambda a: a.split(2, dim=1)[1] * a.chunk(2, dim=1)[0], [A(3, 4)]),
    "pad": (lambda a: ng.pad(a, (1, 2)), [A(2, 3)]) if hasattr(ng, "pad") else (lambda a: a, [A(2)]),
    "repeat_tile": (lambda a: a.repeat(2, 1) + a.tile((2, 1)), [A(2, 3)]),
    "tril_triu": (lambda a: a.tril() + a.triu(1), [A(3, 3)]),
    "flip_roll": (lambda a: a.flip(0) + a.roll(1, 1), [A(3, 4)]),
    "scatter": (lambda a, s: a.scatter(0, ng.tensor([[1, 0, 2]]), s), [A(3, 3), A(1, 3)]),
    "scatter_add": (lambda a, s: a.scatter_add(0, ng.tensor([[1, 1, 0]]), s), [A(3, 3), A(1, 3)]),
    "index_select": (lambda a: a.index_select(1, ng.tensor([2, 0, 2])), [A(3, 4)]),
    "index_add": (lambda a, s: a.index_add(0, ng.tensor([0, 0]), s), [A(3, 4), A(2, 4)]),
    "neg_sub_clip": (lambda a, b: ng.neg(ng.subtract(a, b)).clip(-1, 1), [A(2, 3), A(3)]),
    "logical": (
        lambda a: ng.where(ng.logical_or(ng.logical_and(a > 0, a < 1), ng.logical_not(a > -1)), a, 2 * a),
        [A(3, 4)],
    ),
    "isnan_isinf": (lambda a: ng.where(ng.isnan(a) | ng.isinf(a) | ~ng.isfinite(a), 0.0, a), [A(5)]),
    "compare_fns": (
        lambda a, b: a * (ng.eq(a, b) | ng.ne(a, b) & ng.lt(a, b) | ng.ge(a, b)).float(),
        [A(4), A(4)],
    ),
    "div_rounding": (
        lambda a: a + ng.div(ng.tensor([7, -7], device=a.device), 2, rounding_mode="floor"),
        [A(2)],
    ),
    "mm_bmm_swapaxes": (
        lambda a, b: ng.bmm(a, b).swapaxes(1, 2).sum(0) + ng.mm(a[0], b[0]).T,
        [A(2, 3, 4), A(2, 4, 3)],
    ),
    "argmin_min_dim": (lambda a: a.min(0).values + a.argmin(0).float(), [A(3, 4, kind="distinct")]),
    "concatenate_transpose": (lambda a, b: ng.concatenate([a, b], 1).transpose(0, 1), [A(2, 3), A(2, 2)]),
    "to_device_round_trip": (lambda a: ng.to_device(a, "cpu").exp().to(a.device) * a, [A(3)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_op_on_the_gpu_matches_cpu(name: str, gpu: Any) -> None:
    fn, specs = CASES[name]
    rng = np.random.default_rng(0)
    arrays = [_draw(rng, shape, kind) for shape, kind in specs]
    cpu_values, cpu_grads = _run(fn, arrays, "cpu")
    gpu_values, gpu_grads = _run(fn, arrays, "cuda")
    # float64 throughout; a real GPU adds and rounds in another order than the CPU
    tol = 1e-12 if gpu.__name__ == "fake_cupy" else 1e-9
    for c, g in zip(cpu_values, gpu_values):
        assert g.dtype == c.dtype  # no silent widening or narrowing on the GPU
        np.testing.assert_allclose(g, c, rtol=tol, atol=tol)
    for c, g in zip(cpu_grads, gpu_grads):
        assert (c is None) == (g is None)
        if c is not None:
            assert g.dtype == c.dtype
            np.testing.assert_allclose(g, c, rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "name", ["mul", "div", "softmax", "cumprod", "matmul", "gather", "einsum_diag", "var_std"]
)
def test_gradcheck_on_the_gpu(name: str, gpu: Any) -> None:
    fn, specs = CASES[name]
    rng = np.random.default_rng(1)
    inputs = tuple(ng.tensor(_draw(rng, s, k), device="cuda", requires_grad=True) for s, k in specs)
    assert ng.gradcheck(fn, inputs)
