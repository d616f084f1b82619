"""Smoke test of neograd-autograd installed alone: only numpy came along; the seed's snippet, backward."""

import numpy as np
from smoke_common import check, check_installed, check_no_meta_package, check_pieces, requirement_names

from neograd.autograd import gradcheck, tensor

check_installed({"neograd-autograd", "numpy"})
check(requirement_names("neograd-autograd") == {"numpy"}, "neograd-autograd must require numpy only")
check_pieces({"neograd.autograd": "neograd-autograd"}, absent=["neograd.nn", "neograd.optim"])
check_no_meta_package()

# the seed's autograd snippet
a = tensor(3, requires_grad=True)
b = tensor([1, 2, 3], requires_grad=True)
c = a + b
c.backward([1, 1, 1])
check(a.grad.item() == 3 and b.grad.tolist() == [1, 1, 1], f"seed snippet: a.grad={a.grad}, b.grad={b.grad}")

# a backward through a composite: d/dx sum(x tanh x) = tanh x + x (1 - tanh^2 x)
x = tensor([[0.5, -1.0], [2.0, 0.0]], requires_grad=True)
(x * x.tanh()).sum().backward()
t = np.tanh(x.data)
check(np.allclose(x.grad.data, t + x.data * (1 - t**2), rtol=1e-5), f"d/dx sum(x tanh x) = {x.grad}")

# a matmul with a broadcast bias, against central differences in float64 (raises on a mismatch)
rng = np.random.default_rng(0)
inputs = tensor(rng.standard_normal((4, 3)))
w = tensor(rng.standard_normal((3, 2)), requires_grad=True)
bias = tensor(rng.standard_normal(2), requires_grad=True)
check(gradcheck(lambda w, bias: (inputs @ w + bias).exp().sum(), (w, bias)), "gradcheck of exp(x @ w + b)")

print("smoke neograd-autograd: OK (only numpy came; no nn, optim, meta; seed snippet, backward, gradcheck)")
