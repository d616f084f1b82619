"""Parity of hooks with PyTorch: the same hooks on the same programs see and produce the same gradients.

Tensor hooks (register_hook, register_post_accumulate_grad_hook) and Module hooks
(forward pre/post, full backward, full backward pre): what each hook is called with, in
which order, and the gradients that come out, on torch and neograd side by side.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import neograd.autograd as ng
from neograd import nn

RNG = np.random.default_rng(0)


def arr(*shape):
    return RNG.standard_normal(shape)


def both(a, requires_grad=True):
    """The same float64 values as a neograd and a torch tensor."""
    return ng.tensor(a.copy(), requires_grad=requires_grad), torch.tensor(
        a.copy(), requires_grad=requires_grad
    )


def value(t):
    if t is None:
        return None
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.data)


def assert_same(a, b):
    """Nested tuples/lists of tensors (or None) from neograd (a) and torch (b) hold the same values."""
    if isinstance(b, (tuple, list)):
        assert isinstance(a, (tuple, list)) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            assert_same(x, y)
        return
    if b is None or a is None:
        assert a is None and b is None, (a, b)
        return
    if isinstance(b, torch.Tensor):
        np.testing.assert_allclose(value(a), value(b), rtol=1e-10, atol=1e-12)
    else:
        assert a == b


# ---- tensor hooks ------------------------------------------------------------------------
def tensor_program(lib, x, w, log):
    """x -> h = tanh(x @ w) used twice; hooks on the leaf x, the weight w and the intermediate h."""
    x.register_hook(lambda g: log.append(("x", value(g))) or g * 2)
    w.register_hook(lambda g: log.append(("w", value(g))))
    w.register_post_accumulate_grad_hook(lambda t: log.append(("w post", value(t.grad))))
    h = (x @ w).tanh()
    h.register_hook(lambda g: log.append(("h1", value(g))) or g + 1)
    h.register_hook(lambda g: log.append(("h2", value(g))) or g * 3)
    h.retain_grad()
    return h, (h * h + h).sum()


def assert_logs(a, b):
    assert [k for k, _ in a] == [k for k, _ in b]
    for (_, u), (_, v) in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12)


def test_tensor_hooks_backward():
    xa, wa = arr(3, 4), arr(4, 2)
    (nx, tx), (nw, tw) = both(xa), both(wa)
    nlog, tlog = [], []
    nh, nloss = tensor_program(ng, nx, nw, nlog)
    th, tloss = tensor_program(torch, tx, tw, tlog)
    nloss.backward()
    tloss.backward()
    assert_logs(nlog, tlog)
    assert_same((nx.grad, nw.grad, nh.grad), (tx.grad, tw.grad, th.grad))


def test_tensor_hooks_grad():
    xa, wa = arr(3, 4), arr(4, 2)
    (nx, tx), (nw, tw) = both(xa), both(wa)
    nlog, tlog = [], []
    nh, nloss = tensor_program(ng, nx, nw, nlog)
    th, tloss = tensor_program(torch, tx, tw, tlog)
    ngrads = ng.grad(nloss, [nx, nh])
    tgrads = torch.autograd.grad(tloss, [tx, th])
    assert_logs(nlog, tlog)  # w's hooks: not on the way to the inputs, not called
    assert_same(ngrads, tgrads)
    assert nw.grad is None and tw.grad is None


def test_tensor_hooks_create_graph():
    xa = np.array([0.3, -0.7])
    (nx, tx) = both(xa)
    for x in (nx, tx):
        x.register_hook(lambda g, x=x: g * x)
    (ndy,) = ng.grad((nx**3).sum(), nx, create_graph=True)
    (tdy,) = torch.autograd.grad((tx**3).sum(), tx, create_graph=True)
    assert_same(ndy, tdy)
    assert_same(ng.grad(ndy.sum(), nx), torch.autograd.grad(tdy.sum(), tx))


def test_post_accumulate_order_and_values():
    # the order leaves finish in, with weights shared by two layers
    a1, a2, xa = arr(3, 3), arr(3, 3), arr(2, 3)
    (n1, t1), (n2, t2), (nx, tx) = both(a1), both(a2), both(xa, requires_grad=False)
    logs = {"n": [], "t": []}
    for key, params, x in (("n", (n1, n2), nx), ("t", (t1, t2), tx)):
        for name, p in zip(("w1", "w2"), params):
            p.register_post_accumulate_grad_hook(
                lambda t, name=name, key=key: logs[key].append((name, value(t.grad)))
            )
        w1, w2 = params
        ((x @ w1).tanh() @ w2 @ w1).sum().backward()
    assert_logs(logs["n"], logs["t"])


# ---- module hooks ------------------------------------------------------------------------
class NgTwo(nn.Module):
    """Two tensor inputs and a flag; two outputs."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3).double()

    def forward(self, a, flag, b):
        y = self.lin(a) * b
        return y.tanh(), (y * a).sum(dim=1)


class TorchTwo(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 3).double()

    def forward(self, a, flag, b):
        y = self.lin(a) * b
        return y.tanh(), (y * a).sum(dim=1)


def copy_weights(src, dst):
    """Copy neograd module ``src``'s parameters into torch module ``dst`` (same names)."""
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(src.named_parameters(), dst.named_parameters()):
            assert name == tname
            tp.copy_(torch.from_numpy(np.asarray(p.data)))


def recorder(log, name):
    def forward_pre(module, args):
        log.append((name, "pre", len(args)))

    def forward(module, args, output):
        log.append((name, "fwd", len(args)))

    def backward_pre(module, grad_output):
        log.append((name, "bw pre", [value(g) for g in grad_output]))

    def backward(module, grad_input, grad_output):
        log.append((name, "bw", [value(g) for g in grad_input], [value(g) for g in grad_output]))

    return forward_pre, forward, backward_pre, backward


def hook_all(model, log):
    for name, m in model.named_modules():
        pre, fwd, bw_pre, bw = recorder(log, name or "top")
        m.register_forward_pre_hook(pre)
        m.register_forward_hook(fwd)
        m.register_full_backward_pre_hook(bw_pre)
        m.register_full_backward_hook(bw)


def assert_module_logs(a, b):
    assert len(a) == len(b), (a, b)
    for u, v in zip(a, b):
        assert u[:2] == v[:2], (u, v)
        for x, y in zip(u[2:], v[2:]):
            if isinstance(y, list):
                assert len(x) == len(y)
                for p, q in zip(x, y):
                    assert (p is None) == (q is None), (u[:2], x, y)
                    if q is not None:
                        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12)
            else:
                assert x == y


def run_both(ng_model, torch_model, inputs, *, extra=()):
    """Hook every module of both models, run forward and backward on the same inputs, compare."""
    copy_weights(ng_model, torch_model)
    nlog, tlog = [], []
    hook_all(ng_model, nlog)
    hook_all(torch_model, tlog)
    n_in = [both(a)[0] if isinstance(a, np.ndarray) else a for a in inputs]
    t_in = [both(a)[1] if isinstance(a, np.ndarray) else a for a in inputs]
    nout, tout = ng_model(*n_in, *extra), torch_model(*t_in, *extra)
    nout = nout if isinstance(nout, tuple) else (nout,)
    tout = tout if isinstance(tout, tuple) else (tout,)
    seeds = [arr(*o.shape) for o in tout]
    sum(((o * ng.tensor(s)).sum() for o, s in zip(nout, seeds)), ng.tensor(0.0, dtype=np.float64)).backward()
    sum((o * torch.tensor(s)).sum() for o, s in zip(tout, seeds)).backward()
    assert_module_logs(nlog, tlog)
    assert_same(
        [x.grad for x in n_in if isinstance(x, ng.Tensor)],
        [x.grad for x in t_in if isinstance(x, torch.Tensor)],
    )
    for (_, p), (_, tp) in zip(ng_model.named_parameters(), torch_model.named_parameters()):
        assert_same(p.grad, tp.grad)


def test_module_hooks_linear():
    run_both(nn.Linear(4, 3).double(), torch.nn.Linear(4, 3).double(), [arr(5, 4)])


def test_module_hooks_sequential():
    run_both(
        nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).double(),
        torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double(),
        [arr(3, 4)],
    )


def test_module_hooks_two_inputs_and_a_flag():
    run_both(NgTwo(), TorchTwo(), [arr(2, 3), "flag", arr(2, 3)])


def test_full_backward_hook_replaces_grad_input_and_pre_hook_grad_output():
    ng_model, torch_model = nn.Linear(3, 2).double(), torch.nn.Linear(3, 2).double()
    copy_weights(ng_model, torch_model)
    xa = arr(4, 3)
    results = []
    for model, lib in ((ng_model, ng), (torch_model, torch)):
        model.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
        model.register_full_backward_hook(lambda m, gi, go: (gi[0] + 1,))
        x = (
            ng.tensor(xa.copy(), requires_grad=True)
            if lib is ng
            else torch.tensor(xa.copy(), requires_grad=True)
        )
        model(x).tanh().sum().backward()
        results.append((x.grad, model.weight.grad, model.bias.grad))
    assert_same(results[0], results[1])


def test_full_backward_hook_when_no_input_requires_grad():
    ng_model, torch_model = nn.Linear(3, 2).double(), torch.nn.Linear(3, 2).double()
    copy_weights(ng_model, torch_model)
    xa = arr(4, 3)
    logs = []
    for model, x in ((ng_model, ng.tensor(xa.copy())), (torch_model, torch.tensor(xa.copy()))):
        log = []
        model.register_full_backward_hook(
            lambda m, gi, go, log=log: log.append(([value(g) for g in gi], [value(g) for g in go]))
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model(x).sum().backward()
        logs.append(log)
    assert len(logs[0]) == len(logs[1]) == 1
    assert logs[0][0][0] == [None] and logs[1][0][0] == [None]
    np.testing.assert_allclose(logs[0][0][1][0], logs[1][0][1][0])


@pytest.mark.parametrize("with_kwargs", [False, True])
def test_forward_hooks_change_inputs_and_outputs(with_kwargs):
    ng_model, torch_model = nn.Linear(3, 2).double(), torch.nn.Linear(3, 2).double()
    copy_weights(ng_model, torch_model)
    xa = arr(4, 3)
    outs = []
    for model, x in ((ng_model, ng.tensor(xa.copy())), (torch_model, torch.tensor(xa.copy()))):
        if with_kwargs:
            model.register_forward_pre_hook(
                lambda m, args, kwargs: ((args[0] * 2,), kwargs), with_kwargs=True
            )
            model.register_forward_hook(lambda m, args, kwargs, out: out + args[0].sum(), with_kwargs=True)
        else:
            model.register_forward_pre_hook(lambda m, args: args[0] * 2)  # one value: made a tuple
            model.register_forward_hook(lambda m, args, out: out + args[0].sum())
        model.register_forward_hook(lambda m, args, out: out * 3, prepend=True)
        outs.append(model(x))
    assert_same(outs[0], outs[1])


def test_full_backward_hook_under_create_graph():
    ng_model, torch_model = nn.Linear(2, 2).double(), torch.nn.Linear(2, 2).double()
    copy_weights(ng_model, torch_model)
    xa = arr(3, 2)
    results, seen = [], []
    for model, lib in ((ng_model, ng), (torch_model, torch)):
        calls = []
        model.register_full_backward_hook(
            lambda m, gi, go, calls=calls: calls.append(gi[0].requires_grad) or (gi[0] * 2,)
        )
        x = (
            ng.tensor(xa.copy(), requires_grad=True)
            if lib is ng
            else torch.tensor(xa.copy(), requires_grad=True)
        )
        grad = ng.grad if lib is ng else torch.autograd.grad
        (g,) = grad((model(x) ** 2).sum(), x, create_graph=True)
        (gg,) = grad((g * g).sum(), x)
        results.append((g, gg))
        seen.append(calls)
    assert_same(results[0], results[1])
    assert seen[0] == seen[1]
