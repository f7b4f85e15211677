"""Indexing: ``x[key]``, ``x[key] = v``, gather, scatter, index_select, masked_fill, where."""

from __future__ import annotations

from typing import Any

from nnrun import _backend
from nnrun._dims import normalize_dims
from nnrun._tensor import Tensor, array_of
from nnrun.autograd.function import Function
from nnrun.ops._broadcast import promote, shape_of, unbroadcast

_BASIC_KEY_TYPES = (int, slice, type(None), type(Ellipsis))


def prepare_key(key: Any) -> tuple[Any, bool]:
    """The key with tensors replaced by arrays, and whether it is basic (yields a view, no repeats)."""
    parts = key if type(key) is tuple else (key,)
    converted = []
    basic = True
    for part in parts:
        if isinstance(part, Tensor):
            part = part._data
            basic = False
        elif isinstance(part, bool) or not isinstance(part, _BASIC_KEY_TYPES):
            basic = False
            if isinstance(part, (list, tuple)):
                part = [p.item() if isinstance(p, Tensor) else p for p in part]
        converted.append(part)
    return tuple(converted), basic


class BasicIndex(Function):
    is_view = True

    @staticmethod
    def forward(ctx, x, key):
        ctx.in_shape, ctx.in_dtype, ctx.key = x.shape, x.dtype, key
        return x[key]

    @staticmethod
    def backward(ctx, grad_out):
        grad = ctx.xp.zeros(ctx.in_shape, dtype=grad_out.dtype)
        grad[ctx.key] = grad_out
        return grad, None

    def name(self) -> str:
        # torch applies a basic index one part at a time; the last part that does something names it
        key = self.key if type(self.key) is tuple else (self.key,)
        for part in reversed(key):
            if part is None:
                return "UnsqueezeBackward0"
            if type(part) is slice:
                if part != _FULL_SLICE:
                    return "SliceBackward0"
            elif part is not Ellipsis:
                return "SelectBackward0"
        return "SliceBackward0" if _FULL_SLICE in key else "AliasBackward0"


_FULL_SLICE = slice(None)


class AdvancedIndex(Function):
    @staticmethod
    def forward(ctx, x, key):
        ctx.in_shape, ctx.key = x.shape, key
        return x[key]

    @staticmethod
    def backward(ctx, grad_out):
        grad = ctx.xp.zeros(ctx.in_shape, dtype=grad_out.dtype)
        _backend.scatter_add(grad, ctx.key, grad_out)  # repeated indices accumulate
        return grad, None

    def name(self) -> str:
        return "IndexBackward0"


class SetItem(Function):
    """``x[key] = value`` written into ``x``'s memory; used only through the in-place machinery."""

    @staticmethod
    def forward(ctx, x, value, key):
        ctx.key = key
        ctx.value_shape = shape_of(value)
        ctx.value_dtype = getattr(value, "dtype", None)
        x[key] = value
        return x

    @staticmethod
    def backward(ctx, grad_out):
        needs_x, needs_value = ctx.needs_input_grad[:2]
        grad_x = grad_value = None
        if needs_x:
            grad_x = grad_out.copy()
            grad_x[ctx.key] = 0
        if needs_value:
            grad_value = unbroadcast(grad_out[ctx.key], ctx.value_shape)
            if grad_value.dtype != ctx.value_dtype:
                grad_value = grad_value.astype(ctx.value_dtype)
        return grad_x, grad_value, None


def along_axis_key(xp: Any, index: Any, axis: int) -> tuple[Any, ...]:
    """A fancy-index key selecting ``x[i0, .., index[i], .., in]`` for every position ``i`` of ``index``."""
    key = []
    for d, size in enumerate(index.shape):
        if d == axis:
            key.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = size
            key.append(xp.arange(size).reshape(shape))
    return tuple(key)


class Gather(Function):
    @staticmethod
    def forward(ctx, x, axis, index):
        _check_index(x, index, axis, "gather")
        ctx.in_shape = x.shape
        ctx.key = along_axis_key(ctx.xp, index, axis)
        return x[ctx.key]

    @staticmethod
    def backward(ctx, grad_out):
        grad = ctx.xp.zeros(ctx.in_shape, dtype=grad_out.dtype)
        _backend.scatter_add(grad, ctx.key, grad_out)
        return grad, None, None


class Scatter(Function):
    @staticmethod
    def forward(ctx, x, axis, index, src):
        _check_index(x, index, axis, "scatter")
        ctx.key = along_axis_key(ctx.xp, index, axis)
        ctx.src_shape = shape_of(src)
        ctx.src_part = tuple(slice(0, s) for s in index.shape)
        out = x.copy()
        out[ctx.key] = src[ctx.src_part] if ctx.src_shape else src
        return out

    @staticmethod
    def backward(ctx, grad_out):
        needs_x, needs_src = ctx.needs_input_grad[0], ctx.needs_input_grad[3]
        grad_x = grad_src = None
        if needs_x:
            grad_x = grad_out.copy()
            grad_x[ctx.key] = 0
        if needs_src:
            grad_src = ctx.xp.zeros(ctx.src_shape, dtype=grad_out.dtype)
            grad_src[ctx.src_part] = grad_out[ctx.key]
        return grad_x, None, None, grad_src


class IndexSelect(Function):
    @staticmethod
    def forward(ctx, x, axis, index):
        if index.ndim > 1:
            raise IndexError("index_select(): Index is supposed to be a vector")
        ctx.in_shape, ctx.axis, ctx.index = x.shape, axis, index
        return ctx.xp.take(x, index, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        grad = ctx.xp.zeros(ctx.in_shape, dtype=grad_out.dtype)
        _backend.scatter_add(grad, (slice(None),) * ctx.axis + (ctx.index,), grad_out)
        return grad, None, None


class MaskedFill(Function):
    @staticmethod
    def forward(ctx, x, mask, value):
        if mask.dtype.kind != "b":
            raise RuntimeError(
                f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}"
            )
        ctx.mask = mask
        ctx.value_shape = shape_of(value)
        return ctx.xp.where(mask, value, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        needs_x, _, needs_value = ctx.needs_input_grad
        xp, mask = ctx.xp, ctx.mask
        grad_x = xp.where(mask, 0, grad_out) if needs_x else None
        grad_value = xp.where(mask, grad_out, 0).sum().reshape(ctx.value_shape) if needs_value else None
        return grad_x, None, grad_value


class Where(Function):
    _edge_slots = (1, 2)  # the two value inputs; a Python scalar shows as (None, 0)

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = condition
        ctx.a_shape, ctx.b_shape = shape_of(a), shape_of(b)
        a, b = promote(a, b)
        return ctx.xp.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad_out):
        _, needs_a, needs_b = ctx.needs_input_grad
        xp, condition = ctx.xp, ctx.condition
        grad_a = unbroadcast(xp.where(condition, grad_out, 0), ctx.a_shape) if needs_a else None
        grad_b = unbroadcast(xp.where(condition, 0, grad_out), ctx.b_shape) if needs_b else None
        return None, grad_a, grad_b


def _check_index(x: Any, index: Any, axis: int, name: str) -> None:
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    if index.ndim != x.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d, (i_size, x_size) in enumerate(zip(index.shape, x.shape)):
        if d != axis and i_size > x_size:
            raise RuntimeError(
                f"Size does not match at dimension {d} expected index {list(index.shape)} to be smaller "
                f"than self {list(x.shape)} apart from dimension {axis}"
            )


# ----- public functions (also bound as Tensor methods) -----
def getitem(input: Any, key: Any) -> Any:
    key, basic = prepare_key(key)
    return (BasicIndex if basic else AdvancedIndex).apply(input, key)


def gather(input: Any, dim: int, index: Any) -> Any:
    (axis,) = normalize_dims(dim, input.ndim) or (0,)
    return Gather.apply(input, axis, index._data)


def scatter(input: Any, dim: int, index: Any, src: Any = None, *, value: Any = None) -> Any:
    if (src is None) == (value is None):
        raise TypeError("scatter() expects exactly one of src or value")
    (axis,) = normalize_dims(dim, input.ndim) or (0,)
    return Scatter.apply(input, axis, index._data, src if src is not None else value)


def index_select(input: Any, dim: int, index: Any) -> Any:
    (axis,) = normalize_dims(dim, input.ndim) or (0,)
    return IndexSelect.apply(input, axis, index._data.reshape(-1) if index.ndim == 0 else index._data)


def masked_fill(input: Any, mask: Any, value: Any) -> Any:
    return MaskedFill.apply(input, array_of(mask), value)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """Elements of ``input`` where ``condition`` holds, else of ``other``; one argument gives indices."""
    cond = array_of(condition)
    if input is None and other is None:
        xp = _backend.array_module(cond)
        return tuple(Tensor._make(i.astype(xp.int64)) for i in xp.nonzero(cond))
    return Where.apply(cond, input, other)
