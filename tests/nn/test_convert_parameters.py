"""parameters_to_vector and vector_to_parameters."""

import numpy as np
import pytest

from neograd.autograd import arange, tensor
from neograd.nn import Parameter
from neograd.nn.utils import parameters_to_vector, vector_to_parameters


def make_params():
    return [
        Parameter(np.arange(6, dtype=np.float64).reshape(2, 3)),
        Parameter(np.array([10.0, 11.0])),
        Parameter(np.array(12.0)),
    ]


def test_parameters_to_vector_flattens_in_order():
    vec = parameters_to_vector(make_params())
    assert vec.shape == (9,)
    np.testing.assert_array_equal(vec.data, np.arange(13)[[0, 1, 2, 3, 4, 5, 10, 11, 12]])


def test_gradients_flow_back_through_the_vector():
    params = make_params()
    weights = np.arange(9.0) + 1
    (parameters_to_vector(params) * tensor(weights)).sum().backward()
    np.testing.assert_array_equal(params[0].grad.data, weights[:6].reshape(2, 3))
    np.testing.assert_array_equal(params[1].grad.data, weights[6:8])
    assert params[2].grad.shape == () and params[2].grad.item() == 9.0


def test_vector_to_parameters_is_the_inverse():
    params = make_params()
    vec = arange(9, dtype=np.float64) * 2
    vector_to_parameters(vec, iter(params))
    np.testing.assert_array_equal(params[0].data, [[0, 2, 4], [6, 8, 10]])
    np.testing.assert_array_equal(params[1].data, [12, 14])
    assert params[2].shape == () and params[2].item() == 16
    np.testing.assert_array_equal(parameters_to_vector(params).data, vec.data)
    vec.data[:] = -1  # the parameters hold copies, not views of vec
    assert params[0].data[0, 1] == 2


def test_vector_to_parameters_keeps_each_parameters_dtype():
    p = Parameter(np.zeros(3, np.float32))
    vector_to_parameters(tensor(np.array([1.5, 2.5, 3.5])), [p])
    assert p.dtype == np.float32
    np.testing.assert_array_equal(p.data, [1.5, 2.5, 3.5])


def test_wrong_sizes_change_nothing():
    params = make_params()
    before = [p.data.copy() for p in params]
    for bad in (
        arange(8, dtype=np.float64),
        arange(10, dtype=np.float64),
        arange(9, dtype=np.float64).reshape(3, 3),
    ):
        with pytest.raises(ValueError, match="9 elements"):
            vector_to_parameters(bad, params)
    with pytest.raises(TypeError, match="expected a Tensor"):
        vector_to_parameters(np.arange(9.0), params)
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.data, b)
    with pytest.raises(ValueError, match="no parameters"):
        parameters_to_vector([])
