"""Matrix structure and running sums: ``tril``, ``triu``, ``diag``, ``cumsum``."""

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
