"""``unfold`` (im2col) and ``fold`` (col2im): sliding ``kernel_size`` blocks of a ``(N, C, H, W)`` input laid
out as columns ``(N, C·kh·kw, L)``, and those columns summed back into an image. Each is the other's adjoint,
so each one's backward is the other's forward.
"""

from __future__ import annotations

from typing import Any

from nnrun import _backend
from nnrun.autograd.function import Function
from nnrun.ops._window_args import int_tuple


class _Geometry:
    """Where the blocks sit: kernel, dilation, padding and stride per spatial dimension, and the block
    positions along each (``rows`` ``(kh, out_h)``, ``cols`` ``(kw, out_w)``) in the padded image."""

    def __init__(self, xp: Any, size: tuple[int, int], kernel, dilation, padding, stride) -> None:
        self.kernel, self.padding = kernel, padding
        self.size = size
        self.blocks = tuple(
            (size[d] + 2 * padding[d] - dilation[d] * (kernel[d] - 1) - 1) // stride[d] + 1 for d in (0, 1)
        )
        self.rows = (
            xp.arange(kernel[0])[:, None] * dilation[0] + xp.arange(self.blocks[0])[None, :] * stride[0]
        )
        self.cols = (
            xp.arange(kernel[1])[:, None] * dilation[1] + xp.arange(self.blocks[1])[None, :] * stride[1]
        )

    def key(self) -> tuple[Any, ...]:
        """The index of the padded image that gives ``(N, C, kh, kw, out_h, out_w)``."""
        return (slice(None), slice(None), self.rows[:, None, :, None], self.cols[None, :, None, :])

    def gather(self, xp: Any, image: Any) -> Any:
        """``(N, C, H, W)`` to columns ``(N, C·kh·kw, L)``."""
        (ph, pw) = self.padding
        padded = xp.pad(image, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else image
        blocks = padded[self.key()]
        n, c = image.shape[:2]
        return blocks.reshape(n, c * self.kernel[0] * self.kernel[1], -1)

    def scatter(self, xp: Any, columns: Any, channels: int) -> Any:
        """Columns ``(N, C·kh·kw, L)`` summed into ``(N, C, H, W)`` (overlapping blocks add up)."""
        (ph, pw), (h, w) = self.padding, self.size
        n = columns.shape[0]
        blocks = columns.reshape(n, channels, *self.kernel, *self.blocks)
        padded = xp.zeros((n, channels, h + 2 * ph, w + 2 * pw), dtype=columns.dtype)
        _backend.scatter_add(padded, self.key(), blocks)
        return padded[:, :, ph : ph + h, pw : pw + w]


class Im2Col(Function):
    @staticmethod
    def forward(ctx, x, geometry):
        ctx.geometry = geometry
        ctx.channels = x.shape[1]
        return geometry.gather(ctx.xp, x)

    @staticmethod
    def backward(ctx, grad_out):
        return ctx.geometry.scatter(ctx.xp, grad_out, ctx.channels), None


class Col2Im(Function):
    @staticmethod
    def forward(ctx, columns, geometry, channels):
        ctx.geometry = geometry
        return geometry.scatter(ctx.xp, columns, channels)

    @staticmethod
    def backward(ctx, grad_out):
        return ctx.geometry.gather(ctx.xp, grad_out), None, None


def _arguments(kernel_size, dilation, padding, stride) -> tuple[tuple[int, int], ...]:
    return tuple(
        int_tuple(v, 2, name)
        for v, name in (
            (kernel_size, "kernel_size"),
            (dilation, "dilation"),
            (padding, "padding"),
            (stride, "stride"),
        )
    )


def unfold(input: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Any:
    """Sliding blocks of ``input`` ``(N, C, H, W)`` (or ``(C, H, W)``) as columns ``(N, C·kh·kw, L)``, ``L``
    the number of block positions (im2col)."""
    if input.ndim not in (3, 4):
        raise RuntimeError(
            "Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero dimensions "
            f"for input, but got: {list(input.shape)}"
        )
    kernel, dilation, padding, stride = _arguments(kernel_size, dilation, padding, stride)
    batched = input.ndim == 4
    x = input if batched else input.unsqueeze(0)
    geometry = _Geometry(
        _backend.array_module(x._data), tuple(x.shape[2:]), kernel, dilation, padding, stride
    )
    if min(geometry.blocks) <= 0:
        raise RuntimeError(
            f"Given input with spatial size ({x.shape[2]}, {x.shape[3]}), kernel_size={kernel}, "
            f"dilation={dilation}, padding={padding}, calculated shape of the array of sliding blocks as "
            f"({geometry.blocks[0]}, {geometry.blocks[1]}), but its components must be at least one."
        )
    out = Im2Col.apply(x, geometry)
    return out if batched else out.squeeze(0)


def fold(
    input: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Any:
    """Columns ``(N, C·kh·kw, L)`` (or ``(C·kh·kw, L)``) summed back into an image ``(N, C, *output_size)``
    (col2im); overlapping blocks add up."""
    if input.ndim not in (2, 3):
        raise RuntimeError(
            "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
            f"dimensions for input, but got: {list(input.shape)}"
        )
    size = int_tuple(output_size, 2, "output_size")
    kernel, dilation, padding, stride = _arguments(kernel_size, dilation, padding, stride)
    batched = input.ndim == 3
    columns = input if batched else input.unsqueeze(0)
    per_block = kernel[0] * kernel[1]
    if columns.shape[1] % per_block:
        raise RuntimeError(
            "Expected size of input's dimension 1 to be divisible by the product of kernel_size, but got "
            f"input.size(1)={columns.shape[1]} and kernel_size={kernel}."
        )
    geometry = _Geometry(_backend.array_module(columns._data), size, kernel, dilation, padding, stride)
    blocks = geometry.blocks[0] * geometry.blocks[1]
    if columns.shape[2] != blocks:
        raise RuntimeError(
            f"Given output_size={size}, kernel_size={kernel}, dilation={dilation}, padding={padding}, "
            f"stride={stride}, expected size of input's dimension 2 to match the calculated number of "
            f"sliding blocks {geometry.blocks[0]} * {geometry.blocks[1]} = {blocks}, but got "
            f"input.size(2)={columns.shape[2]}."
        )
    out = Col2Im.apply(columns, geometry, columns.shape[1] // per_block)
    return out if batched else out.squeeze(0)
