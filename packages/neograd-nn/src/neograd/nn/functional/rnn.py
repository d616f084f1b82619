"""Recurrent cells, fused over a whole sequence: RNN (tanh, relu), LSTM (with projection) and GRU.

The design (issue 10): a recurrent layer first computes the input projection of every
time step at once, ``gx = x W_ih^T + b_ih`` (one matmul over the whole sequence, an
ordinary ``linear`` node), then runs the recurrence as ONE node per layer and direction:
a scan Function whose forward loops over the time steps in NumPy and whose backward is
backpropagation through time written by hand, one loop back over the steps.

Why not one node per gate per step, nor one fused node per step? Measured on
LSTM(64 -> 128), sequence 50, batch 32, float32, forward + backward, one thread, CPU time
(``NEOGRAD_BENCH_CLOCK=cpu python benchmarks/bench_lstm.py``, a shared 2-core machine, so
read the ratios rather than the milliseconds):

- composed from primitives (matmul, sigmoid, tanh, mul, add, getitem, stack: ~14 nodes
  a step): 55.8 ms;
- one fused cell node per step (``lstm_cell`` in a loop, plus the slices of h and c):
  34.9 ms;
- this fused scan: 24.5 ms (torch 2.13: 12.7 ms, so 1.9x).

The scan is also the simpler code: a step reads its rows of ``gx`` as views, where a node
per step needs a ``getitem`` per step whose backward scatters into a zero array the size
of the whole sequence (so a deeper layer, whose input needs a gradient, grows with the
square of the length); the gradient of W_hh is one matmul over all steps instead of one
per step; and a packed sequence (batch shrinking over time) is just a different row range
per step. The cells (``RNNCell``, ``LSTMCell``, ``GRUCell``, ``lstm_cell`` ...) are the
same scan over one step.

The hand-written backward works on arrays; it does not record a graph, so
``create_graph=True`` through a recurrent layer raises a clear error instead of
returning a wrong second derivative.

Rows are packed (as ``PackedSequence.data``): step t owns ``batch_sizes[t]`` rows, the
sequences sorted longest first, so a sequence that has ended simply drops off the end of
the batch. A padded (T, B, *) input is the case ``batch_sizes = [B] * T``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from neograd.autograd import Function, Tensor, backend
from neograd.nn.functional.linear import linear

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"]


def _steps(batch_sizes: Sequence[int], reverse: bool) -> list[tuple[int, int, int, int]]:
    """(first row, rows, k, first row of the previous step) of each step, in processing order.

    A step starts from the previous processed step's first k rows, then rows k: of the
    initial state. Forward in time the batch only shrinks (k = rows, except k = 0 at the
    first step); backward in time it grows, and the sequences that join start from the
    initial state.
    """
    starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]]).tolist()
    order = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
    steps, prev, prev_start = [], 0, 0
    for t in order:
        b = int(batch_sizes[t])
        steps.append((starts[t], b, min(prev, b), prev_start))
        prev, prev_start = b, starts[t]
    return steps


def _previous(states: np.ndarray, initial: np.ndarray, prev_start: int, b: int, k: int) -> np.ndarray:
    """The state a step starts from: the previous step's first k rows of ``states``, then
    the initial state's rows k:b (a view, except where a packed batch grows)."""
    if k == b:
        return states[prev_start : prev_start + b]
    if k == 0:
        return initial[:b]
    return np.concatenate([states[prev_start : prev_start + k], initial[k:b]])


def _weight_grad(
    d: np.ndarray, states: np.ndarray, initial: np.ndarray, steps: list, reverse: bool
) -> np.ndarray:
    """sum over steps of d_t^T h_{t-1}: the gradient of W_hh from the pre-activations' gradient d."""
    n, batch = len(d), len(initial)
    # not packed: each step's previous state is the block of rows one step earlier (or later)
    if all(b == batch for _, b, _, _ in steps):
        if reverse:
            return d[: n - batch].T @ states[batch:] + d[n - batch :].T @ initial
        return d[batch:].T @ states[: n - batch] + d[:batch].T @ initial
    grad = np.zeros_like(d, order="C", shape=(d.shape[1], states.shape[1]))
    for start, b, k, prev_start in steps:
        grad += d[start : start + b].T @ _previous(states, initial, prev_start, b, k)
    return grad


def _sigmoid_(x: np.ndarray) -> np.ndarray:
    """sigmoid in place."""
    # NOTE: sigmoid(x) = (1 + tanh(x / 2)) / 2 cannot overflow, unlike 1 / (1 + exp(-x))
    x *= 0.5
    np.tanh(x, out=x)
    x += 1
    x *= 0.5
    return x


def _no_double_backward(ctx: Any) -> None:
    if ctx._create_graph:
        raise RuntimeError(
            f"{type(ctx).__name__}: the fused recurrent cell has a hand-written backward on arrays, "
            "so it cannot be differentiated twice (create_graph=True). Build the cell from "
            "primitive ops (matmul, sigmoid, tanh) if you need higher-order gradients."
        )


class _Carry:
    """Routes each step's d(previous state) to the step before it or to d(initial state).

    Going back over the steps, the rows a step hands back are a prefix of the rows the
    next one (earlier in processing order) reads, or exactly them, so the carry is just
    the last gradient (a view, never copied or cleared).
    """

    def __init__(self, initial: np.ndarray, dtype: np.dtype, need_initial: bool) -> None:
        self.carry: np.ndarray | None = None
        self.d_initial = np.zeros_like(initial, dtype, order="C") if need_initial else None

    def add_to(self, grad: np.ndarray) -> np.ndarray:
        """grad (this step's rows) plus what later steps sent to these rows, as a new array."""
        carry = self.carry
        if carry is None or len(carry) == 0:
            return grad.copy()
        if len(carry) == len(grad):
            return grad + carry
        out = grad.copy()
        out[: len(carry)] += carry
        return out

    def send(self, grad: np.ndarray, k: int) -> None:
        """Rows :k go to the step processed before; rows k: came from the initial state."""
        self.carry = grad[:k]
        if self.d_initial is not None and k < len(grad):
            self.d_initial[k : len(grad)] = grad[k:]


class RNNScan(Function):
    """h_t = act(gx_t + h_{t-1} W_hh^T + b_hh), act = tanh or relu, over every step; out: all h_t.

    Backward: with a_t = act'(pre-activation) (1 - h_t^2 for tanh, [h_t > 0] for relu),
    d pre_t = (dh_t + d pre_{t+1} W_hh) * a_t; d gx_t = d pre_t; dW_hh = sum_t d pre_t^T h_{t-1};
    db_hh = sum_t d pre_t.
    """

    @staticmethod
    def forward(
        ctx: Any,
        gx: Any,
        h0: Any,
        w_hh: Any,
        b_hh: Any,
        *,
        batch_sizes: Sequence[int],
        reverse: bool,
        nonlinearity: str,
    ) -> Any:
        out = gx + b_hh if b_hh is not None else gx.copy()  # the pre-activations, made in place
        w_hh_t = backend.ascontiguousarray(w_hh.T)  # NOTE: h @ W^T runs ~1.4x faster on a contiguous copy
        steps = _steps(batch_sizes, reverse)
        for start, b, k, prev_start in steps:
            pre = out[start : start + b]
            pre += _previous(out, h0, prev_start, b, k) @ w_hh_t
            np.tanh(pre, out=pre) if nonlinearity == "tanh" else np.maximum(pre, 0, out=pre)
        ctx.save_for_backward(h0, w_hh, out)
        ctx.steps, ctx.reverse, ctx.nonlinearity = steps, reverse, nonlinearity
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, ...]:
        _no_double_backward(ctx)
        h0, w_hh, out = ctx.saved_tensors
        need_gx, need_h0, need_w, need_b = ctx.needs_input_grad
        d_pre = np.empty_like(out)
        carry = _Carry(h0, out.dtype, need_h0)
        for start, b, k, _ in reversed(ctx.steps):
            rows = slice(start, start + b)
            d = carry.add_to(grad_output[rows])
            h = out[rows]
            d *= (1 - h * h) if ctx.nonlinearity == "tanh" else (h > 0)
            d_pre[rows] = d
            carry.send(d @ w_hh, k)
        grad_w = _weight_grad(d_pre, out, h0, ctx.steps, ctx.reverse) if need_w else None
        grad_b = d_pre.sum(axis=0) if need_b else None
        return d_pre if need_gx else None, carry.d_initial, grad_w, grad_b


class LSTMScan(Function):
    """LSTM over every step; out: [h_t, c_t] side by side, shape (rows, P + H).

    Forward, with gates = gx_t + h_{t-1} W_hh^T + b_hh split as torch into i, f, g, o:
    i, f, o = sigmoid(.), g = tanh(.); c_t = f c_{t-1} + i g; m_t = o tanh(c_t);
    h_t = m_t W_hr^T with a projection (proj_size > 0), else h_t = m_t.

    Backward: dm = dh W_hr (or dh); dc += dm o (1 - tanh(c)^2); d pre of
    i, f, g, o = dc g i(1-i), dc c_{t-1} f(1-f), dc i (1-g^2), dm tanh(c) o(1-o);
    dc_{t-1} = dc f; dh_{t-1} = d pre W_hh; dW_hh = sum_t d pre_t^T h_{t-1};
    dW_hr = sum_t dh_t^T m_t.
    """

    @staticmethod
    def forward(
        ctx: Any,
        gx: Any,
        h0: Any,
        c0: Any,
        w_hh: Any,
        b_hh: Any,
        w_hr: Any,
        *,
        batch_sizes: Sequence[int],
        reverse: bool,
    ) -> Any:
        n, hidden, p = gx.shape[0], c0.shape[1], h0.shape[1]
        out = np.empty_like(gx, order="C", shape=(n, p + hidden))
        hs, cs = out[:, :p], out[:, p:]
        acts = gx + b_hh if b_hh is not None else gx.copy()  # the pre-activations, then i, f, g, o in place
        w_hh_t = backend.ascontiguousarray(w_hh.T)  # NOTE: h @ W^T runs ~1.4x faster on a contiguous copy
        w_hr_t = backend.ascontiguousarray(w_hr.T) if w_hr is not None else None
        tanh_c = np.empty_like(gx, order="C", shape=(n, hidden))
        m_all = np.empty_like(gx, order="C", shape=(n, hidden)) if w_hr is not None else None
        steps = _steps(batch_sizes, reverse)
        for start, b, k, prev_start in steps:
            rows = slice(start, start + b)
            a = acts[rows]
            a += _previous(hs, h0, prev_start, b, k) @ w_hh_t
            i, f, g, o = (
                a[:, :hidden],
                a[:, hidden : 2 * hidden],
                a[:, 2 * hidden : 3 * hidden],
                a[:, 3 * hidden :],
            )
            tanh_g = np.tanh(g)
            _sigmoid_(a)  # NOTE: over all four gates in one go (fewer, larger ops), then g is put back
            g[...] = tanh_g
            c = cs[rows]
            np.multiply(f, _previous(cs, c0, prev_start, b, k), out=c)
            c += i * g
            tc = np.tanh(c, out=tanh_c[rows])
            if w_hr is not None:
                np.matmul(np.multiply(o, tc, out=m_all[rows]), w_hr_t, out=hs[rows])
            else:
                np.multiply(o, tc, out=hs[rows])
        ctx.save_for_backward(h0, c0, w_hh, w_hr, out)
        ctx.acts, ctx.tanh_c, ctx.m_all, ctx.steps, ctx.reverse = acts, tanh_c, m_all, steps, reverse
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, ...]:
        _no_double_backward(ctx)
        h0, c0, w_hh, w_hr, out = ctx.saved_tensors
        need_gx, need_h0, need_c0, need_w, need_b, need_r = ctx.needs_input_grad
        acts, tanh_c = ctx.acts, ctx.tanh_c
        p, hidden = h0.shape[1], c0.shape[1]
        cs = out[:, p:]
        d_gates = np.empty_like(acts)
        d_h = np.empty_like(acts, order="C", shape=(acts.shape[0], p)) if w_hr is not None else None
        carry_h = _Carry(h0, acts.dtype, need_h0)
        carry_c = _Carry(c0, acts.dtype, need_c0)
        for start, b, k, prev_start in reversed(ctx.steps):
            rows = slice(start, start + b)
            a, tc = acts[rows], tanh_c[rows]
            i, f, g, o = (
                a[:, :hidden],
                a[:, hidden : 2 * hidden],
                a[:, 2 * hidden : 3 * hidden],
                a[:, 3 * hidden :],
            )
            dh = carry_h.add_to(grad_output[rows, :p])
            if w_hr is not None:
                d_h[rows] = dh
                dm = dh @ w_hr
            else:
                dm = dh
            dc = carry_c.add_to(grad_output[rows, p:])
            dm_o = dm * o
            dc += dm_o - dm_o * tc * tc  # dm o (1 - tanh(c)^2)
            dg = d_gates[rows]
            d_i, d_f, d_g, d_o = (
                dg[:, :hidden],
                dg[:, hidden : 2 * hidden],
                dg[:, 2 * hidden : 3 * hidden],
                dg[:, 3 * hidden :],
            )
            np.multiply(dc, g, out=d_i)
            np.multiply(dc, _previous(cs, c0, prev_start, b, k), out=d_f)
            np.multiply(dm, tc, out=d_o)
            d_g[...] = 0  # NOTE: not left uninitialised: the next line multiplies every column
            dg *= a - a * a  # sigmoid' = s (1 - s) for i, f, o; g's column block is set next
            np.multiply(dc, i, out=d_g)
            d_g *= 1 - g * g
            carry_h.send(dg @ w_hh, k)
            carry_c.send(dc * f, k)
        grad_w = _weight_grad(d_gates, out[:, :p], h0, ctx.steps, ctx.reverse) if need_w else None
        grad_b = d_gates.sum(axis=0) if need_b else None
        grad_r = d_h.T @ ctx.m_all if need_r else None
        return d_gates if need_gx else None, carry_h.d_initial, carry_c.d_initial, grad_w, grad_b, grad_r


class GRUScan(Function):
    """GRU over every step (torch's gate order r, z, n); out: all h_t.

    Forward, with gh = h_{t-1} W_hh^T + b_hh: r = sigmoid(gx_r + gh_r), z = sigmoid(gx_z + gh_z),
    n = tanh(gx_n + r gh_n), h_t = (1 - z) n + z h_{t-1}.

    Backward: dn = dh (1 - z) (1 - n^2); dz = dh (h_{t-1} - n) z (1 - z);
    dr = dn gh_n r (1 - r); d gx = [dr, dz, dn]; d gh = [dr, dz, dn r];
    dh_{t-1} = dh z + d gh W_hh; dW_hh = sum_t d gh_t^T h_{t-1}; db_hh = sum_t d gh_t.
    """

    @staticmethod
    def forward(
        ctx: Any, gx: Any, h0: Any, w_hh: Any, b_hh: Any, *, batch_sizes: Sequence[int], reverse: bool
    ) -> Any:
        hidden = h0.shape[1]
        out = np.empty_like(gx, order="C", shape=(gx.shape[0], hidden))
        acts = np.empty_like(gx)  # r, z, n
        gh_n = np.empty_like(out)
        w_hh_t = backend.ascontiguousarray(w_hh.T)
        steps = _steps(batch_sizes, reverse)
        for start, b, k, prev_start in steps:
            rows = slice(start, start + b)
            hp = _previous(out, h0, prev_start, b, k)
            gh = hp @ w_hh_t
            if b_hh is not None:
                gh += b_hh
            x = gx[rows]
            rz = _sigmoid_(x[:, : 2 * hidden] + gh[:, : 2 * hidden])
            r, z = rz[:, :hidden], rz[:, hidden:]
            n = np.tanh(x[:, 2 * hidden :] + r * gh[:, 2 * hidden :])
            out[rows] = n + z * (hp - n)
            acts[rows, : 2 * hidden] = rz
            acts[rows, 2 * hidden :] = n
            gh_n[rows] = gh[:, 2 * hidden :]
        ctx.save_for_backward(h0, w_hh, out)
        ctx.acts, ctx.gh_n, ctx.steps, ctx.reverse = acts, gh_n, steps, reverse
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> tuple[Any, ...]:
        _no_double_backward(ctx)
        h0, w_hh, out = ctx.saved_tensors
        need_gx, need_h0, need_w, need_b = ctx.needs_input_grad
        acts, gh_n = ctx.acts, ctx.gh_n
        hidden = h0.shape[1]
        d_gx = np.empty_like(acts)
        d_gh = np.empty_like(acts)
        carry = _Carry(h0, acts.dtype, need_h0)
        for start, b, k, prev_start in reversed(ctx.steps):
            rows = slice(start, start + b)
            a, hp = acts[rows], _previous(out, h0, prev_start, b, k)
            r, z, n = a[:, :hidden], a[:, hidden : 2 * hidden], a[:, 2 * hidden :]
            dh = carry.add_to(grad_output[rows])
            dn = dh * (1 - z) * (1 - n * n)
            dx, dgh = d_gx[rows], d_gh[rows]
            dx[:, :hidden] = dn * gh_n[rows] * r * (1 - r)
            dx[:, hidden : 2 * hidden] = dh * (hp - n) * z * (1 - z)
            dx[:, 2 * hidden :] = dn
            dgh[:, : 2 * hidden] = dx[:, : 2 * hidden]
            dgh[:, 2 * hidden :] = dn * r
            carry.send(dh * z + dgh @ w_hh, k)
        grad_w = _weight_grad(d_gh, out, h0, ctx.steps, ctx.reverse) if need_w else None
        grad_b = d_gh.sum(axis=0) if need_b else None
        return d_gx if need_gx else None, carry.d_initial, grad_w, grad_b


# ---- the cells as functions (torch.rnn_tanh_cell, torch.lstm_cell, ...): the scan over one step ----
def _cell_input(op: str, input: Any, hx: Any, w_ih: Any, w_hh: Any, gates: int) -> None:
    for name, t in (("input", input), ("hx", hx), ("w_ih", w_ih), ("w_hh", w_hh)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if input.ndim != 2 or hx.ndim != 2:
        raise ValueError(
            f"{op}: input and hx must be 2-D (batch, features), got shapes {input.shape} and {hx.shape}"
        )
    if (
        w_ih.ndim != 2
        or w_hh.ndim != 2
        or w_hh.shape[0] != gates * w_hh.shape[1]
        or w_ih.shape[0] != w_hh.shape[0]
    ):
        raise ValueError(
            f"{op}: w_ih and w_hh must be ({gates} * hidden_size, features), "
            f"got shapes {w_ih.shape} and {w_hh.shape}"
        )
    if input.shape[1] != w_ih.shape[1] or hx.shape != (input.shape[0], w_hh.shape[1]):
        raise ValueError(
            f"{op}: input {input.shape} and hx {hx.shape} do not fit w_ih {w_ih.shape} and w_hh {w_hh.shape} "
            f"(expected input (batch, {w_ih.shape[1]}) and hx (batch, {w_hh.shape[1]}))"
        )


def _rnn_cell(
    op: str, nonlinearity: str, input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Any, b_hh: Any
):
    _cell_input(op, input, hx, w_ih, w_hh, 1)
    gx = linear(input, w_ih, b_ih)
    return RNNScan.apply(
        gx, hx, w_hh, b_hh, batch_sizes=(input.shape[0],), reverse=False, nonlinearity=nonlinearity
    )


def rnn_tanh_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), as torch.rnn_tanh_cell.

    Shape:
        input (B, I), hx (B, H), w_ih (H, I), w_hh (H, H) -> (B, H)
    """
    return _rnn_cell("rnn_tanh_cell", "tanh", input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh), as torch.rnn_relu_cell.

    Shape:
        input (B, I), hx (B, H), w_ih (H, I), w_hh (H, H) -> (B, H)
    """
    return _rnn_cell("rnn_relu_cell", "relu", input, hx, w_ih, w_hh, b_ih, b_hh)


def lstm_cell(
    input: Tensor,
    hx: Sequence[Tensor],
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One LSTM step, as torch.lstm_cell: (h', c') from x and (h, c); gates i, f, g, o as torch.

    c' = f c + i g, h' = o tanh(c'), with [i, f, g, o] = x W_ih^T + b_ih + h W_hh^T + b_hh
    through sigmoid, sigmoid, tanh, sigmoid.

    Shape:
        input (B, I), hx ((B, H), (B, H)), w_ih (4H, I), w_hh (4H, H) -> ((B, H), (B, H))
    """
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise TypeError(f"lstm_cell: hx must be a pair (h, c) of tensors, got {type(hx).__name__}")
    h, c = hx
    _cell_input("lstm_cell", input, h, w_ih, w_hh, 4)
    if not isinstance(c, Tensor) or c.shape != h.shape:
        raise ValueError(f"lstm_cell: c must have the shape of h {h.shape}, got {getattr(c, 'shape', c)}")
    gx = linear(input, w_ih, b_ih)
    out = LSTMScan.apply(gx, h, c, w_hh, b_hh, None, batch_sizes=(input.shape[0],), reverse=False)
    hidden = h.shape[1]
    return out[:, :hidden], out[:, hidden:]


def gru_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """One GRU step, as torch.gru_cell: h' = (1 - z) n + z h, n = tanh(W_in x + b_in + r (W_hn h + b_hn)).

    Shape:
        input (B, I), hx (B, H), w_ih (3H, I), w_hh (3H, H) -> (B, H)
    """
    _cell_input("gru_cell", input, hx, w_ih, w_hh, 3)
    gx = linear(input, w_ih, b_ih)
    return GRUScan.apply(gx, hx, w_hh, b_hh, batch_sizes=(input.shape[0],), reverse=False)
