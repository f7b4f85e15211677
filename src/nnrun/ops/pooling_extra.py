"""Pooling beyond max and average: power-average pooling (``lp_pool1d``/``lp_pool2d``), max unpooling
(``max_unpool1d``/``max_unpool2d``, the partial inverse of max pooling with ``return_indices``), and local
response normalisation across channels (``local_response_norm``)."""

from __future__ import annotations

from typing import Any

from nnrun import _backend
from nnrun._tensor import Tensor
from nnrun.autograd.function import Function
from nnrun.ops import padding as _padding
from nnrun.ops import pooling as _pooling
from nnrun.ops._window_args import int_tuple


# ----- power-average pooling -----
def _lp_root(pooled: Any, norm_type: float, window: int) -> Any:
    """``(sign(m) · relu(|m|) · window) ** (1/p)`` of the windows' mean ``m`` of ``x**p``: the p-norm of
    each window, as torch writes it (the sign is a constant: its gradient is 0)."""
    sign = Tensor._make(_backend.array_module(pooled._data).sign(pooled._data))
    return (sign * pooled.abs().relu() * window) ** (1.0 / norm_type)


def lp_pool2d(
    input: Any, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Any:
    """The ``norm_type``-norm of each ``kernel_size`` window of ``(N, C, H, W)`` (or ``(C, H, W)``):
    ``(sum x**p) ** (1/p)``; ``p = inf`` is max pooling and ``p = 1`` sum pooling."""
    kh, kw = int_tuple(kernel_size, 2, "kernel_size")
    pooled = _pooling.avg_pool2d(input**norm_type, kernel_size, stride, 0, ceil_mode)
    return _lp_root(pooled, norm_type, kh * kw)


def lp_pool1d(
    input: Any, norm_type: float, kernel_size: int, stride: Any = None, ceil_mode: bool = False
) -> Any:
    """The ``norm_type``-norm of each ``kernel_size`` window of ``(N, C, L)`` (or ``(C, L)``)."""
    pooled = _pooling.avg_pool1d(input**norm_type, kernel_size, stride, 0, ceil_mode)
    (k,) = int_tuple(kernel_size, 1, "kernel_size")
    return _lp_root(pooled, norm_type, k)


# ----- max unpooling -----
class MaxUnpool2D(Function):
    """Each value of ``x`` ``(N, C, h, w)`` placed at its flat index ``h * W + w`` of a zero
    ``(N, C, H, W)``."""

    @staticmethod
    def forward(ctx, x, indices, size):
        xp = ctx.xp
        n, c = x.shape[:2]
        flat = indices.reshape(n, c, -1)
        out = xp.zeros((n, c, size[0] * size[1]), dtype=x.dtype)
        planes = (xp.arange(n)[:, None, None], xp.arange(c)[None, :, None])
        out[(*planes, flat)] = x.reshape(n, c, -1)  # a repeated index keeps one of its values, as in torch
        ctx.flat, ctx.input_shape = flat, x.shape
        return out.reshape(n, c, *size)

    @staticmethod
    def backward(ctx, grad_out):
        n, c = ctx.input_shape[:2]
        picked = ctx.xp.take_along_axis(grad_out.reshape(n, c, -1), ctx.flat, axis=2)
        return picked.reshape(ctx.input_shape), None, None


def _unpool_size(
    input: Any, kernel: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...], output_size: Any
) -> tuple[int, ...]:
    """The output's spatial size: the one max pooling came from by default, or ``output_size`` (its
    trailing dims, each within a stride of the default)."""
    dims = len(kernel)
    default = [(input.shape[-dims + d] - 1) * stride[d] + kernel[d] - 2 * padding[d] for d in range(dims)]
    if output_size is None:
        return tuple(default)
    size = list(output_size)
    if len(size) == dims + 2:
        size = size[2:]
    if len(size) != dims:
        raise ValueError(
            f"output_size should be a sequence containing {dims} or {dims + 2} elements, but it has a length "
            f"of '{len(size)}'"
        )
    for d in range(dims):
        low, high = default[d] - stride[d], default[d] + stride[d]
        if not low < size[d] < high:
            raise ValueError(
                f'invalid output_size "{output_size}" (dim {d} must be between {low} and {high})'
            )
    return tuple(size)


def _unpool(input: Any, indices: Any, size: tuple[int, int]) -> Any:
    if indices._data.dtype.kind not in "iu":
        raise RuntimeError(f"elements in indices should be type int64 but got: {indices.dtype}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(
            f"Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) but got "
            f"indices tensor with shape: {list(indices.shape)}"
        )
    flat = indices._data
    volume = size[0] * size[1]
    invalid = (flat < 0) | (flat >= volume)
    if invalid.any():
        bad = int(
            flat.reshape(-1)[int(_backend.array_module(flat).flatnonzero(invalid)[0])]
        )  # the first, as torch
        raise RuntimeError(
            f"Found an invalid max index: {bad} (output volumes are of size {size[0]}x{size[1]})"
        )
    return MaxUnpool2D.apply(input, indices, size)


def max_unpool2d(
    input: Any, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, output_size: Any = None
) -> Any:
    """Undo ``max_pool2d(..., return_indices=True)``: each value of ``input`` ``(N, C, h, w)`` (or
    ``(C, h, w)``) goes to its index in a zero ``(N, C, H, W)``."""
    kernel = int_tuple(kernel_size, 2, "kernel_size")
    stride = kernel if stride is None else int_tuple(stride, 2, "stride")
    padding = int_tuple(padding, 2, "padding")
    size = _unpool_size(input, kernel, stride, padding, output_size)
    if input.ndim == 3:
        return _unpool(input.unsqueeze(0), indices.unsqueeze(0), size).squeeze(0)
    return _unpool(input, indices, size)


def max_unpool1d(
    input: Any, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, output_size: Any = None
) -> Any:
    """Undo ``max_pool1d(..., return_indices=True)``: each value of ``input`` ``(N, C, l)`` (or ``(C, l)``)
    goes to its index in a zero ``(N, C, L)``."""
    kernel = int_tuple(kernel_size, 1, "kernel_size")
    stride = kernel if stride is None else int_tuple(stride, 1, "stride")
    padding = int_tuple(padding, 1, "padding")
    (length,) = _unpool_size(input, kernel, stride, padding, output_size)
    return _unpool(input.unsqueeze(-2), indices.unsqueeze(-2), (1, length)).squeeze(-2)


# ----- local response normalisation -----
def local_response_norm(
    input: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Any:
    """``x / (k + alpha · mean of x² over the ``size`` neighbouring channels) ** beta`` for ``(N, C, *)``
    input (the window centred on each channel, zero beyond the ends)."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    shape = tuple(input.shape)
    squares = (input * input).reshape(shape[0], 1, shape[1], -1)
    padded = _padding.pad(squares, (0, 0, size // 2, (size - 1) // 2))  # zeros before and after the channels
    channels = shape[1]
    total = padded[:, :, 0:channels]
    for offset in range(1, size):
        total = total + padded[:, :, offset : offset + channels]
    div = ((total / size).reshape(shape) * alpha + k) ** beta
    return input / div
