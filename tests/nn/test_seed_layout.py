"""The original project's names and data layout: Model, Layer, get_params, `with model.eval()`,
nn.loss's BCE/MSE/CE/SoftmaxCE, and Linear on (features, examples) inputs."""

import warnings

import numpy as np
import pytest

from neograd.autograd import is_grad_enabled, randn, tensor
from neograd.nn import Dropout, Layer, Linear, Model, Module, Parameter, ReLU, Sequential, Sigmoid
from neograd.nn.loss import BCE, CE, MSE, SoftmaxCE


class NN(Model):
    """The seed's model, as its README writes it."""

    def __init__(self):
        super().__init__(self)
        self.stack = Sequential(Linear(2, 10), ReLU(), Linear(10, 1), Sigmoid())

    def forward(self, inputs):
        return self.stack(inputs)


def rows_reference(model, x_rows):
    """The model computed by hand on batch-first rows, with plain NumPy (float32 sigmoids near 0
    carry absolute rounding errors of ~1e-8, hence the atol of the comparisons)."""
    w1, b1 = model.stack[0].weight.data, model.stack[0].bias.data
    w2, b2 = model.stack[2].weight.data, model.stack[2].bias.data
    h = np.maximum(x_rows @ w1.T + b1, 0)
    return 1 / (1 + np.exp(-(h @ w2.T + b2)))


# ---- the seed's names -------------------------------------------------------------------------
def test_model_accepts_super_init_self_and_is_a_module():
    model = NN()
    assert isinstance(model, Module)
    assert next(model.named_parameters())[0] == "stack.0.weight"


def test_model_refuses_other_positional_arguments():
    class Bad(Model):
        def __init__(self):
            super().__init__(3)

    with pytest.raises(TypeError, match=r"super\(\).__init__\(self\)"):
        Bad()


def test_layer_is_a_module_for_custom_layers():
    class Scale(Layer):
        def __init__(self):
            super().__init__(self)
            self.s = Parameter(tensor([2.0]))

        def forward(self, x):
            return x * self.s

    layer = Scale()
    assert isinstance(layer, Module) and layer.get_params() == [layer.s]
    np.testing.assert_allclose(layer(tensor([1.0, 3.0])).data, [2.0, 6.0])


def test_get_params_is_the_list_of_parameters():
    model = NN()
    params = model.get_params()
    assert isinstance(params, list) and len(params) == 4
    assert all(a is b for a, b in zip(params, model.parameters()))


def test_with_eval_sets_eval_and_no_grad_and_restores_both():
    model = NN()
    model.stack.append(Dropout(0.5))
    x = randn(3, 2)
    with model.eval() as m:
        assert m is model
        assert not model.training and not model.stack[4].training
        assert not is_grad_enabled()
        out = model(x)
        assert not out.requires_grad
    assert model.training and model.stack[4].training
    assert is_grad_enabled() and model(x).requires_grad


def test_with_eval_restores_mixed_modes_and_survives_exceptions():
    model = NN()
    model.stack[0].eval()  # one submodule already in eval mode
    with pytest.raises(ZeroDivisionError):
        with model.eval():
            1 / 0
    assert is_grad_enabled()
    assert model.training and not model.stack[0].training and model.stack[2].training


def test_bare_eval_is_torchs_eval():
    model = NN()
    assert model.eval() is model and not model.training and is_grad_enabled()


def test_a_module_is_a_context_manager_only_through_eval():
    with pytest.raises(RuntimeError, match=r"with model.eval\(\)"):
        with NN():
            pass


# ---- the seed's losses ------------------------------------------------------------------------------
def test_bce_takes_the_seeds_layout_and_integer_labels():
    p = np.array([[0.9, 0.2, 0.6]], dtype=np.float32)
    y = np.array([[1, 0, 0]], dtype=np.int64)
    loss = BCE()(tensor(p, requires_grad=True), tensor(y))
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-6)


def test_mse_is_the_mean_squared_error():
    loss = MSE()(tensor([[1.0, 2.0, 4.0]]), tensor([[1, 2, 2]]))
    np.testing.assert_allclose(loss.item(), 4 / 3, rtol=1e-6)


def test_ce_is_cross_entropy_of_probabilities_averaged_over_examples():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    y = np.array([[1, 0, 0], [0, 0, 1]])
    loss = CE()(tensor(p), tensor(y))
    np.testing.assert_allclose(loss.item(), -(np.log(0.7) + np.log(0.8)) / 2)
    # the class axis may be the first, as in the seed's (classes, examples) layout
    np.testing.assert_allclose(CE(axis=0)(tensor(p.T), tensor(y.T)).item(), loss.item())
    assert np.isfinite(CE()(tensor([[0.0, 1.0]]), tensor([[1.0, 0.0]])).item())


def test_softmax_ce_is_fused_softmax_and_cross_entropy():
    x = np.array([[2.0, 0.5, -1.0], [0.0, 3.0, 1.0]])
    y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    logits = tensor(x, requires_grad=True)
    loss = SoftmaxCE()(logits, tensor(y))
    p = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    np.testing.assert_allclose(loss.item(), -np.mean(np.sum(y * np.log(p), 1)))
    loss.backward()
    np.testing.assert_allclose(logits.grad.data, (p - y) / 2)


def test_softmax_ce_is_stable_for_huge_logits():
    logits = tensor([[1e4, -1e4]], requires_grad=True)
    loss = SoftmaxCE()(logits, tensor([[0.0, 1.0]]))
    loss.backward()
    assert loss.item() == pytest.approx(2e4)
    np.testing.assert_allclose(logits.grad.data, [[1.0, -1.0]])


# ---- the layout rule -----------------------------------------------------------------------------
def test_columns_layout_matches_the_batch_first_computation():
    model = NN()
    x = np.random.default_rng(0).standard_normal((2, 7)).astype(np.float32)  # 7 examples as columns
    with pytest.warns(UserWarning, match=r"\(features, examples\)"):
        out = model(tensor(x))
    assert out.shape == (1, 7)
    np.testing.assert_allclose(out.data, rows_reference(model, x.T).T, rtol=1e-5, atol=1e-6)


def test_batch_first_input_is_torchs_layout_without_warning():
    model = NN()
    x = np.random.default_rng(1).standard_normal((7, 2)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = model(tensor(x))
    assert out.shape == (7, 1)
    np.testing.assert_allclose(out.data, rows_reference(model, x), rtol=1e-5, atol=1e-6)


def test_batch_as_wide_as_the_hidden_layer_keeps_the_first_layers_layout():
    # 10 examples as columns: the second Linear sees (10, 10), which alone would read as
    # batch-first rows; the call's layout makes it read columns, as the first Linear did
    model = NN()
    x = np.random.default_rng(2).standard_normal((2, 10)).astype(np.float32)
    with pytest.warns(UserWarning):
        out = model(tensor(x))
    assert out.shape == (1, 10)
    np.testing.assert_allclose(out.data, rows_reference(model, x.T).T, rtol=1e-5, atol=1e-6)


def test_layout_is_decided_again_for_each_outermost_call():
    model = NN()
    x = np.random.default_rng(3).standard_normal((2, 10)).astype(np.float32)
    with pytest.warns(UserWarning):
        model(tensor(x))
    rows = model(tensor(x.T.copy()))  # the next call is batch-first again
    np.testing.assert_allclose(rows.data, rows_reference(model, x.T), rtol=1e-5, atol=1e-6)


def test_columns_gradients_match_the_batch_first_ones():
    cols, rows = NN(), NN()
    rows.load_state_dict(cols.state_dict())
    x = np.random.default_rng(4).standard_normal((2, 10)).astype(np.float32)
    y = (np.random.default_rng(5).random(10) > 0.5).astype(np.int64)
    with pytest.warns(UserWarning):
        BCE()(cols(tensor(x)), tensor(y[None, :])).backward()
    BCE()(rows(tensor(x.T.copy())), tensor(y[:, None])).backward()
    for a, b in zip(cols.parameters(), rows.parameters()):
        np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-5, atol=1e-7)


def test_the_columns_warning_is_given_once():
    model = NN()
    x = tensor(np.zeros((2, 5), np.float32))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            model(x)
    assert len([w for w in caught if "(features, examples)" in str(w.message)]) == 1


def test_a_square_input_is_read_batch_first():
    lin = Linear(3, 2)
    x = np.random.default_rng(6).standard_normal((3, 3)).astype(np.float32)
    np.testing.assert_allclose(lin(tensor(x)).data, x @ lin.weight.data.T, rtol=1e-5, atol=1e-6)


def test_a_later_linear_that_cannot_read_columns_says_why():
    model = Sequential(Linear(2, 4), Linear(3, 1))
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"\(features, examples\).*in_features=3"):
        model(randn(2, 5))


def test_an_input_that_fits_neither_layout_is_an_error_naming_shapes():
    with pytest.raises(ValueError, match=r"\(4, 5\).*in_features=2"):
        Linear(2, 3)(randn(4, 5))
