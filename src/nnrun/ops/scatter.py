"""Writing by index: scatter_add, scatter_reduce, index_add/copy/fill, masked_scatter, put, fill_diagonal;
and reading by index: masked_select, take, take_along_dim, nonzero, argwhere."""

from __future__ import annotations

from typing import Any

import numpy as np  # shape arithmetic only

from nnrun import _backend
from nnrun._dims import normalize_dims
from nnrun._tensor import Tensor, array_of
from nnrun.autograd.function import Function
from nnrun.ops import indexing, shape
from nnrun.ops._broadcast import shape_of

_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def check_reduction(reduce: str) -> None:
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")


def _axis(dim: int, ndim: int) -> int:
    (axis,) = normalize_dims(dim, ndim) or (0,)
    return axis


def _same_dtype(name: str, x: Any, src: Any) -> None:
    if hasattr(src, "dtype") and src.dtype != x.dtype:
        raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype")


class ScatterReduce(Function):
    """``out[index[i]][along dim] (reduce)= src[i]``, starting from ``x`` (``include_self``) or from nothing.

    d/dx and d/dsrc: sum passes the gradient through; mean divides it by the count; amax/amin share it among
    the elements equal to the result; prod multiplies it by the product of the other contributors."""

    @staticmethod
    def forward(ctx, x, axis, index, src, reduce, include_self):
        indexing._check_index(x, index, axis, "scatter")
        _same_dtype("scatter", x, src)
        xp = ctx.xp
        key = indexing.along_axis_key(xp, index, axis)
        part = src[tuple(slice(0, s) for s in index.shape)]
        hit = xp.zeros(x.shape, dtype=bool)
        hit[key] = True
        out = x.copy()
        if reduce == "mean":
            out = out.astype(xp.float64) if out.dtype.kind in "biu" else out
        if not include_self:
            out[hit] = {"sum": 0, "mean": 0, "prod": 1}.get(reduce, 0)
        if reduce in ("sum", "mean"):
            _backend.scatter_add(out, key, part)
        elif reduce in ("amax", "amin"):
            if not include_self:  # start from the first contribution, so the reduction ignores x there
                out[key] = part
            _backend.scatter_extreme(out, key, part, largest=reduce == "amax")
        else:
            _scatter_prod(xp, out, key, part)
        count = None
        if reduce == "mean":
            count = xp.zeros(x.shape, dtype=out.dtype)
            _backend.scatter_add(count, key, xp.ones(part.shape, dtype=out.dtype))
            count = count + (1 if include_self else xp.where(hit, 0, 1))
            out = out / count if out.dtype.kind == "f" else out // count
            out = out.astype(x.dtype, copy=False)
        ctx.key, ctx.hit, ctx.count = key, hit, count
        ctx.reduce, ctx.include_self = reduce, include_self
        ctx.src_shape, ctx.part_shape = src.shape, part.shape
        ctx.save_for_backward(x, part, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, part, out = ctx.saved_tensors
        xp, key, reduce = ctx.xp, ctx.key, ctx.reduce
        needs_x, needs_src = ctx.needs_input_grad[0], ctx.needs_input_grad[3]
        # self_in: where x takes part in the result (all of it with include_self, else where nothing lands)
        self_in = xp.ones(x.shape, dtype=bool) if ctx.include_self else ~ctx.hit
        if reduce in ("sum", "mean"):
            g = grad_out if ctx.count is None else grad_out / ctx.count
            grad_x = xp.where(self_in, g, 0)
            grad_part = g[key]
        elif reduce in ("amax", "amin"):
            # as torch: the ties counted include x where it equals the result, even when x took no part
            self_eq, part_eq = x == out, part == out[key]
            ties = self_eq.astype(grad_out.dtype)
            _backend.scatter_add(ties, key, part_eq.astype(grad_out.dtype))
            g = grad_out / ties
            grad_x = xp.where(self_eq & self_in, g, 0)
            grad_part = xp.where(part_eq, g[key], 0)
        else:
            grad_x, grad_part = _prod_grads(xp, x, part, key, self_in, grad_out)
        grad_src = None
        if needs_src:
            grad_src = xp.zeros(ctx.src_shape, dtype=grad_out.dtype)
            grad_src[tuple(slice(0, s) for s in ctx.part_shape)] = grad_part
        return (grad_x if needs_x else None), None, None, grad_src, None, None

    def name(self) -> str:
        return (
            "ScatterAddBackward0" if self.reduce == "sum" and self.include_self else "ScatterReduceBackward0"
        )


class ScatterLegacyReduce(ScatterReduce):
    """``scatter(..., reduce='add'|'multiply')``: forward only, as in torch."""

    @staticmethod
    def backward(ctx, grad_out):
        raise RuntimeError("derivative for aten::scatter is not implemented")

    def name(self) -> str:
        return "ScatterBackward1"


def _scatter_prod(xp: Any, out: Any, key: tuple[Any, ...], part: Any) -> None:
    """``out[key] *= part`` over repeated indices too. NumPy has ``multiply.at``; CuPy has no scatter
    product, so the factors go in rounds: round ``r`` takes each target's ``r``-th factor, and the others
    write to a spare slot past the end (so no two writes of a round meet in a kept place). The number of
    rounds, the largest repeat count, is read back once."""
    values = part.ravel()
    if xp.__name__ == "numpy":
        xp.multiply.at(out, key, part)
        return
    flat = xp.ravel_multi_index(tuple(k.ravel() for k in xp.broadcast_arrays(*key)), out.shape)
    order = xp.argsort(flat)
    rank = xp.empty_like(flat)
    sorted_flat = flat[order]
    rank[order] = xp.arange(flat.size) - xp.searchsorted(sorted_flat, sorted_flat, side="left")
    rounds = int(rank.max()) + 1 if flat.size else 0
    padded = xp.concatenate([out.reshape(-1), xp.ones(1, dtype=out.dtype)])
    for r in range(rounds):
        chosen = rank == r
        padded[xp.where(chosen, flat, out.size)] *= xp.where(chosen, values, 1).astype(out.dtype)
    out[...] = padded[: out.size].reshape(out.shape)


def _prod_grads(xp: Any, x: Any, part: Any, key: Any, self_in: Any, grad_out: Any) -> tuple[Any, Any]:
    """d(prod)/d(each factor) = product of the other factors, computed with zeros counted apart."""
    dtype = grad_out.dtype
    nonzero_prod = xp.where(self_in & (x != 0), x, 1).astype(dtype)
    _scatter_prod(xp, nonzero_prod, key, xp.where(part != 0, part, 1).astype(dtype))
    zeros = (self_in & (x == 0)).astype(xp.int64)
    _backend.scatter_add(zeros, key, (part == 0).astype(xp.int64))

    def others(values: Any, places: Any) -> Any:
        p, z = nonzero_prod[places], zeros[places]
        safe = xp.where(values == 0, 1, values)
        return xp.where(values == 0, xp.where(z == 1, p, 0), xp.where(z == 0, p / safe, 0))

    grad_x = xp.where(self_in, grad_out * others(x, Ellipsis), 0)
    grad_part = grad_out[key] * others(part, key)
    return grad_x, grad_part


class IndexAdd(Function):
    """``out = x`` with ``alpha * source`` added at ``index`` along ``axis`` (repeats accumulate)."""

    @staticmethod
    def forward(ctx, x, axis, index, source, alpha):
        _check_index_vector("index_add", x, axis, index, source)
        index = index.reshape(-1)
        ctx.key, ctx.alpha, ctx.axis, ctx.index = (slice(None),) * axis + (index,), alpha, axis, index
        out = x.copy()
        _backend.scatter_add(out, ctx.key, source * alpha if alpha != 1 else source)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        needs_source = ctx.needs_input_grad[3]
        grad_source = ctx.xp.take(grad_out, ctx.index, axis=ctx.axis) * ctx.alpha if needs_source else None
        return grad_out, None, None, grad_source, None


class IndexCopy(Function):
    """``out = x`` with the slices at ``index`` along ``axis`` replaced by ``source``'s."""

    @staticmethod
    def forward(ctx, x, axis, index, source):
        _check_index_vector("index_copy", x, axis, index, source)
        index = index.reshape(-1)
        ctx.key, ctx.axis, ctx.index = (slice(None),) * axis + (index,), axis, index
        out = x.copy()
        out[ctx.key] = source
        return out

    @staticmethod
    def backward(ctx, grad_out):
        grad_x = grad_out.copy()
        grad_x[ctx.key] = 0
        needs_source = ctx.needs_input_grad[3]
        grad_source = ctx.xp.take(grad_out, ctx.index, axis=ctx.axis) if needs_source else None
        return grad_x, None, None, grad_source


class IndexFill(Function):
    """``out = x`` with the slices at ``index`` along ``axis`` set to ``value`` (a number or 0-d tensor)."""

    @staticmethod
    def forward(ctx, x, axis, index, value):
        if index.ndim > 1:
            raise RuntimeError("Index has to be a vector/scalar")
        if shape_of(value):
            raise RuntimeError(
                "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{len(shape_of(value))} dimension(s)."
            )
        ctx.key, ctx.value_shape = (slice(None),) * axis + (index.reshape(-1),), shape_of(value)
        out = x.copy()
        out[ctx.key] = value
        return out

    @staticmethod
    def backward(ctx, grad_out):
        grad_x = grad_out.copy()
        grad_x[ctx.key] = 0
        grad_value = None
        if ctx.needs_input_grad[3]:
            filled = ctx.xp.zeros(grad_out.shape, dtype=bool)
            filled[ctx.key] = True
            grad_value = grad_out[filled].sum().reshape(ctx.value_shape)
        return grad_x, None, None, grad_value


class MaskedScatter(Function):
    """``out = x`` with the places where ``mask`` holds filled, in order, from the start of ``source``."""

    @staticmethod
    def forward(ctx, x, mask, source):
        if mask.dtype.kind != "b":
            raise RuntimeError(
                f"masked_scatter_ only supports boolean masks, but got mask with dtype {mask.dtype}"
            )
        xp = ctx.xp
        mask = xp.broadcast_to(mask, x.shape)
        count = int(mask.sum())
        if count > source.size:
            raise RuntimeError("Number of elements of source < number of ones in mask")
        ctx.mask, ctx.count, ctx.source_shape = mask, count, source.shape
        out = x.copy()
        out[mask] = source.reshape(-1)[:count]
        return out

    @staticmethod
    def backward(ctx, grad_out):
        xp = ctx.xp
        grad_x = xp.where(ctx.mask, 0, grad_out)
        grad_source = None
        if ctx.needs_input_grad[2]:
            grad_source = xp.zeros(_product(ctx.source_shape), dtype=grad_out.dtype)
            grad_source[: ctx.count] = grad_out[ctx.mask]
            grad_source = grad_source.reshape(ctx.source_shape)
        return grad_x, None, grad_source


class Put(Function):
    """``out = x`` with the flat positions ``index`` set to (or, accumulating, increased by) ``source``."""

    @staticmethod
    def forward(ctx, x, index, source, accumulate):
        if index.size != source.size:
            raise IndexError(
                "put_(): Expected source and index to have the same number of elements, but got "
                f"source.numel() = {source.size}, index.numel() = {index.size}"
            )
        flat_index = index.reshape(-1) % max(x.size, 1)
        ctx.index, ctx.accumulate, ctx.source_shape = flat_index, accumulate, source.shape
        out = x.copy()
        flat = out.reshape(-1)
        if accumulate:
            _backend.scatter_add(flat, flat_index, source.reshape(-1))
        else:
            flat[flat_index] = source.reshape(-1)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        grad_x = grad_out
        if not ctx.accumulate:
            grad_x = grad_out.copy()
            grad_x.reshape(-1)[ctx.index] = 0
        grad_source = grad_out.reshape(-1)[ctx.index].reshape(ctx.source_shape)
        return grad_x, None, grad_source, None


class FillDiagonal(Function):
    """``out = x`` with its main diagonal (all indices equal) set to ``value``; ``wrap`` restarts it below
    a tall matrix's square top every ``columns + 1`` rows, as NumPy's ``fill_diagonal``."""

    @staticmethod
    def forward(ctx, x, value, wrap):
        xp = ctx.xp
        if x.ndim < 2:
            raise RuntimeError("dimensions must larger than 1")
        if x.ndim > 2 and len(set(x.shape)) != 1:
            raise RuntimeError("all dimensions of input must be of equal length")
        step = sum(int(_product(x.shape[d + 1 :])) for d in range(x.ndim))  # one step along every axis
        end = x.size if wrap or x.ndim > 2 else min(x.shape) * step
        ctx.places = xp.arange(0, end, step)
        out = x.copy()
        out.reshape(-1)[ctx.places] = value
        return out

    @staticmethod
    def backward(ctx, grad_out):
        grad_x = grad_out.copy()
        grad_x.reshape(-1)[ctx.places] = 0
        return grad_x, None, None


def _product(sizes: tuple[int, ...]) -> int:
    result = 1
    for size in sizes:
        result *= size
    return result


def _check_index_vector(name: str, x: Any, axis: int, index: Any, source: Any) -> None:
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"{name}_(): Expected dtype int32/int64 for index but got: {index.dtype}")
    if index.ndim > 1:
        raise IndexError(f"{name}_(): Index is supposed to be a vector, but got dim: {index.ndim}")
    if source.dtype != x.dtype:
        raise RuntimeError(
            f"{name}_(): self ({x.dtype}) and source ({source.dtype}) must have the same scalar type"
        )
    if source.ndim and (source.ndim != x.ndim or source.shape[axis] != index.size):
        raise (IndexError if name == "index_copy" else RuntimeError)(
            f"{name}_(): Number of indices ({index.size}) should be equal to source.size(dim): "
            f"({source.shape[axis] if source.ndim > axis else 1}), for dim: {axis}"
        )
    expected = (*x.shape[:axis], index.size, *x.shape[axis + 1 :])
    if source.ndim and source.shape != expected:
        raise RuntimeError(
            f"{name}_(): Source/destination tensor must have same slice shapes. Destination slice shape: "
            f"{list(x.shape)} at dimension {axis} and source slice shape: {list(source.shape)} at dimension "
            f"{axis}."
        )


# ----- public functions (also bound as Tensor methods) -----
def _index_array(index: Any) -> Any:
    if not isinstance(index, Tensor):
        raise TypeError(f"index must be a Tensor, not {type(index).__name__}")
    return index._data


def scatter_add(input: Any, dim: int, index: Any, src: Any) -> Any:
    """``input`` with ``src[i]`` added at ``index[i]`` along ``dim`` (repeats accumulate)."""
    return ScatterReduce.apply(input, _axis(dim, input.ndim), _index_array(index), src, "sum", True)


def scatter_reduce(
    input: Any, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True
) -> Any:
    """``input`` with ``src[i]`` reduced (sum, prod, mean, amax, amin) into ``index[i]`` along ``dim``."""
    check_reduction(reduce)
    return ScatterReduce.apply(input, _axis(dim, input.ndim), _index_array(index), src, reduce, include_self)


def scatter(
    input: Any, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None
) -> Any:
    """``input`` with ``src[i]`` (or ``value``) written at ``index[i]`` along ``dim``; ``reduce='add'`` or
    ``'multiply'`` combines instead of overwriting."""
    if reduce is None:
        return indexing.scatter(input, dim, index, src, value=value)
    if reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    if (src is None) == (value is None):
        raise TypeError("scatter() expects exactly one of src or value")
    if not isinstance(src, Tensor):  # a number, given as ``value`` or in ``src``'s place
        value = src if src is not None else value
        src = Tensor._make(
            _backend.array_module(input._data).full(index.shape, value, dtype=input._data.dtype)
        )
    how = "sum" if reduce == "add" else "prod"
    return ScatterLegacyReduce.apply(input, _axis(dim, input.ndim), _index_array(index), src, how, True)


def index_add(input: Any, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Any:
    """``input`` with ``alpha * source`` added at ``index`` along ``dim`` (repeats accumulate)."""
    return IndexAdd.apply(input, _axis(dim, input.ndim), _index_array(index), source, alpha)


def index_copy(input: Any, dim: int, index: Any, source: Any) -> Any:
    """``input`` with the slices at ``index`` along ``dim`` replaced by ``source``'s slices."""
    return IndexCopy.apply(input, _axis(dim, input.ndim), _index_array(index), source)


def index_fill(input: Any, dim: int, index: Any, value: Any) -> Any:
    """``input`` with the slices at ``index`` along ``dim`` set to ``value``."""
    return IndexFill.apply(input, _axis(dim, input.ndim), _index_array(index), value)


def masked_scatter(input: Any, mask: Any, source: Any) -> Any:
    """``input`` with the places where ``mask`` holds taken, in order, from ``source``."""
    return MaskedScatter.apply(input, array_of(mask), source)


def masked_select(input: Any, mask: Any) -> Any:
    """The elements of ``input`` where ``mask`` holds (both broadcast), as a 1-D tensor."""
    mask_array = array_of(mask)
    if mask_array.dtype.kind != "b":
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    common = tuple(np.broadcast_shapes(tuple(input.shape), mask_array.shape))
    x = input if tuple(input.shape) == common else shape.expand(input, common)
    if mask_array.shape != common:
        mask_array = _backend.array_module(mask_array).broadcast_to(mask_array, common)
    return indexing.AdvancedIndex.apply(x, (mask_array,))


def take(input: Any, index: Any) -> Any:
    """``input`` read as 1-D at ``index``; the result has ``index``'s shape."""
    index_array = _index_array(index)
    size = input.numel()
    # checked on the CPU only: on a GPU the check would read the indices back
    if (
        _backend.array_module(index_array).__name__ == "numpy"
        and index_array.size
        and (int(index_array.max()) >= size or int(index_array.min()) < -size)
    ):
        bad = int(index_array.max()) if int(index_array.max()) >= size else int(index_array.min())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {size} elements.")
    return indexing.AdvancedIndex.apply(shape.reshape(input, -1), (index_array,))


def take_along_dim(input: Any, indices: Any, dim: int | None = None) -> Any:
    """``gather`` along ``dim`` with ``input`` and ``indices`` broadcast against each other elsewhere;
    ``dim=None`` reads both as 1-D."""
    if dim is None:
        return take(input, shape.reshape(indices, -1))
    axis = _axis(dim, input.ndim)
    if indices.ndim != input.ndim:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of dimensions, "
            f"but got {input.ndim} dimensions for input, and {indices.ndim} dimensions for indices"
        )
    x_shape, i_shape = list(input.shape), list(indices.shape)
    x_shape[axis] = i_shape[axis] = 1
    common = list(np.broadcast_shapes(tuple(x_shape), tuple(i_shape)))
    x_target, i_target = list(common), list(common)
    x_target[axis], i_target[axis] = input.shape[axis], indices.shape[axis]
    x = input if list(input.shape) == x_target else shape.expand(input, x_target)
    index = indices if list(indices.shape) == i_target else shape.expand(indices, i_target)
    return indexing.gather(x, axis, index)


def nonzero(input: Any, *, as_tuple: bool = False) -> Any:
    """The indices of the non-zero elements: an ``(n, ndim)`` int64 tensor, or a 1-D tensor per dimension."""
    data = array_of(input)
    xp = _backend.array_module(data)
    places = xp.nonzero(data if data.ndim else data.reshape(1))
    if as_tuple:
        return tuple(Tensor._make(p.astype(xp.int64)) for p in places)
    if not data.ndim:
        return Tensor._make(xp.zeros((int(places[0].size), 0), dtype=xp.int64))
    return Tensor._make(xp.stack(places, axis=1).astype(xp.int64))


def argwhere(input: Any) -> Any:
    """The indices of the non-zero elements as an ``(n, ndim)`` int64 tensor (``nonzero``)."""
    return nonzero(input)


def put(input: Any, index: Any, source: Any, accumulate: bool = False) -> Any:
    """``input`` with its flat positions ``index`` set to (or increased by) ``source``."""
    return Put.apply(input, _index_array(index), source, accumulate)
