"""Your own differentiable operation: a Function with a forward on arrays and a backward; gradcheck checks it.

    python examples/custom_op.py

The built-in ops are written exactly like this (see neograd/autograd/ops/).
"""

import numpy as np

import neograd as ng
from neograd import nn


class Swish(ng.autograd.Function):
    """swish(x) = x * sigmoid(x); its derivative is s + x * s * (1 - s), with s = sigmoid(x).

    s is kept on ctx as a plain array, a constant to backward, so this op supports first
    derivatives only; for create_graph=True, backward would compute s from the saved x
    with other Functions (x.sigmoid()), as the built-in ops do.
    """

    @staticmethod
    def forward(ctx, x):  # x is a NumPy array; return an array
        s = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(x)  # the inputs (or outputs) backward needs
        ctx.s = s  # anything else: an attribute
        return x * s

    @staticmethod
    def backward(ctx, grad_output):  # the gradient of the loss w.r.t. the output
        (x,) = ctx.saved_tensors
        s = ctx.s
        return grad_output * (s + x * s * (1 - s))  # one gradient per input of forward


def swish(x):
    return Swish.apply(x)  # records the op in the graph when x requires grad


# 1. It is part of the graph like any built-in op.
x = ng.tensor([-2.0, 0.0, 1.0, 3.0], requires_grad=True)
y = swish(x)
y.sum().backward()
print("swish(x)     =", y)
print("d/dx         =", x.grad)
print("y.grad_fn    =", y.grad_fn)

# 2. gradcheck compares backward with finite differences (in float64, where they are accurate).
x64 = ng.randn(3, 4, dtype=ng.float64, requires_grad=True)
print("gradcheck    :", ng.autograd.gradcheck(swish, (x64,)))

# 3. Autograd finds the same gradient through the formula written with built-in ops.
x2 = ng.tensor([-2.0, 0.0, 1.0, 3.0], requires_grad=True)
(x2 * x2.sigmoid()).sum().backward()
print("same gradient as x * x.sigmoid():", np.allclose(x.grad.numpy(), x2.grad.numpy()))


# 4. Wrapped in a Module, it is a layer like nn.ReLU.
class SwishLayer(nn.Module):
    def forward(self, x):
        return swish(x)


model = nn.Sequential(nn.Linear(3, 8), SwishLayer(), nn.Linear(8, 1))
model(ng.randn(5, 3)).mean().backward()
print("model        :", model)
print("a gradient reached the first layer:", model[0].weight.grad is not None)
