"""Sorting along one dimension: ``sort``, ``argsort``, ``topk``; values are differentiable, indices int64."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from nnrun._dims import normalize_dims
from nnrun.autograd.function import Function

# (values, indices) results, named as torch.return_types names them
SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])


def _order(xp: Any, x: Any, axis: int, descending: bool, stable: bool) -> Any:
    """Indices that sort ``x`` along ``axis``; equal elements keep their order when ``stable``."""
    kind = "stable" if stable else None
    if not descending:
        return xp.argsort(x, axis=axis, kind=kind)
    if x.dtype.kind in "bu":
        x = x.astype(xp.int64)
    if x.dtype.kind == "f":
        order = xp.argsort(-x, axis=axis, kind=kind)
        # NaN counts as the largest (last when ascending, as NumPy has it): move the NaNs first
        nan_first = xp.argsort(~xp.isnan(xp.take_along_axis(x, order, axis)), axis=axis, kind="stable")
        return xp.take_along_axis(order, nan_first, axis)
    return xp.argsort(-x, axis=axis, kind=kind)


class _SortLike(Function):
    """``sort`` and ``topk``: the first ``k`` of the elements ordered along ``dim``; the gradient of the
    values goes back to the places the values came from."""

    @staticmethod
    def forward(ctx, x, dim, descending, stable, k):
        xp = ctx.xp
        ctx.in_shape = x.shape
        if x.ndim == 0:
            index = xp.zeros((), dtype=xp.int64)
            ctx.mark_non_differentiable(index)
            return x.copy(), index
        (axis,) = normalize_dims(dim, x.ndim)
        ctx.axis = axis
        order = _order(xp, x, axis, descending, stable)
        if k is not None and k != x.shape[axis]:
            order = xp.take(order, xp.arange(k), axis=axis)
        order = order.astype(xp.int64, copy=False)
        ctx.save_for_backward(order)
        ctx.mark_non_differentiable(order)
        return xp.take_along_axis(x, order, axis), order

    @staticmethod
    def backward(ctx, grad_values, _grad_indices):
        if ctx.in_shape == ():
            return grad_values, None, None, None, None
        (order,) = ctx.saved_tensors
        grad = ctx.xp.zeros(ctx.in_shape, dtype=grad_values.dtype)
        ctx.xp.put_along_axis(grad, order, grad_values, ctx.axis)
        return grad, None, None, None, None


class Sort(_SortLike):
    pass


class Topk(_SortLike):
    pass


def sort(input: Any, dim: int = -1, descending: bool = False, stable: bool = False) -> SortResult:
    """``(values, indices)`` of ``input`` sorted along ``dim``; ``stable`` keeps equal elements in order."""
    return SortResult(*Sort.apply(input, dim, descending, stable, None))


def argsort(input: Any, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    """The indices that sort ``input`` along ``dim`` (int64)."""
    return sort(input, dim, descending, stable).indices


def topk(input: Any, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> TopkResult:
    """``(values, indices)`` of the ``k`` largest (or smallest) elements along ``dim``, largest first
    (always sorted; torch leaves the order unspecified when ``sorted=False``)."""
    shape = input.shape
    size = shape[normalize_dims(dim, len(shape))[0]] if shape else 1
    if not isinstance(k, int) or isinstance(k, bool):
        raise TypeError(f"topk(): argument 'k' must be int, not {type(k).__name__}")
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    if not shape:
        return TopkResult(*Topk.apply(input, dim, largest, False, None))
    return TopkResult(*Topk.apply(input, dim, largest, True, k))


__all__ = ["argsort", "sort", "topk"]
