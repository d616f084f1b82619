"""Parity of RNN, LSTM, GRU, their cells and the packing utilities with torch: values and the
gradients of the inputs, the initial states and every parameter, in float64."""

import itertools
import os

import numpy as np
import pytest
import torch

import neograd.nn as nn
from neograd.autograd import backward, tensor
from neograd.nn import load, save
from neograd.nn.utils import rnn as rnn_utils

ATOL = 1e-10
SEQ, BATCH, IN, HID, PROJ = 5, 3, 4, 6, 3

# (neograd class, torch class, keyword arguments)
KINDS = {
    "rnn_tanh": (nn.RNN, torch.nn.RNN, {}),
    "rnn_relu": (nn.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, torch.nn.LSTM, {}),
    "lstm_proj": (nn.LSTM, torch.nn.LSTM, {"proj_size": PROJ}),
    "gru": (nn.GRU, torch.nn.GRU, {}),
}


def pair(kind, seed=0, **options):
    """A torch layer (float64) and a neograd layer with its weights, loaded through a NumPy state_dict."""
    ng_cls, th_cls, kwargs = KINDS[kind]
    torch.manual_seed(seed)
    source = th_cls(IN, HID, **kwargs, **options).double()
    model = ng_cls(IN, HID, **kwargs, **options).double()
    model.load_state_dict({k: v.detach().numpy().copy() for k, v in source.state_dict().items()})
    return source, model


def states(kind, layers, directions, batch, rng):
    shape = (layers * directions, *((batch,) if batch else ()), PROJ if kind == "lstm_proj" else HID)
    h = rng.standard_normal(shape)
    if kind.startswith("lstm"):
        return [h, rng.standard_normal((*shape[:-1], HID))]
    return [h]


def as_state(kind, arrays, lib):
    ts = [lib(a) for a in arrays]
    return tuple(ts) if kind.startswith("lstm") else ts[0]


def compare(ng_out, th_out, where):
    assert tuple(ng_out.shape) == tuple(th_out.shape), (
        f"{where}: shape {ng_out.shape} vs {tuple(th_out.shape)}"
    )
    np.testing.assert_allclose(ng_out.data, th_out.detach().numpy(), atol=ATOL, rtol=1e-7, err_msg=where)


def run_both(source, model, kind, x, state_arrays, pack=None):
    """Forward both, backward the same random output gradients, compare outputs and all gradients."""
    ng_x = tensor(x, requires_grad=True)
    th_x = torch.from_numpy(x.copy()).requires_grad_()
    ng_s = [tensor(a, requires_grad=True) for a in state_arrays]
    th_s = [torch.from_numpy(a.copy()).requires_grad_() for a in state_arrays]
    ng_in, th_in = ng_x, th_x
    if pack is not None:
        lengths, batch_first, enforce_sorted = pack
        ng_in = rnn_utils.pack_padded_sequence(ng_x, lengths, batch_first, enforce_sorted)
        th_in = torch.nn.utils.rnn.pack_padded_sequence(th_x, lengths, batch_first, enforce_sorted)
    ng_args = (ng_in, as_state(kind, ng_s, lambda t: t)) if ng_s else (ng_in,)
    th_args = (th_in, as_state(kind, th_s, lambda t: t)) if th_s else (th_in,)
    ng_y, ng_h = model(*ng_args)
    th_y, th_h = source(*th_args)
    if pack is not None:
        assert isinstance(ng_y, rnn_utils.PackedSequence)
        np.testing.assert_array_equal(ng_y.batch_sizes.data, th_y.batch_sizes.numpy())
        ng_y, th_y = ng_y.data, th_y.data
    ng_outs = [ng_y, *(ng_h if isinstance(ng_h, tuple) else (ng_h,))]
    th_outs = [th_y, *(th_h if isinstance(th_h, tuple) else (th_h,))]
    for k, (a, b) in enumerate(zip(ng_outs, th_outs)):
        compare(a, b, f"output {k}")
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(a.shape) for a in ng_outs]
    backward(ng_outs, grads)
    torch.autograd.backward(th_outs, [torch.from_numpy(g) for g in grads])
    compare(ng_x.grad, th_x.grad, "grad of input")
    for k, (a, b) in enumerate(zip(ng_s, th_s)):
        compare(a.grad, b.grad, f"grad of initial state {k}")
    th_params = dict(source.named_parameters())
    for name, p in model.named_parameters():
        compare(p.grad, th_params[name].grad, f"grad of {name}")


GRID = list(itertools.product(KINDS, (1, 2), (False, True), (False, True), (False, True)))


@pytest.mark.parametrize(("kind", "layers", "bidirectional", "batch_first", "with_state"), GRID)
def test_layer_grid(kind, layers, bidirectional, batch_first, with_state):
    source, model = pair(kind, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SEQ, IN) if batch_first else (SEQ, BATCH, IN))
    s = states(kind, layers, 2 if bidirectional else 1, BATCH, rng) if with_state else []
    run_both(source, model, kind, x, s)


@pytest.mark.parametrize(
    ("kind", "bidirectional", "with_state"), list(itertools.product(KINDS, (False, True), (False, True)))
)
def test_unbatched(kind, bidirectional, with_state):
    source, model = pair(kind, num_layers=2, bidirectional=bidirectional)
    rng = np.random.default_rng(2)
    s = states(kind, 2, 2 if bidirectional else 1, None, rng) if with_state else []
    run_both(source, model, kind, rng.standard_normal((SEQ, IN)), s)


@pytest.mark.parametrize("kind", KINDS)
def test_no_bias(kind):
    source, model = pair(kind, bias=False, num_layers=2)
    run_both(source, model, kind, np.random.default_rng(3).standard_normal((SEQ, BATCH, IN)), [])


PACKINGS = [
    ([5, 3, 1], True),  # sorted
    ([2, 5, 1, 4], False),  # unsorted: sorted_indices and h_n back in the original order
]


@pytest.mark.parametrize(
    ("kind", "packing", "bidirectional", "batch_first", "with_state"),
    list(itertools.product(KINDS, PACKINGS, (False, True), (False, True), (False, True))),
)
def test_packed(kind, packing, bidirectional, batch_first, with_state):
    lengths, enforce_sorted = packing
    source, model = pair(kind, num_layers=2, bidirectional=bidirectional, batch_first=batch_first)
    rng = np.random.default_rng(4)
    batch = len(lengths)
    x = rng.standard_normal((batch, SEQ, IN) if batch_first else (SEQ, batch, IN))
    s = states(kind, 2, 2 if bidirectional else 1, batch, rng) if with_state else []
    run_both(source, model, kind, x, s, pack=(lengths, batch_first, enforce_sorted))


def test_packed_output_pads_like_torch():
    source, model = pair("lstm", bidirectional=True)
    x = np.random.default_rng(5).standard_normal((SEQ, 3, IN))
    ng_y, _ = model(rnn_utils.pack_padded_sequence(tensor(x), [2, 5, 3], enforce_sorted=False))
    th_y, _ = source(
        torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x), [2, 5, 3], enforce_sorted=False)
    )
    ng_pad, ng_len = rnn_utils.pad_packed_sequence(ng_y, batch_first=True, padding_value=-1.0, total_length=7)
    th_pad, th_len = torch.nn.utils.rnn.pad_packed_sequence(
        th_y, batch_first=True, padding_value=-1.0, total_length=7
    )
    compare(ng_pad, th_pad, "padded output")
    np.testing.assert_array_equal(ng_len.data, th_len.numpy())


# ---- cells -----------------------------------------------------------------------------------------------
CELLS = {
    "rnn_tanh": (nn.RNNCell, torch.nn.RNNCell, {}),
    "rnn_relu": (nn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTMCell, torch.nn.LSTMCell, {}),
    "gru": (nn.GRUCell, torch.nn.GRUCell, {}),
}


@pytest.mark.parametrize(
    ("kind", "batched", "with_state", "bias"),
    list(itertools.product(CELLS, (True, False), (True, False), (True, False))),
)
def test_cells(kind, batched, with_state, bias):
    ng_cls, th_cls, kwargs = CELLS[kind]
    torch.manual_seed(0)
    source = th_cls(IN, HID, bias=bias, **kwargs).double()
    cell = ng_cls(IN, HID, bias=bias, **kwargs).double()
    cell.load_state_dict({k: v.detach().numpy().copy() for k, v in source.state_dict().items()})
    rng = np.random.default_rng(6)
    lead = (BATCH,) if batched else ()
    x = rng.standard_normal((*lead, IN))
    state_arrays = (
        [rng.standard_normal((*lead, HID)) for _ in range(2 if kind == "lstm" else 1)] if with_state else []
    )
    ng_x, th_x = tensor(x, requires_grad=True), torch.from_numpy(x.copy()).requires_grad_()
    ng_s = [tensor(a, requires_grad=True) for a in state_arrays]
    th_s = [torch.from_numpy(a.copy()).requires_grad_() for a in state_arrays]
    # two steps, so that the state's gradient flows through the cell twice
    ng_h = as_state(kind, ng_s, lambda t: t) if ng_s else None
    th_h = as_state(kind, th_s, lambda t: t) if th_s else None
    ng_outs, th_outs = [], []
    for _ in range(2):
        ng_h, th_h = cell(ng_x, ng_h), source(th_x, th_h)
        ng_outs += list(ng_h) if kind == "lstm" else [ng_h]
        th_outs += list(th_h) if kind == "lstm" else [th_h]
    for k, (a, b) in enumerate(zip(ng_outs, th_outs)):
        compare(a, b, f"output {k}")
    grads = [rng.standard_normal(a.shape) for a in ng_outs]
    backward(ng_outs, grads)
    torch.autograd.backward(th_outs, [torch.from_numpy(g) for g in grads])
    compare(ng_x.grad, th_x.grad, "grad of input")
    for a, b in zip(ng_s, th_s):
        compare(a.grad, b.grad, "grad of state")
    th_params = dict(source.named_parameters())
    for name, p in cell.named_parameters():
        compare(p.grad, th_params[name].grad, f"grad of {name}")


def test_functional_cells_match_torch():
    import neograd.nn.functional as F  # noqa: N812

    rng = np.random.default_rng(7)
    x, h, c = rng.standard_normal((2, IN)), rng.standard_normal((2, HID)), rng.standard_normal((2, HID))
    for name, gates in (("rnn_tanh_cell", 1), ("rnn_relu_cell", 1), ("gru_cell", 3), ("lstm_cell", 4)):
        w_ih, w_hh = rng.standard_normal((gates * HID, IN)), rng.standard_normal((gates * HID, HID))
        b_ih, b_hh = rng.standard_normal(gates * HID), rng.standard_normal(gates * HID)
        state = (tensor(h), tensor(c)) if gates == 4 else tensor(h)
        th_state = (torch.from_numpy(h), torch.from_numpy(c)) if gates == 4 else torch.from_numpy(h)
        ours = getattr(F, name)(tensor(x), state, *(tensor(a) for a in (w_ih, w_hh, b_ih, b_hh)))
        theirs = getattr(torch, name)(
            torch.from_numpy(x), th_state, *(torch.from_numpy(a) for a in (w_ih, w_hh, b_ih, b_hh))
        )
        for a, b in zip(ours if gates == 4 else [ours], theirs if gates == 4 else [theirs]):
            compare(a, b, name)


# ---- utilities -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("batch_first", "side"), list(itertools.product((False, True), ("right", "left"))))
def test_pad_sequence(batch_first, side):
    rng = np.random.default_rng(8)
    seqs = [rng.standard_normal((n, 2)) for n in (3, 1, 4)]
    ng_seqs = [tensor(s, requires_grad=True) for s in seqs]
    th_seqs = [torch.from_numpy(s.copy()).requires_grad_() for s in seqs]
    ours = rnn_utils.pad_sequence(ng_seqs, batch_first, 0.5, side)
    theirs = torch.nn.utils.rnn.pad_sequence(th_seqs, batch_first, 0.5, side)
    compare(ours, theirs, "pad_sequence")
    g = rng.standard_normal(ours.shape)
    ours.backward(g)
    theirs.backward(torch.from_numpy(g))
    for a, b in zip(ng_seqs, th_seqs):
        compare(a.grad, b.grad, "grad of a sequence")


@pytest.mark.parametrize("enforce_sorted", (True, False))
def test_pack_sequence_fields(enforce_sorted):
    rng = np.random.default_rng(9)
    sizes = (4, 2, 1) if enforce_sorted else (2, 4, 1)
    seqs = [rng.standard_normal((n, 3)) for n in sizes]
    ours = rnn_utils.pack_sequence([tensor(s) for s in seqs], enforce_sorted)
    theirs = torch.nn.utils.rnn.pack_sequence([torch.from_numpy(s) for s in seqs], enforce_sorted)
    compare(ours.data, theirs.data, "data")
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        a, b = getattr(ours, field), getattr(theirs, field)
        if b is None:
            assert a is None, field
        else:
            np.testing.assert_array_equal(a.data, b.numpy(), err_msg=field)
            assert a.dtype == np.int64


def test_pack_pad_round_trip_gradients():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((3, 4, 2))  # batch first
    ng_x, th_x = tensor(x, requires_grad=True), torch.from_numpy(x.copy()).requires_grad_()
    lengths = [2, 4, 3]
    ours, _ = rnn_utils.pad_packed_sequence(
        rnn_utils.pack_padded_sequence(ng_x, lengths, True, False), True, total_length=5
    )
    theirs, _ = torch.nn.utils.rnn.pad_packed_sequence(
        torch.nn.utils.rnn.pack_padded_sequence(th_x, lengths, True, False), True, total_length=5
    )
    compare(ours, theirs, "round trip")
    g = rng.standard_normal(ours.shape)
    ours.backward(g)
    theirs.backward(torch.from_numpy(g))
    compare(ng_x.grad, th_x.grad, "grad of the padded input")


# ---- weights from torch --------------------------------------------------------------------------------
def safetensors_torch():
    if os.environ.get("NEOGRAD_REQUIRE_TORCH"):  # the parity environment must have it: fail loudly
        import safetensors.torch

        return safetensors.torch
    return pytest.importorskip("safetensors.torch")


@pytest.mark.parametrize("kind", KINDS)
def test_torch_weights_through_safetensors(tmp_path, kind):
    st = safetensors_torch()
    ng_cls, th_cls, kwargs = KINDS[kind]
    torch.manual_seed(11)
    source = th_cls(IN, HID, num_layers=2, bidirectional=True, **kwargs)
    st.save_file(source.state_dict(), str(tmp_path / "t.safetensors"))
    model = ng_cls(IN, HID, num_layers=2, bidirectional=True, **kwargs)
    model.load_state_dict(load(tmp_path / "t.safetensors"))
    x = np.random.default_rng(12).standard_normal((SEQ, BATCH, IN)).astype(np.float32)
    with torch.no_grad():
        expected, _ = source(torch.from_numpy(x))
    np.testing.assert_allclose(model(tensor(x))[0].data, expected.numpy(), rtol=1e-5, atol=1e-5)
    # and back: neograd's file loads into torch with the same keys (strict)
    save(model.state_dict(), tmp_path / "n.safetensors")
    target = th_cls(IN, HID, num_layers=2, bidirectional=True, **kwargs)
    target.load_state_dict(st.load_file(str(tmp_path / "n.safetensors")))
    with torch.no_grad():
        np.testing.assert_allclose(
            target(torch.from_numpy(x))[0].numpy(), expected.numpy(), rtol=1e-6, atol=1e-6
        )
