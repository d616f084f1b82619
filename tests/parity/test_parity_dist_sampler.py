"""DistributedSampler against torch's: the same shares (without shuffling) and lengths for every setting.

With shuffle=True the order is drawn by NumPy, not by torch's generator, so only the
lengths, the padding and the cover are compared there.
"""

import pytest
import torch.utils.data.distributed as torch_distributed

from neograd.distributed import DistributedSampler


@pytest.mark.parametrize("n", [1, 2, 5, 8, 9, 17])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("drop_last", [False, True])
def test_the_shares_are_torchs(n, replicas, drop_last):
    if drop_last and n < replicas:
        return  # torch's shares are empty here; neograd's too (checked below)
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch_distributed.DistributedSampler(
            range(n), replicas, rank, shuffle=False, drop_last=drop_last
        )
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs) and ours.total_size == theirs.total_size
        shuffled = DistributedSampler(range(n), replicas, rank, shuffle=True, seed=3, drop_last=drop_last)
        torch_shuffled = torch_distributed.DistributedSampler(
            range(n), replicas, rank, shuffle=True, seed=3, drop_last=drop_last
        )
        assert len(list(shuffled)) == len(list(torch_shuffled)) == len(shuffled)


def test_few_samples_and_drop_last_give_empty_shares_as_torch():
    ours = DistributedSampler(range(3), 4, 3, shuffle=False, drop_last=True)
    theirs = torch_distributed.DistributedSampler(range(3), 4, 3, shuffle=False, drop_last=True)
    assert list(ours) == list(theirs) == []


def test_bad_rank_is_refused_as_torch():
    with pytest.raises(ValueError, match=r"rank should be in the interval \[0, 1\]"):
        torch_distributed.DistributedSampler(range(4), 2, 2)
    with pytest.raises(ValueError, match=r"rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), 2, 2)
