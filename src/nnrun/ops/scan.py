"""Running reductions along one dimension: ``cumprod``, ``cummax``, ``cummin``, ``logcumsumexp``, and
``diff``. The running max/min and log-sum-exp are Hillis-Steele scans (log2(n) whole-array steps), so they run
the same on NumPy and CuPy (which has no ``ufunc.accumulate``)."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from nnrun import _dtype
from nnrun._dims import normalize_dims
from nnrun._tensor import Tensor, array_of
from nnrun.autograd.function import Function
from nnrun.ops import arithmetic, shape, statistics
from nnrun.ops.elementwise import require_float

CummaxResult = namedtuple("cummax", ["values", "indices"])
CumminResult = namedtuple("cummin", ["values", "indices"])


def _axis(dim: Any, ndim: int) -> int:
    (axis,) = normalize_dims(dim, ndim) or (0,)
    return axis


def _shifted(x: Any, axis: int, step: int) -> tuple[Any, Any]:
    """``(x[step:], x[:-step])`` along ``axis``: each element and the one ``step`` before it."""
    later = [slice(None)] * x.ndim
    earlier = [slice(None)] * x.ndim
    later[axis], earlier[axis] = slice(step, None), slice(None, -step)
    return tuple(later), tuple(earlier)


def _reverse_cumsum(xp: Any, x: Any, axis: int) -> Any:
    return xp.flip(xp.cumsum(xp.flip(x, axis), axis=axis), axis)


class Cumprod(Function):
    """Running product along ``dim``. The gradient handles zeros exactly: before the first zero it is
    ``revcumsum(g y) / x``; at the first zero, the sum over later outputs of ``g_i`` times the product of
    every other factor; after it, zero (each later output holds that zero as a factor)."""

    @staticmethod
    def forward(ctx, x, axis, dtype):
        xp = ctx.xp
        ctx.axis, ctx.in_dtype = axis, x.dtype
        if dtype is not None:
            x = x.astype(dtype, copy=False)
        elif x.dtype.kind in "biu":
            x = x.astype(np.int64, copy=False)  # integers and bools multiply in int64, as torch
        if x.ndim == 0:
            return x.copy()
        y = xp.cumprod(x, axis=axis, dtype=x.dtype)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        if grad_out.ndim == 0:
            return grad_out.astype(ctx.in_dtype, copy=False), None, None
        x, y = ctx.saved_tensors
        xp, axis = ctx.xp, ctx.axis
        n = x.shape[axis]
        position = xp.arange(n).reshape([-1 if d == axis else 1 for d in range(x.ndim)])
        is_zero = x == 0
        first_zero = xp.where(
            is_zero.any(axis=axis, keepdims=True), is_zero.argmax(axis=axis, keepdims=True), n
        )
        before = position < first_zero
        grad = xp.where(before, _reverse_cumsum(xp, grad_out * y, axis) / xp.where(before, x, 1), 0)
        # (computed whether or not there is a zero: asking would read the device back)
        prefix = xp.prod(xp.where(before, x, 1), axis=axis, keepdims=True)
        after = xp.cumprod(xp.where(position > first_zero, x, 1), axis=axis)  # factors past the zero
        total = (grad_out * after * (position >= first_zero)).sum(axis=axis, keepdims=True)
        grad = xp.where(position == first_zero, prefix * total, grad)
        return grad.astype(ctx.in_dtype, copy=False), None, None


class Logcumsumexp(Function):
    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        ctx.axis = axis
        y = x.copy()
        step = 1
        with np.errstate(invalid="ignore"):
            while step < (x.shape[axis] if x.ndim else 1):
                later, earlier = _shifted(y, axis, step)
                y[later] = xp.logaddexp(y[earlier], y[later])  # the right side is read before the write
                step *= 2
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx.saved_tensors
        xp, axis = ctx.xp, ctx.axis
        if x.ndim == 0:
            return grad_out, None
        # d y_i / d x_j = exp(x_j - y_i) for i >= j: sum the positive and negative parts of the gradient
        # separately in log space (a reversed logcumsumexp), so nothing overflows
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = xp.zeros_like(x)
            for sign in (1, -1):
                log_part = xp.log(xp.maximum(sign * grad_out, 0)) - y
                flipped = xp.flip(log_part, axis).copy()
                step = 1
                while step < x.shape[axis]:
                    later, earlier = _shifted(flipped, axis, step)
                    flipped[later] = xp.logaddexp(flipped[earlier], flipped[later])
                    step *= 2
                grad = grad + sign * xp.exp(x + xp.flip(flipped, axis))
        return grad, None


def _running_extreme_indices(xp: Any, x: Any, axis: int, largest: bool) -> Any:
    """The index of the running max (min) along ``axis``: ties and NaN go to the later element, as torch."""
    values = x.copy()
    shape = [1] * x.ndim
    shape[axis] = -1
    indices = xp.broadcast_to(xp.arange(x.shape[axis]).reshape(shape), x.shape).copy()
    step = 1
    while step < x.shape[axis]:
        later, earlier = _shifted(values, axis, step)
        current, previous = values[later], values[earlier]
        beats = current >= previous if largest else current <= previous
        keep = xp.isnan(current) | (~xp.isnan(previous) & beats)
        values[later] = xp.where(keep, current, previous)
        indices[later] = xp.where(keep, indices[later], indices[earlier])
        step *= 2
    return indices


def _cumulative_extreme(input: Any, dim: int, largest: bool) -> tuple[Any, Tensor]:
    data = array_of(input)
    axis = _axis(dim, data.ndim)
    xp = input.xp_module()
    indices = _running_extreme_indices(xp, data, axis, largest)
    node_name = "CummaxBackward0" if largest else "CumminBackward0"
    values = statistics.Select.apply(input, axis, indices, True, node_name)
    return values, Tensor._make(indices.astype(np.int64, copy=False))


# ----- public functions (also bound as Tensor methods) -----
def cumprod(input: Any, dim: int, *, dtype: Any = None) -> Any:
    """Running product along ``dim`` (integers in int64 unless ``dtype`` is given)."""
    data = array_of(input)
    np_dtype = None if dtype is None else _dtype.to_dtype(dtype).np
    return Cumprod.apply(input, _axis(dim, data.ndim), np_dtype)


def cummax(input: Any, dim: int) -> CummaxResult:
    """Running maximum along ``dim`` and the index where it was found (NaN propagates)."""
    return CummaxResult(*_cummax_or_min(input, dim, True))


def cummin(input: Any, dim: int) -> CumminResult:
    return CumminResult(*_cummax_or_min(input, dim, False))


def _cummax_or_min(input: Any, dim: int, largest: bool) -> tuple[Any, Tensor]:
    data = array_of(input)
    if data.ndim == 0:
        _axis(dim, 0)
        return input.clone(), Tensor._make(input.xp_module().zeros((), dtype=np.int64))
    return _cumulative_extreme(input, dim, largest)


def logcumsumexp(input: Any, dim: int) -> Any:
    """``log(cumsum(exp(input)))`` along ``dim``, computed without overflow."""
    require_float("logcumsumexp_out_cpu", input)
    data = array_of(input)
    return Logcumsumexp.apply(input, _axis(dim, data.ndim))


def diff(input: Any, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """The ``n``-th forward difference along ``dim`` (``prepend``/``append`` joined first); bool: xor."""
    data = array_of(input)
    if data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    axis = _axis(dim, data.ndim)
    pieces = [t for t in (prepend, input, append) if t is not None]
    result = shape.cat(pieces, dim=axis) if len(pieces) > 1 else input
    for _ in range(n):
        length = result.shape[axis]
        if length == 0:
            break
        later = shape.narrow(result, axis, 1, length - 1)
        earlier = shape.narrow(result, axis, 0, length - 1)
        if array_of(result).dtype.kind == "b":
            result = Tensor._make(array_of(later) ^ array_of(earlier))
        else:
            result = arithmetic.sub(later, earlier)
    return result
