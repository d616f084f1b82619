"""neograd.nn.init: the distributions and gains of torch.nn.init, filled in place under no_grad."""

import math

import numpy as np
import pytest

from neograd.autograd import empty, manual_seed, tensor
from neograd.nn import Parameter, init


def param(*shape, dtype=np.float64):
    return Parameter(empty(*shape, dtype=dtype))


@pytest.mark.parametrize(
    "name, param_, gain",
    [
        ("linear", None, 1.0),
        ("conv2d", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5 / 3),
        ("relu", None, math.sqrt(2)),
        ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
        ("leaky_relu", 0.2, math.sqrt(2 / 1.04)),
        ("selu", None, 0.75),
    ],
)
def test_calculate_gain(name, param_, gain):
    assert init.calculate_gain(name, param_) == pytest.approx(gain)


def test_calculate_gain_rejects_unknown_names():
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_fills_happen_in_place_on_parameters_and_return_them():
    p = param(3, 4)
    assert init.constant_(p, 0.5) is p and (p.data == 0.5).all()
    assert init.zeros_(p) is p and not p.data.any()
    assert init.ones_(p) is p and (p.data == 1).all()
    assert p.requires_grad and p.is_leaf and p.grad is None


def test_uniform_and_normal_statistics():
    manual_seed(0)
    p = param(200, 500)
    init.uniform_(p, -2.0, 3.0)
    assert p.data.min() >= -2.0 and p.data.max() < 3.0
    assert p.data.mean() == pytest.approx(0.5, abs=0.02)
    init.normal_(p, mean=1.0, std=0.5)
    assert p.data.mean() == pytest.approx(1.0, abs=0.005)
    assert p.data.std() == pytest.approx(0.5, rel=0.01)


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_xavier_scales(shape):
    fan_in = shape[1] * math.prod(shape[2:])
    fan_out = shape[0] * math.prod(shape[2:])
    std = 1.5 * math.sqrt(2 / (fan_in + fan_out))
    p = param(*shape)
    init.xavier_normal_(p, gain=1.5)
    assert p.data.std() == pytest.approx(std, rel=0.03)
    init.xavier_uniform_(p, gain=1.5)
    assert np.abs(p.data).max() <= math.sqrt(3) * std
    assert p.data.std() == pytest.approx(std, rel=0.03)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming_scales(mode):
    p = param(300, 100)
    fan = 100 if mode == "fan_in" else 300
    init.kaiming_normal_(p, mode=mode, nonlinearity="relu")
    assert p.data.std() == pytest.approx(math.sqrt(2 / fan), rel=0.03)
    init.kaiming_uniform_(p, a=math.sqrt(5), mode=mode)  # torch's default Linear weight
    bound = math.sqrt(6 / ((1 + 5) * fan))
    assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.95 * bound


def test_kaiming_and_xavier_need_two_dims_and_a_valid_mode():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_normal_(param(5))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(param(5))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(param(2, 2), mode="fan_avg")


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 2, 3)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    p = param(*shape)
    init.orthogonal_(p, gain=2.0)
    m = p.data.reshape(shape[0], -1) / 2.0
    small = min(m.shape)
    gram = m @ m.T if m.shape[0] == small else m.T @ m
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


def test_orthogonal_needs_two_dims():
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(param(3))


def test_initialisation_uses_neograds_generator_or_the_one_given():
    p, q = param(4, 4), param(4, 4)
    manual_seed(7)
    init.kaiming_uniform_(p)
    manual_seed(7)
    init.kaiming_uniform_(q)
    np.testing.assert_array_equal(p.data, q.data)
    g1, g2 = np.random.default_rng(1), np.random.default_rng(1)
    np.testing.assert_array_equal(init.normal_(p, generator=g1).data, init.normal_(q, generator=g2).data)


def test_float32_parameters_stay_float32():
    p = param(3, 3, dtype=np.float32)
    init.xavier_normal_(p)
    assert p.dtype == np.float32


def test_init_refuses_non_tensors():
    with pytest.raises(TypeError, match="expected a Tensor"):
        init.zeros_(np.zeros(3))


def test_a_plain_tensor_can_be_filled_too():
    x = tensor([1.0, 2.0])
    init.constant_(x, 3.0)
    np.testing.assert_array_equal(x.data, [3.0, 3.0])
