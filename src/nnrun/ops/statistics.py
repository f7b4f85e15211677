"""Order statistics and NaN-aware reductions: ``median``/``nanmedian``, ``mode``, ``kthvalue``,
``quantile``/``nanquantile``, ``nansum``/``nanmean``, ``count_nonzero``, ``var_mean``/``std_mean``,
``aminmax``, ``dist``, ``renorm``.

A statistic that picks an element (median, mode, kthvalue) finds its index on the array and takes the value
with a differentiable ``gather``, so the gradient goes to that element; quantiles interpolate between two such
picks. The rest are compositions of differentiable ops.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from nnrun._dims import normalize_dims
from nnrun._tensor import Tensor, array_of, scalar_type_name
from nnrun.autograd.function import Function
from nnrun.ops import arithmetic, indexing, reduction, shape

MedianResult = namedtuple("median", ["values", "indices"])
NanmedianResult = namedtuple("nanmedian", ["values", "indices"])
ModeResult = namedtuple("mode", ["values", "indices"])
KthvalueResult = namedtuple("kthvalue", ["values", "indices"])
AminmaxResult = namedtuple("aminmax", ["min", "max"])

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _axis(dim: Any, ndim: int) -> int:
    (axis,) = normalize_dims(dim, ndim) or (0,)
    return axis


def _check_not_empty(name: str, data: Any, axis: int) -> None:
    if data.ndim and data.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")


class Select(indexing.Gather):
    """``gather`` along ``axis`` (then the axis dropped unless ``keepdim``), under the name of the statistic
    that chose the elements (``MedianBackward1``, ``CummaxBackward0``): the gradient goes to them."""

    @staticmethod
    def forward(ctx, x, axis, index, keepdim, node_name):
        ctx.node_name, ctx.axis, ctx.keepdim = node_name, axis, keepdim
        values = indexing.Gather.forward(ctx, x, axis, index)
        return values if keepdim else values.squeeze(axis)

    @staticmethod
    def backward(ctx, grad_out):
        if not ctx.keepdim:
            grad_out = ctx.xp.expand_dims(grad_out, ctx.axis)
        grad, _, _ = indexing.Gather.backward(ctx, grad_out)
        return grad, None, None, None, None

    def name(self) -> str:
        return self.node_name


def _pick(node_name: str, input: Any, axis: int, index: Any, keepdim: bool, result: type) -> Any:
    """``(values, indices)``: ``input`` at ``index`` (an array, ``axis`` kept at size 1), differentiably."""
    xp = input.xp_module()
    if array_of(input).ndim == 0:
        return result(input.clone(), Tensor._make(xp.zeros((), dtype=np.int64)))
    values = Select.apply(input, axis, index, keepdim, node_name)
    index = index.astype(np.int64, copy=False)
    return result(values, Tensor._make(index if keepdim else index.squeeze(axis)))


def _sorted_order(xp: Any, data: Any, axis: int) -> Any:
    return xp.argsort(data, axis=axis, kind="stable")  # NaN sorts last


class EvenlyDistributed(Function):
    """A statistic of all elements (``median()``): the gradient is shared evenly by the elements equal to
    it (all the NaNs when it is NaN), as torch does."""

    @staticmethod
    def forward(ctx, x, value, node_name):
        xp = ctx.xp
        ctx.node_name = node_name
        ctx.mask = (x == value) | (xp.isnan(x) & xp.isnan(value))
        return xp.asarray(value, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        mask = ctx.mask
        return grad_out * mask / mask.sum(), None, None

    def name(self) -> str:
        return self.node_name


# ----- public functions (also bound as Tensor methods) -----
def median(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median (the ``(n-1)//2``-th smallest; NaN if there is a NaN); with ``dim``, a
    ``(values, indices)`` named tuple."""
    return _median(input, dim, keepdim, ignore_nan=False)


def nanmedian(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """``median`` over the elements that are not NaN (NaN where all are)."""
    return _median(input, dim, keepdim, ignore_nan=True)


def _median(input: Any, dim: Any, keepdim: bool, ignore_nan: bool) -> Any:
    data = array_of(input)
    xp = input.xp_module()
    name = "nanmedian" if ignore_nan else "median"
    node = "NanmedianBackward" if ignore_nan else "MedianBackward"
    if dim is None:
        flat = data.reshape(-1)
        if flat.size == 0:
            return EvenlyDistributed.apply(input, xp.asarray(np.nan, dtype=data.dtype), node + "0")
        index = _median_index(xp, flat[None], 1, ignore_nan)
        value = xp.take_along_axis(flat[None], index, 1).reshape(())
        return EvenlyDistributed.apply(input, value, node + "0")
    axis = _axis(dim, data.ndim)
    _check_not_empty(name, data, axis)
    index = _median_index(xp, data, axis, ignore_nan) if data.ndim else None
    return _pick(node + "1", input, axis, index, keepdim, NanmedianResult if ignore_nan else MedianResult)


def _median_index(xp: Any, data: Any, axis: int, ignore_nan: bool) -> Any:
    """Where the lower median lies along ``axis`` (kept at size 1)."""
    order = _sorted_order(xp, data, axis)
    nan = xp.isnan(data) if data.dtype.kind == "f" else xp.zeros(data.shape, dtype=bool)
    nan_count = nan.sum(axis=axis, keepdims=True)
    if ignore_nan:
        rank = xp.maximum((data.shape[axis] - nan_count - 1) // 2, 0)
    else:  # a NaN anywhere makes the median NaN: the first NaN in sorted order
        rank = xp.where(nan_count > 0, data.shape[axis] - nan_count, (data.shape[axis] - 1) // 2)
    return xp.take_along_axis(order, rank, axis)


def mode(input: Any, dim: int = -1, keepdim: bool = False) -> ModeResult:
    """The most frequent value along ``dim`` (the smallest on a tie) and the index of its last occurrence."""
    data = array_of(input)
    xp = input.xp_module()
    axis = _axis(dim, data.ndim)
    _check_not_empty("mode", data, axis)
    if data.ndim == 0:
        return _pick("ModeBackward0", input, axis, None, keepdim, ModeResult)
    order = _sorted_order(xp, data, axis)
    ordered = xp.take_along_axis(data, order, axis)
    n = data.shape[axis]
    position = xp.arange(n).reshape([-1 if d == axis else 1 for d in range(data.ndim)])
    first = [slice(None)] * data.ndim
    first[axis] = slice(0, 1)
    differs = ordered[_after_first(axis, data.ndim)] != _before_last(ordered, axis)
    changed = xp.concatenate([xp.ones_like(ordered[tuple(first)], dtype=bool), differs], axis=axis)
    run_start = _running_max(xp, xp.where(changed, position, 0), axis)
    run_length = position - run_start + 1
    # the end of the longest run: the first such end in sorted order is the smallest value; its last
    # element in a stable sort is the value's last occurrence
    ends = xp.concatenate([differs, xp.ones_like(changed[tuple(first)])], axis=axis)
    score = xp.where(ends, run_length, 0)
    best = score.argmax(axis=axis)
    index = xp.take_along_axis(order, xp.expand_dims(best, axis), axis)
    return _pick("ModeBackward0", input, axis, index, keepdim, ModeResult)


def _after_first(axis: int, ndim: int) -> tuple[slice, ...]:
    key = [slice(None)] * ndim
    key[axis] = slice(1, None)
    return tuple(key)


def _before_last(data: Any, axis: int) -> Any:
    key = [slice(None)] * data.ndim
    key[axis] = slice(None, -1)
    return data[tuple(key)]


def _running_max(xp: Any, values: Any, axis: int) -> Any:
    """Running maximum along ``axis`` by doubling steps (works on CuPy, which has no ``accumulate``)."""
    values = values.copy()
    step = 1
    while step < values.shape[axis]:
        later = [slice(None)] * values.ndim
        earlier = [slice(None)] * values.ndim
        later[axis], earlier[axis] = slice(step, None), slice(None, -step)
        values[tuple(later)] = xp.maximum(values[tuple(later)], values[tuple(earlier)])
        step *= 2
    return values


def kthvalue(input: Any, k: int, dim: int = -1, keepdim: bool = False) -> KthvalueResult:
    """The ``k``-th smallest element along ``dim`` (``k`` from 1) and its index."""
    data = array_of(input)
    xp = input.xp_module()
    axis = _axis(dim, data.ndim)
    size = data.shape[axis] if data.ndim else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")
    if data.ndim == 0:
        return _pick("KthvalueBackward0", input, axis, None, keepdim, KthvalueResult)
    order = _sorted_order(xp, data, axis)
    key = [slice(None)] * data.ndim
    key[axis] = slice(k - 1, k)
    return _pick("KthvalueBackward0", input, axis, order[tuple(key)], keepdim, KthvalueResult)


def quantile(
    input: Any, q: Any, dim: Any = None, keepdim: bool = False, *, interpolation: str = "linear"
) -> Any:
    """The ``q``-quantiles (``q`` a number or a 1-D tensor in [0, 1]) of all elements or along ``dim``,
    between the two nearest order statistics by ``interpolation`` (linear, lower, higher, midpoint,
    nearest). NaN if the data holds a NaN; a tensor ``q`` adds a leading dimension."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(
    input: Any, q: Any, dim: Any = None, keepdim: bool = False, *, interpolation: str = "linear"
) -> Any:
    """``quantile`` over the elements that are not NaN."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)


def _quantile(
    name: str, input: Any, q: Any, dim: Any, keepdim: bool, interpolation: str, ignore_nan: bool
) -> Any:
    data = array_of(input)
    xp = input.xp_module()
    if data.dtype.kind != "f":
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if data.size == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if q.dtype != input.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        qs = q._data.astype(np.float64)
        if bool(xp.any((qs < 0) | (qs > 1))):  # read back, as torch checks a tensor q
            raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    else:
        if not 0 <= float(q) <= 1:
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {float(q):g}")
        qs = xp.asarray([float(q)])
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(
            f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest, but got "
            f"{interpolation}"
        )
    # the data as (..., n) rows: all elements, or ``dim`` moved last
    if dim is None:
        rows = shape.reshape(input, (-1,))
        out_shape = (1,) * data.ndim if keepdim else ()
    else:
        axis = _axis(dim, data.ndim)
        others = tuple(d for d in range(data.ndim) if d != axis)
        rows = shape.permute(input, (*others, axis)) if data.ndim else shape.reshape(input, (1,))
        out_shape = (
            tuple(1 if d == axis else s for d, s in enumerate(data.shape))
            if keepdim
            else tuple(s for d, s in enumerate(data.shape) if d != axis)
        )
    row_data = array_of(rows)
    order = xp.argsort(row_data, axis=-1, kind="stable")
    ordered = indexing.Gather.apply(rows, row_data.ndim - 1, order)  # sorted rows, differentiable
    n = row_data.shape[-1]
    nan_count = xp.isnan(row_data).sum(axis=-1, keepdims=True)
    # ranks: (..., len(q)); a row with NaN: its last element (a NaN) for quantile, or its non-NaN count
    if ignore_nan:
        last = n - nan_count - 1
        rank = qs * last
    else:
        last = xp.full(nan_count.shape, n - 1)
        rank = xp.where(nan_count > 0, n - 1, qs * (n - 1))
    rank = xp.where(last < 0, 0, rank)  # all NaN: the first element, a NaN
    if interpolation == "lower":
        rank = xp.floor(rank)
    elif interpolation == "higher":
        rank = xp.ceil(rank)
    elif interpolation == "nearest":
        rank = xp.rint(rank)
    below = xp.floor(rank).astype(np.int64)
    above = xp.minimum(xp.ceil(rank).astype(np.int64), xp.maximum(last, 0))
    low = indexing.Gather.apply(ordered, row_data.ndim - 1, below)
    high = indexing.Gather.apply(ordered, row_data.ndim - 1, above)
    weight = xp.where(below == above, 0.0, 0.5) if interpolation == "midpoint" else rank - below
    weight = weight.astype(data.dtype)
    result = arithmetic.add(low, arithmetic.mul(Tensor._make(weight), arithmetic.sub(high, low)))
    # (..., len(q)) -> (len(q), *out_shape), or out_shape for a number q
    last_axis = array_of(result).ndim - 1
    result = shape.permute(result, (last_axis, *range(last_axis)))
    if isinstance(q, Tensor) and q.ndim == 1:
        return shape.reshape(result, (qs.shape[0], *out_shape))
    return shape.reshape(result, out_shape)


def nansum(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
    """The sum with NaN counted as zero."""
    data = array_of(input)
    if data.dtype.kind == "f":
        input = indexing.masked_fill(input, input.xp_module().isnan(data), 0)
    return reduction.sum(input, dim, keepdim, dtype=dtype)


def nanmean(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
    """The mean of the elements that are not NaN."""
    data = array_of(input)
    if data.dtype.kind != "f":
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            + scalar_type_name(data.dtype)
        )
    xp = input.xp_module()
    kept = Tensor._make(~xp.isnan(data))
    count = array_of(reduction.sum(kept, dim, keepdim, dtype=dtype if dtype is not None else input.dtype))
    count = xp.where(count == 0, xp.nan, count).astype(count.dtype)  # all NaN: NaN, without a 0/0
    return arithmetic.div(nansum(input, dim, keepdim, dtype=dtype), Tensor._make(count))


def count_nonzero(input: Any, dim: Any = None) -> Tensor:
    """How many elements are not zero (over ``dim``: an int or a tuple), as int64."""
    data = array_of(input)
    axes = normalize_dims(dim, data.ndim)
    return Tensor._make((data != 0).sum(axis=axes).astype(np.int64))


def var_mean(
    input: Any,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple[Any, Any]:
    """``(var, mean)`` over ``dim`` in one call (``var_mean(x, True)`` passes ``unbiased``, as in torch)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    variance = reduction.var(input, dim, unbiased, keepdim, correction=correction)
    return variance, reduction.mean(input, dim, keepdim)


def std_mean(
    input: Any,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple[Any, Any]:
    """``(std, mean)`` over ``dim`` in one call."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    deviation = reduction.std(input, dim, unbiased, keepdim, correction=correction)
    return deviation, reduction.mean(input, dim, keepdim)


def aminmax(input: Any, *, dim: Any = None, keepdim: bool = False) -> AminmaxResult:
    """``(min, max)`` of all elements or along ``dim``."""
    data = array_of(input)
    if dim is None and data.size == 0:
        raise RuntimeError(
            "aminmax(): cannot compute aminmax over an empty dimension as the operation has no identity."
        )
    if dim is not None and data.ndim and data.shape[_axis(dim, data.ndim)] == 0:
        raise IndexError(f"aminmax: Expected reduction dim {_axis(dim, data.ndim)} to have non-zero size.")
    dims = () if dim is None else dim
    if dim is None and keepdim:
        dims = tuple(range(data.ndim))
    return AminmaxResult(reduction.amin(input, dims, keepdim), reduction.amax(input, dims, keepdim))


def dist(input: Any, other: Any, p: float = 2) -> Any:
    """The ``p``-norm of ``input - other`` (broadcast)."""
    return reduction.norm(arithmetic.sub(input, other), p)


def renorm(input: Any, p: float, dim: int, maxnorm: float) -> Any:
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled down to norm ``maxnorm``."""
    data = array_of(input)
    if data.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {data.ndim} dimensions")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    axis = _axis(dim, data.ndim)
    others = tuple(d for d in range(data.ndim) if d != axis)
    norms = reduction.norm(input, p, others, True)
    norm_data = array_of(norms)
    xp = input.xp_module()
    over = norm_data > maxnorm
    factor = arithmetic.div(maxnorm, arithmetic.add(norms, 1e-7))
    scale = indexing.where(Tensor._make(over), factor, Tensor._make(xp.ones_like(norm_data)))
    return arithmetic.mul(input, scale)
