"""clip_grad_norm_ and clip_grad_value_: values computed here with NumPy from the definitions."""

import numpy as np
import pytest

from neograd.autograd import tensor
from neograd.nn import Parameter
from neograd.nn.utils import clip_grad_norm_, clip_grad_value_


def params_with_grads(*grads, dtype=np.float32):
    params = []
    for g in grads:
        p = Parameter(np.zeros(np.shape(g), dtype))
        p.grad = tensor(np.asarray(g, dtype))
        params.append(p)
    return params


GRADS = ([[3.0, -4.0], [0.5, 1.0]], [12.0, -0.25, 2.0])


def joint_norm(grads, p):
    flat = np.concatenate([np.ravel(g) for g in grads]).astype(np.float64)
    if p == np.inf:
        return np.abs(flat).max()
    return (np.abs(flat) ** p).sum() ** (1 / p)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, np.inf, "inf"])
def test_clip_grad_norm_scales_all_gradients_together(norm_type):
    params = params_with_grads(*GRADS)
    p = float(norm_type)
    expected_total = joint_norm(GRADS, p)
    total = clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type)
    assert total.shape == () and total.dtype == np.float32
    np.testing.assert_allclose(total.item(), expected_total, rtol=1e-6)
    scale = 1.0 / (expected_total + 1e-6)
    for param, g in zip(params, GRADS):
        np.testing.assert_allclose(param.grad.data, np.asarray(g) * scale, rtol=1e-6)
    np.testing.assert_allclose(joint_norm([q.grad.data for q in params], p), 1.0, rtol=1e-5)


def test_small_gradients_are_left_alone():
    params = params_with_grads(*GRADS, dtype=np.float64)
    total = clip_grad_norm_(params, max_norm=100.0)
    assert total.dtype == np.float64
    for param, g in zip(params, GRADS):
        np.testing.assert_array_equal(param.grad.data, g)


def test_parameters_without_grad_a_single_tensor_and_a_generator():
    a, b = params_with_grads([3.0, 4.0], [1.0])
    c = Parameter(np.ones(2, np.float32))  # no grad: skipped
    clip_grad_norm_(iter([a, c, b]), 1.0)
    np.testing.assert_allclose(a.grad.data, np.array([3.0, 4.0]) / (np.sqrt(26) + 1e-6), rtol=1e-6)
    assert c.grad is None
    (d,) = params_with_grads([6.0, 8.0])
    assert clip_grad_norm_(d, 5.0).item() == pytest.approx(10.0)
    np.testing.assert_allclose(d.grad.data, [3.0, 4.0], rtol=1e-6)


def test_no_gradients_gives_a_zero_norm():
    total = clip_grad_norm_([Parameter(np.ones(2, np.float32))], 1.0)
    assert total.item() == 0.0 and total.dtype == np.float32


def test_a_non_finite_norm():
    params = params_with_grads([np.inf, 1.0], [2.0])
    before = [p.grad.data.copy() for p in params]
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    for p, g in zip(params, before):
        np.testing.assert_array_equal(p.grad.data, g)
    # without the flag the gradients are scaled by the non-finite norm, as torch does
    total = clip_grad_norm_(params, 1.0)
    assert np.isinf(total.item())
    assert np.isnan(params[0].grad.data[0]) and params[0].grad.data[1] == 0 and params[1].grad.data[0] == 0


def test_bad_max_norm():
    params = params_with_grads([1.0])
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="max_norm"):
            clip_grad_norm_(params, bad)
    assert params[0].grad.item() == 1.0


def test_clip_grad_value_clamps_each_element():
    params = params_with_grads([[3.0, -4.0], [0.5, 1.0]], [-0.2])
    assert clip_grad_value_(params, 0.75) is None
    np.testing.assert_array_equal(params[0].grad.data, [[0.75, -0.75], [0.5, 0.75]])
    np.testing.assert_allclose(params[1].grad.data, [-0.2])
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(params, -1)
