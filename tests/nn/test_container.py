"""Sequential, ModuleList, ModuleDict, Identity, Flatten, Unflatten."""

from collections import OrderedDict

import numpy as np
import pytest

from neograd.autograd import arange, randn
from neograd.nn import (
    Flatten,
    Identity,
    Linear,
    ModuleDict,
    ModuleList,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    Unflatten,
)


def test_sequential_chains_its_modules():
    a, b = Linear(3, 4), Linear(4, 2)
    model = Sequential(a, ReLU(), b)
    x = randn(5, 3)
    expected = b(a(x).relu())
    np.testing.assert_allclose(model(x).data, expected.data, rtol=1e-6)


def test_sequential_indexing_len_iteration_and_slices():
    mods = [Linear(2, 2), ReLU(), Tanh()]
    model = Sequential(*mods)
    assert len(model) == 3 and list(model) == mods
    assert model[-1] is mods[2] and model[0] is mods[0]
    sub = model[1:]
    assert isinstance(sub, Sequential) and list(sub) == mods[1:]
    with pytest.raises(IndexError, match="out of range"):
        model[3]


def test_sequential_append_insert_setitem_and_delitem_keep_keys_numbered():
    model = Sequential(Linear(2, 2))
    model.append(ReLU())
    model.insert(0, Tanh())
    assert [type(m).__name__ for m in model] == ["Tanh", "Linear", "ReLU"]
    assert [n for n, _ in model.named_children()] == ["0", "1", "2"]
    model[2] = Sigmoid()
    assert isinstance(model[2], Sigmoid)
    del model[0]
    assert [n for n, _ in model.named_children()] == ["0", "1"]
    assert list(model.state_dict()) == ["0.weight", "0.bias"]


def test_sequential_from_an_ordered_dict_keeps_the_names():
    model = Sequential(OrderedDict([("fc", Linear(2, 3)), ("act", ReLU())]))
    assert list(model.state_dict()) == ["fc.weight", "fc.bias"]
    assert model[0] is model.fc


def test_module_list_registers_its_modules():
    layers = ModuleList([Linear(2, 2) for _ in range(3)])
    assert len(list(layers.parameters())) == 6
    layers.append(Linear(2, 1))
    layers += [ReLU()]
    assert len(layers) == 5 and isinstance(layers[-1], ReLU)
    assert list(layers.state_dict())[:2] == ["0.weight", "0.bias"]
    del layers[0]
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2", "3"]
    layers.insert(1, Tanh())
    assert isinstance(layers[1], Tanh)
    assert isinstance(layers[1:3], ModuleList) and len(layers[1:3]) == 2
    with pytest.raises(NotImplementedError, match="iterate"):
        layers(randn(2))


def test_module_dict_is_an_ordered_mapping_of_modules():
    heads = ModuleDict({"cls": Linear(4, 3), "box": Linear(4, 2)})
    assert list(heads) == ["cls", "box"] and "cls" in heads and len(heads) == 2
    assert list(heads.state_dict()) == ["cls.weight", "cls.bias", "box.weight", "box.bias"]
    heads["extra"] = ReLU()
    assert list(heads.keys()) == ["cls", "box", "extra"]
    assert isinstance(heads.pop("extra"), ReLU) and "extra" not in heads
    heads.update([("act", Tanh())])
    assert [k for k, _ in heads.items()] == ["cls", "box", "act"]
    with pytest.raises(TypeError, match="pairs"):
        heads.update([ReLU()])


def test_identity_returns_its_input():
    x = randn(2, 3)
    assert Identity(54, unused="x")(x) is x


def test_flatten_and_unflatten():
    x = arange(24).reshape(2, 3, 4).float()
    assert Flatten()(x).shape == (2, 12)
    assert Flatten(0, 1)(x).shape == (6, 4)
    y = Unflatten(1, (3, 4))(Flatten()(x))
    np.testing.assert_array_equal(y.data, x.data)
    assert repr(Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(Unflatten(1, (3, 4))) == "Unflatten(dim=1, unflattened_size=(3, 4))"


def test_flatten_passes_gradients_back():
    x = randn(2, 3, 4, requires_grad=True)
    (Flatten()(x) * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3, 4), 2.0))
