"""Reductions over all elements or over ``dim`` (an int or a tuple), with ``keepdim``."""

from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Any

from nnrun import _backend, _dtype
from nnrun._dims import normalize_dims
from nnrun._tensor import Tensor
from nnrun.autograd.function import Function
from nnrun.ops._broadcast import to_float
from nnrun.ops.arithmetic import maximum, minimum

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _expand_back(ctx: Function, grad: Any) -> Any:
    """Re-insert the reduced axes (unless kept) so ``grad`` broadcasts against the input."""
    if ctx.keepdim:
        return grad
    if ctx.axes is None:
        return grad.reshape((1,) * len(ctx.in_shape))
    return ctx.xp.expand_dims(grad, ctx.axes)


class _Reduce(Function):
    @staticmethod
    def setup(ctx: Function, x: Any, dim: Any, keepdim: bool) -> tuple[int, ...] | None:
        ctx.in_shape = x.shape
        ctx.axes = normalize_dims(dim, x.ndim)
        ctx.keepdim = keepdim
        return ctx.axes


class Sum(_Reduce):
    @staticmethod
    def forward(ctx, x, dim, keepdim, dtype):
        axes = _Reduce.setup(ctx, x, dim, keepdim)
        if dtype is None and x.dtype.kind in "bi":
            dtype = "int64"  # torch sums integers and bools in int64
        return ctx.xp.asarray(x.sum(axis=axes, keepdims=keepdim, dtype=dtype))

    @staticmethod
    def backward(ctx, grad_out):
        return ctx.xp.broadcast_to(_expand_back(ctx, grad_out), ctx.in_shape), None, None, None

    def name(self) -> str:
        return "SumBackward0" if self.axes is None else "SumBackward1"  # torch's overload numbers


class Mean(_Reduce):
    @staticmethod
    def forward(ctx, x, dim, keepdim):
        if x.dtype.kind != "f":
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating point or "
                f"complex dtype. Got: {x.dtype}"
            )
        axes = _Reduce.setup(ctx, x, dim, keepdim)
        out = ctx.xp.asarray(x.mean(axis=axes, keepdims=keepdim))
        ctx.count = x.size // builtins.max(out.size, 1) if x.size else 0
        return out

    @staticmethod
    def backward(ctx, grad_out):
        grad = _expand_back(ctx, grad_out) / ctx.count
        return ctx.xp.broadcast_to(grad, ctx.in_shape), None, None

    def name(self) -> str:
        return "MeanBackward0" if self.axes is None else "MeanBackward1"


class Prod(_Reduce):
    @staticmethod
    def forward(ctx, x, dim, keepdim):
        axes = _Reduce.setup(ctx, x, dim, keepdim)
        if axes is not None and len(axes) > 1:
            raise TypeError("prod(): dim must be a single int")
        ctx.save_for_backward(x)
        return ctx.xp.asarray(x.prod(axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        if x.ndim == 0:
            return grad_out, None, None
        flat = x.reshape(-1) if ctx.axes is None else x
        axis = 0 if ctx.axes is None else ctx.axes[0]
        others = _product_of_others(ctx.xp, flat, axis).reshape(x.shape)
        return _expand_back(ctx, grad_out) * others, None, None


def _product_of_others(xp: Any, x: Any, axis: int) -> Any:
    """For each element, the product of the other elements along ``axis``: the exclusive cumulative
    products from the left and from the right multiplied; exact when ``x`` holds zeros (unlike prod / x)."""
    ones_shape = list(x.shape)
    ones_shape[axis] = 1
    ones = xp.ones(ones_shape, dtype=x.dtype)
    from_left = xp.cumprod(xp.concatenate([ones, x], axis=axis), axis=axis)
    from_right = xp.flip(xp.cumprod(xp.flip(xp.concatenate([x, ones], axis=axis), axis), axis=axis), axis)
    n = x.shape[axis]
    return xp.take(from_left, xp.arange(n), axis=axis) * xp.take(from_right, xp.arange(1, n + 1), axis=axis)


class MaxMin(_Reduce):
    """``amax``/``amin`` (and ``max``/``min`` without dim); the gradient is split evenly among ties."""

    @staticmethod
    def forward(ctx, x, dim, keepdim, largest):
        axes = _Reduce.setup(ctx, x, dim, keepdim)
        if x.size == 0:
            raise RuntimeError(
                "max(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction "
                "dim with the 'dim' argument."
            )
        out = x.max(axis=axes, keepdims=True) if largest else x.min(axis=axes, keepdims=True)
        ctx.op_name = ("Max" if largest else "Min") if dim is None else ("Amax" if largest else "Amin")
        ctx.save_for_backward(x, out)
        return ctx.xp.asarray(out if keepdim else out.reshape(_reduced_shape(x.shape, axes)))

    @staticmethod
    def backward(ctx, grad_out):
        x, out = ctx.saved_tensors
        hits = (x == out).astype(grad_out.dtype)
        count = hits.sum(axis=ctx.axes, keepdims=True)
        return _expand_back(ctx, grad_out) * hits / count, None, None, None

    def name(self) -> str:
        return f"{self.op_name}Backward1" if self.op_name in ("Max", "Min") else f"{self.op_name}Backward0"


class MaxMinDim(Function):
    """``max(dim)``/``min(dim)``: values and (non-differentiable) indices; the gradient goes to the index."""

    @staticmethod
    def forward(ctx, x, dim, keepdim, largest):
        xp = ctx.xp
        ctx.largest = largest
        (axis,) = normalize_dims(dim, x.ndim) or (0,)
        if x.ndim == 0:
            ctx.in_shape = ()
            index = xp.zeros((), dtype=xp.int64)
            ctx.mark_non_differentiable(index)
            return x.copy(), index
        if x.shape[axis] == 0:
            raise IndexError(
                f"{'max' if largest else 'min'}(): Expected reduction dim {axis} to have non-zero size."
            )
        indices = xp.expand_dims((x.argmax if largest else x.argmin)(axis=axis), axis)
        values = xp.take_along_axis(x, indices, axis)
        ctx.axis, ctx.in_shape, ctx.keepdim = axis, x.shape, keepdim
        ctx.save_for_backward(indices)
        if not keepdim:
            values, indices = values.squeeze(axis), indices.squeeze(axis)
        ctx.mark_non_differentiable(indices)
        return values, indices.astype(xp.int64, copy=False)

    @staticmethod
    def backward(ctx, grad_values, _grad_indices):
        if ctx.in_shape == ():
            return grad_values, None, None, None
        (indices,) = ctx.saved_tensors
        xp = ctx.xp
        grad = xp.zeros(ctx.in_shape, dtype=grad_values.dtype)
        if not ctx.keepdim:
            grad_values = xp.expand_dims(grad_values, ctx.axis)
        xp.put_along_axis(grad, indices, grad_values, ctx.axis)
        return grad, None, None, None

    def name(self) -> str:
        return "MaxBackward0" if self.largest else "MinBackward0"


class Var(_Reduce):
    @staticmethod
    def forward(ctx, x, dim, keepdim, correction):
        axes = _Reduce.setup(ctx, x, dim, keepdim)
        x = to_float(x)
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        count = x.size // builtins.max(mean.size, 1)
        ctx.divisor = builtins.max(count - correction, 0)
        ctx.save_for_backward(centered)
        total = (centered * centered).sum(axis=axes, keepdims=keepdim)
        if not ctx.divisor:  # N - correction <= 0: x / 0 as torch gives it, without NumPy's warning
            return _divided_by_zero(ctx.xp, total)
        return ctx.xp.asarray(total / ctx.divisor)

    @staticmethod
    def backward(ctx, grad_out):
        (centered,) = ctx.saved_tensors
        grad = _expand_back(ctx, grad_out) * centered  # d var = 2(x-m)/(N-c)
        grad = grad * (2 / ctx.divisor) if ctx.divisor else _divided_by_zero(ctx.xp, grad)
        return grad, None, None, None


class Std(Var):
    """``sqrt(var)`` as one node, torch's ``StdBackward0``: d std = d var / (2 std), 0 where std is 0."""

    @staticmethod
    def forward(ctx, x, dim, keepdim, correction):
        out = ctx.xp.sqrt(Var.forward(ctx, x, dim, keepdim, correction))
        ctx.std = out
        return out

    @staticmethod
    def backward(ctx, grad_out):
        xp, std = ctx.xp, ctx.std
        grad_var = xp.where(std == 0, 0, grad_out / (2 * xp.where(std == 0, 1, std)))
        return Var.backward(ctx, grad_var.astype(grad_out.dtype, copy=False))

    def release(self) -> None:
        super().release()
        self.std = None


def _divided_by_zero(xp: Any, x: Any) -> Any:
    """``x / 0`` in IEEE arithmetic: nan where ``x`` is 0, else an infinity of ``x``'s sign."""
    negative_or_nan = xp.where(x < 0, float("-inf"), float("nan"))  # nan stays nan
    return xp.asarray(xp.where(x > 0, float("inf"), negative_or_nan).astype(x.dtype, copy=False))


class LogSumExp(_Reduce):
    @staticmethod
    def forward(ctx, x, dim, keepdim):
        xp = ctx.xp
        axes = _Reduce.setup(ctx, x, dim, keepdim)
        x = to_float(x)
        peak = x.max(axis=axes, keepdims=True) if x.size else xp.zeros([1] * x.ndim, x.dtype)
        peak = xp.where(xp.isfinite(peak), peak, 0)  # all -inf rows give -inf, not nan
        out = xp.log(xp.exp(x - peak).sum(axis=axes, keepdims=True)) + peak
        ctx.save_for_backward(x, out)
        return xp.asarray(out if keepdim else out.reshape(_reduced_shape(x.shape, axes)))

    @staticmethod
    def backward(ctx, grad_out):
        x, out = ctx.saved_tensors
        return _expand_back(ctx, grad_out) * ctx.xp.exp(x - out), None, None  # softmax weights

    def name(self) -> str:
        return "LogsumexpBackward0"


class Norm(_Reduce):
    def name(self) -> str:
        return "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, p, dim, keepdim):
        xp = ctx.xp
        axes = _Reduce.setup(ctx, x, dim, keepdim)
        x = to_float(x)
        magnitude = xp.abs(x)
        if p == float("inf"):
            out = magnitude.max(axis=axes, keepdims=True)
        elif p == 2:
            out = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        elif p == 1:
            out = magnitude.sum(axis=axes, keepdims=True)
        elif p > 0:
            out = (magnitude**p).sum(axis=axes, keepdims=True) ** (1.0 / p)
        else:
            raise ValueError(f"norm: p must be positive or inf, got {p}")
        ctx.p = p
        ctx.save_for_backward(x, out)
        return xp.asarray(out if keepdim else out.reshape(_reduced_shape(x.shape, axes)))

    @staticmethod
    def backward(ctx, grad_out):
        x, out = ctx.saved_tensors
        xp, p = ctx.xp, ctx.p
        grad = _expand_back(ctx, grad_out)
        safe = xp.where(out == 0, 1, out)
        if p == float("inf"):
            hits = (xp.abs(x) == out).astype(x.dtype)
            local = xp.sign(x) * hits / hits.sum(axis=ctx.axes, keepdims=True)
        elif p == 2:
            local = x / safe  # d||x|| = x / ||x||, 0 at the origin
        elif p == 1:
            local = xp.sign(x)
        else:
            local = xp.sign(x) * xp.abs(x) ** (p - 1) / safe ** (p - 1)
        return grad * xp.where(out == 0, 0, local) if p != 1 else grad * local, None, None, None


def _reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    if axes is None:
        return ()
    return tuple(s for i, s in enumerate(shape) if i not in axes)


# ----- public functions (also bound as Tensor methods) -----
def sum(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
    return Sum.apply(input, dim, keepdim, None if dtype is None else _dtype.to_dtype(dtype).np)


def mean(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
    if dtype is not None:
        input = input.to(dtype)
    return Mean.apply(input, dim, keepdim)


def prod(input: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    return Prod.apply(input, dim, keepdim)


def amax(input: Any, dim: Any = (), keepdim: bool = False) -> Any:
    return MaxMin.apply(input, dim, keepdim, True)


def amin(input: Any, dim: Any = (), keepdim: bool = False) -> Any:
    return MaxMin.apply(input, dim, keepdim, False)


def max(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """Largest element; with ``dim``, a ``(values, indices)`` named tuple; with a tensor, maximum."""
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    if dim is None:
        return MaxMin.apply(input, None, False, True)
    return ValuesIndices(*MaxMinDim.apply(input, dim, keepdim, True))


def min(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """Smallest element; with ``dim``, a ``(values, indices)`` named tuple; with a tensor, minimum."""
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    if dim is None:
        return MaxMin.apply(input, None, False, False)
    return ValuesIndices(*MaxMinDim.apply(input, dim, keepdim, False))


def argmax(input: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    return _arg_extreme(input, dim, keepdim, largest=True)


def argmin(input: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    return _arg_extreme(input, dim, keepdim, largest=False)


def _arg_extreme(input: Any, dim: int | None, keepdim: bool, largest: bool) -> Any:
    x = input._data
    xp = _backend.array_module(x)
    pick = x.argmax if largest else x.argmin
    if dim is None:
        result = xp.asarray(pick())
        if keepdim:
            result = result.reshape((1,) * x.ndim)
    elif x.ndim == 0:
        result = xp.zeros((), dtype=xp.int64)
    else:
        (axis,) = normalize_dims(dim, x.ndim)
        result = xp.asarray(pick(axis=axis, keepdims=keepdim))
    return Tensor._make(result.astype(xp.int64, copy=False))


def var(
    input: Any,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> Any:
    """Variance with Bessel's correction by default (``correction=1``, or ``unbiased=False`` for 0)."""
    return Var.apply(input, dim, keepdim, _correction(unbiased, correction))


def std(
    input: Any,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> Any:
    return Std.apply(input, dim, keepdim, _correction(unbiased, correction))


def _correction(unbiased: bool | None, correction: Any) -> float:
    if unbiased is not None and correction is not None:
        raise RuntimeError("var/std: pass either unbiased or correction, not both")
    if correction is not None:
        return float(correction)
    return 0.0 if unbiased is False else 1.0


def logsumexp(input: Any, dim: Any, keepdim: bool = False) -> Any:
    return LogSumExp.apply(input, dim, keepdim)


def norm(input: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Any:
    """Vector p-norm over ``dim`` (all elements by default); ``"fro"`` is the 2-norm."""
    if dtype is not None:
        input = input.to(dtype)
    if p == "fro" or p is None:
        p = 2
    if p == "nuc":
        raise NotImplementedError("the nuclear norm is not supported")
    return Norm.apply(input, float(p), dim, keepdim)
