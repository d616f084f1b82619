"""The last rank raises while the others wait in a collective: the job must end, non-zero, with
its traceback."""

import numpy as np

import neograd.distributed as dist
from neograd.autograd import tensor

dist.init_process_group()
if dist.get_rank() == dist.get_world_size() - 1:
    raise ValueError("rank failed on purpose")
dist.all_reduce(tensor(np.ones(3)))  # the other ranks would wait here forever
print("the job went on past the failure", flush=True)
