"""Module hooks: forward pre/post hooks, full backward hooks and pre-hooks, handles, cost when absent."""

from __future__ import annotations

import gc
import warnings
import weakref

import numpy as np
import pytest

import neograd.autograd as ng
from neograd.autograd.hooks import RemovableHandle
from neograd.nn import Linear, Module, ReLU, Sequential


def x64(*shape, requires_grad=True, seed=0):
    values = np.random.default_rng(seed).standard_normal(shape)
    return ng.tensor(values, requires_grad=requires_grad)


class Two(Module):
    """forward(a, flag, b) -> (a * b, (a + b).sum(dim=1)): two tensor inputs, a non-tensor, two outputs."""

    def forward(self, a, flag, b):
        return a * b * (2.0 if flag else 1.0), (a + b).sum(dim=1)


# ---- forward hooks -----------------------------------------------------------------------
def test_forward_pre_hook_replaces_args_and_forward_hook_replaces_output():
    lin = Linear(3, 2).double()
    x = x64(4, 3, requires_grad=False)
    expected = lin(x * 2).data + 1
    lin.register_forward_pre_hook(lambda m, args: args[0] * 2)  # one value: the only argument
    lin.register_forward_hook(lambda m, args, out: out + 1)
    np.testing.assert_allclose(lin(x).data, expected)


def test_forward_hooks_see_args_after_pre_hooks_and_run_in_order():
    m = Linear(2, 2)
    order = []
    m.register_forward_pre_hook(lambda mod, args: order.append("pre a") or (args[0] + 1,))
    m.register_forward_pre_hook(lambda mod, args: order.append("pre first"), prepend=True)
    seen = []
    m.register_forward_hook(lambda mod, args, out: seen.append(args[0].data.copy()))
    m.register_forward_hook(lambda mod, args, out: order.append("fwd first"), prepend=True)
    m(ng.zeros(1, 2))
    assert order == ["pre first", "pre a", "fwd first"]
    np.testing.assert_allclose(seen[0], np.ones((1, 2)))


def test_with_kwargs():
    class Scale(Module):
        def forward(self, x, *, factor=1.0):
            return x * factor

    m = Scale()
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}), with_kwargs=True)
    got = []
    m.register_forward_hook(lambda mod, args, kwargs, out: got.append(kwargs["factor"]), with_kwargs=True)
    np.testing.assert_allclose(m(ng.ones(2)).data, [3.0, 3.0])
    assert got == [3.0]
    m.register_forward_pre_hook(lambda mod, args, kwargs: "bad", with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"\(new_args, new_kwargs\)"):
        m(ng.ones(2))


def test_always_call_runs_when_forward_raises():
    class Boom(Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()
    calls = []
    m.register_forward_hook(lambda mod, args, out: calls.append(("always", out)), always_call=True)
    m.register_forward_hook(lambda mod, args, out: calls.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        m(ng.ones(1))
    assert calls == [("always", None)]


def test_always_call_hook_that_raises_is_silenced_with_a_warning():
    class Boom(Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()
    m.register_forward_hook(lambda mod, args, out: 1 / 0, always_call=True)
    with pytest.warns(UserWarning, match="always_call"), pytest.raises(ValueError, match="boom"):
        m(ng.ones(1))


def test_handles_remove_and_the_module_goes_back_to_no_hooks():
    m = Linear(2, 2)
    assert not m._hook_ids
    calls = []
    h1 = m.register_forward_hook(lambda mod, args, out: calls.append(1), with_kwargs=False, always_call=True)
    h2 = m.register_forward_pre_hook(lambda mod, args, kwargs: calls.append(2), with_kwargs=True)
    assert isinstance(h1, RemovableHandle) and h2.id > h1.id
    with m.register_full_backward_hook(lambda mod, gi, go: None):
        m(ng.ones(1, 2))
    assert calls == [2, 1]
    h1.remove()
    h2.remove()
    assert not m._hook_ids and not m._forward_hooks and not m._forward_pre_hooks_with_kwargs
    assert not m._forward_hooks_always_called and not m._backward_hooks
    m(ng.ones(1, 2))
    assert calls == [2, 1]


def test_hooks_belong_to_one_module():
    a, b = Linear(2, 2), Linear(2, 2)
    a.register_forward_hook(lambda mod, args, out: None)
    assert a._hook_ids and not b._hook_ids and not Module._hook_ids


def test_register_rejects_non_callables():
    m = Linear(2, 2)
    for register in (m.register_forward_hook, m.register_forward_pre_hook, m.register_full_backward_hook):
        with pytest.raises(TypeError, match="callable"):
            register(3)
    assert not m._hook_ids


# ---- backward hooks ----------------------------------------------------------------------
def test_full_backward_hook_sees_grad_input_and_grad_output():
    m = Two()
    a, b = x64(2, 3, seed=1), x64(2, 3, seed=2)
    log = []
    m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", go)))
    m.register_full_backward_hook(lambda mod, gi, go: log.append(("bw", gi, go)))
    p, s = m(a, False, b)
    (p.sum() * 2 + (s * s).sum()).backward()
    assert [entry[0] for entry in log] == ["pre", "bw"]
    (_, go), (_, gi, go2) = log
    assert go2 is go and len(go) == 2 and len(gi) == 3 and gi[1] is None
    np.testing.assert_allclose(go[0].data, np.full((2, 3), 2.0))
    np.testing.assert_allclose(go[1].data, 2 * s.data)
    np.testing.assert_allclose(gi[0].data, a.grad.data)
    np.testing.assert_allclose(gi[2].data, b.grad.data)


def test_full_backward_hook_replacement_flows_to_the_inputs():
    m = Linear(3, 2).double()
    x = x64(4, 3)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0 + 5,))
    m(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full((4, 3), 5.0))
    np.testing.assert_allclose(m.bias.grad.data, [4.0, 4.0])  # parameters are not part of grad_input


def test_backward_pre_hook_replacement_flows_into_the_module():
    m = Linear(3, 2).double()
    x = x64(4, 3)
    m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 3,))
    m(x).sum().backward()
    np.testing.assert_allclose(m.bias.grad.data, [12.0, 12.0])
    np.testing.assert_allclose(x.grad.data, 3 * np.ones((4, 2)) @ m.weight.data)


def test_wrong_number_of_gradients_from_a_hook():
    m = Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input"):
        m(ng.ones(1, 2, requires_grad=True)).sum().backward()
    m = Linear(2, 2)
    m.register_full_backward_pre_hook(lambda mod, go: (go[0], go[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_output"):
        m(ng.ones(1, 2, requires_grad=True)).sum().backward()


def test_backward_hooks_leave_gradients_unchanged_when_they_return_none():
    model = Sequential(Linear(3, 4), ReLU(), Linear(4, 2)).double()
    for module in model.modules():
        module.register_full_backward_pre_hook(lambda mod, go: None)
        module.register_full_backward_hook(lambda mod, gi, go: None)
        module.register_forward_hook(lambda mod, args, out: None)
    x = x64(5, 3)
    assert ng.gradcheck(lambda t: model(t).tanh(), (x,))


def test_backward_hooks_under_create_graph():
    m = Linear(1, 1).double()
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(gi[0].requires_grad) or (gi[0] * 2,))
    x = x64(3, 1)
    (g,) = ng.grad((m(x) ** 2).sum(), x, create_graph=True)
    w = float(m.weight.data[0, 0])
    y = m(x).data  # (the hooks ran again, harmlessly: forward only)
    np.testing.assert_allclose(g.data, 2 * 2 * y * w)
    # the second backward passes through the module's call again, so (as in torch) the hook
    # runs again and doubles that gradient too: 2 * 4w^2
    (gg,) = ng.grad(g.sum(), x)
    np.testing.assert_allclose(gg.data, np.full((3, 1), 8 * w * w))
    assert seen == [True, False]


def test_a_module_called_twice_gets_one_backward_hook_call_per_call():
    m = Linear(2, 2).double()
    calls = []
    m.register_full_backward_hook(lambda mod, gi, go: calls.append(gi[0].shape))
    x = x64(3, 2)
    m(m(x)).sum().backward()
    assert calls == [(3, 2), (3, 2)]


def test_no_backward_hook_calls_without_grad():
    m = Linear(2, 2)
    calls = []
    m.register_full_backward_hook(lambda mod, gi, go: calls.append(1))
    with ng.no_grad():
        out = m(ng.ones(1, 2, requires_grad=True))
    assert not out.requires_grad and calls == []


def test_full_backward_hook_when_no_input_requires_grad_fires_at_the_outputs():
    m = Linear(2, 2)
    calls = []
    m.register_full_backward_hook(lambda mod, gi, go: calls.append((gi, go[0].shape)))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        m(ng.ones(3, 2)).sum().backward()
    assert calls == [((None,), (3, 2))]


def test_backward_hook_warns_for_outputs_it_cannot_see():
    class ListOut(Module):
        def forward(self, x):
            return [x * 2]

    m = ListOut()
    m.register_full_backward_hook(lambda mod, gi, go: None)
    with pytest.warns(UserWarning, match="Tensor or a tuple of Tensors"):
        m(ng.ones(2, requires_grad=True))


def test_backward_hook_is_released_with_the_graph():
    class Probe:
        def __call__(self, module, grad_input, grad_output):
            return None

    m = Linear(2, 2).double()
    x = x64(3, 2)
    loss = m(x).sum()
    probe = Probe()
    handle = m.register_full_backward_hook(probe)
    loss = m(x).sum()
    handle.remove()
    ref = weakref.ref(probe)
    del probe
    gc.collect()
    assert ref() is not None  # the graph of this call holds the hooks it was made with
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss.backward()
    gc.collect()
    assert ref() is None  # released with the nodes as backward went through them
