"""Bad input to every public function of neograd.autograd: a clear error, or torch's behaviour.

The categories: arguments of the wrong type, wrong shapes, wrong dtypes, empty tensors,
0-d tensors, NaN and infinity. A clear error is a TypeError, ValueError, IndexError or
RuntimeError whose message names the function, raised by neograd itself (never an
AttributeError, nor an exception escaping from inside NumPy).
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import neograd.autograd as ng

CLEAR = (TypeError, ValueError, IndexError, RuntimeError)


def assert_clear_error(call: Callable[[], Any], name: str, kinds: tuple[type, ...] = CLEAR) -> BaseException:
    """``call`` raises one of ``kinds``, from neograd's own code, with ``name`` in the message."""
    with pytest.raises(BaseException) as info:
        call()
    error = info.value
    assert isinstance(error, kinds), f"{name}: {type(error).__name__}: {error}"
    assert name in str(error), f"the message does not name {name!r}: {error}"
    innermost = traceback.extract_tb(error.__traceback__)[-1].filename
    assert "/numpy/" not in innermost, f"{name}: raised inside NumPy ({innermost}): {error}"
    return error


# ---- arguments that are not tensors ---------------------------------------------------------------
T = ng.ones(2, 2)
TENSOR_FIRST: dict[str, Callable[[Any], Any]] = {
    # unary elementwise
    **{n: getattr(ng, n) for n in "neg abs exp log log1p sqrt square sin cos tanh sigmoid relu sign".split()},
    **{n: getattr(ng, n) for n in "clone logical_not isnan isinf isfinite".split()},
    "negative": ng.negative,
    "to_dtype": lambda x: ng.to_dtype(x, ng.float64),
    "to_device": lambda x: ng.to_device(x, "cpu"),
    "clamp": lambda x: ng.clamp(x, 0, 1),
    "clip": lambda x: ng.clip(x, 0, 1),
    "masked_fill": lambda x: ng.masked_fill(x, ng.tensor([True, False]), 0.0),
    # reductions
    **{n: getattr(ng, n) for n in "sum mean var std max min amax amin argmax argmin".split()},
    "logsumexp": lambda x: ng.logsumexp(x, 0),
    "softmax": lambda x: ng.softmax(x, 0),
    "log_softmax": lambda x: ng.log_softmax(x, 0),
    # shapes
    "reshape": lambda x: ng.reshape(x, (4,)),
    "view": lambda x: ng.view(x, (4,)),
    "flatten": ng.flatten,
    "squeeze": ng.squeeze,
    "unsqueeze": lambda x: ng.unsqueeze(x, 0),
    "permute": lambda x: ng.permute(x, (1, 0)),
    "transpose": lambda x: ng.transpose(x, 0, 1),
    "swapaxes": lambda x: ng.swapaxes(x, 0, 1),
    "expand": lambda x: ng.expand(x, (2, 2)),
    "broadcast_to": lambda x: ng.broadcast_to(x, (2, 2)),
    "getitem": lambda x: ng.getitem(x, 0),
    "gather": lambda x: ng.gather(x, 0, ng.tensor([[0, 0]])),
    "split": lambda x: ng.split(x, 1),
    "chunk": lambda x: ng.chunk(x, 2),
    "pad": lambda x: ng.pad(x, (1, 1)),
    "repeat": lambda x: ng.repeat(x, 2, 2),
    "tile": lambda x: ng.tile(x, (2,)),
    # linear algebra
    "mm": lambda x: ng.mm(x, T),
    "bmm": lambda x: ng.bmm(x, T),
    "dot": lambda x: ng.dot(x, ng.ones(2)),
    # creation from a tensor
    **{n: getattr(ng, n) for n in "zeros_like ones_like empty_like rand_like randn_like".split()},
    "full_like": lambda x: ng.full_like(x, 1.0),
    "to_dot": ng.to_dot,
    # sequence ops
    "einsum": lambda x: ng.einsum("ij->ji", x),
    "cumsum": lambda x: ng.cumsum(x, 0),
    "cumprod": lambda x: ng.cumprod(x, 0),
    "sort": ng.sort,
    "argsort": ng.argsort,
    "topk": lambda x: ng.topk(x, 1),
    "tril": ng.tril,
    "triu": ng.triu,
    "flip": lambda x: ng.flip(x, 0),
    "roll": lambda x: ng.roll(x, 1),
    "scatter": lambda x: ng.scatter(x, 0, ng.tensor([[0, 0]]), 1.0),
    "scatter_add": lambda x: ng.scatter_add(x, 0, ng.tensor([[0, 0]]), T),
    "index_add": lambda x: ng.index_add(x, 0, ng.tensor([0]), ng.ones(1, 2)),
    "index_select": lambda x: ng.index_select(x, 0, ng.tensor([0])),
    "outer": lambda x: ng.outer(x, ng.ones(2)),
    "baddbmm": lambda x: ng.baddbmm(x, ng.ones(1, 2, 2), ng.ones(1, 2, 2)),
    "multinomial": lambda x: ng.multinomial(x, 1),
    "randint_like": lambda x: ng.randint_like(x, 5),
}
NOT_TENSORS = ["abc", None, [1.0, 2.0], 3.0, object()]


@pytest.mark.parametrize("name", sorted(TENSOR_FIRST))
@pytest.mark.parametrize("bad", NOT_TENSORS, ids=lambda b: type(b).__name__)
def test_a_non_tensor_input_is_a_type_error_naming_the_op(name: str, bad: Any) -> None:
    message_name = {"negative": "neg", "view": "reshape", "swapaxes": "transpose", "clip": "clamp"}.get(
        name, name
    )
    if name.endswith("_like"):
        message_name = "Tensor"
    assert_clear_error(lambda: TENSOR_FIRST[name](bad), message_name, (TypeError,))


BINARY = {n: getattr(ng, n) for n in "add sub mul div pow maximum minimum matmul".split()}
COMPARISONS = {n: getattr(ng, n) for n in "eq ne lt le gt ge logical_and logical_or".split()}


@pytest.mark.parametrize("name", sorted(BINARY) + sorted(COMPARISONS))
@pytest.mark.parametrize("bad", ["abc", None, object()], ids=lambda b: type(b).__name__)
def test_binary_ops_refuse_operands_that_are_not_numbers(name: str, bad: Any) -> None:
    fn = {**BINARY, **COMPARISONS}[name]
    with pytest.raises(TypeError) as info:
        fn(T, bad)
    assert "tensor operation" in str(info.value) or name in str(info.value)


def test_bitwise_operators_follow_torch() -> None:
    """~, & and |: logical on bools, bitwise on integers, refused on floats (they were logical on all)."""
    b = ng.tensor([True, False])
    i = ng.tensor([5, 6])
    assert (~b).data.tolist() == [False, True] and (b & ng.tensor([True, True])).data.tolist() == [
        True,
        False,
    ]
    assert (
        (~i).data.tolist() == [-6, -7] and (i & 4).data.tolist() == [4, 4] and (i | 1).data.tolist() == [5, 7]
    )
    for op in (lambda: ~ng.ones(2), lambda: ng.ones(2) & ng.ones(2), lambda: ng.ones(2) | True):
        assert_clear_error(op, "needs bool or integer tensors", (TypeError,))


# ---- wrong shapes -------------------------------------------------------------------------------------
SHAPE_ERRORS = [
    ("add", lambda: ng.ones(2, 3) + ng.ones(4)),
    ("add", lambda: ng.ones(2, 2) + [1.0, 2.0, 3.0]),  # a list operand's shape is named too
    ("mul", lambda: ng.mul(ng.ones(3), ng.ones(2, 2))),
    ("matmul", lambda: ng.ones(2, 3) @ ng.ones(2, 3)),
    ("mm", lambda: ng.mm(ng.ones(3), ng.ones(3))),
    ("bmm", lambda: ng.bmm(ng.ones(2, 2), ng.ones(2, 2))),
    ("dot", lambda: ng.dot(ng.ones(2), ng.ones(3))),
    ("reshape", lambda: ng.ones(2, 2).reshape(3)),
    ("reshape", lambda: ng.ones(2, 2).reshape(-1, -1)),
    ("permute", lambda: ng.ones(2, 2).permute(0, 0)),
    ("expand", lambda: ng.ones(2).expand(3, 3)),
    ("cat", lambda: ng.cat([ng.ones(2, 2), ng.ones(3, 3)])),
    ("cat", lambda: ng.cat([ng.tensor(1.0), ng.tensor(2.0)])),  # 0-d tensors
    ("cat", lambda: ng.cat([])),
    ("stack", lambda: ng.stack([ng.ones(2), ng.ones(3)])),
    ("split", lambda: ng.split(ng.ones(4), [1, 2])),
    ("getitem", lambda: ng.ones(3)[5]),
    ("getitem", lambda: ng.ones(3)[0, 0]),
    ("getitem", lambda: ng.ones(3)[ng.tensor([True, False])]),
    ("gather", lambda: ng.gather(ng.ones(2, 2), 1, ng.tensor([[5, 0], [0, 0]]))),  # was: named getitem
    ("gather", lambda: ng.gather(ng.ones(2, 2), 1, ng.tensor([[-1, 0], [0, 0]]))),  # was: wrapped around
    ("pad", lambda: ng.pad(ng.ones(2), (1,))),
    ("sum", lambda: ng.ones(2, 2).sum(dim=2)),
    ("sum", lambda: ng.ones(2, 2).sum(dim=(0, 0))),
    ("transpose", lambda: ng.ones(2, 2).transpose(0, 5)),
    ("softmax", lambda: ng.softmax(ng.ones(2), dim=3)),
    ("argmax", lambda: ng.ones(2).argmax(dim=-3)),
    ("sum_to", lambda: ng.sum_to(ng.ones(2, 2), (3,))),
    ("backward", lambda: ng.backward(ng.ones(2, requires_grad=True).sum(), ng.ones(3))),
    ("backward", lambda: ng.ones(2, requires_grad=True).backward()),
    ("item", lambda: ng.ones(2).item()),
    ("bool", lambda: bool(ng.ones(2))),
]


@pytest.mark.parametrize(
    ("name", "call"), SHAPE_ERRORS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SHAPE_ERRORS)]
)
def test_wrong_shapes_name_the_op(name: str, call: Callable[[], Any]) -> None:
    assert_clear_error(call, name)


# ---- wrong dtypes ------------------------------------------------------------------------------------
DTYPE_ERRORS = [
    ("tensor", lambda: ng.tensor([1, 2], dtype=ng.int64, requires_grad=True)),
    ("tensor", lambda: ng.tensor("abc")),
    ("tensor", lambda: ng.tensor([1, [2]])),
    ("requires_grad_", lambda: ng.tensor([1, 2]).requires_grad_()),
    ("mean", lambda: ng.tensor([1, 2]).mean()),
    ("var", lambda: ng.tensor([1, 2]).var()),
    ("gather", lambda: ng.gather(ng.ones(2, 2), 1, ng.tensor([[0.5, 0.0]]))),
    ("where", lambda: ng.where(ng.ones(2), ng.ones(2), ng.ones(2))),
    ("rand", lambda: ng.rand(2, dtype=ng.int64)),  # was: silently int zeros
    ("randn", lambda: ng.randn(2, dtype=ng.int32)),
    ("zeros", lambda: ng.zeros(2, requires_grad=True, dtype=ng.int64)),
    ("set_default_dtype", lambda: ng.set_default_dtype(ng.int64)),
    ("dtype", lambda: ng.ones(2).to("complex64")),
    ("numpy", lambda: ng.ones(2, requires_grad=True).numpy()),
]


@pytest.mark.parametrize(
    ("name", "call"), DTYPE_ERRORS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(DTYPE_ERRORS)]
)
def test_wrong_dtypes_are_refused(name: str, call: Callable[[], Any]) -> None:
    assert_clear_error(call, name)


# ---- bad values of other arguments --------------------------------------------------------------------
VALUE_ERRORS = [
    ("compile", lambda: ng.compile(5)),
    ("zeros", lambda: ng.zeros(-1)),
    ("zeros", lambda: ng.zeros(2.5)),
    ("full", lambda: ng.full((2,), "a")),
    ("arange", lambda: ng.arange(0, 10, 0)),
    ("arange", lambda: ng.arange("a")),  # was: NumPy's message
    ("linspace", lambda: ng.linspace(0, 1, -1)),
    ("eye", lambda: ng.eye(-1)),  # was: NumPy's "negative dimensions are not allowed"
    ("eye", lambda: ng.eye(2.5)),
    ("randint", lambda: ng.randint(5, 2, (3,))),
    ("randperm", lambda: ng.randperm(-1)),  # was: an empty permutation
    ("device", lambda: ng.zeros(2, device="gpu")),
    ("device", lambda: ng.ones(2).to(device=1.5)),
    ("manual_seed", lambda: ng.manual_seed(-1)),
    (
        "set_rng_state",
        lambda: ng.set_rng_state({"bit_generator": "PCG64", "state": "x"}),
    ),  # was: raw TypeError
    ("set_rng_state", lambda: ng.set_rng_state({"bit_generator": "PCG64"})),  # was: raw KeyError
    (
        "gradcheck",
        lambda: ng.gradcheck("not a function", (ng.ones(1, dtype=ng.float64, requires_grad=True),)),
    ),
    ("gradcheck", lambda: ng.gradcheck(lambda x: x, (1.0,))),
    ("grad", lambda: ng.grad(ng.ones(1, requires_grad=True).sum(), [1.0])),
    ("clamp", lambda: ng.clamp(ng.ones(2))),
    ("chunk", lambda: ng.chunk(ng.ones(2), 0)),
    ("split", lambda: ng.split(ng.ones(2), 0)),
    ("repeat", lambda: ng.ones(2).repeat(-1)),
    ("sum", lambda: ng.ones(2).sum(axis=0, dim=0)),
    ("as_dtype", lambda: ng.as_dtype("int7")),
]


@pytest.mark.parametrize(
    ("name", "call"), VALUE_ERRORS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VALUE_ERRORS)]
)
def test_bad_argument_values_are_refused(name: str, call: Callable[[], Any]) -> None:
    assert_clear_error(call, "dtype" if name == "as_dtype" else name)


def test_a_refused_rng_state_leaves_the_generator_alone() -> None:
    ng.manual_seed(3)
    before = ng.get_rng_state()
    with pytest.raises(ValueError):
        ng.set_rng_state({"bit_generator": "PCG64", "state": {"state": "x", "inc": 1}, "has_uint32": 0})
    assert ng.get_rng_state() == before


# ---- empty and 0-d tensors -----------------------------------------------------------------------------
def test_reductions_of_empty_tensors_follow_torch() -> None:
    empty, empty2 = ng.zeros(0, requires_grad=True), ng.zeros(2, 0, requires_grad=True)
    assert ng.sum(empty).item() == 0.0
    assert ng.logsumexp(empty, 0).item() == -np.inf  # was: NumPy's "zero-size array to reduction"
    lse = ng.logsumexp(empty2, 1)
    assert lse.shape == (2,) and np.all(lse.data == -np.inf)
    lse.sum().backward()
    assert empty2.grad.shape == (2, 0)
    for fn in (ng.softmax, ng.log_softmax):  # was: NumPy's error
        out = fn(empty2, dim=1)
        assert out.shape == (2, 0)
    with np.errstate(invalid="ignore"):
        assert np.isnan(ng.mean(empty).item())
    assert_clear_error(
        lambda: ng.argmax(empty), "argmax"
    )  # was: NumPy's "attempt to get argmax of an empty sequence"
    assert_clear_error(lambda: ng.argmin(empty2, dim=1), "argmin")
    assert_clear_error(lambda: ng.max(empty), "amax")
    assert_clear_error(lambda: ng.max(empty2, dim=1), "max")
    assert ng.max(empty2, dim=0).values.shape == (0,)  # reducing a non-empty dim of an empty tensor is fine


UNARY = "neg abs exp log1p sqrt square sin cos tanh sigmoid relu sign".split()


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("shape", [(0,), (2, 0), ()], ids=["empty", "empty2d", "0-d"])
def test_unary_ops_on_empty_and_0d_tensors(name: str, shape: tuple[int, ...]) -> None:
    x = (
        ng.full(shape, 0.5, dtype=ng.float64, requires_grad=True)
        if shape == ()
        else ng.zeros(*shape, requires_grad=True)
    )
    y = getattr(ng, name)(x)
    assert y.shape == shape and y.dtype == x.dtype
    y.sum().backward()
    assert x.grad.shape == shape


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.sum(0),
        lambda x: x.mean(),
        lambda x: x.max(),
        lambda x: x.reshape(1, 1),
        lambda x: x.unsqueeze(0),
        lambda x: x.squeeze(),
        lambda x: x.expand(3),
        lambda x: x.flatten(),
        lambda x: ng.softmax(x, 0),
        lambda x: ng.logsumexp(x, 0),
        lambda x: ng.stack([x, x]),
        lambda x: x * x,
        lambda x: x @ x if x.ndim else x * 2,
    ],
)
def test_0d_tensors_work_and_backpropagate(call: Callable[[Any], Any]) -> None:
    x = ng.tensor(1.5, dtype=ng.float64, requires_grad=True)
    out = call(x)
    out.sum().backward()
    assert x.grad is not None and x.grad.shape == () and np.isfinite(x.grad.item())


def test_var_with_correction_beyond_the_count_is_inf_not_negative() -> None:
    x = ng.tensor([[1.0, 2.0], [3.0, 4.0]])
    with np.errstate(divide="ignore"):
        assert ng.var(x, correction=5).item() == np.inf  # was: -5.0, a negative variance
        assert ng.std(x, correction=4).item() == np.inf
    assert ng.var(x, correction=3).item() == pytest.approx(5.0)  # N - 3 = 1: the sum of squares


# ---- NaN and infinity: propagated, never an exception ---------------------------------------------------
@pytest.mark.parametrize("name", UNARY + ["log"])
def test_nan_and_inf_propagate_through_unary_ops(name: str) -> None:
    x = ng.tensor([np.nan, np.inf, -np.inf, 0.0], dtype=ng.float64, requires_grad=True)
    with np.errstate(all="ignore"):
        y = getattr(ng, name)(x)
        y.sum().backward()
        # NaN in, NaN out, as in torch; except sign, whose sign(nan) is 0 in torch (NumPy's is nan)
        assert y.data[0] == 0 if name == "sign" else np.isnan(y.data[0])
    assert y.shape == x.shape and x.grad.shape == x.shape


def test_every_public_function_is_exercised_here() -> None:
    """Walk ng.__all__: every public function is in a table above, or listed here as needing none."""
    covered = (
        set(TENSOR_FIRST)
        | set(BINARY)
        | set(COMPARISONS)
        | {n for n, _ in SHAPE_ERRORS + DTYPE_ERRORS + VALUE_ERRORS}
    )
    covered |= {
        "subtract",
        "multiply",
        "divide",
        "true_divide",
        "concatenate",
        "ones",
        "empty",
        "rand",
        "randn",
    }
    covered |= {"where", "log"}  # where: DTYPE_ERRORS; log: the NaN test
    no_arguments = {"seed", "get_rng_state", "is_grad_enabled", "get_default_dtype", "is_anomaly_enabled"}
    no_arguments |= {"is_anomaly_check_nan_enabled", "from_numpy", "draw"}  # from_numpy/draw: below
    classes = {
        "Tensor",
        "Function",
        "GradcheckError",
        "no_grad",
        "enable_grad",
        "set_grad_enabled",
        "no_track",
    }
    classes |= {"detect_anomaly", "set_detect_anomaly"}  # tested in test_anomaly.py
    public = {
        name
        for name in ng.__all__
        if callable(getattr(ng, name))
        and not isinstance(getattr(ng, name), (np.dtype, type(np.float32)))
        and not (inspect.isclass(getattr(ng, name)) and issubclass(getattr(ng, name), np.generic))
    }
    public.discard("default_generator")
    missing = sorted(public - covered - no_arguments - classes)
    assert not missing, f"public functions without a bad-input test: {missing}"


def test_from_numpy_and_draw_refuse_the_wrong_types(tmp_path: Any) -> None:
    assert_clear_error(lambda: ng.from_numpy([1, 2]), "from_numpy", (TypeError,))
    assert_clear_error(lambda: ng.from_numpy(np.array(["a"])), "from_numpy", (TypeError,))
    assert_clear_error(lambda: ng.draw("abc", tmp_path / "g"), "Tensor", (TypeError,))
