"""functional.pad: constant, reflect, replicate and circular modes, values and gradients."""

import numpy as np
import pytest

import neograd.nn.functional as F  # noqa: N812
from neograd.autograd import gradcheck, tensor

RNG = np.random.default_rng(0)
NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(1, 2), (2, 0, 1, 1)])
def test_modes_match_numpy_pad_and_gradients_add_up_copies(mode, pad):
    x = RNG.standard_normal((2, 3, 4))
    widths = [(0, 0)] * (3 - len(pad) // 2) + [(pad[i], pad[i + 1]) for i in range(0, len(pad), 2)][::-1]
    out = F.pad(tensor(x), pad, mode=mode)
    np.testing.assert_array_equal(out.data, np.pad(x, widths, mode=NUMPY_MODE[mode]))
    assert gradcheck(lambda v: F.pad(v, pad, mode=mode), (tensor(x, requires_grad=True),))


def test_constant_mode_with_a_value():
    out = F.pad(tensor([[1.0, 2.0]]), (1, 1), value=9.0)
    np.testing.assert_array_equal(out.data, [[9.0, 1.0, 2.0, 9.0]])


def test_reflect_needs_a_pad_smaller_than_the_dim():
    with pytest.raises(ValueError, match="reflect padding of \\(3, 0\\) is invalid for dim 1 of size 3"):
        F.pad(tensor(np.zeros((1, 3))), (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="doesn't take in value"):
        F.pad(tensor(np.zeros((1, 3))), (1, 0), mode="replicate", value=1.0)
    with pytest.raises(NotImplementedError, match="mode"):
        F.pad(tensor(np.zeros((1, 3))), (1, 0), mode="symmetric")
