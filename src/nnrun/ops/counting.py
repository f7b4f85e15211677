"""Counting and searching (no gradients): unique, unique_consecutive, bincount, histc, searchsorted,
bucketize."""

from __future__ import annotations

from typing import Any

from nnrun import _backend
from nnrun._dims import normalize_dims
from nnrun._tensor import Tensor, array_of

_TORCH_TYPE = {"float32": "Float", "float64": "Double", "float16": "Half", "bool": "Bool"}


def _results(
    xp: Any, values: Any, inverse: Any, counts: Any, return_inverse: bool, return_counts: bool
) -> Any:
    out = [Tensor._make(values)]
    if return_inverse:
        out.append(Tensor._make(inverse.astype(xp.int64)))
    if return_counts:
        out.append(Tensor._make(counts.astype(xp.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique(
    input: Any,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The distinct elements (or slices along ``dim``), in ascending order; with ``return_inverse`` where
    each element went, with ``return_counts`` how often each occurs."""
    data = input._data
    xp = _backend.array_module(data)
    if dim is None:
        values, inverse, counts = xp.unique(data.reshape(-1), return_inverse=True, return_counts=True)
        return _results(xp, values, inverse.reshape(data.shape), counts, return_inverse, return_counts)
    (axis,) = normalize_dims(dim, data.ndim) or (0,)
    # the slices along the axis as rows, sorted lexicographically, kept where a row differs from the last
    rows = xp.moveaxis(data, axis, 0).reshape(data.shape[axis], -1)
    order = xp.lexsort(rows.T[::-1]) if rows.shape[1] else xp.arange(rows.shape[0])
    ordered = rows[order]
    starts = xp.ones(rows.shape[0], dtype=bool)
    if rows.shape[0] > 1:
        starts[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    group = xp.cumsum(starts) - 1
    inverse = xp.empty_like(group)
    inverse[order] = group
    counts = xp.bincount(group) if rows.shape[0] else xp.zeros(0, dtype=xp.int64)
    values = xp.take(data, order[starts], axis=axis)
    return _results(xp, values, inverse, counts, return_inverse, return_counts)


def unique_consecutive(
    input: Any, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
) -> Any:
    """Each run of equal consecutive elements (or slices along ``dim``) kept once."""
    data = input._data
    xp = _backend.array_module(data)
    if dim is None:
        data, axis = data.reshape(-1), 0
        shape = input._data.shape
    else:
        (axis,) = normalize_dims(dim, data.ndim) or (0,)
        shape = (data.shape[axis],)
    rows = xp.moveaxis(data, axis, 0).reshape(data.shape[axis], -1)
    starts = xp.ones(rows.shape[0], dtype=bool)
    if rows.shape[0] > 1:
        starts[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    group = xp.cumsum(starts) - 1
    counts = xp.bincount(group) if rows.shape[0] else xp.zeros(0, dtype=xp.int64)
    values = xp.take(data, xp.nonzero(starts)[0], axis=axis)
    return _results(xp, values, group.reshape(shape), counts, return_inverse, return_counts)


def bincount(input: Any, weights: Any = None, minlength: int = 0) -> Any:
    """How often each value 0, 1, ... occurs in a 1-D non-negative integer tensor (or the sum of its
    ``weights``); at least ``minlength`` bins."""
    data = input._data
    xp = _backend.array_module(data)
    if data.dtype.kind == "f" or data.dtype.kind == "b":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{_TORCH_TYPE[str(data.dtype)]}'")
    if data.ndim != 1 or (data.size and int(data.min()) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    w = array_of(weights)
    if w is None:
        return Tensor._make(xp.bincount(data, minlength=minlength).astype(xp.int64))
    if w.shape != data.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    # float32 weights count in float32; any other weights in float64, as torch
    dtype = w.dtype if w.dtype == xp.float32 else xp.float64
    return Tensor._make(xp.bincount(data, weights=w, minlength=minlength).astype(dtype))


def histc(input: Any, bins: int = 100, min: float = 0, max: float = 0) -> Any:
    """A histogram of ``bins`` equal bins between ``min`` and ``max`` (the data's range when both are 0);
    elements outside are ignored, the maximum falls in the last bin."""
    data = input._data
    xp = _backend.array_module(data)
    if data.dtype.kind != "f":
        raise RuntimeError(f"\"histogram_cpu\" not implemented for '{data.dtype}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    low, high = float(min), float(max)
    if low > high:
        raise RuntimeError("torch.histc: max must be larger than min")
    if low == high and data.size:
        low, high = float(data.min()), float(data.max())
    if low == high:
        low, high = low - 1, high + 1
    flat = data.reshape(-1)
    inside = flat[(flat >= low) & (flat <= high)]
    place = ((inside - low) * bins / (high - low)).astype(xp.int64)
    place = xp.minimum(place, bins - 1)  # the maximum itself belongs to the last bin
    return Tensor._make(xp.bincount(place, minlength=bins).astype(data.dtype))


def searchsorted(
    sorted_sequence: Any,
    input: Any,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter: Any = None,
) -> Any:
    """Where each value of ``input`` would go in the sorted last dimension of ``sorted_sequence`` to keep it
    sorted: the first such place (``side='left'``) or the last (``right=True`` or ``side='right'``)."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError(
                "torch.searchsorted(): side and right can't be set to opposites, got side of left while "
                "right was True"
            )
        right = side == "right"
    boundaries = sorted_sequence._data
    scalar = not isinstance(input, Tensor)
    values = _backend.array_module(boundaries).asarray(array_of(input))
    xp = _backend.array_module(boundaries)
    if sorter is not None:
        boundaries = xp.take_along_axis(boundaries, sorter._data, axis=-1)
    how = "right" if right else "left"
    if boundaries.ndim == 1:
        found = xp.searchsorted(boundaries, values, side=how)
    else:
        if scalar or boundaries.shape[:-1] != values.shape[:-1]:
            raise RuntimeError(
                "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions "
                "of boundaries tensor and input value tensor must match, but we got boundaries tensor "
                f"{list(boundaries.shape)} and input value tensor {list(values.shape)}"
            )
        # one search per row: the place is how many boundaries sort before the value
        rows = boundaries.reshape(-1, boundaries.shape[-1])
        queries = values.reshape(rows.shape[0], -1, 1)
        before = rows[:, None, :] <= queries if right else rows[:, None, :] < queries
        found = before.sum(axis=-1).reshape(values.shape)
    return Tensor._make(xp.asarray(found).astype(xp.int32 if out_int32 else xp.int64))


def bucketize(input: Any, boundaries: Any, *, out_int32: bool = False, right: bool = False) -> Any:
    """The bucket of each value among the sorted 1-D ``boundaries`` (``searchsorted`` with the arguments
    swapped)."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)
