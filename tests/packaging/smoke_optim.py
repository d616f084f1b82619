"""Smoke test of neograd-optim installed alone: it pulled the core, not nn; optimizers step plain tensors."""

import numpy as np
from smoke_common import check, check_installed, check_no_meta_package, check_pieces, requirement_names

from neograd.autograd import tensor
from neograd.optim import GD, SGD, Adam, lr_scheduler

check_installed({"neograd-optim", "neograd-autograd", "numpy"})
check(
    requirement_names("neograd-optim") == {"neograd-autograd", "numpy"},
    "neograd-optim requires more than the core",
)
check_pieces(
    {"neograd.autograd": "neograd-autograd", "neograd.optim": "neograd-optim"}, absent=["neograd.nn"]
)
check_no_meta_package()

# one step of plain gradient descent on sum(w^2), whose gradient is 2w: w - lr 2w
w = tensor([1.0, -2.0], requires_grad=True)
optimizer = GD([w], 0.25)
(w * w).sum().backward()
optimizer.step()
check(w.tolist() == [0.5, -1.0], f"GD step gave {w.tolist()}, expected [0.5, -1.0]")

# Adam and SGD with momentum (and a schedule) find the minimum of sum((w - target)^2)
target = np.array([3.0, -1.0, 0.5], dtype=np.float32)
for make in (lambda p: Adam(p, lr=0.1), lambda p: SGD(p, lr=0.05, momentum=0.9)):
    w = tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    optimizer = make([w])
    schedule = lr_scheduler.StepLR(optimizer, step_size=100, gamma=0.5)
    for _ in range(300):
        optimizer.zero_grad()
        ((w - tensor(target)) ** 2).sum().backward()
        optimizer.step()
        schedule.step()
    name = type(optimizer).__name__
    check(np.allclose(w.data, target, atol=1e-2), f"{name} ended at {w.tolist()}, expected {target.tolist()}")
    check(np.isclose(optimizer.param_groups[0]["lr"], schedule.base_lrs[0] / 8), f"{name}: StepLR lr")

print("smoke neograd-optim: OK (core came along, nn did not; GD step exact; Adam and SGD converge)")
