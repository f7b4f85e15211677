"""Matrix structure and running sums: ``tril``, ``triu``, ``diag``, ``diagonal``, ``diag_embed``,
``trace``, ``block_diag``, ``cumsum``."""

from __future__ import annotations

from typing import Any

from nnrun import _dtype
from nnrun._dims import normalize_dims
from nnrun.autograd.function import Function


class _Triangle(Function):
    """Keep the lower (``tril``) or upper (``triu``) triangle of the last two dimensions; zero the rest."""

    lower = True

    @classmethod
    def forward(cls, ctx, x, diagonal):
        if x.ndim < 2:
            raise RuntimeError(
                f"{'tril' if cls.lower else 'triu'}: input tensor must have at least 2 dimensions"
            )
        ctx.diagonal = diagonal
        return (ctx.xp.tril if cls.lower else ctx.xp.triu)(x, diagonal)

    @classmethod
    def backward(cls, ctx, grad):
        return (ctx.xp.tril if cls.lower else ctx.xp.triu)(grad, ctx.diagonal), None


class Tril(_Triangle):
    lower = True


class Triu(_Triangle):
    lower = False


def _diagonal_places(xp: Any, shape: tuple[int, ...], offset: int) -> tuple[Any, Any]:
    """Row and column indices of the ``offset`` diagonal of a matrix of ``shape``."""
    rows, cols = shape
    length = max(0, min(rows + min(offset, 0), cols - max(offset, 0)))
    steps = xp.arange(length)
    return steps - min(offset, 0), steps + max(offset, 0)


class Diag(Function):
    """1-D input: the ``diagonal``-th diagonal of a square matrix it fills; 2-D input: that diagonal."""

    @staticmethod
    def forward(ctx, x, diagonal):
        xp = ctx.xp
        if x.ndim not in (1, 2):
            raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D")
        ctx.in_shape, ctx.diagonal = x.shape, diagonal
        if x.ndim == 1:
            size = x.shape[0] + abs(diagonal)
            out = xp.zeros((size, size), dtype=x.dtype)
            rows, cols = _diagonal_places(xp, out.shape, diagonal)
            out[rows, cols] = x
            return out
        rows, cols = _diagonal_places(xp, x.shape, diagonal)
        return x[rows, cols]

    @staticmethod
    def backward(ctx, grad):
        xp = ctx.xp
        if len(ctx.in_shape) == 1:
            rows, cols = _diagonal_places(xp, grad.shape, ctx.diagonal)
            return grad[rows, cols], None
        out = xp.zeros(ctx.in_shape, dtype=grad.dtype)
        rows, cols = _diagonal_places(xp, ctx.in_shape, ctx.diagonal)
        out[rows, cols] = grad
        return out, None

    def name(self) -> str:
        return "DiagEmbedBackward0" if len(self.in_shape) == 1 else "DiagonalBackward0"


class Cumsum(Function):
    """Running sum along ``dim``; the gradient is the running sum of the gradient taken from the end."""

    @staticmethod
    def forward(ctx, x, dim, dtype):
        xp = ctx.xp
        (axis,) = normalize_dims(dim, x.ndim) or (0,)
        ctx.axis, ctx.in_dtype = axis, x.dtype
        if dtype is not None:
            x = x.astype(dtype, copy=False)
        elif x.dtype.kind in "biu":
            x = x.astype(xp.int64, copy=False)  # integers and bools add up in int64, as torch
        if x.ndim == 0:
            return x.copy()
        return xp.cumsum(x, axis=axis, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        if grad.ndim == 0:
            return grad.astype(ctx.in_dtype, copy=False), None, None
        xp, axis = ctx.xp, ctx.axis
        flipped = xp.flip(grad, axis)
        grad = xp.flip(xp.cumsum(flipped, axis=axis), axis)
        return grad.astype(ctx.in_dtype, copy=False), None, None


def tril(input: Any, diagonal: int = 0) -> Any:
    """The lower triangle (on and below the ``diagonal``-th diagonal) of the last two dimensions."""
    return Tril.apply(input, diagonal)


def triu(input: Any, diagonal: int = 0) -> Any:
    """The upper triangle (on and above the ``diagonal``-th diagonal) of the last two dimensions."""
    return Triu.apply(input, diagonal)


def diag(input: Any, diagonal: int = 0) -> Any:
    """1-D: a square matrix with ``input`` on its ``diagonal``-th diagonal; 2-D: that diagonal."""
    return Diag.apply(input, diagonal)


def cumsum(input: Any, dim: int, *, dtype: Any = None) -> Any:
    """Running sum along ``dim``; ``dtype`` casts the input first (integers and bools sum in int64)."""
    return Cumsum.apply(input, dim, None if dtype is None else _dtype.to_dtype(dtype).np)


def _diagonal_key(xp: Any, shape: tuple[int, ...], offset: int, axis1: int, axis2: int) -> tuple[Any, int]:
    """The index that reads the ``offset`` diagonal of axes ``axis1``, ``axis2`` of an array of ``shape``
    into a last axis (other axes keep their order), and that diagonal's length."""
    rows, cols = _diagonal_places(xp, (shape[axis1], shape[axis2]), offset)
    key: list[Any] = [slice(None)] * len(shape)
    key[axis1], key[axis2] = rows, cols
    return tuple(key), int(rows.shape[0])


class Diagonal(Function):
    """The ``offset`` diagonal of the plane ``(axis1, axis2)`` as a last dimension (a copy, not a view)."""

    @staticmethod
    def forward(ctx, x, offset, axis1, axis2):
        xp = ctx.xp
        key, _ = _diagonal_key(xp, x.shape, offset, axis1, axis2)
        ctx.in_shape, ctx.key = x.shape, key
        ctx.at = _indexed_axis(axis1, axis2)
        return xp.moveaxis(x[key], ctx.at, -1)

    @staticmethod
    def backward(ctx, grad_out):
        xp = ctx.xp
        grad = xp.zeros(ctx.in_shape, dtype=grad_out.dtype)
        grad[ctx.key] = xp.moveaxis(grad_out, -1, ctx.at)
        return grad, None, None, None


def _indexed_axis(axis1: int, axis2: int) -> int:
    """Where NumPy puts the axis of two index arrays: in their place when adjacent, else first."""
    return min(axis1, axis2) if abs(axis1 - axis2) == 1 else 0


class DiagEmbed(Function):
    """A new plane ``(axis1, axis2)`` holding the last dimension of ``x`` on its ``offset`` diagonal."""

    @staticmethod
    def forward(ctx, x, offset, axis1, axis2):
        xp = ctx.xp
        n = x.shape[-1] + abs(offset)
        out_shape = list(x.shape[:-1])
        for axis in sorted((axis1, axis2)):
            out_shape.insert(axis, n)
        out = xp.zeros(out_shape, dtype=x.dtype)
        key, _ = _diagonal_key(xp, tuple(out_shape), offset, axis1, axis2)
        ctx.key, ctx.at = key, _indexed_axis(axis1, axis2)
        out[key] = xp.moveaxis(x, -1, ctx.at)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return ctx.xp.moveaxis(grad_out[ctx.key], ctx.at, -1), None, None, None


def diagonal(input: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Any:
    """The ``offset`` diagonal of the plane ``(dim1, dim2)``, as a last dimension."""
    axis1, axis2 = _two_axes(dim1, dim2, input.ndim, "diagonal")
    return Diagonal.apply(input, offset, axis1, axis2)


def diag_embed(input: Any, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Any:
    """A tensor one dimension larger whose ``(dim1, dim2)`` planes hold ``input``'s last dimension on
    their ``offset`` diagonal."""
    axis1, axis2 = _two_axes(dim1, dim2, input.ndim + 1, "diagonal")
    return DiagEmbed.apply(input, offset, axis1, axis2)


def _two_axes(dim1: int, dim2: int, ndim: int, name: str) -> tuple[int, int]:
    axes = normalize_dims((dim1,), ndim) + normalize_dims((dim2,), ndim)
    if axes[0] == axes[1]:
        raise RuntimeError(f"{name} dimensions cannot be identical {dim1}, {dim2}")
    return axes


def trace(input: Any) -> Any:
    """The sum of the main diagonal of a matrix."""
    if input.ndim != 2:
        raise RuntimeError("trace: expected a matrix, but got tensor with dim " + str(input.ndim))
    return diagonal(input).sum()


class BlockDiag(Function):
    """The matrices (0-d as 1x1, 1-D as one row) along the diagonal of one larger matrix, zeros elsewhere."""

    @staticmethod
    def forward(ctx, *blocks):
        xp = ctx.xp
        for i, b in enumerate(blocks):
            if b.ndim > 2:
                raise RuntimeError(
                    f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                    f"{b.ndim} dimensions"
                )
        shapes = [b.reshape((1, -1) if b.ndim < 2 else b.shape).shape for b in blocks]
        dtype = xp.result_type(*blocks) if blocks else xp.float32
        out = xp.zeros((sum(s[0] for s in shapes), sum(s[1] for s in shapes)), dtype=dtype)
        places, r, c = [], 0, 0
        for b, (rows, cols) in zip(blocks, shapes):
            place = (slice(r, r + rows), slice(c, c + cols))
            out[place] = b.reshape(rows, cols)
            places.append(place)
            r, c = r + rows, c + cols
        ctx.places, ctx.in_shapes = places, [b.shape for b in blocks]
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return tuple(grad_out[p].reshape(s) for p, s in zip(ctx.places, ctx.in_shapes))


def block_diag(*tensors: Any) -> Any:
    """The tensors placed along the diagonal of one matrix (a 0-d tensor as 1x1, a 1-D one as a row)."""
    return BlockDiag.apply(*tensors)
