"""Module and Parameter: registration, iteration, modes, gradients, state_dict, repr."""

import copy
from collections import OrderedDict

import numpy as np
import pytest

from neograd.autograd import Tensor, is_grad_enabled, no_grad, ones, randn, tensor, zeros
from neograd.nn import Linear, Module, Parameter, ReLU, Sequential


class Net(Module):
    def __init__(self):
        super().__init__()
        self.stack = Sequential(Linear(2, 4), ReLU(), Linear(4, 1))
        self.scale = Parameter(ones(1))
        self.register_buffer("running", zeros(3))
        self.register_buffer("scratch", zeros(2), persistent=False)
        self.plain = tensor([1.0, 2.0])  # a plain tensor is not state

    def forward(self, x):
        return self.stack(x) * self.scale


# ---- Parameter ----------------------------------------------------------------------------
def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = Parameter(tensor([1.0, 2.0]))
    assert isinstance(p, Tensor) and p.requires_grad and p.is_leaf and p.grad is None
    assert not Parameter(tensor([1.0]), requires_grad=False).requires_grad


def test_parameter_shares_the_memory_of_the_tensor_it_wraps():
    t = tensor([1.0, 2.0])
    p = Parameter(t)
    p.data[0] = 5.0
    assert t.data[0] == 5.0


def test_parameter_refuses_integer_data():
    with pytest.raises(TypeError, match="floating"):
        Parameter(tensor([1, 2]))


def test_parameter_repr_says_what_it_is():
    assert repr(Parameter(tensor([1.0]))).startswith("Parameter containing:\ntensor([1.]")


def test_gradients_accumulate_into_a_parameter():
    p = Parameter(tensor([1.0, 2.0]))
    (p * p).sum().backward()
    (p * 3).sum().backward()
    np.testing.assert_allclose(p.grad.data, [2 + 3, 4 + 3])


# ---- registration ---------------------------------------------------------------------------
def test_assignment_registers_parameters_modules_and_buffers_but_not_plain_tensors():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale",
        "stack.0.weight",
        "stack.0.bias",
        "stack.2.weight",
        "stack.2.bias",
    ]
    assert [n for n, _ in net.named_buffers()] == ["running", "scratch"]
    assert [n for n, _ in net.named_children()] == ["stack"]
    assert [n for n, _ in net.named_modules()] == ["", "stack", "stack.0", "stack.1", "stack.2"]
    assert all(p is not net.plain for p in net.parameters())


def test_registered_attributes_read_back_and_can_be_deleted():
    net = Net()
    assert isinstance(net.stack, Sequential) and net.running.shape == (3,)
    del net.scale
    assert "scale" not in [n for n, _ in net.named_parameters()]
    with pytest.raises(AttributeError):
        net.scale


def test_reassigning_a_name_moves_it_between_kinds():
    net = Net()
    net.stack = Linear(2, 1)  # a module replaced by a module
    assert [n for n, _ in net.named_modules()] == ["", "stack"]
    net.stack = None  # a registered module may become None
    assert list(net.children()) == []
    with pytest.raises(TypeError, match="child module 'stack'"):
        net.stack = 3
    with pytest.raises(TypeError, match="parameter 'scale'"):
        net.scale = tensor([1.0])  # a plain tensor cannot replace a parameter


def test_attribute_reads_follow_every_change_of_the_tables():
    # registered names are mirrored in the instance dict (a fast attribute read): every way
    # of changing a parameter, buffer or child must be seen by the next read
    from neograd.nn import ModuleDict

    def table_value(m, name):
        for table in (m._parameters, m._buffers, m._modules):
            if name in table:
                return table[name]
        raise AttributeError(name)

    def check(m, *names):
        for name in names:
            try:
                got = getattr(m, name)
            except AttributeError:
                with pytest.raises(AttributeError):
                    table_value(m, name)
                continue
            assert got is table_value(m, name), name

    lin = Linear(2, 3)
    lin.weight = Parameter(zeros(3, 2))  # setattr of a new parameter
    lin.register_parameter("bias", Parameter(ones(3)))
    check(lin, "weight", "bias")
    lin.bias = None  # a registered parameter set to None
    check(lin, "bias")
    del lin.weight
    check(lin, "weight")
    lin.weight = Linear(1, 1)  # the name becomes a child module
    check(lin, "weight")
    lin.weight = None
    check(lin, "weight")
    del lin.weight
    lin.register_buffer("weight", ones(2))  # ... then a buffer
    check(lin, "weight")
    lin.weight = zeros(5)
    check(lin, "weight")
    lin.register_parameter("weight", Parameter(ones(1)))  # ... then a parameter again
    check(lin, "weight")
    lin.add_module("weight", ReLU())  # add_module replaces what the name held
    check(lin, "weight")
    with pytest.raises(TypeError, match="child module 'weight'"):
        lin.weight = 3  # a plain value where a module is: refused, nothing changes
    check(lin, "weight")

    named = Sequential(OrderedDict([("fc", Linear(2, 2)), ("act", ReLU())]))
    del named[0]
    check(named, "fc", "act")
    heads = ModuleDict({"cls": Linear(2, 3), "box": Linear(2, 4)})
    heads["cls"] = Linear(2, 5)
    check(heads, "cls")
    del heads["cls"]
    heads.pop("box")
    check(heads, "cls", "box")
    heads.update({"a": ReLU()})
    heads.clear()
    check(heads, "a")

    # a child named like a method does not hide the method (as without the mirror, and in torch)
    m = Module()
    m.add_module("train", Linear(1, 1))
    assert callable(m.train) and m.train(False) is m and m._modules["train"].training is False

    clone = copy.deepcopy(Net())
    clone.stack = Linear(2, 1)
    check(clone, "stack", "scale", "running")
    assert [n for n, _ in clone.named_children()] == ["stack"]


def test_parameters_recurse_flag_and_shared_parameters_count_once():
    lin = Linear(3, 3)
    model = Sequential(lin, ReLU(), lin)
    assert len(list(model.parameters())) == 2
    assert len(list(model.named_parameters(remove_duplicate=False))) == 4
    assert list(model.parameters(recurse=False)) == []


def test_register_buffer_and_parameter_check_names_and_types():
    m = Module()
    with pytest.raises(KeyError, match="can't be empty or contain"):
        m.register_buffer("a.b", zeros(1))
    with pytest.raises(TypeError, match="buffer 'x'"):
        m.register_buffer("x", np.zeros(2))
    with pytest.raises(TypeError, match="Parameter or None"):
        m.register_parameter("w", tensor([1.0]))
    m.register_parameter("w", None)
    assert m.w is None and list(m.parameters()) == []


def test_assigning_before_init_is_a_clear_error():
    class Broken(Module):
        def __init__(self):
            self.fc = Linear(2, 2)

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\)"):
        Broken()


def test_add_module_and_get_submodule():
    m = Module()
    m.add_module("body", Sequential(Linear(2, 2)))
    assert m.get_submodule("body.0") is m.body[0]
    with pytest.raises(AttributeError, match="no submodule 'nope'"):
        m.get_submodule("body.nope")
    with pytest.raises(TypeError, match="not a Module"):
        m.add_module("x", 3)


# ---- call, modes and gradients ----------------------------------------------------------------
def test_call_runs_forward():
    net = Net()
    x = randn(5, 2)
    np.testing.assert_allclose(net(x).data, net.forward(x).data)


def test_missing_forward_is_a_clear_error():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        Module()(1)


def test_train_and_eval_set_every_submodule_and_return_the_module():
    net = Net()
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net and all(m.training for m in net.modules())
    net.train(False)
    assert not net.stack[0].training
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")


def test_bare_eval_does_not_touch_grad_mode():
    net = Net()
    net.eval()
    assert is_grad_enabled()


def test_zero_grad_to_none_or_to_zeros():
    net = Net()
    net(randn(3, 2)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_requires_grad_freeze_and_unfreeze():
    net = Net()
    assert net.freeze() is net
    assert not any(p.requires_grad for p in net.parameters())
    assert not net(randn(2, 2)).requires_grad
    net.unfreeze()
    assert all(p.requires_grad for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_apply_visits_children_before_the_module():
    net = Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Net"]


def test_to_double_converts_parameters_and_buffers():
    net = Net().double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net.running.dtype == np.float64
    assert net(randn(2, 2, dtype=np.float64)).dtype == np.float64
    with pytest.raises(TypeError, match="floating"):
        net.to(np.int64)


def test_deepcopy_gives_independent_parameters():
    net = Net()
    twin = copy.deepcopy(net)
    assert isinstance(twin.scale, Parameter)
    with no_grad():
        twin.stack[0].weight.fill_(0.0)
    assert net.stack[0].weight.data.any()


# ---- state_dict ------------------------------------------------------------------------------------
def test_state_dict_keys_follow_torch_and_skip_non_persistent_buffers():
    sd = Net().state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == [
        "scale",
        "running",
        "stack.0.weight",
        "stack.0.bias",
        "stack.2.weight",
        "stack.2.bias",
    ]
    assert all(type(v) is Tensor and not v.requires_grad for v in sd.values())


def test_state_dict_shares_memory_with_the_model():
    net = Net()
    net.state_dict()["scale"].data[0] = 7.0
    assert net.scale.data[0] == 7.0


def test_state_dict_round_trip_into_a_fresh_model():
    a, b = Net(), Net()
    x = randn(4, 2)
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(a(x).data, b(x).data)
    # values are copied, not shared
    with no_grad():
        a.stack[0].weight.fill_(0.0)
    assert b.stack[0].weight.data.any()


def test_load_state_dict_accepts_ndarrays():
    a, b = Net(), Net()
    b.load_state_dict({k: v.data.copy() for k, v in a.state_dict().items()})
    np.testing.assert_array_equal(a.stack[2].weight.data, b.stack[2].weight.data)


def _snapshot(module):
    return {k: v.data.copy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda sd: sd.pop("stack.2.bias"), 'Missing key\\(s\\) in state_dict: "stack.2.bias"'),
        (lambda sd: sd.__setitem__("extra", tensor([1.0])), 'Unexpected key\\(s\\) in state_dict: "extra"'),
        (lambda sd: sd.__setitem__("stack.0.weight", zeros(4, 3)), "size mismatch for stack.0.weight"),
        (
            lambda sd: sd.__setitem__("stack.0.bias", zeros(4, dtype=np.float64)),
            "dtype mismatch for stack.0.bias",
        ),
        (lambda sd: sd.__setitem__("scale", [1.0]), 'While copying "scale"'),
    ],
)
def test_strict_load_refuses_and_changes_nothing(corrupt, message):
    source, target = Net(), Net()
    before = _snapshot(target)
    sd = OrderedDict((k, Tensor(v.data.copy())) for k, v in source.state_dict().items())
    corrupt(sd)
    with pytest.raises(RuntimeError, match=message):
        target.load_state_dict(sd)
    after = _snapshot(target)
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_a_bad_value_late_in_the_dict_leaves_earlier_keys_untouched():
    source, target = Net(), Net()
    before = _snapshot(target)
    sd = source.state_dict()
    sd["stack.2.bias"] = zeros(5)  # the last key is wrong; the earlier ones are fine
    with pytest.raises(RuntimeError, match="size mismatch"):
        target.load_state_dict(sd)
    assert np.array_equal(target.scale.data, before["scale"])
    assert np.array_equal(target.stack[0].weight.data, before["stack.0.weight"])


def test_non_strict_load_reports_missing_and_unexpected_keys():
    source, target = Net(), Net()
    sd = source.state_dict()
    del sd["scale"]
    sd["surprise"] = tensor([1.0])
    result = target.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["scale"] and result.unexpected_keys == ["surprise"]
    np.testing.assert_array_equal(target.stack[0].weight.data, source.stack[0].weight.data)


def test_non_strict_load_still_refuses_a_shape_mismatch():
    target = Net()
    with pytest.raises(RuntimeError, match="size mismatch for scale"):
        target.load_state_dict({"scale": zeros(2)}, strict=False)


def test_load_state_dict_refuses_a_non_mapping():
    with pytest.raises(TypeError, match="dict-like"):
        Net().load_state_dict([("scale", ones(1))])


# ---- repr ----------------------------------------------------------------------------------------
def test_repr_nests_children_like_torch():
    assert repr(Net()) == (
        "Net(\n"
        "  (stack): Sequential(\n"
        "    (0): Linear(in_features=2, out_features=4, bias=True)\n"
        "    (1): ReLU()\n"
        "    (2): Linear(in_features=4, out_features=1, bias=True)\n"
        "  )\n"
        ")"
    )


def test_repr_with_extra_repr_and_children():
    class Block(Module):
        def __init__(self):
            super().__init__()
            self.fc = Linear(1, 1, bias=False)

        def extra_repr(self):
            return "width=1"

    assert repr(Block()) == "Block(\n  width=1\n  (fc): Linear(in_features=1, out_features=1, bias=False)\n)"
