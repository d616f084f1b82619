"""The ops for sequence models: einsum, cumulative ops, sorting, triangles, scatter/index ops, sampling.

Finite differences (float64 gradcheck) for the first derivatives and for the second
(gradcheck of a create_graph gradient), semantics on small hand-checked cases, the errors
for bad arguments, and sanity checks of the samplers (shapes, ranges, seeding).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import neograd.autograd as ng


def f64(a: Any) -> ng.Tensor:
    return ng.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def rand(*shape: int, seed: int = 0) -> ng.Tensor:
    return f64(np.random.default_rng(seed + 7 * len(shape)).standard_normal(shape))


def distinct(*shape: int, seed: int = 0) -> ng.Tensor:
    """Well separated values in random order: sort/topk stay differentiable under the perturbation."""
    rng = np.random.default_rng(seed)
    return f64(rng.permutation(int(np.prod(shape))).reshape(shape) * 0.5 + rng.uniform(-0.1, 0.1, shape))


IDX = np.array([[2, 0, 1], [0, 2, 2]])  # a (2, 3) index into dims of size 3, with a repeat in row 1
PERM = np.array(
    [[2, 0, 1], [1, 2, 0]]
)  # no repeats: scatter (which keeps one of repeated writes) stays smooth

# name: (fn, inputs)
FIRST_ORDER: dict[str, tuple[Callable[..., Any], Callable[[], tuple[ng.Tensor, ...]]]] = {
    "einsum_matmul": (lambda a, b: ng.einsum("ij,jk->ik", a, b), lambda: (rand(2, 3), rand(3, 4, seed=1))),
    "einsum_implicit": (lambda a, b: ng.einsum("ij,jk", a, b), lambda: (rand(2, 3), rand(3, 4, seed=1))),
    "einsum_batched_ellipsis": (
        lambda a, b: ng.einsum("...ij,...jk->...ik", a, b),
        lambda: (rand(2, 2, 3), rand(3, 2, seed=1)),
    ),
    "einsum_ellipsis_broadcast_size1": (
        lambda a, b: ng.einsum("...ij,...jk->...ik", a, b),
        lambda: (rand(1, 2, 3), rand(2, 3, 2, seed=1)),
    ),
    "einsum_label_broadcast_size1": (
        lambda a, b: ng.einsum("ij,ij->ij", a, b),
        lambda: (rand(1, 3), rand(2, 3)),
    ),
    "einsum_ellipsis_summed": (lambda a: ng.einsum("...ij->ij", a), lambda: (rand(2, 2, 3),)),
    "einsum_diagonal": (lambda a: ng.einsum("ii->i", a), lambda: (rand(3, 3),)),
    "einsum_trace": (lambda a: ng.einsum("ii", a), lambda: (rand(3, 3),)),
    "einsum_batch_diagonal": (lambda a: ng.einsum("bii->bi", a), lambda: (rand(2, 3, 3),)),
    "einsum_triple_repeat": (lambda a: ng.einsum("iii->i", a), lambda: (rand(2, 2, 2),)),
    "einsum_diag_times_vec": (lambda a, v: ng.einsum("iij,j->ij", a, v), lambda: (rand(2, 2, 3), rand(3))),
    "einsum_sum_only_label": (lambda a, b: ng.einsum("ij,k->ik", a, b), lambda: (rand(2, 3), rand(4))),
    "einsum_attention": (
        lambda q, k, v: ng.einsum("bhqd,bhkd,bhkv->bhqv", q, k, v),
        lambda: (rand(1, 2, 3, 2), rand(1, 2, 4, 2, seed=1), rand(1, 2, 4, 2, seed=2)),
    ),
    "einsum_outer_scalar": (lambda a, s: ng.einsum("i,->i", a, s), lambda: (rand(3), rand())),
    "einsum_sublist": (
        lambda a, b: ng.einsum(a, [0, 1], b, [1, 2], [0, 2]),
        lambda: (rand(2, 3), rand(3, 2)),
    ),
    "cumsum_0": (lambda a: ng.cumsum(a, 0), lambda: (rand(3, 4),)),
    "cumsum_-1": (lambda a: a.cumsum(-1), lambda: (rand(2, 3, 4),)),
    "cumprod_1": (lambda a: a.cumprod(1), lambda: (rand(2, 4),)),
    "cumprod_zeros": (
        lambda a: ng.cumprod(a, 1),
        lambda: (f64([[1.5, 0.0, -2.0, 0.0, 3.0], [0.0, 2.0, 1.3, -1.0, 0.5]]),),
    ),
    "cumprod_one_zero": (lambda a: ng.cumprod(a, 0), lambda: (f64([0.7, -1.2, 0.0, 2.0, 1.1]),)),
    "tril": (lambda a: ng.tril(a), lambda: (rand(3, 4),)),
    "triu_batched_diag": (lambda a: a.triu(1), lambda: (rand(2, 3, 3),)),
    "tril_neg_diag": (lambda a: a.tril(diagonal=-1), lambda: (rand(4, 3),)),
    "flip": (lambda a: ng.flip(a, (0, 2)), lambda: (rand(2, 3, 2),)),
    "flip_method": (lambda a: a.flip(-1) * a, lambda: (rand(2, 3),)),
    "roll": (lambda a: ng.roll(a, (1, -2), (0, 1)), lambda: (rand(3, 4),)),
    "roll_flat": (lambda a: a.roll(2) * a, lambda: (rand(2, 3),)),
    "sort": (lambda a: ng.sort(a, dim=1).values, lambda: (distinct(2, 4),)),
    "sort_desc_dim0": (lambda a: a.sort(0, descending=True).values * a, lambda: (distinct(3, 2),)),
    "topk": (lambda a: ng.topk(a, 2).values, lambda: (distinct(3, 4),)),
    "topk_smallest_dim0": (lambda a: a.topk(2, dim=0, largest=False)[0], lambda: (distinct(3, 4),)),
    "scatter": (lambda a, s: ng.scatter(a, 1, IDX[:, :2] % 3, s), lambda: (rand(2, 3), rand(2, 2))),
    "scatter_src_larger": (
        lambda a, s: ng.scatter(a, 0, np.array([[1, 0]]), s),
        lambda: (rand(2, 2), rand(2, 3)),
    ),
    "scatter_value": (lambda a: ng.scatter(a, 1, IDX, 0.5) * a, lambda: (rand(2, 3),)),
    "scatter_add": (lambda a, s: ng.scatter_add(a, 1, IDX, s), lambda: (rand(2, 3), rand(2, 3))),
    "scatter_add_dim0": (lambda a, s: a.scatter_add(0, IDX.T[:2] % 2, s), lambda: (rand(2, 2), rand(2, 3))),
    "index_select": (lambda a: ng.index_select(a, 1, np.array([2, 0, 2])), lambda: (rand(2, 3),)),
    "index_add": (
        lambda a, s: ng.index_add(a, 0, np.array([1, 1, 0]), s, alpha=0.5),
        lambda: (rand(2, 3), rand(3, 3)),
    ),
    "outer": (lambda a, b: ng.outer(a, b), lambda: (rand(3), rand(2))),
    "baddbmm": (
        lambda i, a, b: ng.baddbmm(i, a, b, beta=0.5, alpha=2.0),
        lambda: (rand(2, 1), rand(3, 2, 4, seed=1), rand(3, 4, 1, seed=2)),
    ),
    "baddbmm_beta0": (
        lambda i, a, b: i.baddbmm(a, b, beta=0),
        lambda: (rand(2, 2, 2), rand(2, 2, 3), rand(2, 3, 2)),
    ),
}


@pytest.mark.parametrize("case", list(FIRST_ORDER))
def test_gradcheck(case: str) -> None:
    fn, make = FIRST_ORDER[case]
    assert ng.gradcheck(fn, make())


def gradgradcheck(fn: Callable[..., Any], inputs: tuple[ng.Tensor, ...]) -> bool:
    """gradcheck of the create_graph gradients of <fn, w>: checks the second derivatives."""
    weights: dict[str, np.ndarray] = {}

    def first_gradients(*ts: ng.Tensor) -> tuple[ng.Tensor, ...]:
        with ng.enable_grad():  # gradcheck runs fn under no_grad for the finite differences
            out = fn(*ts)
            w = weights.setdefault("w", np.random.default_rng(1).standard_normal(out.shape))
            grads = ng.grad((out * ng.tensor(w)).sum(), list(ts), create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return ng.gradcheck(first_gradients, inputs)


SECOND_ORDER: dict[str, tuple[Callable[..., Any], Callable[[], tuple[ng.Tensor, ...]]]] = {
    "einsum_bilinear": (
        lambda a, b: ng.einsum("ij,jk->ik", a, b) ** 2,
        lambda: (rand(2, 3), rand(3, 2, seed=1)),
    ),
    "einsum_trace_of_product": (
        lambda a, b: ng.einsum("ij,ji", a, b),
        lambda: (rand(2, 3), rand(3, 2, seed=1)),
    ),
    "einsum_diagonal_squared": (lambda a: ng.einsum("ii->i", a * a), lambda: (rand(3, 3),)),
    "einsum_repeat_and_sum_only": (
        lambda a, b: ng.einsum("iij,k->ik", a, b).exp(),
        lambda: (rand(2, 2, 3), rand(2)),
    ),
    "cumsum": (lambda a: a.cumsum(1).sin(), lambda: (rand(2, 3),)),
    "cumprod": (lambda a: a.cumprod(1), lambda: (rand(2, 4),)),
    "cumprod_zeros": (lambda a: a.cumprod(0), lambda: (f64([1.5, 0.0, -2.0, 0.0, 3.0]),)),
    "cumprod_zero_first_batched": (
        lambda a: a.cumprod(-1),
        lambda: (f64([[0.0, 2.0, 1.3], [1.2, -0.7, 0.0]]),),
    ),
    "sort_topk": (lambda a: a.sort(1).values ** 2 + a.topk(1, 1).values, lambda: (distinct(2, 3),)),
    "tril_triu_flip_roll": (lambda a: (a.tril() * a.triu(1).flip(0).roll(1, 1)).exp(), lambda: (rand(3, 3),)),
    "scatter_gather_ops": (
        lambda a, s: ng.scatter(a, 1, PERM[:, :2], s[:, :2]) ** 2 + ng.scatter_add(a, 1, IDX, s * s),
        lambda: (rand(2, 3), rand(2, 3, seed=1)),
    ),
    "index_ops": (
        lambda a, s: ng.index_add(a, 1, np.array([0, 0]), s).index_select(0, np.array([1, 1])) ** 3,
        lambda: (rand(2, 3), rand(2, 2, seed=1)),
    ),
    "outer_baddbmm": (
        lambda v, a, b: ng.baddbmm(ng.outer(v, v), a, b, alpha=0.5) ** 2,
        lambda: (rand(2), rand(3, 2, 2, seed=1), rand(3, 2, 2, seed=2)),
    ),
}


@pytest.mark.parametrize("case", list(SECOND_ORDER))
def test_gradgradcheck(case: str) -> None:
    fn, make = SECOND_ORDER[case]
    assert gradgradcheck(fn, make())


# ---- random shapes (hypothesis) ---------------------------------------------------------

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ALONG_DIM = {
    # name: (neograd op on (x, dim), NumPy reference on (array, dim))
    "cumsum": (lambda x, d: x.cumsum(d), lambda a, d: np.cumsum(a, axis=d)),
    "cumprod": (lambda x, d: x.cumprod(d), lambda a, d: np.cumprod(a, axis=d)),
    "sort": (lambda x, d: x.sort(d).values, lambda a, d: np.sort(a, axis=d)),
    "sort_descending": (lambda x, d: x.sort(d, descending=True).values, lambda a, d: -np.sort(-a, axis=d)),
    "flip": (lambda x, d: x.flip(d), lambda a, d: np.flip(a, d)),
    "roll": (lambda x, d: x.roll(2, d), lambda a, d: np.roll(a, 2, d)),
    "topk_2": (
        lambda x, d: x.topk(min(2, x.shape[d]), d).values,
        lambda a, d: np.flip(np.sort(a, axis=d), d).take(range(min(2, a.shape[d])), axis=d),
    ),
}


@pytest.mark.parametrize("op", list(ALONG_DIM))
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data())
def test_ops_along_a_dim_on_random_shapes(op: str, shape: tuple[int, ...], data: Any) -> None:
    fn, ref = ALONG_DIM[op]
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    a = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.25 + 0.5  # distinct, away from 0
    x = ng.tensor(a, requires_grad=True)
    np.testing.assert_allclose(fn(x, dim).data, ref(a, dim), rtol=1e-12)
    assert ng.gradcheck(lambda t: fn(t, dim), (x,))


@SETTINGS
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3), data=st.data()
)
def test_einsum_batched_matmul_with_broadcast_batch_dims(shapes: Any, data: Any) -> None:
    n, k, m = (data.draw(st.integers(1, 3), label=s) for s in "nkm")
    sa, sb = shapes.input_shapes
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    a_np, b_np = rng.standard_normal((*sa, n, k)), rng.standard_normal((*sb, k, m))
    a, b = ng.tensor(a_np, requires_grad=True), ng.tensor(b_np, requires_grad=True)
    out = ng.einsum("...ij,...jk->...ik", a, b)
    np.testing.assert_allclose(out.data, np.einsum("...ij,...jk->...ik", a_np, b_np), rtol=1e-12, atol=1e-12)
    assert ng.gradcheck(lambda p, q: ng.einsum("...ij,...jk->...ik", p, q), (a, b))


# ---- semantics ------------------------------------------------------------------------


def test_einsum_matches_numpy_on_many_equations() -> None:
    rng = np.random.default_rng(0)
    cases = {
        "ij,jk->ik": [(2, 3), (3, 4)],
        "ij->ji": [(2, 3)],
        "ii->i": [(3, 3)],
        "ii": [(3, 3)],
        "i,i": [(4,), (4,)],
        "i,j->ij": [(2,), (3,)],
        "bij,bjk->bik": [(2, 3, 4), (2, 4, 5)],
        "...ij,...jk": [(2, 3, 4), (4, 2)],
        "ij,jk,kl->il": [(2, 3), (3, 4), (4, 2)],
        "abc->ca": [(2, 3, 4)],
        "Ab,bC": [(2, 3), (3, 2)],
        "->": [()],
    }
    for eq, shapes in cases.items():
        arrays = [rng.standard_normal(s) for s in shapes]
        out = ng.einsum(eq, *[ng.tensor(a) for a in arrays])
        np.testing.assert_allclose(out.numpy(), np.einsum(eq, *arrays), rtol=1e-12, err_msg=eq)


def test_einsum_spaces_list_form_and_result_owns_memory() -> None:
    a = ng.tensor(np.arange(9.0).reshape(3, 3))
    d = ng.einsum(" ii -> i ", [a])
    np.testing.assert_array_equal(d.numpy(), [0.0, 4.0, 8.0])
    d.data[0] = 100.0  # einsum must not hand back a view of its input
    assert a.data[0, 0] == 0.0


def test_einsum_int_operands() -> None:
    out = ng.einsum("i,i->", ng.tensor([1, 2, 3]), ng.tensor([4, 5, 6]))
    assert out.item() == 32 and out.dtype == np.int64


def test_cumsum_cumprod_values_and_dtypes() -> None:
    x = ng.tensor([[1, 2, 3], [4, 5, 6]], dtype=ng.int32)
    np.testing.assert_array_equal(ng.cumsum(x, 1).numpy(), [[1, 3, 6], [4, 9, 15]])
    assert ng.cumsum(x, 1).dtype == np.int64 and ng.cumprod(x, 0).dtype == np.int64
    assert ng.cumsum(ng.tensor([True, True]), 0).dtype == np.int64
    assert ng.cumsum(ng.tensor([1.0, 2.0]), 0, dtype=ng.float64).dtype == np.float64
    np.testing.assert_array_equal(ng.cumprod(ng.tensor([2.0, 3.0, 0.0, 5.0]), 0).numpy(), [2, 6, 0, 0])
    assert ng.cumsum(ng.tensor(3.0), 0).item() == 3.0
    np.testing.assert_array_equal(ng.cumsum(ng.tensor([[1.0, 2.0]]), axis=1).numpy(), [[1.0, 3.0]])


def test_cumprod_gradient_with_zeros_by_hand() -> None:
    # y = (a, ab, abc); dy/da . 1 = 1 + b + bc, dy/db = a + ac, dy/dc = ab
    x = f64([2.0, 0.0, 3.0])
    x.cumprod(0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 2.0 + 6.0, 0.0])
    x = f64([0.0, 0.0, 3.0])
    x.cumprod(0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0, 0.0])


def test_sort_is_stable_and_returns_named_pair() -> None:
    x = ng.tensor([2.0, 1.0, 2.0, 1.0, np.nan])
    _, indices = ng.sort(x)
    np.testing.assert_array_equal(indices.numpy(), [1, 3, 0, 2, 4])
    res = x.sort(descending=True)
    np.testing.assert_array_equal(res.indices.numpy(), [4, 0, 2, 1, 3])
    assert np.isnan(res.values.numpy()[0]) and res.indices.dtype == np.int64
    np.testing.assert_array_equal(ng.argsort(x, descending=True, stable=True).numpy(), [4, 0, 2, 1, 3])
    b = ng.tensor([True, False, True])
    np.testing.assert_array_equal(b.sort(descending=True).indices.numpy(), [0, 2, 1])


def test_sort_gradient_goes_to_source_elements() -> None:
    x = f64([3.0, 1.0, 2.0])
    (x.sort().values * ng.tensor([1.0, 10.0, 100.0], dtype=ng.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [100.0, 1.0, 10.0])


def test_topk() -> None:
    x = ng.tensor([[1.0, 5.0, 3.0, 4.0], [9.0, 0.0, 8.0, 7.0]])
    top = x.topk(2)
    np.testing.assert_array_equal(top.values.numpy(), [[5.0, 4.0], [9.0, 8.0]])
    np.testing.assert_array_equal(top.indices.numpy(), [[1, 3], [0, 2]])
    low = ng.topk(x, 1, dim=0, largest=False)
    np.testing.assert_array_equal(low.values.numpy(), [[1.0, 0.0, 3.0, 4.0]])
    assert ng.topk(x, 0).values.shape == (2, 0)


def test_tril_triu_values() -> None:
    x = ng.ones(3, 3)
    np.testing.assert_array_equal(ng.tril(x, -1).numpy(), np.tril(np.ones((3, 3)), -1))
    np.testing.assert_array_equal(x.triu(1).numpy(), np.triu(np.ones((3, 3)), 1))
    y = ng.ones(2, 3)
    with ng.no_grad():
        y.tril_()
    np.testing.assert_array_equal(y.numpy(), np.tril(np.ones((2, 3))))
    y.triu_(1)
    np.testing.assert_array_equal(y.numpy(), np.zeros((2, 3)))


def test_flip_roll_values() -> None:
    x = ng.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(x.flip(0, 1).numpy(), [[5, 4, 3], [2, 1, 0]])
    np.testing.assert_array_equal(ng.flip(x, ()).numpy(), x.numpy())
    np.testing.assert_array_equal(ng.roll(x, 1).numpy(), [[5, 0, 1], [2, 3, 4]])
    np.testing.assert_array_equal(x.roll((1, 1), (1, 1)).numpy(), [[1, 2, 0], [4, 5, 3]])
    np.testing.assert_array_equal(x.roll(-1, 0).numpy(), [[3, 4, 5], [0, 1, 2]])


def test_scatter_family_values() -> None:
    z = ng.zeros(2, 3)
    np.testing.assert_array_equal(
        ng.scatter(z, 1, ng.tensor([[2], [0]]), 1.5).numpy(), [[0, 0, 1.5], [1.5, 0, 0]]
    )
    np.testing.assert_array_equal(
        z.scatter(1, ng.tensor([[2], [0]]), value=2.0).numpy(), [[0, 0, 2], [2, 0, 0]]
    )
    src = ng.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(
        ng.scatter_add(z, 1, ng.tensor(IDX), src).numpy(), [[2.0, 3.0, 1.0], [4.0, 0.0, 11.0]]
    )
    np.testing.assert_array_equal(
        ng.index_add(z, 1, ng.tensor([0, 0, 2]), src, alpha=2).numpy(), [[6.0, 0.0, 6.0], [18.0, 0.0, 12.0]]
    )
    np.testing.assert_array_equal(src.index_select(1, ng.tensor([2, 0])).numpy(), [[3.0, 1.0], [6.0, 4.0]])
    assert ng.index_select(ng.tensor(5.0), 0, ng.tensor(0)).shape == ()
    assert z.numpy().sum() == 0  # none of them changed their input


def test_in_place_scatter_family() -> None:
    x = ng.zeros(2, 3)
    idx = ng.tensor([[0, 1, 2]])
    assert x.scatter_(1, idx, ng.ones(1, 3)) is x
    x.scatter_add_(1, idx, ng.ones(1, 3))
    x.index_add_(1, ng.tensor([0]), ng.ones(2, 1), alpha=3)
    np.testing.assert_array_equal(x.numpy(), [[5.0, 2.0, 2.0], [3.0, 0.0, 0.0]])
    leaf = ng.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="scatter_"):
        leaf.scatter_(0, idx, ng.ones(1, 3))
    with pytest.raises(RuntimeError, match="index_add_"):
        ng.zeros(2, 3).index_add_(1, ng.tensor([0]), ng.ones(2, 1, requires_grad=True))


def test_in_place_change_after_save_is_detected() -> None:
    w = ng.tensor([1.0, 2.0, 0.5], requires_grad=True)
    x = ng.tensor([1.0, 2.0, 3.0])
    y = (w * x).sum()
    x.scatter_(0, ng.tensor([0]), ng.tensor([9.0]))  # x was saved by mul
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_outer_and_baddbmm_values() -> None:
    np.testing.assert_array_equal(
        ng.outer(ng.tensor([1.0, 2.0]), ng.tensor([3.0, 4.0, 5.0])).numpy(), [[3, 4, 5], [6, 8, 10]]
    )
    i = ng.tensor([[[np.nan]]])
    a, b = ng.ones(2, 2, 3), ng.ones(2, 3, 2)
    np.testing.assert_array_equal(ng.baddbmm(i, a, b, beta=0).numpy(), np.full((2, 2, 2), 3.0))
    np.testing.assert_array_equal(
        ng.ones(2, 2, 2).baddbmm(a, b, beta=2, alpha=0.5).numpy(), np.full((2, 2, 2), 3.5)
    )


# ---- errors ---------------------------------------------------------------------------

ERRORS: dict[str, tuple[Callable[[], Any], type[Exception], str]] = {
    "einsum_operand_count": (lambda: ng.einsum("ij,jk->ik", ng.ones(2, 2)), ValueError, "2 operands"),
    "einsum_no_operands": (lambda: ng.einsum("i->i"), ValueError, "at least one operand"),
    "einsum_ndim": (lambda: ng.einsum("ij->i", ng.ones(2)), ValueError, "do not fit"),
    "einsum_size": (lambda: ng.einsum("i,i->i", ng.ones(2), ng.ones(3)), ValueError, "broadcast"),
    "einsum_repeat_size": (lambda: ng.einsum("ii->i", ng.ones(2, 3)), ValueError, "repeats"),
    "einsum_bad_char": (lambda: ng.einsum("i1->i", ng.ones(2, 2)), ValueError, "invalid subscripts"),
    "einsum_output_twice": (lambda: ng.einsum("i->ii", ng.ones(2)), ValueError, "more than once"),
    "einsum_output_unknown": (lambda: ng.einsum("i->j", ng.ones(2)), ValueError, "appears in no operand"),
    "einsum_dtype": (
        lambda: ng.einsum("i,i", ng.ones(2), ng.ones(2, dtype=ng.float64)),
        TypeError,
        "one dtype",
    ),
    "einsum_not_tensor": (lambda: ng.einsum("i", [1.0, 2.0]), TypeError, "must be Tensor"),
    "cumsum_no_dim": (lambda: ng.cumsum(ng.ones(2)), TypeError, "dim"),
    "cumsum_dim_range": (lambda: ng.ones(2, 3).cumsum(2), IndexError, "out of range"),
    "cumprod_dim_range": (lambda: ng.cumprod(ng.ones(2), -2), IndexError, "out of range"),
    "sort_dim_range": (lambda: ng.sort(ng.ones(2, 3), 3), IndexError, "out of range"),
    "argsort_dim_range": (lambda: ng.argsort(ng.ones(2, 3), -3), IndexError, "out of range"),
    "topk_k_too_big": (lambda: ng.topk(ng.ones(2, 3), 4), ValueError, "k=4 is out of range"),
    "topk_k_negative": (lambda: ng.topk(ng.ones(3), -1), ValueError, "out of range"),
    "topk_k_float": (lambda: ng.topk(ng.ones(3), 1.0), TypeError, "k must be an int"),
    "tril_1d": (lambda: ng.tril(ng.ones(3)), ValueError, "at least 2 dimensions"),
    "triu_diag_float": (lambda: ng.triu(ng.ones(3, 3), 0.5), TypeError, "diagonal"),
    "flip_repeat": (lambda: ng.flip(ng.ones(2, 3), (0, 0)), ValueError, "repeats"),
    "flip_range": (lambda: ng.ones(2, 3).flip(2), IndexError, "out of range"),
    "roll_mismatch": (lambda: ng.roll(ng.ones(2, 3), (1, 2), 0), ValueError, "same length"),
    "roll_flat_two_shifts": (lambda: ng.roll(ng.ones(2, 3), (1, 2)), ValueError, "same length"),
    "roll_range": (lambda: ng.roll(ng.ones(2, 3), 1, 2), IndexError, "out of range"),
    "scatter_float_index": (
        lambda: ng.scatter(ng.zeros(2, 3), 1, ng.tensor([[0.0]]), 1.0),
        TypeError,
        "integer",
    ),
    "scatter_index_ndim": (lambda: ng.scatter(ng.zeros(2, 3), 1, ng.tensor([0, 2]), 1.0), ValueError, "dims"),
    "scatter_index_shape": (
        lambda: ng.scatter(ng.zeros(2, 3), 1, ng.zeros(3, 1, dtype=ng.int64), 1.0),
        ValueError,
        "no larger",
    ),
    "scatter_index_vs_src": (
        lambda: ng.scatter(ng.zeros(2, 3), 1, ng.zeros(2, 2, dtype=ng.int64), ng.ones(2, 1)),
        ValueError,
        "src",
    ),
    "scatter_out_of_bounds": (
        lambda: ng.scatter(ng.zeros(2, 3), 1, ng.tensor([[3]]), 1.0),
        IndexError,
        "index 3",
    ),
    "scatter_negative": (
        lambda: ng.scatter(ng.zeros(2, 3), 1, ng.tensor([[-1]]), 1.0),
        IndexError,
        "index -1",
    ),
    "scatter_dtype": (
        lambda: ng.scatter(ng.zeros(2, 3), 1, ng.tensor([[0]]), ng.ones(1, 1, dtype=ng.float64)),
        TypeError,
        "dtype",
    ),
    "scatter_no_src": (lambda: ng.scatter(ng.zeros(2, 3), 1, ng.tensor([[0]])), TypeError, "src"),
    "scatter_reduce": (
        lambda: ng.scatter(ng.zeros(2), 0, ng.tensor([0]), 1.0, reduce="add"),
        ValueError,
        "reduce",
    ),
    "scatter_dim_range": (
        lambda: ng.scatter(ng.zeros(2), 1, ng.tensor([0]), 1.0),
        IndexError,
        "out of range",
    ),
    "scatter_add_not_tensor": (lambda: ng.scatter_add(ng.zeros(2), 0, ng.tensor([0]), 1.0), TypeError, "src"),
    "index_select_2d": (lambda: ng.index_select(ng.ones(2, 3), 1, ng.tensor([[1]])), ValueError, "1-D"),
    "index_select_negative": (
        lambda: ng.index_select(ng.ones(2, 3), 1, ng.tensor([-1])),
        IndexError,
        "index -1",
    ),
    "index_select_float": (lambda: ng.index_select(ng.ones(2, 3), 1, ng.tensor([1.0])), TypeError, "integer"),
    "index_add_shape": (
        lambda: ng.index_add(ng.zeros(2, 3), 1, ng.tensor([0, 0]), ng.ones(2, 3)),
        ValueError,
        "source must have shape",
    ),
    "index_add_dtype": (
        lambda: ng.index_add(ng.zeros(2, 3), 1, ng.tensor([0]), ng.ones(2, 1, dtype=ng.float64)),
        TypeError,
        "dtype",
    ),
    "outer_2d": (lambda: ng.outer(ng.ones(2, 2), ng.ones(2)), ValueError, "1-D"),
    "baddbmm_broadcast": (
        lambda: ng.baddbmm(ng.ones(3, 2, 2), ng.ones(2, 2, 3), ng.ones(2, 3, 2)),
        ValueError,
        "does not broadcast",
    ),
    "baddbmm_dtype": (
        lambda: ng.baddbmm(ng.ones(2, 2, 2, dtype=ng.float64), ng.ones(2, 2, 3), ng.ones(2, 3, 2)),
        TypeError,
        "same dtype",
    ),
    "multinomial_3d": (lambda: ng.multinomial(ng.ones(2, 2, 2), 1), ValueError, "1-D or 2-D"),
    "multinomial_negative": (lambda: ng.multinomial(ng.tensor([1.0, -1.0]), 1), ValueError, "non-negative"),
    "multinomial_nan": (lambda: ng.multinomial(ng.tensor([1.0, np.nan]), 1), ValueError, "finite"),
    "multinomial_zero_sum": (lambda: ng.multinomial(ng.zeros(2), 1), ValueError, "sums to 0"),
    "multinomial_too_many": (lambda: ng.multinomial(ng.ones(2), 3), ValueError, "without replacement"),
    "multinomial_zero_samples": (lambda: ng.multinomial(ng.ones(2), 0), ValueError, "positive"),
    "multinomial_int": (lambda: ng.multinomial(ng.tensor([1, 2]), 1), TypeError, "floating"),
    "randint_float_high": (lambda: ng.randint(10.5, (2,)), TypeError, "ints"),
    "randint_low_only": (lambda: ng.randint(low=3, size=(2,)), TypeError, "randint"),
    "randint_empty_range": (lambda: ng.randint(5, 5, (2,)), ValueError, "greater than low"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors(case: str) -> None:
    fn, error, match = ERRORS[case]
    with pytest.raises(error, match=match):
        fn()


def test_failed_in_place_scatter_changes_nothing() -> None:
    x = ng.zeros(2, 3)
    with pytest.raises(IndexError):
        x.scatter_(1, ng.tensor([[0, 5]]), 1.0)
    assert not x.numpy().any()


# ---- sampling -------------------------------------------------------------------------


def test_multinomial_shapes_ranges_and_zero_weights() -> None:
    ng.manual_seed(0)
    w = ng.tensor([[0.0, 1.0, 3.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    s = ng.multinomial(w, 500, replacement=True)
    assert s.shape == (2, 500) and s.dtype == np.int64 and not s.requires_grad
    assert set(np.unique(s.numpy()[0])) == {1, 2}  # zero-weight categories are never drawn
    assert s.numpy().min() >= 0 and s.numpy().max() <= 3
    share = (s.numpy()[0] == 2).mean()  # 3/4 expected; 500 draws: std ~0.02
    assert 0.6 < share < 0.9
    assert ng.tensor([1.0, 2.0, 3.0]).multinomial(2).shape == (2,)


def test_multinomial_without_replacement_draws_distinct_indices() -> None:
    ng.manual_seed(1)
    w = ng.rand(50, 10) + 0.01
    s = ng.multinomial(w, 10)
    for row in s.numpy():
        assert sorted(row.tolist()) == list(range(10))  # all categories, once each
    first = ng.multinomial(ng.tensor([1e-6, 1.0, 1e-6]).expand(200, 3), 1).numpy()
    assert (first == 1).mean() > 0.95  # the heavy category nearly always comes first


def test_multinomial_and_randint_follow_manual_seed() -> None:
    w = ng.tensor([0.2, 0.3, 0.5])
    ng.manual_seed(123)
    a = (ng.multinomial(w, 2), ng.multinomial(w, 5, True), ng.randint(0, 10, (4,)), ng.randint_like(w, 3, 7))
    ng.manual_seed(123)
    b = (ng.multinomial(w, 2), ng.multinomial(w, 5, True), ng.randint(0, 10, (4,)), ng.randint_like(w, 3, 7))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    g = np.random.default_rng(5)
    c = ng.multinomial(w, 3, generator=g)
    np.testing.assert_array_equal(c.numpy(), ng.multinomial(w, 3, generator=np.random.default_rng(5)).numpy())


def test_randint_forms_ranges_and_dtypes() -> None:
    ng.manual_seed(0)
    x = ng.randint(low=3, high=6, size=(1000,))
    assert x.dtype == np.int64 and x.shape == (1000,)
    assert set(np.unique(x.numpy())) == {3, 4, 5}
    assert set(np.unique(ng.randint(high=2, size=(200,)).numpy())) == {0, 1}
    assert ng.randint(5, (2, 3)).shape == (2, 3)
    assert ng.randint(0, 5, (3,), dtype=ng.float32).dtype == np.float32
    like = ng.randint_like(ng.zeros(4, 5, dtype=ng.float64), 10)
    assert like.shape == (4, 5) and like.dtype == np.float64
    assert (
        np.all(like.numpy() == np.round(like.numpy())) and like.numpy().min() >= 0 and like.numpy().max() < 10
    )
