"""Every differentiable op against central finite differences in float64 (gradcheck).

One table per kind of op, one test function that runs them all. Inputs are random but
kept away from the points where an op is not differentiable (ties, 0 for abs/relu, the
bounds of clamp), so that the finite differences are meaningful.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import neograd.autograd as ng


class Arg:
    """How to draw one random float64 input: its shape and its range of values."""

    def __init__(self, shape: tuple[int, ...], kind: str = "any") -> None:
        self.shape, self.kind = shape, kind

    def draw(self, rng: np.random.Generator) -> ng.Tensor:
        if self.kind == "any":
            a = rng.standard_normal(self.shape)
        elif self.kind == "pos":  # log, sqrt, the base of pow, a divisor
            a = rng.uniform(0.5, 2.0, self.shape)
        elif self.kind == "away0":  # abs, relu, clamp: no element near a kink
            a = rng.uniform(0.2, 2.0, self.shape) * rng.choice([-1.0, 1.0], self.shape)
        elif self.kind == "distinct":  # max/min/sort-like ops: no ties, well separated
            a = rng.permutation(int(np.prod(self.shape, dtype=int))).reshape(self.shape) * 0.3
            a = a + rng.uniform(-0.05, 0.05, self.shape)
        else:
            raise ValueError(self.kind)
        return ng.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def A(*shape: int, kind: str = "any") -> Arg:
    return Arg(tuple(shape), kind)


def check(fn: Callable[..., Any], args: list[Arg], seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    inputs = tuple(a.draw(rng) for a in args)
    assert ng.gradcheck(fn, inputs)


# ---- binary elementwise ops across broadcasting cases ----------------------------------

BINARY_OPS: dict[str, tuple[Callable[[Any, Any], Any], str, str]] = {
    # name: (fn, kind of the left input, kind of the right input)
    "add": (lambda a, b: a + b, "any", "any"),
    "sub": (lambda a, b: a - b, "any", "any"),
    "mul": (lambda a, b: a * b, "any", "any"),
    "div": (lambda a, b: a / b, "any", "pos"),
    "pow": (lambda a, b: a**b, "pos", "any"),
    "maximum": (ng.maximum, "any", "any"),
    "minimum": (ng.minimum, "any", "any"),
    "add_fn_alpha": (lambda a, b: ng.add(a, b, alpha=0.5), "any", "any"),
    "sub_method": (lambda a, b: a.sub(b), "any", "any"),
    "where": (lambda a, b: ng.where(a > 0.1, a, b), "any", "any"),
}

BROADCAST_SHAPES = {
    "0d-0d": ((), ()),
    "vec-0d": ((3,), ()),
    "0d-mat": ((), (2, 3)),
    "same": ((2, 3), (2, 3)),
    "row": ((2, 3), (3,)),
    "size1-both": ((2, 1), (1, 3)),
    "leading": ((4, 1, 3), (2, 1)),
    "keepdim": ((2, 3, 4), (2, 1, 4)),
    "keepdim-left": ((2, 1), (2, 3)),
}


@pytest.mark.parametrize("shapes", list(BROADCAST_SHAPES.values()), ids=list(BROADCAST_SHAPES))
@pytest.mark.parametrize("op", list(BINARY_OPS))
def test_binary_op_broadcasting(op: str, shapes: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    fn, ka, kb = BINARY_OPS[op]
    check(fn, [Arg(shapes[0], ka), Arg(shapes[1], kb)])


SCALAR_FORMS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "t+s": (lambda t: t + 1.5, "any"),
    "s+t": (lambda t: 1.5 + t, "any"),
    "t-s": (lambda t: t - 1.5, "any"),
    "s-t": (lambda t: 1.5 - t, "any"),
    "t*s": (lambda t: t * -2.5, "any"),
    "s*t": (lambda t: -2.5 * t, "any"),
    "t/s": (lambda t: t / 4.0, "any"),
    "s/t": (lambda t: 4.0 / t, "pos"),
    "t**s": (lambda t: t**3, "any"),
    "t**float": (lambda t: t**2.5, "pos"),
    "t**neg": (lambda t: t**-1.5, "pos"),
    "s**t": (lambda t: 2.0**t, "any"),
    "int+t": (lambda t: 2 + t, "any"),
    "t*int": (lambda t: t * 3, "any"),
    "maximum-s": (lambda t: ng.maximum(t, 0.1), "away0"),
    "minimum-s": (lambda t: ng.minimum(0.1, t), "away0"),
    "where-s": (lambda t: ng.where(t > 0, t, 0.5), "away0"),
    "t+ndarray": (lambda t: t + np.linspace(-1, 1, 3), "any"),
    "ndarray*t": (lambda t: np.linspace(-1, 1, 3) * t, "any"),
}


@pytest.mark.parametrize("op", list(SCALAR_FORMS))
@pytest.mark.parametrize("shape", [(), (2, 3)], ids=["0d", "2d"])
def test_binary_op_with_python_scalar(op: str, shape: tuple[int, ...]) -> None:
    fn, kind = SCALAR_FORMS[op]
    if "ndarray" in op:
        shape = (2, 3)
    check(fn, [Arg(shape, kind)])


def test_keepdim_reduction_broadcast_back() -> None:
    # the pattern of every normalisation: a keepdim reduction broadcast against its input
    check(lambda x: (x - x.mean(dim=1, keepdim=True)) / x.std(dim=1, keepdim=True), [A(3, 5)])


# ---- unary ops ----------------------------------------------------------------------

UNARY_OPS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "neg": (lambda x: -x, "any"),
    "neg_fn": (ng.neg, "any"),
    "abs": (ng.abs, "away0"),
    "abs_builtin": (lambda x: abs(x), "away0"),
    "exp": (ng.exp, "any"),
    "log": (ng.log, "pos"),
    "log1p": (ng.log1p, "pos"),
    "sqrt": (ng.sqrt, "pos"),
    "square": (ng.square, "any"),
    "sin": (ng.sin, "any"),
    "cos": (ng.cos, "any"),
    "tanh": (ng.tanh, "any"),
    "sigmoid": (ng.sigmoid, "any"),
    "relu": (ng.relu, "away0"),
    "clamp": (lambda x: ng.clamp(x, -0.5, 0.7), "away0"),
    "clamp_min": (lambda x: x.clamp(min=0.1), "away0"),
    "clamp_max": (lambda x: x.clip(max=-0.1), "away0"),
    "clone": (ng.clone, "any"),
    "method_chain": (lambda x: x.exp().log1p().tanh(), "any"),
}


@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 2)], ids=["0d", "1d", "3d"])
@pytest.mark.parametrize("op", list(UNARY_OPS))
def test_unary_op(op: str, shape: tuple[int, ...]) -> None:
    fn, kind = UNARY_OPS[op]
    check(fn, [Arg(shape, kind)])


def test_to_dtype_passes_gradient_back_in_the_input_dtype() -> None:
    # float32 in the middle makes finite differences meaningless, so check the chain rule directly
    x = ng.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    y = x.to(ng.float32)
    assert y.dtype == np.float32
    (y * ng.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])
    check(lambda t: t.to(ng.float64) * 2, [A(3)])  # same dtype: the identity


# ---- matmul -------------------------------------------------------------------------

MATMUL_SHAPES = {
    "1d@1d": ((3,), (3,)),
    "2d@2d": ((2, 3), (3, 4)),
    "1d@2d": ((3,), (3, 4)),
    "2d@1d": ((2, 3), (3,)),
    "batched@2d": ((2, 2, 3), (3, 4)),
    "2d@batched": ((2, 3), (2, 3, 4)),
    "batched-broadcast": ((2, 1, 2, 3), (3, 3, 2)),
    "1d@batched": ((3,), (2, 3, 4)),
    "batched@1d": ((2, 2, 3), (3,)),
}


@pytest.mark.parametrize("shapes", list(MATMUL_SHAPES.values()), ids=list(MATMUL_SHAPES))
def test_matmul(shapes: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    check(lambda a, b: a @ b, [Arg(shapes[0]), Arg(shapes[1])])
    check(ng.matmul, [Arg(shapes[0]), Arg(shapes[1])], seed=1)


def test_dot_mm_bmm() -> None:
    check(ng.dot, [A(4), A(4)])
    check(lambda a, b: a.dot(b), [A(4), A(4)])
    check(ng.mm, [A(2, 3), A(3, 2)])
    check(ng.bmm, [A(2, 2, 3), A(2, 3, 2)])


def test_matmul_with_one_side_constant() -> None:
    w = np.random.default_rng(3).standard_normal((3, 2))
    check(lambda x: x @ ng.tensor(w), [A(4, 3)])
    check(lambda x: ng.tensor(w).T @ x, [A(3, 2)])


# ---- reductions ---------------------------------------------------------------------

REDUCTIONS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "sum": (lambda x: x.sum(), "any"),
    "sum_dim0": (lambda x: x.sum(dim=0), "any"),
    "sum_dim-1_keep": (lambda x: x.sum(-1, keepdim=True), "any"),
    "sum_tuple": (lambda x: x.sum(dim=(0, 2)), "any"),
    "sum_fn_axis": (lambda x: ng.sum(x, axis=1, keepdims=True), "any"),
    "mean": (lambda x: x.mean(), "any"),
    "mean_dim1": (lambda x: x.mean(1), "any"),
    "mean_tuple_keep": (lambda x: x.mean((1, 2), keepdim=True), "any"),
    "var": (lambda x: x.var(), "any"),
    "var_dim": (lambda x: x.var(dim=1), "any"),
    "var_tuple_keep": (lambda x: x.var(dim=(0, 2), keepdim=True), "any"),
    "var_correction0": (lambda x: x.var(dim=-1, correction=0), "any"),
    "var_correction2": (lambda x: ng.var(x, 1, correction=2), "any"),
    "var_unbiased_false": (lambda x: x.var(2, False), "any"),
    "std": (lambda x: x.std(), "any"),
    "std_dim_keep": (lambda x: x.std(dim=2, keepdim=True), "any"),
    "std_correction0": (lambda x: x.std(dim=(0, 1), correction=0), "any"),
    "max": (lambda x: x.max(), "distinct"),
    "min": (lambda x: ng.min(x), "distinct"),
    "max_dim": (lambda x: x.max(dim=1), "distinct"),
    "max_dim_values_keep": (lambda x: x.max(dim=-1, keepdim=True).values, "distinct"),
    "min_dim": (lambda x: x.min(0)[0], "distinct"),
    "amax": (lambda x: x.amax(), "distinct"),
    "amax_tuple": (lambda x: x.amax(dim=(0, 2)), "distinct"),
    "amin_keep": (lambda x: ng.amin(x, 1, keepdim=True), "distinct"),
    "logsumexp": (lambda x: x.logsumexp(), "any"),
    "logsumexp_dim": (lambda x: x.logsumexp(dim=1), "any"),
    "logsumexp_tuple_keep": (lambda x: ng.logsumexp(x, (0, 2), keepdim=True), "any"),
    "softmax_last": (lambda x: x.softmax(dim=-1), "any"),
    "softmax_0": (lambda x: ng.softmax(x, 0), "any"),
    "log_softmax_last": (lambda x: x.log_softmax(-1), "any"),
    "log_softmax_1": (lambda x: ng.log_softmax(x, dim=1), "any"),
}


@pytest.mark.parametrize("op", list(REDUCTIONS))
def test_reduction(op: str) -> None:
    fn, kind = REDUCTIONS[op]
    check(fn, [Arg((2, 3, 4), kind)])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.sum(),
        lambda x: x.mean(),
        lambda x: x.max(),
        lambda x: x.amin(),
        lambda x: x.logsumexp(),
        lambda x: x.sum(dim=0),
        lambda x: x.max(dim=0).values,
    ],
)
def test_reduction_of_1d_and_0d(fn: Callable[[Any], Any]) -> None:
    check(fn, [A(5, kind="distinct")])
    check(fn, [A(kind="distinct")])


# ---- shape ops ----------------------------------------------------------------------

SHAPE_OPS: dict[str, tuple[Callable[[Any], Any], tuple[int, ...]]] = {
    "reshape": (lambda x: x.reshape(4, 6), (2, 3, 4)),
    "reshape_tuple_-1": (lambda x: x.reshape((-1, 2)), (2, 3, 4)),
    "reshape_fn": (lambda x: ng.reshape(x, (24,)), (2, 3, 4)),
    "view": (lambda x: x.view(6, 4), (2, 3, 4)),
    "flatten": (lambda x: x.flatten(), (2, 3, 4)),
    "flatten_1": (lambda x: x.flatten(1), (2, 3, 4)),
    "flatten_0_1": (lambda x: ng.flatten(x, 0, 1), (2, 3, 4)),
    "squeeze": (lambda x: x.squeeze(), (2, 1, 3, 1)),
    "squeeze_dim": (lambda x: x.squeeze(1), (2, 1, 3, 1)),
    "unsqueeze": (lambda x: x.unsqueeze(1), (2, 3)),
    "unsqueeze_neg": (lambda x: x.unsqueeze(-1), (2, 3)),
    "permute": (lambda x: x.permute(2, 0, 1), (2, 3, 4)),
    "permute_tuple": (lambda x: ng.permute(x, (1, 2, 0)), (2, 3, 4)),
    "transpose": (lambda x: x.transpose(0, 2), (2, 3, 4)),
    "T": (lambda x: x.T, (2, 3)),
    "mT": (lambda x: x.mT, (2, 3, 4)),
    "expand": (lambda x: x.expand(2, 3, 4), (3, 1)),
    "expand_-1": (lambda x: x.expand(-1, 4), (3, 1)),
    "broadcast_to": (lambda x: x.broadcast_to((2, 3, 4)), (4,)),
    "getitem_int": (lambda x: x[1], (3, 4)),
    "getitem_slice": (lambda x: x[1:, ::2], (3, 4)),
    "getitem_neg_step": (lambda x: x[::-1, 1:3], (3, 4)),
    "getitem_ellipsis_none": (lambda x: x[..., None, 1], (2, 3, 4)),
    "getitem_int_array": (lambda x: x[np.array([2, 0, 2])], (3, 4)),
    "getitem_list": (lambda x: x[[0, 0, 1]], (3, 4)),
    "getitem_tensor_idx": (lambda x: x[ng.tensor([1, 2, 1, 0])], (3, 4)),
    "getitem_two_arrays": (lambda x: x[np.array([0, 2, 2]), np.array([1, 3, 1])], (3, 4)),
    "getitem_mixed": (lambda x: x[1:, np.array([0, 0, 3])], (3, 4)),
    "getitem_bool_mask": (lambda x: x[np.array([[True, False, True, True]] * 3)], (3, 4)),
    "getitem_bool_rows": (lambda x: x[ng.tensor([True, False, True])], (3, 4)),
    "gather_0": (lambda x: x.gather(0, ng.tensor([[0, 2, 1, 0], [2, 2, 0, 1]])), (3, 4)),
    "gather_1": (lambda x: ng.gather(x, 1, np.array([[3, 3], [0, 1], [2, 0]])), (3, 4)),
    "split_int": (lambda x: x.split(2, dim=1), (3, 5)),
    "split_sizes": (lambda x: ng.split(x, [1, 2], dim=0), (3, 5)),
    "chunk": (lambda x: x.chunk(3, dim=1), (3, 5)),
    "pad_last": (lambda x: ng.pad(x, (1, 2)), (2, 3)),
    "pad_two_dims": (lambda x: ng.pad(x, (1, 0, 2, 1), value=0.5), (2, 3)),
    "repeat": (lambda x: x.repeat(2, 3), (2, 3)),
    "repeat_new_dims": (lambda x: ng.repeat(x, 2, 1, 2), (2, 3)),
    "tile": (lambda x: x.tile((2,)), (2, 3)),
    "tile_more": (lambda x: ng.tile(x, (2, 1, 2)), (2, 3)),
    "clone": (lambda x: x.clone(), (2, 3)),
}


@pytest.mark.parametrize("op", list(SHAPE_OPS))
def test_shape_op(op: str) -> None:
    fn, shape = SHAPE_OPS[op]
    # multiply by a fixed non-uniform weight so that a gradient landing in the wrong place shows
    check(lambda x: _weighted(fn(x)), [Arg(shape)])


def _weighted(out: Any) -> Any:
    outs = out if isinstance(out, tuple) else (out,)
    res = []
    for o in outs:
        w = np.arange(1, o.data.size + 1, dtype=np.float64).reshape(o.shape)
        res.append(o * ng.tensor(w))
    return tuple(res) if isinstance(out, tuple) else res[0]


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack(dim: int) -> None:
    check(lambda a, b, c: _weighted(ng.cat([a, b, c], dim=dim)), [A(2, 3), A(2, 3), A(2, 3)])
    check(lambda a, b: _weighted(ng.stack((a, b), dim=dim)), [A(2, 3), A(2, 3)])


def test_cat_different_sizes_and_constant() -> None:
    const = ng.tensor(np.ones((1, 3)))
    check(lambda a, b: _weighted(ng.cat([a, const, b])), [A(2, 3), A(4, 3)])
    check(lambda a: _weighted(ng.stack([a, a * 2, const[0]], dim=1)), [A(3)])


# ---- composites that mix several kinds ------------------------------------------------


def test_mlp_like_composite() -> None:
    def fn(x, w1, b1, w2):
        h = (x @ w1 + b1).tanh()
        return (h @ w2).log_softmax(dim=-1)

    check(fn, [A(4, 3), A(3, 5), A(5), A(5, 2)])


def test_tensor_used_twice_in_one_op() -> None:
    check(lambda x: x * x + x / (x * x + 1), [A(3, 2)])
