"""RNN, LSTM, GRU and their cells: finite-difference gradients, long sequences, dropout, init, bad input."""

import sys
import warnings

import numpy as np
import pytest

import neograd.nn.functional as F  # noqa: N812
from neograd.autograd import default_generator, get_rng_state, grad, gradcheck, manual_seed, randn, tensor
from neograd.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell
from neograd.nn.utils.rnn import PackedSequence, pack_padded_sequence

IN, HID = 2, 3


def make(cls, **kwargs):
    manual_seed(0)
    return cls(IN, HID, **kwargs).double()


def x64(*shape, seed=0):
    return tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


LAYERS = [
    (RNN, {}),
    (RNN, {"nonlinearity": "relu"}),
    (LSTM, {}),
    (LSTM, {"proj_size": 2}),
    (GRU, {}),
]


def flat(out):
    """The output and the final state(s) as one tuple of tensors."""
    y, h = out
    y = y.data if isinstance(y, PackedSequence) else y
    return (y, *h) if isinstance(h, tuple) else (y, h)


@pytest.mark.parametrize(("cls", "kwargs"), LAYERS)
def test_layer_gradients_match_finite_differences(cls, kwargs):
    model = make(cls, num_layers=2, bidirectional=True, **kwargs)
    h_size = kwargs.get("proj_size") or HID
    x = x64(2, 1, IN)
    h0 = x64(4, 1, h_size, seed=1)
    state = (h0, x64(4, 1, HID, seed=2)) if cls is LSTM else h0
    params = list(model.parameters())
    leaves = state if isinstance(state, tuple) else (state,)
    assert gradcheck(lambda x, *rest: flat(model(x, state)), (x, *leaves, *params))


@pytest.mark.parametrize(("cls", "kwargs"), LAYERS)
def test_packed_unsorted_gradients_match_finite_differences(cls, kwargs):
    model = make(cls, bidirectional=True, **kwargs)
    x = x64(3, 3, IN)
    assert gradcheck(
        lambda x, *params: flat(model(pack_padded_sequence(x, [2, 3, 1], enforce_sorted=False))),
        (x, *model.parameters()),
    )


CELLS = [(RNNCell, {}), (RNNCell, {"nonlinearity": "relu"}), (LSTMCell, {}), (GRUCell, {})]


@pytest.mark.parametrize(("cls", "kwargs"), CELLS)
def test_cell_gradients_match_finite_differences(cls, kwargs):
    cell = make(cls, **kwargs)
    x, h = x64(2, IN), x64(2, HID, seed=1)
    state = (h, x64(2, HID, seed=2)) if cls is LSTMCell else h

    def two_steps(x, *rest):
        s = cell(x, state)
        s = cell(x, s)
        return s if isinstance(s, tuple) else (s,)

    leaves = state if isinstance(state, tuple) else (state,)
    assert gradcheck(two_steps, (x, *leaves, *cell.parameters()))


@pytest.mark.parametrize(("cls", "kwargs"), LAYERS)
def test_unbatched_input_gives_unbatched_output(cls, kwargs):
    model = make(cls, num_layers=2, **kwargs)
    x = x64(4, IN)
    y, h = model(x)
    batched_y, batched_h = model(x.unsqueeze(1))
    out = kwargs.get("proj_size") or HID
    assert y.shape == (4, out)
    np.testing.assert_allclose(y.data, batched_y.data[:, 0])
    for a, b in zip(h if isinstance(h, tuple) else (h,), batched_h if isinstance(h, tuple) else (batched_h,)):
        assert a.ndim == 2
        np.testing.assert_allclose(a.data, b.data[:, 0])


@pytest.mark.parametrize(("cls", "kwargs"), CELLS)
def test_unbatched_cells(cls, kwargs):
    cell = make(cls, **kwargs)
    x = x64(IN)
    out, batched = cell(x), cell(x.unsqueeze(0))
    for a, b in zip(
        out if isinstance(out, tuple) else (out,), batched if isinstance(out, tuple) else (batched,)
    ):
        assert a.shape == (HID,)
        np.testing.assert_allclose(a.data, b.data[0])


def test_backward_through_a_thousand_steps_of_a_layer():
    model = LSTM(2, 4)
    _, (h, c) = model(randn(1000, 1, 2, requires_grad=True))
    ((h**2).sum() + (c**2).sum()).backward()
    assert all(np.isfinite(p.grad.data).all() for p in model.parameters())


def test_backward_through_a_thousand_cell_steps_without_recursion():
    # a thousand steps of a cell in a Python loop are a graph a few thousand nodes deep:
    # more than the recursion limit, so a recursive backward would fail here
    cell = GRUCell(2, 4)
    x = randn(1, 2, requires_grad=True)
    h = None
    for _ in range(1000):
        h = cell(x, h)
    assert sys.getrecursionlimit() < 3000
    h.sum().backward()
    assert np.isfinite(x.grad.data).all() and x.grad.data.any()


def test_double_backward_is_a_clear_error():
    model = make(LSTM)
    x = x64(3, 1, IN)
    y, _ = model(x)
    with pytest.raises(RuntimeError, match="create_graph"):
        grad(y.sum(), x, create_graph=True)


def test_dropout_between_layers_in_training_only():
    manual_seed(0)
    model = LSTM(2, 8, num_layers=2, dropout=0.5).double()
    x = x64(5, 3, 2)
    manual_seed(1)
    a = model(x)[0].data
    manual_seed(1)
    np.testing.assert_array_equal(model(x)[0].data, a)  # the masks come from neograd's generator
    manual_seed(2)
    assert not np.allclose(model(x)[0].data, a)
    model.eval()
    state = get_rng_state()
    b = model(x)[0].data
    assert not np.allclose(b, a)
    assert get_rng_state() == state  # eval draws nothing
    no_dropout = LSTM(2, 8, num_layers=2).double()
    no_dropout.load_state_dict(model.state_dict())
    np.testing.assert_allclose(no_dropout(x)[0].data, b)


def test_dropout_with_one_layer_warns_as_torch():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        GRU(2, 3, dropout=0.2)


def test_parameters_names_shapes_and_init():
    manual_seed(3)
    model = LSTM(5, 4, num_layers=2, bidirectional=True, proj_size=2)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert shapes["weight_ih_l0"] == (16, 5)
    assert shapes["weight_hh_l0"] == (16, 2)
    assert shapes["weight_hr_l0_reverse"] == (2, 4)
    assert shapes["weight_ih_l1"] == (16, 4)  # two directions of 2 projected features
    assert shapes["bias_hh_l1_reverse"] == (16,)
    assert len(shapes) == 20
    bound = 1 / np.sqrt(4)
    values = np.concatenate([p.data.ravel() for p in model.parameters()])
    assert values.min() >= -bound and values.max() <= bound and values.std() > 0.25 * bound
    manual_seed(3)
    again = LSTM(5, 4, num_layers=2, bidirectional=True, proj_size=2)
    np.testing.assert_array_equal(np.concatenate([p.data.ravel() for p in again.parameters()]), values)
    assert model.weight_ih_l0.dtype == np.float32
    cell = GRUCell(3, 5, bias=False)
    assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh"]


def test_repr_as_torch():
    assert (
        repr(LSTM(10, 20, num_layers=2, batch_first=True)) == "LSTM(10, 20, num_layers=2, batch_first=True)"
    )
    assert repr(GRU(3, 4, bidirectional=True, bias=False)) == "GRU(3, 4, bias=False, bidirectional=True)"
    assert repr(RNNCell(3, 4, nonlinearity="relu")) == "RNNCell(3, 4, nonlinearity=relu)"


def test_functional_cells():
    x, h, c = x64(2, IN), x64(2, HID), x64(2, HID)
    cell = make(LSTMCell)
    h1, c1 = F.lstm_cell(x, (h, c), cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    h2, c2 = cell(x, (h, c))
    np.testing.assert_allclose(h1.data, h2.data)
    np.testing.assert_allclose(c1.data, c2.data)
    with pytest.raises(ValueError, match="gru_cell"):
        F.gru_cell(x, h, cell.weight_ih, cell.weight_hh)  # 4 gates' weights for a GRU


# ---- bad input: clear errors, before any state changes -------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hidden_size": 0}, "hidden_size"),
        ({"num_layers": 0}, "num_layers"),
        ({"dropout": 1.5}, "dropout"),
        ({"proj_size": 3}, "proj_size has to be smaller"),
        ({"device": "cuda"}, "CPU"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    args = {"input_size": 2, "hidden_size": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        LSTM(**args)


def test_proj_size_and_nonlinearity_checks():
    with pytest.raises(ValueError, match="only supported for LSTM"):
        RNNBase("GRU", 2, 3, proj_size=1)
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(2, 3, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="nonlinearity"):
        RNNCell(2, 3, nonlinearity="gelu")


def _bad_calls():
    lstm = LSTM(IN, HID, num_layers=2, dropout=0.5)
    f32 = np.float32
    x = tensor(np.zeros((4, 2, IN), f32))
    h = tensor(np.zeros((2, 2, HID), f32))
    return [
        (lstm, (tensor(np.zeros((4, 2, 5), f32)),), ValueError, r"input_size. Expected 2, got 5"),
        (lstm, (tensor(np.zeros((1, 4, 2, IN), f32)),), ValueError, "2-D or 3-D, got 4-D"),
        (
            lstm,
            (x, (tensor(np.zeros((1, 2, HID), f32)), h)),
            ValueError,
            r"h_0 \(hx\[0\]\) of shape \(2, 2, 3\)",
        ),
        (lstm, (x, (h, tensor(np.zeros((2, 3, HID), f32)))), ValueError, r"c_0 .* got \(2, 3, 3\)"),
        (lstm, (x, h), TypeError, r"tuple \(h_0, c_0\)"),
        (lstm, (tensor(np.zeros((4, IN), f32)), (h, h)), ValueError, "unbatched 2-D input, h_0"),
        (lstm, (tensor(np.zeros((4, 2, IN))),), TypeError, "dtype float64 but the parameters are float32"),
        (lstm, (np.zeros((4, 2, IN), f32),), TypeError, "input must be a Tensor"),
        (lstm, (tensor(np.zeros((0, 2, IN), f32)),), ValueError, r"sequence length .* shape \(0, 2, 2\)"),
        (GRU(IN, HID), (x, tensor(np.zeros((1, 3, HID), f32))), ValueError, r"hx of shape \(1, 2, 3\)"),
        (GRUCell(IN, HID), (tensor(np.zeros((2, 4), f32)),), ValueError, "input_size: got 4 expected 2"),
        (
            GRUCell(IN, HID),
            (tensor(np.zeros((2, IN), f32)), tensor(np.zeros((3, HID), f32))),
            ValueError,
            "hx",
        ),
        (LSTMCell(IN, HID), (tensor(np.zeros((2, 2, IN), f32)),), ValueError, "1-D or 2-D"),
        (LSTMCell(IN, HID), (tensor(np.zeros((2, IN), f32)), h), TypeError, r"tuple \(h, c\)"),
    ]


@pytest.mark.parametrize("case", range(len(_bad_calls())))
def test_bad_input_is_a_clear_error_before_anything_changes(case):
    module, args, error, match = _bad_calls()[case]
    module.train()
    before = {k: v.data.copy() for k, v in module.state_dict().items()}
    rng = default_generator.bit_generator.state
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(error, match=match):
            module(*args)
    assert default_generator.bit_generator.state == rng  # no dropout mask was drawn
    for k, v in module.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])
    assert all(p.grad is None for p in module.parameters())


def test_packed_data_must_be_2d():
    model = GRU(IN, HID)
    bad = PackedSequence(tensor(np.zeros((3, 1, IN), np.float32)), [2, 1])
    with pytest.raises(ValueError, match="packed input data to be 2-D"):
        model(bad)
    with pytest.raises(ValueError, match=r"non-increasing batch_sizes .* got batch_sizes \[1, 2\]"):
        model(PackedSequence(tensor(np.zeros((3, IN), np.float32)), [1, 2]))
    with pytest.raises(ValueError, match="adding up to the rows"):
        model(PackedSequence(tensor(np.zeros((4, IN), np.float32)), [2, 1]))
