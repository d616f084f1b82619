"""Parity of the sequence-model ops with torch: einsum, cumsum/cumprod, sort/argsort/topk,
tril/triu, flip/roll, scatter/scatter_add/index_add/index_select, outer, baddbmm.

Values, gradients and dtypes in float64 and float32 through ``parity_same``; index arrays
are inputs, so each side indexes with its own int64 tensor. The last part compares second
derivatives (Hessian-vector products) for the ops whose backward is itself differentiable.
"""

import numpy as np
import pytest
import torch

import neograd.autograd as ng

DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-10, np.float32: 1e-5}


def randn(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def distinct(*shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.5).astype(dtype)


EINSUM = {
    "ij,jk->ik": [(2, 3), (3, 4)],
    "ij,jk": [(2, 3), (3, 4)],
    "bij,bjk->bik": [(2, 3, 4), (2, 4, 2)],
    "...ij,...jk->...ik": [(1, 2, 3), (4, 3, 2)],
    "...ij,...jk": [(3, 2, 3), (3, 2)],
    "...ij->ij": [(2, 2, 3)],
    "ij,ij->ij": [(1, 3), (2, 3)],
    "i,j->ij": [(3,), (4,)],
    "i,i->": [(5,), (5,)],
    "ii->i": [(3, 3)],
    "ii": [(3, 3)],
    "bii->b": [(2, 3, 3)],
    "iij,j->ij": [(3, 3, 2), (2,)],
    "ij,k->ik": [(2, 3), (4,)],
    "ij,jk,kl->il": [(2, 3), (3, 4), (4, 2)],
    "bhqd,bhkd->bhqk": [(2, 2, 3, 4), (2, 2, 5, 4)],
    "Ab,bC->CA": [(2, 3), (3, 4)],
    "abc->cba": [(2, 3, 4)],
    "i,->i": [(3,), ()],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("equation", list(EINSUM))
def test_einsum(parity_same, equation, dtype):
    shapes = EINSUM[equation]
    arrays = [randn(*s, dtype=dtype, seed=k) for k, s in enumerate(shapes)]
    parity_same(lambda lib, *ops: lib.einsum(equation, *ops), arrays)


def test_einsum_list_and_sublist_forms(parity_same):
    a, b = randn(2, 3), randn(3, 4, seed=1)
    parity_same(lambda lib, x, y: lib.einsum("ij,jk->ik", [x, y]), [a, b])
    parity_same(lambda lib, x, y: lib.einsum(x, [0, 1], y, [1, 2], [2, 0]), [a, b])
    parity_same(lambda lib, x, y: lib.einsum(x, [Ellipsis, 1], y, [1, 2]), [randn(5, 2, 3), b])


def test_einsum_integer(parity_same):
    x = np.arange(6).reshape(2, 3)
    parity_same(lambda lib, a, b: lib.einsum("ij,kj->ik", a, b), [x, x + 1])


CUMULATIVE = {
    "cumsum_0": lambda lib, x: lib.cumsum(x, 0),
    "cumsum_-1": lambda lib, x: x.cumsum(-1),
    "cumsum_dtype": lambda lib, x: lib.cumsum(x, 1, dtype=lib.float64),
    "cumprod_1": lambda lib, x: lib.cumprod(x, 1),
    "cumprod_0": lambda lib, x: x.cumprod(0),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", list(CUMULATIVE))
def test_cumulative(parity_same, op, dtype):
    parity_same(CUMULATIVE[op], [randn(3, 4, dtype=dtype)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_cumprod_with_zeros(parity_same, dtype):
    x = np.array([[1.5, 0.0, -2.0, 0.0, 3.0], [0.0, 2.0, 1.3, -1.0, 0.5], [1.0, 2.0, 0.5, -3.0, 0.0]], dtype)
    parity_same(lambda lib, a: lib.cumprod(a, 1), [x])
    parity_same(lambda lib, a: lib.cumprod(a, 0), [x])


def test_cumulative_integer_dtypes(parity_same):
    x = np.arange(1, 7, dtype=np.int32).reshape(2, 3)
    parity_same(lambda lib, a: [lib.cumsum(a, 1), lib.cumprod(a, 0), lib.cumsum(a > 2, 1)], [x])


SORTING = {
    "sort": lambda lib, x: lib.sort(x),
    "sort_dim0_desc": lambda lib, x: x.sort(0, descending=True),
    "sort_stable": lambda lib, x: lib.sort(x, dim=1, stable=True, descending=True),
    "argsort": lambda lib, x: lib.argsort(x, dim=0),
    "argsort_desc": lambda lib, x: x.argsort(descending=True),
    "topk": lambda lib, x: lib.topk(x, 2),
    "topk_dim0_smallest": lambda lib, x: x.topk(3, dim=0, largest=False),
    "topk_all": lambda lib, x: lib.topk(x, 5, dim=1),
    "sort_values_times_x": lambda lib, x: lib.sort(x, 1).values * x,
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", list(SORTING))
def test_sorting(parity_same, op, dtype):
    parity_same(SORTING[op], [distinct(4, 5, dtype=dtype)])


def test_sort_ties_and_nan(parity_same):
    x = np.array([[2.0, 1.0, 2.0, np.nan, 1.0], [0.0, 0.0, -1.0, 3.0, 3.0]])
    parity_same(lambda lib, a: lib.sort(a, stable=True), [x], grad=False)
    parity_same(lambda lib, a: lib.sort(a, stable=True, descending=True), [x], grad=False)
    parity_same(lambda lib, a: lib.argsort(a, dim=1, descending=True, stable=True), [x])


SHAPE_OPS = {
    "tril": lambda lib, x: lib.tril(x),
    "tril_-1": lambda lib, x: x.tril(-1),
    "triu_1": lambda lib, x: lib.triu(x, diagonal=1),
    "triu_batched": lambda lib, x: x.reshape(2, 3, 2).triu(),
    "flip_0": lambda lib, x: lib.flip(x, (0,)),
    "flip_both": lambda lib, x: x.flip(0, 1),
    "roll_flat": lambda lib, x: lib.roll(x, 2),
    "roll_dim": lambda lib, x: x.roll(-1, 1),
    "roll_dims": lambda lib, x: lib.roll(x, (1, 3), (0, 1)),
    "roll_repeated_dim": lambda lib, x: lib.roll(x, (1, 1), (1, 1)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", list(SHAPE_OPS))
def test_shape_ops(parity_same, op, dtype):
    parity_same(SHAPE_OPS[op], [randn(3, 4, dtype=dtype)])


PERM = np.array([[2, 0, 1, 3], [1, 3, 0, 2], [0, 1, 2, 3]])  # no repeats along dim 1
REPEATS = np.array([[2, 0, 2, 2], [1, 1, 0, 3], [0, 0, 0, 0]])  # repeats accumulate in scatter_add
DIM0 = np.array([[2, 0, 2, 1], [2, 1, 0, 1]])  # into dim 0 (size 3), with repeats down the columns

SCATTER = {
    "scatter": (lambda lib, x, i, s: lib.scatter(x, 1, i, s), PERM, (3, 4)),
    "scatter_part": (lambda lib, x, i, s: x.scatter(1, i[:2, :3], s[:2, :3]), PERM, (3, 4)),
    "scatter_dim0": (lambda lib, x, i, s: lib.scatter(x, 0, i[:1], s[:1]), DIM0, (3, 4)),
    "scatter_value": (lambda lib, x, i, s: lib.scatter(x, 1, i, 0.5) * s, PERM, (3, 4)),
    "scatter_value_kw": (lambda lib, x, i, s: x.scatter(1, i[:, :2], value=-1.0) + s, PERM, (3, 4)),
    "scatter_add": (lambda lib, x, i, s: lib.scatter_add(x, 1, i, s), REPEATS, (3, 4)),
    "scatter_add_dim0": (lambda lib, x, i, s: x.scatter_add(0, i, s[:2]), DIM0, (3, 4)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", list(SCATTER))
def test_scatter(parity_same, op, dtype):
    fn, index, shape = SCATTER[op]
    parity_same(fn, [randn(*shape, dtype=dtype), index, randn(*shape, dtype=dtype, seed=1)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_index_select_and_index_add(parity_same, dtype):
    x, idx = randn(3, 4, dtype=dtype), np.array([2, 0, 2])
    parity_same(lambda lib, a, i: lib.index_select(a, 1, i), [x, idx])
    parity_same(lambda lib, a, i: a.index_select(0, i) * 2, [x, idx])
    parity_same(lambda lib, a, i: lib.index_select(a, 0, i[0]), [x, idx])  # a 0-d index
    src = randn(3, 3, dtype=dtype, seed=1)
    parity_same(lambda lib, a, i, s: lib.index_add(a, 1, i, s), [x, idx, src])
    parity_same(
        lambda lib, a, i, s: a.index_add(0, i, s.T[:, :4].T[:3], alpha=-0.5),
        [x, idx, randn(3, 4, dtype=dtype)],
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_outer_and_baddbmm(parity_same, dtype):
    parity_same(lambda lib, a, b: lib.outer(a, b), [randn(3, dtype=dtype), randn(4, dtype=dtype, seed=1)])
    parity_same(lambda lib, a, b: a.outer(b), [randn(2, dtype=dtype), randn(2, dtype=dtype, seed=1)])
    i, a, b = (
        randn(2, 3, 2, dtype=dtype),
        randn(2, 3, 4, dtype=dtype, seed=1),
        randn(2, 4, 2, dtype=dtype, seed=2),
    )
    parity_same(lambda lib, x, p, q: lib.baddbmm(x, p, q), [i, a, b])
    parity_same(lambda lib, x, p, q: lib.baddbmm(x, p, q, beta=0.5, alpha=-2.0), [i, a, b])
    parity_same(lambda lib, x, p, q: x.baddbmm(p, q, beta=0), [i, a, b])
    parity_same(lambda lib, x, p, q: lib.baddbmm(x, p, q, alpha=3.0), [i[0, :1], a, b])  # input broadcast


def test_baddbmm_beta0_ignores_nan(parity_same):
    i = np.full((1, 2, 2), np.nan)
    parity_same(
        lambda lib, x, p, q: lib.baddbmm(x, p, q, beta=0), [i, randn(2, 2, 3), randn(2, 3, 2, seed=1)]
    )


# ---- second derivatives ------------------------------------------------------------------


def _hvp_parity(fn, inputs, seed=0):
    """f, df/dx (create_graph) and d<df/dx, v>/dx in both libraries."""
    atol = TOL[inputs[0].dtype.type]
    rng = np.random.default_rng(seed)
    ng_in = [ng.tensor(x, requires_grad=True) for x in inputs]
    th_in = [torch.from_numpy(x.copy()).requires_grad_() for x in inputs]
    ng_out, th_out = fn(ng, *ng_in), fn(torch, *th_in)
    np.testing.assert_allclose(ng_out.data, th_out.detach().numpy(), atol=atol, rtol=1e-7)
    g = rng.standard_normal(ng_out.shape).astype(ng_out.dtype)
    ng_d1 = ng.grad(ng_out, ng_in, grad_outputs=ng.tensor(g), create_graph=True)
    th_d1 = torch.autograd.grad(th_out, th_in, grad_outputs=torch.from_numpy(g), create_graph=True)
    for a, b in zip(ng_d1, th_d1):
        np.testing.assert_allclose(
            a.data, b.detach().numpy(), atol=atol, rtol=1e-7, err_msg="first derivative"
        )
    vs = [rng.standard_normal(x.shape).astype(x.dtype) for x in inputs]
    ng_s = sum((d * ng.tensor(v)).sum() for d, v in zip(ng_d1, vs))
    th_s = sum((d * torch.from_numpy(v)).sum() for d, v in zip(th_d1, vs))
    ng_d2 = ng.grad(ng_s, ng_in, allow_unused=True)
    th_d2 = torch.autograd.grad(th_s, th_in, allow_unused=True)
    for k, (a, b) in enumerate(zip(ng_d2, th_d2)):
        if b is None:
            assert a is None or not a.data.any(), f"second derivative {k}: torch has none"
        else:
            assert a is not None, f"second derivative {k}: neograd has none"
            np.testing.assert_allclose(
                a.data, b.numpy(), atol=atol, rtol=1e-7, err_msg=f"second derivative {k}"
            )


SECOND_ORDER = {
    "einsum_bilinear_squared": (lambda lib, a, b: lib.einsum("ij,jk->ik", a, b) ** 2, [(2, 3), (3, 2)]),
    "einsum_trace_product": (
        lambda lib, a, b: lib.einsum("ij,ji->", a, b) * lib.einsum("ii", a @ b),
        [(2, 3), (3, 2)],
    ),
    "einsum_diag_sum_only": (lambda lib, a, b: lib.einsum("iij,k->ik", a, b).exp(), [(2, 2, 3), (2,)]),
    "cumsum_sin": (lambda lib, a: lib.cumsum(a, 1).sin(), [(2, 3)]),
    "cumprod": (lambda lib, a: lib.cumprod(a, 1), [(2, 4)]),
    "sort_topk": (
        lambda lib, a: lib.sort(a, 1).values ** 2 + lib.topk(a, 2).values.sum(1, keepdim=True),
        [(2, 3)],
    ),
    "tril_flip_roll": (lambda lib, a: (lib.tril(a) * lib.roll(lib.flip(a, (0,)), 1, 1)).exp(), [(3, 3)]),
    "scatter_add_index": (
        lambda lib, a, s: lib.scatter_add(a, 1, lib.tensor([[0, 0, 2]]), s * s).index_select(
            1, lib.tensor([2, 0])
        )
        ** 2,
        [(1, 3), (1, 3)],
    ),
    "baddbmm_outer": (
        lambda lib, v, a, b: lib.baddbmm(lib.outer(v, v), a, b, beta=0.5) ** 2,
        [(2,), (3, 2, 2), (3, 2, 2)],
    ),
}


@pytest.mark.parametrize("case", list(SECOND_ORDER))
def test_second_order(case):
    fn, shapes = SECOND_ORDER[case]
    _hvp_parity(fn, [randn(*s, seed=k) for k, s in enumerate(shapes)])


def test_second_order_cumprod_with_zeros():
    x = np.array([[1.5, 0.0, -2.0, 0.0, 3.0], [0.0, 2.0, 1.3, -1.0, 0.5]])
    _hvp_parity(lambda lib, a: lib.cumprod(a, 1), [x])
    _hvp_parity(lambda lib, a: lib.cumprod(a * a, 0).sum(0) ** 2, [x.T.copy()])
