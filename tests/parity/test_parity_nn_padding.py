"""functional.pad against torch, every mode, values and gradients."""

import numpy as np
import pytest
import torch

import neograd.nn.functional as F  # noqa: N812


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(1, 2), (2, 1, 0, 2), (1, 1, 1, 1, 1, 1)])
def test_pad_parity(parity, mode, pad):
    # torch's non-constant modes take (N, C, *dims) with one to three padded dims
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5, 3)[: len(pad) // 2 + 2])
    kwargs = {"value": 1.5} if mode == "constant" else {}
    parity(
        lambda v: F.pad(v, pad, mode=mode, **kwargs),
        lambda v: torch.nn.functional.pad(v, pad, mode=mode, **kwargs),
        [x],
    )
