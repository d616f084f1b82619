"""grad_check: the original project's whole-model gradient check, built on gradcheck."""

import numpy as np
import pytest

import neograd.nn as nn
from neograd.autograd import Function, GradcheckError, get_rng_state, manual_seed, randn, tensor
from neograd.nn import Module, Parameter
from neograd.nn.utils import grad_check


class WrongSquare(Function):
    """x^2 with a wrong derivative (3x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x


class Inner(Module):
    def __init__(self, broken):
        super().__init__()
        self.scale = Parameter(np.array([0.7, -1.3]))
        self.broken = broken

    def forward(self, h):
        return WrongSquare.apply(h * self.scale) if self.broken else (h * self.scale) ** 2


class Net(Module):
    def __init__(self, broken=False, noisy=False):
        super().__init__()
        rng = np.random.default_rng(0)
        self.weight = Parameter(rng.standard_normal((3, 2)))
        self.bias = Parameter(rng.standard_normal(2))
        self.inner = Inner(broken)
        self.noisy = noisy
        self.register_buffer("calls", tensor(np.zeros(1)))

    def forward(self, x):
        self.calls.data += 1  # a buffer that forward changes, as BatchNorm's running statistics
        h = (x @ self.weight + self.bias).tanh()
        if self.noisy:  # dropout-like randomness from neograd's generator
            h = h * (randn(*h.shape, dtype=np.float64) > 0)
        return self.inner(h)


def mse(outputs, targets):
    return ((outputs - targets) ** 2).mean()


X = tensor(np.random.default_rng(1).standard_normal((4, 3)))
Y = tensor(np.random.default_rng(2).standard_normal((4, 2)))


def test_a_correct_model_passes_and_is_left_as_it_was():
    model = Net()
    before = {k: v.data.copy() for k, v in model.state_dict().items()}
    manual_seed(3)
    rng_before = get_rng_state()
    assert grad_check(model, X, Y, mse) is True
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])
    assert get_rng_state() == rng_before
    assert all(p.grad is None for p in model.parameters())


def test_a_wrong_backward_is_caught_and_the_parameter_named():
    with pytest.raises(GradcheckError, match=r"parameter 'inner\.scale'") as info:
        grad_check(Net(broken=True), X, Y, mse)
    assert "at element (" in str(info.value) and "numerical" in str(info.value)


def test_randomness_is_the_same_in_every_evaluation():
    manual_seed(0)
    assert grad_check(Net(noisy=True), X, Y, mse)


def test_frozen_parameters_are_skipped_and_a_frozen_model_is_an_error():
    model = Net(broken=True)
    model.inner.scale.requires_grad_(False)
    # WrongSquare's wrong derivative also reaches weight and bias through h: still caught
    with pytest.raises(GradcheckError, match=r"parameter '(weight|bias)'"):
        grad_check(model, X, Y, mse)
    model.freeze()
    with pytest.raises(ValueError, match="no parameter that requires grad"):
        grad_check(model, X, Y, mse)


def test_real_layers_in_training_mode():
    manual_seed(0)
    model = nn.Sequential(
        nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Dropout(0.5), nn.Linear(4, 2)
    ).double()
    before = {k: v.data.copy() for k, v in model.state_dict().items()}
    assert grad_check(model, X, Y, nn.MSELoss())
    for k, v in model.state_dict().items():  # running statistics and the batch count restored
        np.testing.assert_array_equal(v.data, before[k])
