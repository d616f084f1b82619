"""The original README's autograd snippet, and the promises around it."""

import numpy as np

from neograd.autograd import tensor


def test_seed_snippet_gradients():
    a = tensor(3, requires_grad=True)
    b = tensor([1, 2, 3], requires_grad=True)
    c = a + b
    c.backward([1, 1, 1])
    # a was broadcast to b's shape, so its gradient is the sum of the three ones
    assert a.grad.shape == ()
    assert a.grad.item() == 3
    np.testing.assert_array_equal(b.grad.numpy(), [1, 1, 1])


def test_integer_data_that_requires_grad_becomes_float32():
    a = tensor(3, requires_grad=True)
    b = tensor([1, 2, 3], requires_grad=True)
    assert a.dtype == np.float32 and b.dtype == np.float32
    assert tensor([1, 2, 3]).dtype == np.int64
    assert tensor([1.0, 2.0]).dtype == np.float32
    assert tensor(np.zeros(2)).dtype == np.float64
