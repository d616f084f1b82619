"""detect_anomaly: the first op whose gradient is NaN or inf, named, with the line that created it."""

from __future__ import annotations

import inspect
import threading

import numpy as np
import pytest

import neograd as ng_meta
import neograd.autograd as ng
from neograd import nn
from neograd.autograd import anomaly


def line_of(marker: str) -> int:
    """The line number of the line of this file that contains ``marker``."""
    lines = inspect.getsource(inspect.getmodule(line_of)).splitlines()
    return 1 + next(i for i, line in enumerate(lines) if marker in line and "line_of" not in line)


@pytest.fixture(autouse=True)
def _quiet_numpy():
    with np.errstate(all="ignore"):  # the NaNs and infinities here are on purpose
        yield


def test_off_by_default_and_nothing_recorded() -> None:
    assert not ng.is_anomaly_enabled() and ng.is_anomaly_check_nan_enabled()
    x = ng.tensor([0.0, 1.0], requires_grad=True)
    y = x.sqrt()
    assert "_trace" not in y.grad_fn.__dict__  # free when off: no traceback kept
    y.sum().backward()  # no error: the inf gradient just arrives
    assert np.isinf(x.grad.data[0])


def test_names_the_op_and_the_users_line() -> None:
    x = ng.tensor([0.0, 1.0], requires_grad=True)
    with ng.detect_anomaly():
        y = x * 3
        z = y.sqrt()  # MARK-sqrt
        loss = (z + 1).sum()
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    message = str(info.value)
    assert "<SqrtBackward> returned inf values in its 0th output" in message
    assert f'File "{__file__}", line {line_of("MARK-sqrt")}' in message
    assert "z = y.sqrt()  # MARK-sqrt" in message
    assert not ng.is_anomaly_enabled()


def test_the_first_op_in_backward_order_is_reported() -> None:
    """Backward visits Mul before Log: Mul's gradient for x is log(x) = -inf at 0, reported first."""
    x = ng.tensor([0.0, 2.0], requires_grad=True)
    with (
        ng.detect_anomaly(),
        pytest.raises(RuntimeError, match=r"<MulBackward> returned inf values in its 1th"),
    ):
        (x.log() * x).sum().backward()
    x.grad = None
    with ng.detect_anomaly(), pytest.raises(RuntimeError, match=r"<LogBackward> returned inf"):
        w = ng.tensor([1.0, 1.0], requires_grad=False)
        (x.log() * w).sum().backward()  # Mul's gradient is finite; Log's 1/x is inf at 0


def test_through_nn_modules_points_at_the_callers_line() -> None:
    ng.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    with ng.no_grad():
        model[0].bias.fill_(-100.0)  # ReLU gives 0, where sqrt's gradient is inf
    x = ng.tensor([[1.0, -1.0]])
    with ng.detect_anomaly():
        out = model(x).sqrt()  # MARK-model
        with pytest.raises(RuntimeError) as info:
            out.sum().backward()
    message = str(info.value)
    assert "SqrtBackward" in message
    assert f"line {line_of('MARK-model')}" in message


def test_nan_from_a_custom_function_and_the_op_name() -> None:
    class Bad(ng.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * np.nan

    x = ng.tensor([1.0], requires_grad=True)
    with ng.detect_anomaly():
        y = Bad.apply(x)
        with pytest.raises(RuntimeError, match=r"<BadBackward> returned nan values in its 0th output"):
            y.sum().backward()


def test_create_graph_gradients_are_checked_too() -> None:
    x = ng.tensor([0.0, 4.0], dtype=ng.float64, requires_grad=True)
    with ng.detect_anomaly():
        y = x.sqrt().sum()
        with pytest.raises(RuntimeError, match="SqrtBackward"):
            ng.grad(y, x, create_graph=True)


def test_finite_gradients_pass_and_match_normal_mode() -> None:
    ng.manual_seed(1)
    w = ng.randn(3, 3, requires_grad=True)
    x = ng.randn(4, 3)
    expected = ng.grad((x @ w).tanh().sum(), w)[0].data
    with ng.detect_anomaly():
        got = ng.grad((x @ w).tanh().sum(), w)[0].data
    assert np.array_equal(got, expected)


def test_forward_outside_backward_inside_says_so() -> None:
    x = ng.tensor([0.0], requires_grad=True)
    y = x.sqrt().sum()
    with ng.detect_anomaly(), pytest.raises(RuntimeError, match="run the forward pass inside detect_anomaly"):
        y.backward()


def test_check_nan_false_records_but_does_not_raise() -> None:
    x = ng.tensor([0.0], requires_grad=True)
    with ng.detect_anomaly(check_nan=False):
        assert ng.is_anomaly_enabled() and not ng.is_anomaly_check_nan_enabled()
        y = x.sqrt()
        assert "_trace" in y.grad_fn.__dict__
        y.sum().backward()
    assert np.isinf(x.grad.data[0]) and ng.is_anomaly_check_nan_enabled()


def test_set_detect_anomaly_immediate_and_as_context() -> None:
    ng.set_detect_anomaly(True)
    try:
        assert ng.is_anomaly_enabled()
        with ng.set_detect_anomaly(False):
            assert not ng.is_anomaly_enabled()
        assert ng.is_anomaly_enabled()
    finally:
        ng.set_detect_anomaly(False)
    assert not ng.is_anomaly_enabled() and not anomaly._active


def test_nesting_restores_and_decorator() -> None:
    with ng.detect_anomaly():
        with ng.detect_anomaly(check_nan=False):
            assert not ng.is_anomaly_check_nan_enabled()
        assert ng.is_anomaly_enabled() and ng.is_anomaly_check_nan_enabled()
    assert not ng.is_anomaly_enabled()

    @ng.detect_anomaly()
    def inside() -> bool:
        return ng.is_anomaly_enabled()

    assert inside() and not ng.is_anomaly_enabled()


def test_exception_inside_restores_the_mode() -> None:
    with pytest.raises(KeyError), ng.detect_anomaly():
        raise KeyError("x")
    assert not ng.is_anomaly_enabled() and not anomaly._active


def test_per_thread() -> None:
    """One thread in anomaly mode: another thread neither sees it nor pays for it."""
    inside, go_on = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def debugging() -> None:
        with ng.detect_anomaly():
            inside.set()
            go_on.wait(10)

    def training() -> None:
        inside.wait(10)
        seen["enabled"] = ng.is_anomaly_enabled()
        y = ng.tensor([0.0], requires_grad=True).sqrt()
        seen["recorded"] = "_trace" in y.grad_fn.__dict__
        with np.errstate(all="ignore"):  # per thread as well
            y.sum().backward()  # no error in this thread
        seen["done"] = True
        go_on.set()

    threads = [threading.Thread(target=debugging), threading.Thread(target=training)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == {"enabled": False, "recorded": False, "done": True}
    assert not anomaly._active


def test_exported_like_torch() -> None:
    for name in (
        "detect_anomaly",
        "set_detect_anomaly",
        "is_anomaly_enabled",
        "is_anomaly_check_nan_enabled",
    ):
        assert name in ng.__all__ and getattr(ng_meta, name) is getattr(ng, name)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ng.detect_anomaly(check_nan="yes"),
        lambda: ng.set_detect_anomaly(1),
        lambda: ng.set_detect_anomaly(True, 0),
    ],
)
def test_bad_arguments(call) -> None:
    with pytest.raises(TypeError, match="must be a bool"):
        call()
    assert not ng.is_anomaly_enabled()
