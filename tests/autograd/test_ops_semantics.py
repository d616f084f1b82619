"""Semantics that follow torch: ties and kinks, indexing, dtype rules, aliases, creation, printing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import neograd.autograd as ng
from neograd.autograd import backend


def grad_of(fn: Callable[[ng.Tensor], ng.Tensor], values: Any) -> np.ndarray:
    x = ng.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)
    fn(x).sum().backward()
    return x.grad.numpy()


# ---- ties and non-differentiable points (torch's conventions) ---------------------------


def test_max_and_amax_of_whole_tensor_share_ties_evenly() -> None:
    values = [1.0, 3.0, 3.0, 2.0, 3.0]
    third = 1 / 3
    np.testing.assert_allclose(grad_of(lambda t: t.max(), values), [0, third, third, 0, third])
    np.testing.assert_allclose(grad_of(lambda t: t.amax(), values), [0, third, third, 0, third])
    np.testing.assert_allclose(grad_of(lambda t: ng.min(t), [2.0, 1.0, 1.0]), [0, 0.5, 0.5])
    np.testing.assert_allclose(grad_of(lambda t: t.amin(), [2.0, 1.0, 1.0]), [0, 0.5, 0.5])


def test_amax_with_dim_shares_ties_per_slice() -> None:
    g = grad_of(lambda t: t.amax(dim=1), [[1.0, 5.0, 5.0], [7.0, 2.0, 3.0]])
    np.testing.assert_allclose(g, [[0, 0.5, 0.5], [1, 0, 0]])


def test_max_with_dim_gives_whole_gradient_to_returned_index() -> None:
    x = ng.tensor([[1.0, 3.0, 3.0], [4.0, 4.0, 0.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(values.numpy() if not values.requires_grad else values.data, [3.0, 4.0])
    (values * ng.tensor([10.0, 20.0])).sum().backward()
    expected = np.zeros((2, 3))
    expected[[0, 1], indices.numpy()] = [10.0, 20.0]
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    np.testing.assert_array_equal(indices.numpy(), [1, 0])  # the first of the tied maxima, as torch


def test_min_with_dim_keepdim_and_named_fields() -> None:
    x = ng.tensor([[3.0, 1.0, 1.0]], requires_grad=True)
    out = x.min(dim=1, keepdim=True)
    assert out.values.shape == (1, 1) and out.indices.shape == (1, 1)
    out.values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 1.0, 0.0]])


def test_max_with_tensor_argument_is_elementwise_maximum() -> None:
    a, b = ng.tensor([1.0, 5.0]), ng.tensor([2.0, 3.0])
    np.testing.assert_array_equal(ng.max(a, b).numpy(), [2.0, 5.0])


def test_relu_abs_and_sign_at_zero() -> None:
    np.testing.assert_array_equal(grad_of(ng.relu, [-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(grad_of(ng.abs, [-1.0, 0.0, 2.0]), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(grad_of(ng.sign, [-1.0, 0.0, 2.0]), [0.0, 0.0, 0.0])


def test_clamp_passes_gradient_at_the_bounds() -> None:
    np.testing.assert_array_equal(
        grad_of(lambda t: t.clamp(0.0, 1.0), [-0.5, 0.0, 0.5, 1.0, 1.5]), [0, 1, 1, 1, 0]
    )


def test_maximum_and_minimum_split_ties_in_half() -> None:
    a = ng.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = ng.tensor([1.0, 3.0, 2.0], requires_grad=True)
    ng.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 1.0, 0.0])
    a.grad = b.grad = None
    ng.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 0.0, 1.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy warns about the 0^-1 and log(0) it discards
def test_pow_at_zero_base() -> None:
    np.testing.assert_array_equal(grad_of(lambda t: t**2.0, [0.0, 1.0]), [0.0, 2.0])
    np.testing.assert_array_equal(grad_of(lambda t: t**0.0, [0.0, 1.0]), [0.0, 0.0])
    # d/db 0^b = 0 for b > 0 (not 0 * log 0 = nan)
    base = ng.tensor(np.array([0.0, 2.0]))
    np.testing.assert_allclose(grad_of(lambda t: base**t, [1.0, 1.0]), [0.0, 2 * np.log(2)], rtol=1e-15)


def test_std_of_constant_slice_has_zero_gradient() -> None:
    np.testing.assert_array_equal(grad_of(lambda t: t.std(dim=1), [[1.0, 1.0], [2.0, 2.0]]), np.zeros((2, 2)))


# ---- indexing ---------------------------------------------------------------------------


def test_repeated_integer_indices_accumulate() -> None:
    g = grad_of(lambda t: t[[0, 0, 2, 0]], [10.0, 20.0, 30.0])
    np.testing.assert_array_equal(g, [3.0, 0.0, 1.0])


def test_repeated_index_pairs_accumulate_in_2d() -> None:
    g = grad_of(lambda t: t[np.array([1, 1, 0]), np.array([2, 2, 0])], np.zeros((2, 3)))
    np.testing.assert_array_equal(g, [[1, 0, 0], [0, 0, 2]])


def test_repeated_rows_with_weights() -> None:
    x = ng.tensor(np.zeros((3, 2)), requires_grad=True)
    idx = ng.tensor([2, 0, 2])
    (x[idx] * ng.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[3.0, 4.0], [0.0, 0.0], [6.0, 8.0]])


def test_gather_repeated_indices_accumulate() -> None:
    g = grad_of(lambda t: t.gather(1, ng.tensor([[0, 0, 1]])), [[1.0, 2.0]])
    np.testing.assert_array_equal(g, [[2.0, 1.0]])


def test_boolean_mask_selects_and_routes_gradient() -> None:
    x = ng.tensor([[1.0, -2.0], [-3.0, 4.0]], requires_grad=True)
    picked = x[x > 0]
    np.testing.assert_array_equal(picked.data, [1.0, 4.0])
    (picked * ng.tensor([5.0, 7.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[5.0, 0.0], [0.0, 7.0]])


def test_basic_slice_is_like_numpy() -> None:
    a = np.arange(24.0).reshape(2, 3, 4)
    x = ng.tensor(a)
    for index in [(1,), (slice(None), 1), (Ellipsis, -1), (None, 0, slice(1, None, 2)), (0, [2, 0], 1)]:
        np.testing.assert_array_equal(x[index].numpy(), a[index])


# ---- dtype rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        (1.5, np.float32),
        ([1.0, 2.0], np.float32),
        ([1, 2.5], np.float32),
        (3, np.int64),
        ([[1, 2]], np.int64),
        (True, np.bool_),
        ([True, False], np.bool_),
        (np.zeros(2), np.float64),
        (np.zeros(2, np.float32), np.float32),
        (np.zeros(2, np.int32), np.int32),
        (np.zeros(2, np.float16), np.float16),
        (np.float64(1.5), np.float64),
        (np.int32(2), np.int32),
    ],
)
def test_tensor_dtype_from_data(data: Any, dtype: Any) -> None:
    assert ng.tensor(data).dtype == dtype


def test_explicit_dtype_and_requires_grad_on_ints() -> None:
    assert ng.tensor([1, 2], dtype=ng.float64).dtype == np.float64
    assert ng.tensor([1.7], dtype="int64").dtype == np.int64
    assert ng.tensor([1, 2], requires_grad=True).dtype == np.float32  # the seed's case
    assert ng.tensor(np.array([1, 2], np.int32), requires_grad=True).dtype == np.float32


def test_tensor_copies_its_data() -> None:
    a = np.zeros(2)
    t = ng.tensor(a)
    a[0] = 1.0
    assert t.data[0] == 0.0


BINARY_DTYPES: list[tuple[str, Callable[[], ng.Tensor], Any]] = [
    ("int + float32 tensor", lambda: ng.tensor([1, 2]) + ng.tensor([0.5, 1.0]), np.float32),
    ("int + python float", lambda: ng.tensor([1, 2]) + 1.5, np.float32),
    ("python float * int", lambda: 1.5 * ng.tensor([1, 2]), np.float32),
    ("int + python int", lambda: ng.tensor([1, 2]) + 3, np.int64),
    ("int / int", lambda: ng.tensor([1, 2]) / ng.tensor([2, 4]), np.float32),
    ("int / python int", lambda: ng.tensor([1, 2]) / 2, np.float32),
    ("python int / int", lambda: 2 / ng.tensor([1, 2]), np.float32),
    ("int ** 2", lambda: ng.tensor([1, 2]) ** 2, np.int64),
    ("int ** 0.5", lambda: ng.tensor([1, 4]) ** 0.5, np.float32),
    ("float32 0-d * python float", lambda: ng.tensor(2.0) * 1.1, np.float32),
    ("float32 * numpy float64 scalar", lambda: ng.tensor([2.0]) * np.float64(1.1), np.float32),
    ("float32 + float64", lambda: ng.tensor([2.0]) + ng.tensor([1.0], dtype=ng.float64), np.float64),
    ("float64 0-d + float32", lambda: ng.tensor(2.0, dtype=ng.float64) + ng.tensor([1.0]), np.float32),
    ("float16 + float32", lambda: ng.tensor(np.ones(1, np.float16)) + ng.tensor([1.0]), np.float32),
    ("int32 + int64", lambda: ng.tensor(np.ones(1, np.int32)) + ng.tensor([1]), np.int64),
    ("bool + int", lambda: ng.tensor([True]) + 1, np.int64),
    ("bool * float", lambda: ng.tensor([True]) * 1.5, np.float32),
    ("exp(int)", lambda: ng.tensor([1, 2]).exp(), np.float32),
    ("sqrt(int)", lambda: ng.tensor([1, 4]).sqrt(), np.float32),
    ("sigmoid(int)", lambda: ng.tensor([1, 4]).sigmoid(), np.float32),
    ("logsumexp(int)", lambda: ng.tensor([1, 4]).logsumexp(0), np.float32),
    ("clamp(int, floats)", lambda: ng.tensor([1, 5]).clamp(0.5, 2.5), np.float32),
    ("clamp(int, ints)", lambda: ng.tensor([1, 5]).clamp(0, 2), np.int64),
    ("relu(int)", lambda: ng.tensor([-1, 4]).relu(), np.int64),
    ("maximum(int, float)", lambda: ng.maximum(ng.tensor([1, 3]), ng.tensor([2.0, 1.0])), np.float32),
    ("where(int, float)", lambda: ng.where(ng.tensor([True, False]), ng.tensor([1, 3]), 2.5), np.float32),
    ("cat(int, float32)", lambda: ng.cat([ng.tensor([1]), ng.tensor([1.5])]), np.float32),
    ("stack(int, float64)", lambda: ng.stack([ng.tensor([1]), ng.tensor(np.ones(1))]), np.float64),
    ("sum(bool)", lambda: ng.tensor([True, True]).sum(), np.int64),
    ("sum(float32)", lambda: ng.tensor([1.0]).sum(), np.float32),
    ("mean(float32 0-d)", lambda: ng.tensor(1.0).mean(), np.float32),
    ("var(float32)", lambda: ng.tensor([1.0, 5.0]).var(), np.float32),
    ("matmul float32", lambda: ng.tensor([[1.0, 2.0]]) @ ng.tensor([[1.0], [2.0]]), np.float32),
]


@pytest.mark.parametrize(("case", "make", "dtype"), BINARY_DTYPES, ids=[c[0] for c in BINARY_DTYPES])
def test_result_dtypes_follow_torch(case: str, make: Callable[[], ng.Tensor], dtype: Any) -> None:
    assert make().dtype == dtype


def test_int_clamped_to_float_bounds_keeps_the_fraction() -> None:
    np.testing.assert_array_equal(ng.tensor([1, 5]).clamp(0.5, 2.5).numpy(), [1.0, 2.5])


def test_int_true_division_values() -> None:
    np.testing.assert_array_equal((ng.tensor([1, 3]) / 2).numpy(), np.array([0.5, 1.5], np.float32))
    np.testing.assert_array_equal(ng.div(ng.tensor([7, -7]), 2, rounding_mode="floor").numpy(), [3, -4])
    np.testing.assert_array_equal(ng.div(ng.tensor([7.0, -7.0]), 2, rounding_mode="trunc").numpy(), [3, -3])


def test_float32_precision_is_kept_through_a_chain() -> None:
    x = ng.tensor([0.1, 0.2], requires_grad=True)
    y = ((x * 3 + 1) / 2 - 0.5) ** 2
    y = y.exp().log().tanh().sigmoid().mean()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


def test_mean_of_integers_is_refused() -> None:
    with pytest.raises(TypeError, match=r"mean.*int64"):
        ng.tensor([1, 2]).mean()


def test_default_dtype_can_be_switched() -> None:
    assert ng.get_default_dtype() == np.float32
    try:
        ng.set_default_dtype(ng.float64)
        assert ng.tensor([1.5]).dtype == np.float64
        assert ng.zeros(2).dtype == np.float64
        assert (ng.tensor([1, 2]) / 2).dtype == np.float64
    finally:
        ng.set_default_dtype(ng.float32)
    assert ng.tensor([1.5]).dtype == np.float32
    with pytest.raises(TypeError, match="set_default_dtype"):
        ng.set_default_dtype(ng.int64)


# ---- NumPy's axis/keepdims aliases ------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["sum", "mean", "var", "std", "amax", "amin", "logsumexp", "argmax", "argmin"]
)
def test_axis_and_keepdims_are_aliases(name: str) -> None:
    x = ng.tensor(np.arange(24.0).reshape(2, 3, 4) % 7)
    by_torch = getattr(x, name)(dim=1, keepdim=True)
    by_numpy = getattr(x, name)(axis=1, keepdims=True)
    by_function = getattr(ng, name)(x, axis=1, keepdims=True)
    assert by_torch.shape == (2, 1, 4)
    np.testing.assert_array_equal(by_numpy.numpy(), by_torch.numpy())
    np.testing.assert_array_equal(by_function.numpy(), by_torch.numpy())


def test_axis_aliases_for_max_softmax_cat_stack() -> None:
    x = ng.tensor(np.array([[1.0, 4.0], [3.0, 2.0]]))
    np.testing.assert_array_equal(x.max(axis=0).values.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(x.softmax(axis=1).numpy(), x.softmax(dim=1).numpy())
    assert ng.cat([x, x], axis=1).shape == (2, 4)
    assert ng.stack([x, x], axis=2).shape == (2, 2, 2)


def test_dim_and_axis_together_or_unknown_keyword_are_refused() -> None:
    x = ng.tensor([[1.0, 2.0]])
    with pytest.raises(TypeError, match="sum: give dim or its alias axis"):
        x.sum(dim=0, axis=0)
    with pytest.raises(TypeError, match=r"mean: unexpected keyword.*\['dims'\]"):
        x.mean(dims=0)


# ---- creation functions -----------------------------------------------------------------


def test_zeros_ones_full_empty_shapes_and_dtypes() -> None:
    for make in (ng.zeros, ng.ones, ng.empty):
        assert make(2, 3).shape == (2, 3)
        assert make((2, 3)).shape == (2, 3)
        assert make([2, 3]).dtype == np.float32
        assert make(2, dtype=ng.float64).dtype == np.float64
        assert make().shape == ()
    np.testing.assert_array_equal(ng.zeros(2).numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(ng.ones(2, dtype=ng.int64).numpy(), [1, 1])
    assert ng.ones(2, requires_grad=True).requires_grad


@pytest.mark.parametrize(
    ("fill", "dtype"), [(3, np.int64), (3.0, np.float32), (True, np.bool_), (np.float64(2.0), np.float32)]
)
def test_full_infers_dtype_from_fill_value(fill: Any, dtype: Any) -> None:
    t = ng.full((2, 2), fill)
    assert t.dtype == dtype and t.shape == (2, 2)
    assert (t.numpy() == fill).all()
    assert ng.full([3], 1, dtype=ng.float64).dtype == np.float64


def test_like_functions_keep_shape_and_dtype() -> None:
    base = ng.tensor(np.ones((2, 3), np.float64))
    for make in (ng.zeros_like, ng.ones_like, ng.empty_like, ng.rand_like, ng.randn_like):
        t = make(base)
        assert t.shape == (2, 3) and t.dtype == np.float64 and not t.requires_grad
    assert ng.zeros_like(base, dtype=ng.float32).dtype == np.float32
    np.testing.assert_array_equal(ng.full_like(base, 7).numpy(), np.full((2, 3), 7.0))
    np.testing.assert_array_equal(ng.ones_like(ng.tensor([1, 2])).numpy(), [1, 1])
    assert ng.zeros_like(base, requires_grad=True).requires_grad


def test_random_functions_are_reproducible_after_manual_seed() -> None:
    def draw() -> list[np.ndarray]:
        return [ng.rand(3).numpy(), ng.randn(2, 2).numpy(), ng.randint(0, 10, (5,)).numpy()]

    ng.manual_seed(123)
    first = draw()
    np.random.seed(0)  # NumPy's global state is not neograd's
    ng.manual_seed(123)
    second = draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    ng.manual_seed(124)
    assert not np.array_equal(ng.rand(3).numpy(), first[0])


def test_random_functions_ranges_and_dtypes() -> None:
    ng.manual_seed(0)
    r = ng.rand(1000)
    assert r.dtype == np.float32 and r.numpy().min() >= 0 and r.numpy().max() < 1
    n = ng.randn(10_000, dtype=ng.float64)
    assert n.dtype == np.float64 and abs(n.numpy().mean()) < 0.05 and abs(n.numpy().std() - 1) < 0.05
    i = ng.randint(3, 6, (1000,))
    assert i.dtype == np.int64 and set(np.unique(i.numpy())) == {3, 4, 5}
    assert set(np.unique(ng.randint(2, (100,)).numpy())) == {0, 1}
    assert ng.randint(0, 5, size=(2, 3)).shape == (2, 3)
    assert ng.randn(2, 3, requires_grad=True).requires_grad


def test_rng_state_round_trip() -> None:
    state = ng.get_rng_state()
    a = ng.randn(4).numpy()
    ng.set_rng_state(state)
    np.testing.assert_array_equal(ng.randn(4).numpy(), a)


def test_arange_linspace_eye() -> None:
    a = ng.arange(5)
    assert a.dtype == np.int64
    np.testing.assert_array_equal(a.numpy(), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(ng.arange(2, 8, 3).numpy(), [2, 5])
    f = ng.arange(0, 1, 0.25)
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f.numpy(), [0.0, 0.25, 0.5, 0.75])
    assert ng.arange(1.0, 3).dtype == np.float32
    assert ng.arange(3, dtype=ng.float64).dtype == np.float64
    lin = ng.linspace(0, 1, 5)
    assert lin.dtype == np.float32
    np.testing.assert_array_equal(lin.numpy(), [0.0, 0.25, 0.5, 0.75, 1.0])
    e = ng.eye(2, 3)
    assert e.dtype == np.float32
    np.testing.assert_array_equal(e.numpy(), [[1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(ng.eye(2).numpy(), np.eye(2))


def test_from_numpy_shares_memory_and_keeps_dtype() -> None:
    a = np.arange(3, dtype=np.int32)
    t = ng.from_numpy(a)
    assert t.dtype == np.int32
    a[0] = 10
    assert t.data[0] == 10
    t.data[1] = 20
    assert a[1] == 20
    with pytest.raises(TypeError, match="from_numpy"):
        ng.from_numpy([1, 2])  # type: ignore[arg-type]


# ---- printing -----------------------------------------------------------------------------


def test_repr_like_torch() -> None:
    assert repr(ng.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(ng.tensor([1.5, 2.25])) == "tensor([1.5000, 2.2500])"
    assert repr(ng.tensor(3.0)) == "tensor(3.)"
    assert repr(ng.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(ng.tensor([1.0], dtype=ng.float64)) == "tensor([1.], dtype=float64)"
    assert repr(ng.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert repr(ng.tensor([[1.0, 2.0], [3.0, 4.0]])) == "tensor([[1., 2.],\n        [3., 4.]])"
    assert str(ng.tensor(0.123456789)) == "tensor(0.1235)"


def test_format_in_f_strings() -> None:
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum() / 3
    assert f"{loss:.3f}" == "1.667"
    assert f"loss: {loss}" == f"loss: {loss.item()}"  # 0-d prints as its number, as torch
    assert f"{ng.tensor([1.0, 2.0])}" == "tensor([1., 2.])"
    assert f"{ng.tensor(3)}" == "3" and f"{ng.tensor(7):03d}" == "007"


# ---- conversions and small methods ---------------------------------------------------------


def test_item_and_python_numbers() -> None:
    assert ng.tensor(2.5).item() == 2.5 and isinstance(ng.tensor(2.5).item(), float)
    assert ng.tensor([[3]]).item() == 3 and isinstance(ng.tensor(3).item(), int)
    assert float(ng.tensor([1.5])) == 1.5 and int(ng.tensor(2.0)) == 2
    assert list(range(10))[ng.tensor(3)] == 3  # __index__
    with pytest.raises(RuntimeError, match="2 elements cannot be converted"):
        ng.tensor([1.0, 2.0]).item()


def test_numpy_detach_and_requires_grad() -> None:
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    d.numpy()[0] = 9.0  # detach shares memory, numpy() too
    assert x.data[0] == 9.0
    y = x * 2
    yd = y.detach()
    assert yd.is_leaf and not yd.requires_grad
    assert not (yd * 2).requires_grad


def test_tolist() -> None:
    assert ng.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert ng.tensor(2.5).tolist() == 2.5
    assert ng.tensor([0.5]).tolist() == [0.5]


def test_requires_grad_() -> None:
    t = ng.tensor([1.0])
    assert t.requires_grad_() is t and t.requires_grad
    t.requires_grad_(False)
    assert not t.requires_grad
    with pytest.raises(RuntimeError, match="floating"):
        ng.tensor([1, 2]).requires_grad_()
    with pytest.raises(TypeError, match="floating"):
        ng.tensor([1, 2], dtype=ng.int64, requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        ng.zeros(2, dtype=ng.int64, requires_grad=True)
    h = ng.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        h.requires_grad_(False)


def test_len_iter_array() -> None:
    t = ng.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert len(t) == 3
    with pytest.raises(TypeError, match="0-d"):
        len(ng.tensor(1.0))
    rows = list(t)
    assert len(rows) == 3 and all(isinstance(r, ng.Tensor) for r in rows)
    np.testing.assert_array_equal(rows[1].numpy(), [3.0, 4.0])
    with pytest.raises(TypeError, match="0-d"):
        iter(ng.tensor(1.0))
    arr = np.asarray(t)
    assert arr.dtype == np.float32 and arr.shape == (3, 2)
    arr[0, 0] = 100.0
    assert t.data[0, 0] == 100.0  # np.asarray shares, as with torch
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    copied = np.array(t)
    copied[0, 0] = -1.0
    assert t.data[0, 0] == 100.0
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(ng.tensor([1.0], requires_grad=True))


def test_iteration_keeps_gradient_flow() -> None:
    x = ng.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    total = ng.tensor(0.0)
    for i, row in enumerate(x):
        total = total + row.sum() * (i + 1)
    total.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 1.0], [2.0, 2.0]])


def test_shape_attributes() -> None:
    t = ng.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.dim() == 3 and t.numel() == 24
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.T.shape == (4, 3, 2) and t.mT.shape == (2, 4, 3)
    assert t.is_floating_point() and not ng.tensor([1]).is_floating_point()


def test_bool_of_tensors() -> None:
    assert bool(ng.tensor([1.0])) and not bool(ng.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(ng.tensor([1.0, 2.0]))


def test_comparisons_give_bool_tensors_without_grad() -> None:
    x = ng.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for out in (x > 1.5, x >= 2, x < 2, x <= 2, x == 2, x != 2):
        assert out.dtype == np.bool_ and not out.requires_grad
    np.testing.assert_array_equal((x > 1.5).numpy(), [False, True, True])
    np.testing.assert_array_equal(((x > 1.5) & (x < 3)).numpy(), [False, True, False])
    np.testing.assert_array_equal((~(x > 1.5)).numpy(), [True, False, False])


def test_reductions_on_0d_tensors_accept_dim_0() -> None:
    x = ng.tensor(np.array(0.7), requires_grad=True)
    for name in ("sum", "mean", "amax", "amin", "logsumexp"):
        out = getattr(x, name)(0)
        assert out.shape == () and out.item() == pytest.approx(0.7)
        assert getattr(x, name)(-1, keepdim=True).shape == ()
    x.sum(0).backward()
    assert x.grad.item() == 1.0


def test_var_with_too_few_elements_is_nan_not_an_error() -> None:
    x = ng.tensor(np.array([1.5]), requires_grad=True)
    with np.errstate(all="ignore"):
        v = x.var()
        assert np.isnan(v.item())
        v.backward()
    assert np.isnan(x.grad.numpy()).all()


ZERO_D_OPS: dict[str, Callable[[ng.Tensor], ng.Tensor]] = {
    "sigmoid": ng.sigmoid,
    "relu": ng.relu,
    "tanh": ng.tanh,
    "exp": ng.exp,
    "sqrt": ng.sqrt,
    "t*float": lambda t: t * 2.5,
    "float/t": lambda t: 3.0 / t,
    "t/int": lambda t: t / 3,
    "t**float": lambda t: t**2.5,
    "float**t": lambda t: 2.0**t,
    "int-t": lambda t: 1 - t,
    "clamp": lambda t: t.clamp(0.1, 0.5),
    "maximum": lambda t: ng.maximum(t, 0.5),
    "where": lambda t: ng.where(t > 0, t, 0.5),
    "var": lambda t: (t.reshape(1) * ng.ones(3)).var(),
    "std": lambda t: t.reshape(1).std(correction=0),
    "logsumexp": lambda t: t.logsumexp(0),
    "log_softmax": lambda t: t.log_softmax(0),
    "softmax": lambda t: t.softmax(0),
    "mean": lambda t: t.reshape(1, 1).mean(),
    "dot": lambda t: ng.dot(t.reshape(1), t.reshape(1)),
}


@pytest.mark.parametrize("op", list(ZERO_D_OPS))
def test_float32_0d_stays_float32(op: str) -> None:
    # NumPy 1.x computes 0-d float32 arrays with Python numbers in float64; torch does not
    x = ng.tensor(0.3, requires_grad=True)
    y = ZERO_D_OPS[op](x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize(
    "shapes", [((750, 1), (1, 10)), ((16, 16), (16, 16)), ((3, 0), (0, 2)), ((5, 4), (4, 1))]
)
def test_matrix_products_go_through_dot_with_matmul_results(shapes) -> None:
    # backend.mm (np.dot on NumPy arrays) in matmul, mm and Linear: the same values as @
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    assert backend.mm(a, b).tobytes() == (a @ b).tobytes()
    assert backend.mm(a.astype(np.int64), b.astype(np.int64)).dtype == np.int64
    x, y = ng.tensor(a, requires_grad=True), ng.tensor(b, requires_grad=True)
    (x @ y).sum().backward()
    ones = np.ones((a.shape[0], b.shape[1]), np.float32)
    np.testing.assert_allclose(x.grad.numpy(), ones @ b.T, rtol=1e-6)
    np.testing.assert_allclose(y.grad.numpy(), a.T @ ones, rtol=1e-6)
    with pytest.raises(ValueError, match="matmul: shapes"):
        ng.tensor(a) @ ng.ones(b.shape[0] + 1, 2)
