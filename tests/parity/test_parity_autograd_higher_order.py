"""Parity of higher-order gradients (create_graph=True) with torch.

For a composition f, both libraries compute the first derivatives with create_graph and
then differentiate <df/dx, v> for a fixed random v: a Hessian-vector product, which
checks every backward formula of f as a differentiable computation in its own right.
"""

import numpy as np
import pytest
import torch

import neograd.autograd as ng

TOL = {np.float64: 1e-10, np.float32: 1e-5}


def randn(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def assert_close(ours, theirs, atol, what):
    if theirs is None:
        assert ours is None or not ours.data.any(), f"{what}: torch has no gradient, neograd has one"
        return
    assert ours is not None, f"{what}: neograd has no gradient, torch has one"
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), atol=atol, rtol=1e-7, err_msg=what)
    assert ours.dtype == theirs.detach().numpy().dtype, f"{what}: dtype {ours.dtype} vs {theirs.dtype}"


def check_second_order(fn, inputs, seed=0):
    """Compare f, df/dx (with create_graph) and d<df/dx, v>/dx between neograd and torch."""
    atol = TOL[inputs[0].dtype.type]
    rng = np.random.default_rng(seed)
    ng_in = [ng.tensor(x, requires_grad=True) for x in inputs]
    th_in = [torch.from_numpy(x.copy()).requires_grad_() for x in inputs]
    ng_out, th_out = fn(ng, *ng_in), fn(torch, *th_in)
    assert_close(ng_out, th_out, atol, "forward")

    g = rng.standard_normal(ng_out.shape).astype(ng_out.dtype)
    ng_d1 = ng.grad(ng_out, ng_in, grad_outputs=ng.tensor(g), create_graph=True)
    th_d1 = torch.autograd.grad(th_out, th_in, grad_outputs=torch.from_numpy(g), create_graph=True)
    for i, (a, b) in enumerate(zip(ng_d1, th_d1)):
        assert_close(a, b, atol, f"first derivative, input {i}")

    vs = [rng.standard_normal(x.shape).astype(x.dtype) for x in inputs]
    ng_s = sum((d * ng.tensor(v)).sum() for d, v in zip(ng_d1, vs))
    th_s = sum((d * torch.from_numpy(v)).sum() for d, v in zip(th_d1, vs))
    if not th_s.requires_grad:  # f is linear in every input: all second derivatives are 0
        assert not ng_s.requires_grad or not any(
            g is not None and g.data.any() for g in ng.grad(ng_s, ng_in, allow_unused=True)
        )
        return
    ng_d2 = ng.grad(ng_s, ng_in, allow_unused=True)
    th_d2 = torch.autograd.grad(th_s, th_in, allow_unused=True)
    for i, (a, b) in enumerate(zip(ng_d2, th_d2)):
        assert_close(a, b, atol, f"second derivative (Hessian-vector product), input {i}")


def mlp(lib, x, w1, w2):
    return lib.log_softmax(lib.tanh(x @ w1) @ w2, dim=1)


COMPOSITIONS = {
    "tanh": (lambda lib, x: lib.tanh(x), [(3, 4)]),
    "sin_exp_div": (lambda lib, x: lib.sin(x) * lib.exp(x) / (1 + x**2), [(3, 4)]),
    "cos_log1p_sqrt": (lambda lib, x: lib.cos(x) * lib.log1p(x * x) + lib.sqrt(x * x + 1), [(5,)]),
    "sigmoid_square": (lambda lib, x: lib.sigmoid(x) * lib.square(x) - 0.5 * x, [(2, 3)]),
    "pow_tensor_exponent": (lambda lib, x, y: (x * x + 0.5) ** y, [(3,), (3,)]),
    "pow_scalars": (lambda lib, x: x**3 + 2**x - x**-2, [(4,)]),
    "div_two_inputs": (lambda lib, x, y: x / (y * y + 1) - y / (x * x + 2), [(2, 3), (3,)]),
    "abs_relu_times_x": (lambda lib, x: x * lib.relu(x) + x * lib.abs(x), [(6,)]),
    "maximum_minimum": (lambda lib, x, y: lib.maximum(x, y) * x + lib.minimum(x * y, y), [(4,), (4,)]),
    "where_clamp": (lambda lib, x: lib.where(x > 0, x**3, x * 2) + lib.clamp(x, -0.5, 0.5) * x, [(6,)]),
    "matmul_tanh_square": (lambda lib, x, w: lib.tanh(x @ w) ** 2, [(4, 3), (3, 2)]),
    "batched_matmul": (lambda lib, a, b: (a @ b).sin(), [(2, 3, 4), (4, 2)]),
    "matmul_vector": (lambda lib, a, v: lib.exp(a @ v) + lib.dot(v, v), [(3, 4), (4,)]),
    "softmax": (lambda lib, x, w: lib.softmax(x @ w, dim=1) * w.sum(0), [(4, 3), (3, 5)]),
    "log_softmax_mlp": (mlp, [(4, 3), (3, 5), (5, 2)]),
    "logsumexp": (lambda lib, x: lib.logsumexp(x * x, dim=1) * x.sum(1), [(3, 4)]),
    "sum_mean_keepdim": (lambda lib, x: x.sum(1, keepdim=True) * x.mean(0) * x, [(3, 4)]),
    "var_std": (lambda lib, x: lib.var(x, dim=1) * lib.std(x, dim=0).sum() + x.var(), [(3, 4)]),
    "amax_max": (lambda lib, x: x.amax(1) * x.sum(1) + x.max(0)[0].sum() * x.min(), [(3, 4)]),
    "getitem_repeats": (lambda lib, x: x[[0, 0, 2]] ** 3 + x[1:, ::2].sum(), [(3, 4)]),
    "cat_stack_split": (
        lambda lib, x: lib.cat([x, x * x], 1).tanh().split(3, dim=1)[1] * lib.stack([x, x]).sum(0)[:, :1],
        [(2, 3)],
    ),
    "reshape_permute_expand": (
        lambda lib, x: (x.reshape(2, 3, 2).permute(2, 0, 1) ** 2).expand(3, 2, 2, 3).flatten(),
        [(12,)],
    ),
    "gather": (lambda lib, x: lib.gather(x.exp(), 1, lib.tensor([[0, 0], [2, 1]])) ** 2, [(2, 3)]),
    "repeat_pad": (lambda lib, x: (x.repeat(2, 1) * x.tile((2, 1))).sum(0) ** 2, [(2, 3)]),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", COMPOSITIONS, ids=str)
def test_second_order(name, dtype):
    fn, shapes = COMPOSITIONS[name]
    inputs = [randn(*s, dtype=dtype, seed=i + 1) for i, s in enumerate(shapes)]
    if name == "pow_scalars":
        inputs = [x + np.sign(x).astype(dtype) for x in inputs]  # away from 0 (x ** -2)
    check_second_order(fn, inputs)


def test_pad_second_order():
    x = randn(2, 3)
    ours = ng.tensor(x, requires_grad=True)
    theirs = torch.from_numpy(x.copy()).requires_grad_()
    (d_ours,) = ng.grad((ng.pad(ours, (1, 2), value=1.0) ** 3).sum(), ours, create_graph=True)
    (d_theirs,) = torch.autograd.grad(
        (torch.nn.functional.pad(theirs, (1, 2), value=1.0) ** 3).sum(), theirs, create_graph=True
    )
    assert_close(d_ours, d_theirs, 1e-10, "first derivative")
    (dd_ours,) = ng.grad((d_ours * d_ours).sum(), ours)
    (dd_theirs,) = torch.autograd.grad((d_theirs * d_theirs).sum(), theirs)
    assert_close(dd_ours, dd_theirs, 1e-10, "second derivative")


def test_third_derivative_of_tanh():
    x = np.linspace(-2, 2, 7)
    ours = ng.tensor(x, requires_grad=True)
    theirs = torch.from_numpy(x.copy()).requires_grad_()
    d_ours, d_theirs = ng.tanh(ours).sum(), torch.tanh(theirs).sum()
    for order in (1, 2, 3):
        (d_ours,) = ng.grad(d_ours, ours, create_graph=True)
        (d_theirs,) = torch.autograd.grad(d_theirs, theirs, create_graph=True)
        assert_close(d_ours, d_theirs, 1e-10, f"derivative {order}")
        d_ours, d_theirs = d_ours.sum(), d_theirs.sum()


@pytest.mark.filterwarnings(r"ignore:Using backward\(\) with create_graph=True")
def test_backward_create_graph_then_backward_again():
    # the .grad left by backward(create_graph=True) is itself differentiable
    x, w = randn(3, 4), randn(4, 2, seed=1)
    ng_x, ng_w = ng.tensor(x, requires_grad=True), ng.tensor(w, requires_grad=True)
    th_x, th_w = torch.from_numpy(x.copy()).requires_grad_(), torch.from_numpy(w.copy()).requires_grad_()
    ng.sigmoid(ng_x @ ng_w).sum().backward(create_graph=True)
    torch.sigmoid(th_x @ th_w).sum().backward(create_graph=True)
    assert_close(ng_w.grad, th_w.grad, 1e-10, "first derivative")
    ng_gw, th_gw = ng_w.grad, th_w.grad
    ng_x.grad = ng_w.grad = None
    th_x.grad = th_w.grad = None
    (ng_gw**2).sum().backward()
    (th_gw**2).sum().backward()
    assert_close(ng_x.grad, th_x.grad, 1e-10, "second derivative, x")
    assert_close(ng_w.grad, th_w.grad, 1e-10, "second derivative, w")


def test_hessian_of_a_scalar_function():
    # the full Hessian, one row per basis vector, against torch.autograd.functional.hessian
    x = randn(4)

    def f(lib, t):
        return (lib.exp(t[:2]).sum() * lib.tanh(t[2:]).sum()) + (t**2).sum() * t[0]

    ours = ng.tensor(x, requires_grad=True)
    (d,) = ng.grad(f(ng, ours), ours, create_graph=True)
    rows = [ng.grad(d[i], ours, retain_graph=True)[0].data for i in range(4)]
    expected = torch.autograd.functional.hessian(lambda t: f(torch, t), torch.from_numpy(x.copy()))
    np.testing.assert_allclose(np.stack(rows), expected.numpy(), atol=1e-10, rtol=1e-7)
