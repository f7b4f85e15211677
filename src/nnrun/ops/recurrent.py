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


class Recurrence(Function):
    """One layer and direction of a recurrent network over a packed batch.

    Arguments: ``x`` ``(N, I)`` or ``(T, B, I)``; ``h0`` ``(B, H_out)`` and, for LSTM, ``c0`` ``(B, H)``
    (None: zeros); ``w_ih`` ``(G*H, I)``, ``w_hh`` ``(G*H, H_out)``, ``b_ih``/``b_hh`` ``(G*H,)`` or None,
    ``w_hr`` ``(H_out, H)`` or None (LSTM projection); ``mode`` a key of ``GATES``; ``batch_sizes`` host ints;
    ``reverse`` runs from the last step to the first. Returns ``(y, h_n)``, and ``c_n`` for LSTM: ``y`` is
    ``x.shape[:-1] + (H_out,)``, the final states hold each sequence's state after its last step.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, batch_sizes, reverse):
        xp = ctx.xp
        lstm, gru = mode == "LSTM", mode == "GRU"
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        n, batch = x2.shape[0], batch_sizes[0]
        hidden = w_ih.shape[0] // GATES[mode]
        out_size = w_hh.shape[1]
        dtype = x2.dtype
        w_hh_t = xp.ascontiguousarray(w_hh.T)  # small GEMMs run ~1.5x faster on a C-ordered right operand
        w_hr_t = None if w_hr is None else xp.ascontiguousarray(w_hr.T)
        # input side of every step at once; the hidden-side bias joins it except GRU's n gate needs it apart
        pre_x = x2 @ w_ih.T
        if b_ih is not None:
            pre_x += b_ih
            if not gru:
                pre_x += b_hh
        h = xp.zeros((batch, out_size), dtype) if h0 is None else h0.astype(dtype, copy=True)
        c = None
        if lstm:
            c = xp.zeros((batch, hidden), dtype) if c0 is None else c0.astype(dtype, copy=True)
        y = xp.empty((n, out_size), dtype)
        h_prev = xp.empty((n, out_size), dtype)  # the state each row's step started from
        gates = xp.empty((n, w_ih.shape[0]), dtype)  # activated gates
        extra = c_prev = tanh_c = None
        if lstm:
            c_prev = xp.empty((n, hidden), dtype)
            tanh_c = xp.empty((n, hidden), dtype)
            if w_hr is not None:
                extra = xp.empty((n, hidden), dtype)  # o * tanh(c), the projection's input
        elif gru:
            extra = xp.empty((n, hidden), dtype)  # h W_hn^T + b_hn, which r scales
        for start, size in _steps(batch_sizes, reverse):
            rows = slice(start, start + size)
            h_in = h[:size]
            h_prev[rows] = h_in
            a = gates[rows]
            xp.matmul(h_in, w_hh_t, out=a)
            if lstm:
                a += pre_x[rows]
                _sigmoid_(a[:, : 2 * hidden], xp)
                xp.tanh(a[:, 2 * hidden : 3 * hidden], out=a[:, 2 * hidden : 3 * hidden])
                _sigmoid_(a[:, 3 * hidden :], xp)
                c_in = c[:size]
                c_prev[rows] = c_in
                c_new = a[:, hidden : 2 * hidden] * c_in
                c_new += a[:, :hidden] * a[:, 2 * hidden : 3 * hidden]
                c[:size] = c_new
                t_c = tanh_c[rows]
                xp.tanh(c_new, out=t_c)
                if w_hr is None:
                    xp.multiply(a[:, 3 * hidden :], t_c, out=y[rows])
                else:
                    m = extra[rows]
                    xp.multiply(a[:, 3 * hidden :], t_c, out=m)
                    xp.matmul(m, w_hr_t, out=y[rows])
            elif gru:
                if b_hh is not None:
                    a += b_hh
                extra[rows] = a[:, 2 * hidden :]
                p = pre_x[rows]
                a[:, : 2 * hidden] += p[:, : 2 * hidden]
                _sigmoid_(a[:, : 2 * hidden], xp)
                new = a[:, 2 * hidden :]
                new *= a[:, :hidden]
                new += p[:, 2 * hidden :]
                xp.tanh(new, out=new)
                out = y[rows]
                xp.subtract(h_in, new, out=out)
                out *= a[:, hidden : 2 * hidden]
                out += new  # h' = n + z * (h - n)
            else:
                a += pre_x[rows]
                if mode == "RNN_TANH":
                    xp.tanh(a, out=a)
                else:
                    xp.maximum(a, 0, out=a)
                y[rows] = a
            h[:size] = y[rows]
        ctx.options = (mode, batch_sizes, reverse, shape, hidden, h0 is not None, c0 is not None)
        ctx.save_for_backward(x2, w_ih, w_hh, w_hr, h_prev, gates, c_prev, tanh_c, extra)
        y = y.reshape((*shape[:-1], out_size))
        return (y, h, c) if lstm else (y, h)

    @staticmethod
    def backward(ctx, grad_y, grad_h, grad_c=None):
        xp = ctx.xp
        mode, batch_sizes, reverse, shape, hidden, has_h0, has_c0 = ctx.options
        x2, w_ih, w_hh, w_hr, h_prev, gates, c_prev, tanh_c, extra = ctx.saved_tensors
        lstm, gru = mode == "LSTM", mode == "GRU"
        grad_y = grad_y.reshape(-1, w_hh.shape[1])
        dh = grad_h.astype(x2.dtype, copy=True)  # dL/dh of the state carried between steps
        dc = grad_c.astype(x2.dtype, copy=True) if lstm else None
        d_pre = xp.empty_like(gates)  # dL/da for every row: the input-side pre-activations
        d_pre_h = xp.empty_like(gates) if gru else d_pre  # hidden side (differs for GRU's n gate)
        d_out = xp.empty_like(grad_y) if w_hr is not None else None  # dL/dh' before the projection
        for start, size in reversed(_steps(batch_sizes, reverse)):
            rows = slice(start, start + size)
            g_out = grad_y[rows] + dh[:size]
            a, da = gates[rows], d_pre[rows]
            if lstm:
                if w_hr is not None:
                    d_out[rows] = g_out
                    g_out = g_out @ w_hr  # dL/dm with h' = m W_hr^T
                i, f = a[:, :hidden], a[:, hidden : 2 * hidden]
                g, o = a[:, 2 * hidden : 3 * hidden], a[:, 3 * hidden :]
                t_c = tanh_c[rows]
                # dL/dc' = carried + dL/dh' * o * (1 - tanh(c')^2)
                d_c = 1 - t_c * t_c
                d_c *= o
                d_c *= g_out
                d_c += dc[:size]
                xp.multiply(g_out, t_c, out=da[:, 3 * hidden :])  # dL/do
                xp.multiply(d_c, g, out=da[:, :hidden])  # dL/di
                xp.multiply(d_c, c_prev[rows], out=da[:, hidden : 2 * hidden])  # dL/df
                xp.multiply(d_c, i, out=da[:, 2 * hidden : 3 * hidden])  # dL/dg
                dc[:size] = d_c * f
                sig = a[:, : 2 * hidden]
                da[:, : 2 * hidden] *= sig * (1 - sig)  # σ' = σ(1 - σ)
                da[:, 2 * hidden : 3 * hidden] *= 1 - g * g
                da[:, 3 * hidden :] *= o * (1 - o)
                dh[:size] = da @ w_hh
            elif gru:
                r, z, new = a[:, :hidden], a[:, hidden : 2 * hidden], a[:, 2 * hidden :]
                dah = d_pre_h[rows]
                d_new = g_out * (1 - z)
                d_new *= 1 - new * new  # dL/d(pre-activation of n)
                da[:, 2 * hidden :] = d_new
                xp.multiply(d_new, r, out=dah[:, 2 * hidden :])
                d_r = d_new * extra[rows]
                d_r *= r * (1 - r)
                da[:, :hidden] = d_r
                d_z = g_out * (h_prev[rows] - new)
                d_z *= z * (1 - z)
                da[:, hidden : 2 * hidden] = d_z
                dah[:, : 2 * hidden] = da[:, : 2 * hidden]
                carried = g_out * z
                carried += dah @ w_hh
                dh[:size] = carried
            else:
                if mode == "RNN_TANH":
                    xp.multiply(g_out, 1 - a * a, out=da)
                else:
                    xp.multiply(g_out, a > 0, out=da)
                dh[:size] = da @ w_hh
        needs = ctx.needs_input_grad
        grad_x = (d_pre @ w_ih).reshape(shape) if needs[0] else None
        grad_w_ih = d_pre.T @ x2 if needs[3] else None
        grad_w_hh = d_pre_h.T @ h_prev if needs[4] else None
        grad_b_ih = d_pre.sum(axis=0) if needs[5] else None
        grad_b_hh = d_pre_h.sum(axis=0) if needs[6] else None
        grad_w_hr = d_out.T @ extra if w_hr is not None and needs[7] else None
        grad_h0 = dh if has_h0 and needs[1] else None
        grad_c0 = dc if has_c0 and needs[2] else None
        return (
            grad_x,
            grad_h0,
            grad_c0,
            grad_w_ih,
            grad_w_hh,
            grad_b_ih,
            grad_b_hh,
            grad_w_hr,
            None,
            None,
            None,
        )


def recurrence(
    x: Any,
    h0: Any,
    c0: Any,
    weights: list[Any],
    mode: str,
    batch_sizes: tuple[int, ...],
    reverse: bool = False,
) -> tuple[Any, ...]:
    """Run one layer and direction; ``weights`` is ``[w_ih, w_hh]``, then ``b_ih, b_hh`` with bias, then
    ``w_hr`` with a projection (the order of a layer's parameters in ``nn.LSTM``). See ``Recurrence``."""
    w_ih, w_hh = weights[0], weights[1]
    b_ih = b_hh = w_hr = None
    rest = weights[2:]
    if len(rest) >= 2:
        b_ih, b_hh, rest = rest[0], rest[1], rest[2:]
    if rest:
        w_hr = rest[0]
    return Recurrence.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, tuple(batch_sizes), reverse)
