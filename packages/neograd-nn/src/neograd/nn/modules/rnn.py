"""Recurrent layers: RNN, LSTM, GRU and their one-step cells, with torch's parameters and state_dict keys.

Each layer and direction is one ``linear`` over the whole sequence (the input projection)
and one scan node for the recurrence (see neograd.nn.functional.rnn for why).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from neograd.autograd import Tensor, cat, empty, stack, zeros
from neograd.nn import functional as F  # noqa: N812 -- torch's F
from neograd.nn import init
from neograd.nn.functional.rnn import GRUScan, LSTMScan, RNNScan
from neograd.nn.module import Module, Parameter
from neograd.nn.utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _check_size(op: str, name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        kind = "a positive int" if minimum > 0 else "a non-negative int"
        raise ValueError(f"{op}: {name} must be {kind}, got {value!r}")


def _check_device(op: str, device: Any) -> None:
    if device not in (None, "cpu"):
        raise ValueError(f"{op}: neograd runs on the CPU only, got device={device!r}")


def _check_tensor(op: str, name: str, value: Any, dtype: np.dtype) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
    if value.dtype != dtype:
        raise TypeError(
            f"{op}: {name} has dtype {value.dtype} but the parameters are {dtype}; "
            f"convert it (.to({dtype})) or the module (.double() / .float())"
        )


class RNNBase(Module):
    """The common machinery of RNN, LSTM and GRU: parameters, argument checks, layers and directions.

    Parameters, in torch's order, for layer k and direction suffix s ("" or "_reverse"):
    ``weight_ih_l{k}{s}`` (gates * hidden, input), ``weight_hh_l{k}{s}`` (gates * hidden, H_out),
    ``bias_ih_l{k}{s}``, ``bias_hh_l{k}{s}`` (gates * hidden), and for an LSTM with a
    projection ``weight_hr_l{k}{s}`` (proj_size, hidden); all drawn from
    U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) as torch.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if mode not in _GATES:
            raise ValueError(f"RNNBase: unrecognized RNN mode {mode!r}; expected one of {sorted(_GATES)}")
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        _check_size(name, "input_size", input_size, 0)
        _check_size(name, "hidden_size", hidden_size, 1)
        _check_size(name, "num_layers", num_layers, 1)
        _check_size(name, "proj_size", proj_size, 0)
        _check_device(name, device)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(
                f"{name}: dropout should be a number in range [0, 1] representing the probability of an "
                f"element being zeroed, got {dropout!r}"
            )
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(
                f"{name}: proj_size has to be smaller than hidden_size, got {proj_size} >= {hidden_size}"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                stacklevel=2,
            )
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = {"weight_ih": (gate_size, layer_input), "weight_hh": (gate_size, real_hidden)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for prefix, shape in shapes.items():
                    setattr(self, prefix + suffix, Parameter(empty(*shape, dtype=dtype)))
                    self._flat_weights_names.append(prefix + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as torch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self) -> None:
        """Accepted for torch compatibility (cuDNN's weight layout): nothing to do here."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters of each layer and direction, in torch's order."""
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i : i + per]] for i in range(0, len(names), per)]

    def _name(self) -> str:
        return type(self).__name__

    # ---- checks: everything about the arguments before any computation -------------------------
    def _check_input(self, input: Any) -> tuple[Tensor, bool]:
        op = self._name()
        dtype = self.weight_ih_l0.dtype
        packed = isinstance(input, PackedSequence)
        data = input.data if packed else input
        _check_tensor(op, "input", data, dtype)
        expected = (2,) if packed else (2, 3)
        if data.ndim not in expected:
            what = "packed input data" if packed else "input"
            raise ValueError(
                f"{op}: expected {what} to be {' or '.join(f'{d}-D' for d in expected)}, got {data.ndim}-D "
                f"(shape {data.shape})"
            )
        if packed:
            sizes = np.asarray(input.batch_sizes.data)
            if (
                not len(sizes)
                or sizes.min() <= 0
                or np.any(np.diff(sizes) > 0)
                or sizes.sum() != data.shape[0]
            ):
                raise ValueError(
                    f"{op}: a PackedSequence needs positive, non-increasing batch_sizes adding up to the "
                    f"rows of its data, got batch_sizes {sizes.tolist()} for data of shape {data.shape}; "
                    "build it with pack_padded_sequence or pack_sequence"
                )
        elif data.shape[1 if self.batch_first and data.ndim == 3 else 0] == 0:
            raise ValueError(
                f"{op}: expected sequence length to be larger than 0, got input of shape {data.shape}"
            )
        if data.shape[-1] != self.input_size:
            raise ValueError(
                f"{op}: input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                f"{data.shape[-1]} (input shape {data.shape})"
            )
        return data, packed

    def _check_state(self, name: str, value: Any, shape: tuple[int, ...], batched: bool) -> None:
        op = self._name()
        _check_tensor(op, name, value, self.weight_ih_l0.dtype)
        if not batched and value.ndim != 2:
            raise ValueError(
                f"{op}: for unbatched 2-D input, {name} should also be 2-D but got {value.ndim}-D tensor"
            )
        if batched and value.ndim != 3:
            raise ValueError(
                f"{op}: for batched 3-D input, {name} should also be 3-D but got {value.ndim}-D tensor"
            )
        expected = shape if batched else (shape[0], shape[2])
        if value.shape != expected:
            raise ValueError(f"{op}: expected {name} of shape {expected}, got {value.shape}")

    def _initial_states(
        self, hx: Any, batch: int, batched: bool, dtype: np.dtype, device: Any = None
    ) -> list[Tensor]:
        directions = 2 if self.bidirectional else 1
        h_shape = (self.num_layers * directions, batch, self.proj_size or self.hidden_size)
        c_shape = (self.num_layers * directions, batch, self.hidden_size)
        if self.mode == "LSTM":
            if hx is None:
                return [
                    zeros(*h_shape, dtype=dtype, device=device),
                    zeros(*c_shape, dtype=dtype, device=device),
                ]
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTM: hx must be a tuple (h_0, c_0) of tensors, got {type(hx).__name__}")
            self._check_state("h_0 (hx[0])", hx[0], h_shape, batched)
            self._check_state("c_0 (hx[1])", hx[1], c_shape, batched)
            states = list(hx)
        else:
            if hx is None:
                return [zeros(*h_shape, dtype=dtype, device=device)]
            self._check_state("hx", hx, h_shape, batched)
            states = [hx]
        return [s if batched else s.unsqueeze(1) for s in states]

    # ---- forward ---------------------------------------------------------------------------------
    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        data, packed = self._check_input(input)
        batched = packed or data.ndim == 3
        if packed:
            batch_sizes = tuple(int(b) for b in input.batch_sizes.data)
            batch = batch_sizes[0]
            sorted_indices, unsorted_indices = input.sorted_indices, input.unsorted_indices
            x = data
        else:
            x = data if batched else data.unsqueeze(1)
            if self.batch_first and batched:
                x = x.transpose(0, 1)
            steps, batch = x.shape[0], x.shape[1]
            batch_sizes = (batch,) * steps
            x = x.reshape(steps * batch, self.input_size)
            sorted_indices = unsorted_indices = None
        states = self._initial_states(hx, batch, batched, data.dtype, data.device)
        if sorted_indices is not None:  # the packed columns are in length order: so are the states
            states = [s[:, sorted_indices.data] for s in states]

        output, finals = self._run(x, states, batch_sizes)

        if unsorted_indices is not None:
            finals = [f[:, unsorted_indices.data] for f in finals]
        if not batched:
            finals = [f.squeeze(1) for f in finals]
        state_out = tuple(finals) if self.mode == "LSTM" else finals[0]
        if packed:
            return PackedSequence(output, input.batch_sizes, sorted_indices, unsorted_indices), state_out
        output = output.reshape(len(batch_sizes), batch, output.shape[-1])
        if not batched:
            output = output.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, state_out

    def _run(
        self, x: Tensor, states: list[Tensor], batch_sizes: tuple[int, ...]
    ) -> tuple[Tensor, list[Tensor]]:
        """Every layer and direction over packed rows x (N, input): (output rows, [h_n] or [h_n, c_n])."""
        directions = 2 if self.bidirectional else 1
        batch = batch_sizes[0]
        # the row of each sequence's last step, forward in time; backward in time it is step 0's row
        # (slices where the batch is not packed: their gradient is a copy, not a scatter)
        if all(b == batch for b in batch_sizes):
            n = len(batch_sizes) * batch
            last_rows = {False: slice(n - batch, n), True: slice(0, batch)}
        else:
            starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]])
            lengths = (np.asarray(batch_sizes)[None, :] > np.arange(batch)[:, None]).sum(axis=1)
            last_rows = {False: starts[lengths - 1] + np.arange(batch), True: slice(0, batch)}
        finals: list[list[Tensor]] = [[] for _ in states]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                reverse = bool(direction)
                w_ih, w_hh = getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)
                b_ih = getattr(self, "bias_ih" + suffix) if self.bias else None
                b_hh = getattr(self, "bias_hh" + suffix) if self.bias else None
                init_states = [s[layer * directions + direction] for s in states]
                gx = F.linear(x, w_ih, b_ih)
                rows = last_rows[reverse]
                if self.mode == "LSTM":
                    w_hr = getattr(self, "weight_hr" + suffix) if self.proj_size else None
                    both = LSTMScan.apply(
                        gx, *init_states, w_hh, b_hh, w_hr, batch_sizes=batch_sizes, reverse=reverse
                    )
                    out_size = self.proj_size or self.hidden_size
                    out = both[:, :out_size]
                    last = both[rows]  # NOTE: h_n and c_n from one node: one scatter in backward, not two
                    finals[0].append(last[:, :out_size])
                    finals[1].append(last[:, out_size:])
                else:
                    if self.mode == "GRU":
                        out = GRUScan.apply(
                            gx, init_states[0], w_hh, b_hh, batch_sizes=batch_sizes, reverse=reverse
                        )
                    else:
                        nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
                        out = RNNScan.apply(
                            gx,
                            init_states[0],
                            w_hh,
                            b_hh,
                            batch_sizes=batch_sizes,
                            reverse=reverse,
                            nonlinearity=nonlinearity,
                        )
                    finals[0].append(out[rows])
                outputs.append(out)
            x = outputs[0] if directions == 1 else cat(outputs, dim=1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, [stack(f) for f in finals]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu.

    Args:
        input_size: the number of features of each step of the input.
        hidden_size: the number of features of the hidden state.
        num_layers: recurrent layers stacked, each reading the previous one's output.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        bias: learn the biases b_ih and b_hh.
        batch_first: input and output are (B, T, *) instead of (T, B, *) (not the state).
        dropout: in training, dropout on each layer's output but the last.
        bidirectional: add a layer running backward in time; outputs are concatenated.

    Shape (D = 2 if bidirectional else 1):
        input (T, B, input_size), (B, T, input_size) with batch_first, (T, input_size)
        unbatched, or a PackedSequence; hx (D * num_layers, B, hidden_size), zeros if
        omitted -> output (T, B, D * hidden_size) (or a PackedSequence), h_n like hx.

    Example:
        >>> rnn = RNN(10, 20, num_layers=2)
        >>> output, h_n = rnn(randn(5, 3, 10))       # (5, 3, 20), (2, 3, 20)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; select from 'tanh' or 'relu'")
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode,
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """LSTM: c_t = f c_{t-1} + i g, h_t = o tanh(c_t) (times W_hr^T when proj_size > 0).

    The gates [i, f, g, o] (torch's order) are x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
    through sigmoid, sigmoid, tanh, sigmoid.

    Args:
        input_size: the number of features of each step of the input.
        hidden_size: the number of features of the cell state c (and of h without projection).
        num_layers: recurrent layers stacked, each reading the previous one's output.
        bias: learn the biases b_ih and b_hh.
        batch_first: input and output are (B, T, *) instead of (T, B, *) (not the states).
        dropout: in training, dropout on each layer's output but the last.
        bidirectional: add a layer running backward in time; outputs are concatenated.
        proj_size: project h_t to this many features (0: no projection).

    Shape (D = 2 if bidirectional else 1, H_out = proj_size or hidden_size):
        input (T, B, input_size), (B, T, input_size) with batch_first, (T, input_size)
        unbatched, or a PackedSequence; hx = (h_0 (D * num_layers, B, H_out), c_0
        (D * num_layers, B, hidden_size)), zeros if omitted -> output (T, B, D * H_out)
        (or a PackedSequence) and (h_n, c_n) like hx.

    Example:
        >>> lstm = LSTM(10, 20, num_layers=2)
        >>> output, (h_n, c_n) = lstm(randn(5, 3, 10))   # (5, 3, 20), (2, 3, 20), (2, 3, 20)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class GRU(RNNBase):
    """GRU: h_t = (1 - z) n + z h_{t-1}, n = tanh(W_in x_t + b_in + r (W_hn h_{t-1} + b_hn)).

    r and z are sigmoids of their gate's x_t W_i^T + b_i + h_{t-1} W_h^T + b_h; the gates are
    in torch's order r, z, n in the rows of weight_ih and weight_hh.

    Args:
        input_size: the number of features of each step of the input.
        hidden_size: the number of features of the hidden state.
        num_layers: recurrent layers stacked, each reading the previous one's output.
        bias: learn the biases b_ih and b_hh.
        batch_first: input and output are (B, T, *) instead of (T, B, *) (not the state).
        dropout: in training, dropout on each layer's output but the last.
        bidirectional: add a layer running backward in time; outputs are concatenated.

    Shape (D = 2 if bidirectional else 1):
        input (T, B, input_size), (B, T, input_size) with batch_first, (T, input_size)
        unbatched, or a PackedSequence; hx (D * num_layers, B, hidden_size), zeros if
        omitted -> output (T, B, D * hidden_size) (or a PackedSequence), h_n like hx.

    Example:
        >>> gru = GRU(10, 20)
        >>> output, h_n = gru(randn(5, 3, 10))       # (5, 3, 20), (1, 3, 20)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )


# ---- cells: one step ------------------------------------------------------------------------------
class RNNCellBase(Module):
    """The parameters of a cell, as torch: weight_ih (gates * hidden, input), weight_hh
    (gates * hidden, hidden), bias_ih, bias_hh (gates * hidden), from U(-1/sqrt(hidden), 1/sqrt(hidden))."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        op = type(self).__name__
        _check_size(op, "input_size", input_size, 0)
        _check_size(op, "hidden_size", hidden_size, 1)
        _check_device(op, device)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as torch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _prepare(self, input: Any, states: list[tuple[str, Any]]) -> tuple[Tensor, list[Tensor], bool]:
        """Check input (B, I) or (I,) and the states; return them batched, and whether the input was."""
        op = type(self).__name__
        dtype = self.weight_ih.dtype
        _check_tensor(op, "input", input, dtype)
        if input.ndim not in (1, 2):
            raise ValueError(
                f"{op}: expected input to be 1-D or 2-D, got {input.ndim}-D (shape {input.shape})"
            )
        if input.shape[-1] != self.input_size:
            raise ValueError(
                f"{op}: input has inconsistent input_size: got {input.shape[-1]} expected {self.input_size} "
                f"(input shape {input.shape})"
            )
        batched = input.ndim == 2
        expected = (input.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        out = []
        for name, value in states:
            if value is None:
                out.append(zeros(*expected, dtype=dtype, device=input.device))
                continue
            _check_tensor(op, name, value, dtype)
            if value.shape != expected:
                raise ValueError(
                    f"{op}: expected {name} of shape {expected} for input {input.shape}, got {value.shape}"
                )
            out.append(value)
        if not batched:
            return input.unsqueeze(0), [s.unsqueeze(0) for s in out], False
        return input, out, True

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act = tanh or relu.

    Args:
        input_size: features of the input.
        hidden_size: features of the hidden state.
        bias: learn b_ih and b_hh.
        nonlinearity: ``"tanh"`` or ``"relu"``.

    Shape:
        input (B, input_size) or (input_size,); hx (B, hidden_size) or (hidden_size,), zeros if
        omitted -> h' like hx.

    Example:
        >>> cell = RNNCell(10, 20)
        >>> h = cell(randn(3, 10))                 # (3, 20)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; select from 'tanh' or 'relu'")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, [("hx", hx)])
        gx = F.linear(x, self.weight_ih, self.bias_ih)
        out = RNNScan.apply(
            gx,
            h,
            self.weight_hh,
            self.bias_hh,
            batch_sizes=(x.shape[0],),
            reverse=False,
            nonlinearity=self.nonlinearity,
        )
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: (h', c') from x and (h, c); c' = f c + i g, h' = o tanh(c'), gates i, f, g, o as torch.

    Args:
        input_size: features of the input.
        hidden_size: features of h and c.
        bias: learn b_ih and b_hh.

    Shape:
        input (B, input_size) or (input_size,); hx = (h, c), each (B, hidden_size) or
        (hidden_size,), zeros if omitted -> (h', c').

    Example:
        >>> cell = LSTMCell(10, 20)
        >>> h, c = cell(randn(3, 10))               # (3, 20), (3, 20)
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Tensor]:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c) of tensors, got {type(hx).__name__}")
        h0, c0 = hx if hx is not None else (None, None)
        x, (h, c), batched = self._prepare(input, [("hx[0] (h)", h0), ("hx[1] (c)", c0)])
        gx = F.linear(x, self.weight_ih, self.bias_ih)
        out = LSTMScan.apply(
            gx, h, c, self.weight_hh, self.bias_hh, None, batch_sizes=(x.shape[0],), reverse=False
        )
        h, c = out[:, : self.hidden_size], out[:, self.hidden_size :]
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: h' = (1 - z) n + z h, n = tanh(W_in x + b_in + r (W_hn h + b_hn)); gates r, z, n.

    Args:
        input_size: features of the input.
        hidden_size: features of the hidden state.
        bias: learn b_ih and b_hh.

    Shape:
        input (B, input_size) or (input_size,); hx (B, hidden_size) or (hidden_size,), zeros if
        omitted -> h' like hx.

    Example:
        >>> cell = GRUCell(10, 20)
        >>> h = cell(randn(3, 10))                 # (3, 20)
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, [("hx", hx)])
        gx = F.linear(x, self.weight_ih, self.bias_ih)
        out = GRUScan.apply(gx, h, self.weight_hh, self.bias_hh, batch_sizes=(x.shape[0],), reverse=False)
        return out if batched else out.squeeze(0)
