"""The recurrences of ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``: one layer in one direction as one node.

Input is in packed layout: ``x`` ``(N, I)`` holds the rows of step 0, then those of step 1, …, with
``batch_sizes[t]`` rows at step ``t`` (decreasing, the longest sequences first). A padded ``(T, B, I)`` input
is the same layout with ``batch_sizes = (B,) * T``, so one loop serves both. Forward projects every step's
input with one matmul, then walks the time steps with one ``h @ W_hh.T`` each; backward walks them in the
opposite order (backpropagation through time) and forms every weight gradient with one matmul at the end.

Gates (``σ`` the logistic sigmoid, ``*`` element-wise, pre-activations ``a = x W_ih^T + b_ih + h W_hh^T +
b_hh``):

- RNN: ``h' = tanh(a)`` or ``relu(a)``.
- LSTM (rows i, f, g, o of the weights): ``c' = σ(a_f) * c + σ(a_i) * tanh(a_g)``,
  ``h' = σ(a_o) * tanh(c')``, then ``h' = h' W_hr^T`` with a projection.
- GRU (rows r, z, n): ``r = σ(a_r)``, ``z = σ(a_z)``, ``n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))``,
  ``h' = (1 - z) * n + z * h``.
"""

from __future__ import annotations

from typing import Any

from nnrun.autograd.function import Function

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _sigmoid_(a: Any, xp: Any) -> Any:
    """σ(a) = (1 + tanh(a / 2)) / 2 in place: no overflow for large |a|, four passes over ``a``."""
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _steps(batch_sizes: tuple[int, ...], reverse: bool) -> list[tuple[int, int]]:
    """``(first row, row count)`` of each time step, in the order the recurrence visits them."""
    spans = []
    start = 0
    for size in batch_sizes:
        spans.append((start, size))
        start += size
    return spans[::-1] if reverse else spans


class _Tape:
    """What forward keeps for backward, one row per row of the packed input: the state each step started
    from (``h_prev``, ``c_prev``), the activated gates, ``tanh(c')`` and, for an LSTM projection, its input
    ``m = o * tanh(c')``, or, for GRU, ``h W_hn^T + b_hn`` (which ``r`` scales)."""

    def __init__(
        self,
        xp: Any,
        rows: int,
        out_size: int,
        gate_size: int,
        hidden: int,
        mode: str,
        proj: bool,
        dtype: Any,
    ) -> None:
        def empty(width: int) -> Any:
            return xp.empty((rows, width), dtype)

        lstm = mode == "LSTM"
        self.h_prev = empty(out_size)
        self.gates = empty(gate_size)
        self.c_prev = empty(hidden) if lstm else None
        self.tanh_c = empty(hidden) if lstm else None
        self.m = empty(hidden) if lstm and proj else None
        self.hn = empty(hidden) if mode == "GRU" else None


# ----- one step forward: ``a`` holds h W_hh^T on entry and the activated gates on exit; ``out`` gets h' -----
def _rnn_step(xp: Any, mode: str, a: Any, pre: Any, out: Any) -> None:
    a += pre
    if mode == "RNN_TANH":
        xp.tanh(a, out=a)
    else:
        xp.maximum(a, 0, out=a)
    out[...] = a


def _lstm_step(xp: Any, a: Any, pre: Any, c: Any, rows: slice, tape: _Tape, w_hr_t: Any, out: Any) -> None:
    hidden = c.shape[1]
    size = a.shape[0]
    a += pre
    _sigmoid_(a[:, : 2 * hidden], xp)
    xp.tanh(a[:, 2 * hidden : 3 * hidden], out=a[:, 2 * hidden : 3 * hidden])
    _sigmoid_(a[:, 3 * hidden :], xp)
    i, f, g, o = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
    c_in = c[:size]
    tape.c_prev[rows] = c_in
    c_new = f * c_in
    c_new += i * g  # c' = f * c + i * g
    c[:size] = c_new
    tanh_c = tape.tanh_c[rows]
    xp.tanh(c_new, out=tanh_c)
    if w_hr_t is None:
        xp.multiply(o, tanh_c, out=out)  # h' = o * tanh(c')
    else:
        m = tape.m[rows]
        xp.multiply(o, tanh_c, out=m)
        xp.matmul(m, w_hr_t, out=out)  # h' = (o * tanh(c')) W_hr^T


def _gru_step(xp: Any, a: Any, pre: Any, h_in: Any, b_hh: Any, rows: slice, tape: _Tape, out: Any) -> None:
    hidden = h_in.shape[1]
    if b_hh is not None:
        a += b_hh
    tape.hn[rows] = a[:, 2 * hidden :]
    a[:, : 2 * hidden] += pre[:, : 2 * hidden]
    _sigmoid_(a[:, : 2 * hidden], xp)
    r, z, new = a[:, :hidden], a[:, hidden : 2 * hidden], a[:, 2 * hidden :]
    new *= r
    new += pre[:, 2 * hidden :]
    xp.tanh(new, out=new)  # n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
    xp.subtract(h_in, new, out=out)
    out *= z
    out += new  # h' = n + z * (h - n)


# ----- one step backward: ``g_out`` is dL/dh'; fills the step's rows of dL/da and returns dL/dh -----
def _rnn_step_backward(xp: Any, mode: str, g_out: Any, a: Any, da: Any, w_hh: Any) -> Any:
    if mode == "RNN_TANH":
        xp.multiply(g_out, 1 - a * a, out=da)  # tanh' = 1 - tanh^2
    else:
        xp.multiply(g_out, a > 0, out=da)
    return da @ w_hh


def _lstm_step_backward(
    xp: Any, g_out: Any, a: Any, da: Any, dc: Any, rows: slice, tape: _Tape, w_hr: Any, w_hh: Any
) -> Any:
    """``dc`` (dL/dc' in, dL/dc out) is updated in place."""
    hidden = dc.shape[1]
    size = a.shape[0]
    if w_hr is not None:
        g_out = g_out @ w_hr  # dL/dm with h' = m W_hr^T
    i, f, g, o = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
    tanh_c = tape.tanh_c[rows]
    d_c = 1 - tanh_c * tanh_c
    d_c *= o
    d_c *= g_out
    d_c += dc[:size]  # dL/dc' = carried + dL/dh' * o * (1 - tanh(c')^2)
    xp.multiply(d_c, g, out=da[:, :hidden])  # dL/di
    xp.multiply(d_c, tape.c_prev[rows], out=da[:, hidden : 2 * hidden])  # dL/df
    xp.multiply(d_c, i, out=da[:, 2 * hidden : 3 * hidden])  # dL/dg
    xp.multiply(g_out, tanh_c, out=da[:, 3 * hidden :])  # dL/do
    dc[:size] = d_c * f
    sig = a[:, : 2 * hidden]
    da[:, : 2 * hidden] *= sig * (1 - sig)  # σ' = σ(1 - σ)
    da[:, 2 * hidden : 3 * hidden] *= 1 - g * g
    da[:, 3 * hidden :] *= o * (1 - o)
    return da @ w_hh


def _gru_step_backward(
    xp: Any, g_out: Any, a: Any, da: Any, da_h: Any, rows: slice, tape: _Tape, w_hh: Any
) -> Any:
    """``da`` gets dL/d(input-side pre-activations), ``da_h`` dL/d(hidden-side ones): they differ in n."""
    hidden = a.shape[1] // 3
    r, z, new = a[:, :hidden], a[:, hidden : 2 * hidden], a[:, 2 * hidden :]
    d_new = g_out * (1 - z)
    d_new *= 1 - new * new  # dL/d(n's pre-activation)
    da[:, 2 * hidden :] = d_new
    xp.multiply(d_new, r, out=da_h[:, 2 * hidden :])  # through r * (h W_hn^T + b_hn)
    d_r = d_new * tape.hn[rows]
    d_r *= r * (1 - r)
    da[:, :hidden] = d_r
    d_z = g_out * (tape.h_prev[rows] - new)
    d_z *= z * (1 - z)
    da[:, hidden : 2 * hidden] = d_z
    da_h[:, : 2 * hidden] = da[:, : 2 * hidden]
    carried = g_out * z  # h' = n + z * (h - n) holds h directly
    carried += da_h @ w_hh
    return carried


class Recurrence(Function):
    """One layer and direction of a recurrent network over a packed batch.

    Arguments: ``x`` ``(N, I)`` or ``(T, B, I)``; ``h0`` ``(B, H_out)`` and, for LSTM, ``c0`` ``(B, H)``
    (None: zeros); ``w_ih`` ``(G*H, I)``, ``w_hh`` ``(G*H, H_out)``, ``b_ih``/``b_hh`` ``(G*H,)`` or None,
    ``w_hr`` ``(H_out, H)`` or None (LSTM projection); ``mode`` a key of ``GATES``; ``batch_sizes`` host ints;
    ``reverse`` runs from the last step to the first. Returns ``(y, h_n)``, and ``c_n`` for LSTM: ``y`` is
    ``x.shape[:-1] + (H_out,)``, the final states hold each sequence's state after its last step.
    ``node`` is the name the node prints: the last step of torch's CPU build for that output (see
    ``recurrence``).
    """

    @staticmethod
    def forward(
        ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, batch_sizes, reverse, node="StackBackward0"
    ):
        ctx.node = node
        xp = ctx.xp
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        batch, hidden, out_size = batch_sizes[0], w_ih.shape[0] // GATES[mode], w_hh.shape[1]
        dtype = x2.dtype
        w_hh_t = xp.ascontiguousarray(w_hh.T)  # small GEMMs run ~1.5x faster on a C-ordered right operand
        w_hr_t = None if w_hr is None else xp.ascontiguousarray(w_hr.T)
        # the input side of every step at once; the hidden-side bias joins it but for GRU (r scales it in n)
        pre_x = x2 @ w_ih.T
        if b_ih is not None:
            pre_x += b_ih
            if mode != "GRU":
                pre_x += b_hh
        h = xp.zeros((batch, out_size), dtype) if h0 is None else h0.astype(dtype, copy=True)
        c = None
        if mode == "LSTM":
            c = xp.zeros((batch, hidden), dtype) if c0 is None else c0.astype(dtype, copy=True)
        y = xp.empty((x2.shape[0], out_size), dtype)
        tape = _Tape(xp, x2.shape[0], out_size, w_ih.shape[0], hidden, mode, w_hr is not None, dtype)
        for start, size in _steps(batch_sizes, reverse):
            rows = slice(start, start + size)
            h_in, a, out = h[:size], tape.gates[rows], y[rows]
            tape.h_prev[rows] = h_in
            xp.matmul(h_in, w_hh_t, out=a)
            if mode == "LSTM":
                _lstm_step(xp, a, pre_x[rows], c, rows, tape, w_hr_t, out)
            elif mode == "GRU":
                _gru_step(xp, a, pre_x[rows], h_in, b_hh, rows, tape, out)
            else:
                _rnn_step(xp, mode, a, pre_x[rows], out)
            h[:size] = out
        ctx.options = (mode, batch_sizes, reverse, shape, h0 is not None, c0 is not None)
        ctx.tape = tape
        ctx.save_for_backward(x, w_ih, w_hh, w_hr)  # x itself, so an in-place change of it is caught
        y = y.reshape((*shape[:-1], out_size))
        return (y, h, c) if mode == "LSTM" else (y, h)

    @staticmethod
    def backward(ctx, grad_y, grad_h, grad_c=None):
        xp = ctx.xp
        mode, batch_sizes, reverse, shape, has_h0, has_c0 = ctx.options
        x, w_ih, w_hh, w_hr = ctx.saved_tensors
        x2 = x.reshape(-1, shape[-1])
        tape = ctx.tape
        grad_y = grad_y.reshape(-1, w_hh.shape[1])
        dh = grad_h.astype(x2.dtype, copy=True)  # dL/dh of the state carried between steps
        dc = grad_c.astype(x2.dtype, copy=True) if mode == "LSTM" else None
        d_pre = xp.empty_like(tape.gates)  # dL/da of every row, input side
        d_pre_h = xp.empty_like(tape.gates) if mode == "GRU" else d_pre  # hidden side
        d_out = xp.empty_like(grad_y) if w_hr is not None else None  # dL/dh' of every row
        for start, size in reversed(_steps(batch_sizes, reverse)):
            rows = slice(start, start + size)
            g_out = grad_y[rows] + dh[:size]
            a, da = tape.gates[rows], d_pre[rows]
            if mode == "LSTM":
                if d_out is not None:
                    d_out[rows] = g_out
                dh[:size] = _lstm_step_backward(xp, g_out, a, da, dc, rows, tape, w_hr, w_hh)
            elif mode == "GRU":
                dh[:size] = _gru_step_backward(xp, g_out, a, da, d_pre_h[rows], rows, tape, w_hh)
            else:
                dh[:size] = _rnn_step_backward(xp, mode, g_out, a, da, w_hh)
        needs = ctx.needs_input_grad
        return (
            (d_pre @ w_ih).reshape(shape) if needs[0] else None,
            dh if has_h0 and needs[1] else None,
            dc if has_c0 and needs[2] else None,
            d_pre.T @ x2 if needs[3] else None,
            d_pre_h.T @ tape.h_prev if needs[4] else None,
            d_pre.sum(axis=0) if needs[5] else None,
            d_pre_h.sum(axis=0) if needs[6] else None,
            d_out.T @ tape.m if w_hr is not None and needs[7] else None,
            None,
            None,
            None,
        )

    def name(self) -> str:
        return self.node

    def release(self) -> None:
        super().release()
        self.tape = None


def recurrence(
    x: Any,
    h0: Any,
    c0: Any,
    weights: list[Any],
    mode: str,
    batch_sizes: tuple[int, ...],
    reverse: bool = False,
    node: str = "StackBackward0",
) -> tuple[Any, ...]:
    """Run one layer and direction; ``weights`` is ``[w_ih, w_hh]``, then ``b_ih, b_hh`` with bias, then
    ``w_hr`` with a projection (the order of a layer's parameters in ``nn.LSTM``). See ``Recurrence``.

    ``node`` names the node as torch's CPU build names the step that makes the output: ``StackBackward0``
    (the steps' outputs stacked), ``MkldnnRnnLayerBackward0`` (its fused float32 LSTM layer),
    ``CatBackward0`` (a packed sequence), or a cell's last elementwise op."""
    w_ih, w_hh = weights[0], weights[1]
    b_ih = b_hh = w_hr = None
    rest = weights[2:]
    if len(rest) >= 2:
        b_ih, b_hh, rest = rest[0], rest[1], rest[2:]
    if rest:
        w_hr = rest[0]
    return Recurrence.apply(
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, tuple(batch_sizes), reverse, node=node
    )
