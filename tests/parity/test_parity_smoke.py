import numpy as np


def test_mul_add_broadcast(parity):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 1, 4)), rng.standard_normal((5, 4))
    parity(lambda x, y: (x * y + x).tanh(), lambda x, y: (x * y + x).tanh(), [a, b])
