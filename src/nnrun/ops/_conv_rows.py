"""Stride-1 convolution by kernel rows: a CPU alternative to im2col for large images.

Positions are the "flat" grid of ``_conv_kernels`` (every pixel of the zero-padded block, ``Hp*Wp`` per
image, images one after another), so moving ``i`` kernel rows down is moving ``i*dh*Wp`` positions along.
The patch matrix ``R`` covers the kernel's columns only: row ``(c, j)`` at position ``t`` is
``padded[c, t + j*dw]``, ``C*kw`` rows where im2col has ``C*kh*kw``. One GEMM with the kernel's rows stacked,
``Z = W' (kh*O, C*kw) @ R``, gives every kernel row's share, and ``y[o, q] = sum_i Z[(i, o), q + i*dh*Wp]``.

* Input gradient: the same pass over the zero-margined gradient grid with the kernel flipped in both axes
  and its channel axes swapped (a "full" convolution).
* Weight gradient: ``dW[o, c, i, j] = sum_q G[o, q] R[(c, j), q + i*dh*Wp]``, ``kh`` GEMMs of row-shifted
  views of ``R`` with the gradient grid.

Against im2col this copies a third of the patches (for 3x3 kernels) and runs its GEMM with ``kh`` times as
many rows, which OpenBLAS handles far better when there are few channels; the prices are computing all
``Hp*Wp`` padded positions instead of the ``Ho*Wo`` outputs, and a GEMM result ``kh`` times the output's
size. ``uses_kernel_rows`` weighs the two by the floats each writes and reads per image, patch matrix plus
GEMM result: ``(C*kw + kh*O) * Hp*Wp`` against im2col's ``(C*kh*kw + O) * Ho*Wo``. Measured per layer
(3x3, padding 1, caches flushed between calls), time by kernel rows / by im2col, forward and backward:
16 channels at 32x32 (model 0.68) 0.67-0.81 and 0.71; 32 at 16x16 (0.76) 0.74-0.86 and 0.64; 64 at 8x8
(0.94) 0.89-1.09 and 0.75; 512 at 4x4 (1.35) 1.88; 3 -> 16 channels at 32x32 (1.50) 1.05 and 0.97; 3 -> 64
(2.5) 2.36 and 1.49.
"""

from __future__ import annotations

from typing import Any

from nnrun.ops._conv_kernels import ConvGeometry, fill_gradient_grid, interior

# Kernel rows are used while they move at most this fraction of im2col's floats (see the module docstring).
_MAX_TRAFFIC = 0.9


def uses_kernel_rows(geo: ConvGeometry) -> bool:
    """Stride 1, one group, a kernel taller than one row, on the CPU, and less memory traffic than im2col."""
    if geo.on_gpu or geo.groups != 1 or (geo.sh, geo.sw) != (1, 1) or geo.kh == 1:
        return False
    rows = (geo.C * geo.kw + geo.kh * geo.O) * geo.Hp * geo.Wp
    im2col = (geo.C * geo.kh * geo.kw + geo.O) * geo.Ho * geo.Wo
    return rows <= _MAX_TRAFFIC * im2col


def _flat_blocks(geo: ConvGeometry) -> ConvGeometry:
    """The flat grid, in blocks sized by the largest per-image buffer of either pass."""
    flat = geo.in_mode("flat")
    rows = max(geo.C, geo.O) * max(geo.kh, geo.kw)
    return flat.blocked_by(rows * geo.Hp * geo.Wp * 4)


class _RowPatches:
    """The patch matrix ``R`` of one source, rows ``(channel, j)``, and the GEMM products ``Z`` of a pass."""

    def __init__(self, geo: ConvGeometry, xp: Any, dtype: Any, channels: int) -> None:
        self.geo, self.xp = geo, xp
        self.shift = geo.dh * geo.Wp  # positions per kernel row
        self.reach = (geo.kh - 1) * self.shift  # positions R needs past the block for the lower kernel rows
        self.patches = xp.empty((channels, geo.kw, geo.block * geo.Hp * geo.Wp + self.reach), dtype=dtype)
        self._products: Any = None

    def rows(self, source: Any, span: int) -> Any:
        """``R`` ``(channels*kw, span + reach)`` of a source ``(channels, >= span + tail)``."""
        g, xp = self.geo, self.xp
        extent = span + self.reach
        s = source.itemsize
        shifted = xp.lib.stride_tricks.as_strided(
            source, (source.shape[0], g.kw, extent), (source.strides[0], g.dw * s, s)
        )
        patches = self.patches[:, :, :extent]
        xp.copyto(patches, shifted)
        return patches.reshape(-1, extent)

    def row_shifted(self, patches: Any, span: int) -> Any:
        """``(kh, channels*kw, span)`` view of ``R``: kernel row ``i`` starts ``i*shift`` positions along."""
        s = patches.itemsize
        return self.xp.lib.stride_tricks.as_strided(
            patches, (self.geo.kh, patches.shape[0], span), (self.shift * s, patches.strides[0], s)
        )

    def convolve(self, stacked: Any, source: Any, span: int) -> Any:
        """``(out, span)``: the sum over kernel rows of ``Z = stacked (kh*out, rows) @ R``."""
        g, xp = self.geo, self.xp
        patches = self.rows(source, span)
        extent = patches.shape[1]
        out_channels = stacked.shape[0] // g.kh
        if self._products is None:
            self._products = xp.empty((g.kh, out_channels, self.patches.shape[2]), dtype=patches.dtype)
        products = self._products[:, :, :extent]
        xp.matmul(stacked, patches, out=products.reshape(-1, extent))
        total = products[0, :, :span]
        for i in range(1, g.kh):
            total += products[i, :, i * self.shift : i * self.shift + span]
        return total


def rows_forward(x: Any, w: Any, bias: Any, geo: ConvGeometry, xp: Any) -> Any:
    """``y (N, O, Ho, Wo)`` of a convolution that ``uses_kernel_rows``; ``bias`` ``(O,)`` or None."""
    geo = _flat_blocks(geo)
    dtype = x.dtype
    y = xp.empty((geo.N, geo.O, geo.Ho, geo.Wo), dtype=dtype)
    stacked = w.transpose(2, 0, 1, 3).reshape(geo.kh * geo.O, geo.C * geo.kw)  # [(i, o), (c, j)]
    padded = xp.zeros((geo.C, geo.block * geo.Hp * geo.Wp + geo.tail), dtype=dtype)
    patches = _RowPatches(geo, xp, dtype, geo.C)
    bias4 = None if bias is None else bias.reshape(1, geo.O, 1, 1)
    for n0 in range(0, geo.N, geo.block):
        block = x[n0 : n0 + geo.block]
        images = block.shape[0]
        interior(padded, geo, images)[...] = block.transpose(1, 0, 2, 3)
        total = patches.convolve(stacked, padded, images * geo.Hp * geo.Wp)
        out = total.reshape(geo.O, images, geo.Hp, geo.Wp)[:, :, : geo.Ho, : geo.Wo].transpose(1, 0, 2, 3)
        if bias4 is None:
            y[n0 : n0 + images] = out
        else:
            xp.add(out, bias4, out=y[n0 : n0 + images])
    return y


def rows_backward(
    x: Any, w: Any, grad_out: Any, geo: ConvGeometry, xp: Any, need_input: bool, need_weight: bool
) -> tuple[Any, Any]:
    """``(grad_input or None, grad_weight or None)`` of a convolution that ``uses_kernel_rows``."""
    geo = _flat_blocks(geo)
    dtype = grad_out.dtype
    margin = geo.tail
    # The gradient on the flat grid at columns margin...; ``margin`` zeros either side feed the flipped
    # kernel's reach past the block's ends.
    grid = xp.zeros((geo.O, 2 * margin + geo.block * geo.Hp * geo.Wp), dtype=dtype)
    grad_x = grad_wt = None
    if need_input:
        grad_x = xp.empty((geo.N, geo.C, geo.H, geo.W), dtype=dtype)
        flipped = w[:, :, ::-1, ::-1].transpose(2, 1, 0, 3).reshape(geo.kh * geo.C, geo.O * geo.kw)
        grad_patches = _RowPatches(geo, xp, dtype, geo.O)
    if need_weight:
        grad_wt = xp.zeros((geo.kh, geo.C * geo.kw, geo.O), dtype=dtype)  # [i, (c, j), o]
        padded = xp.zeros((geo.C, geo.block * geo.Hp * geo.Wp + geo.tail), dtype=dtype)
        input_patches = _RowPatches(geo, xp, dtype, geo.C)
    for n0 in range(0, geo.N, geo.block):
        g2 = fill_gradient_grid(grid, grad_out[n0 : n0 + geo.block], geo, margin)
        span = g2.shape[1]
        images = span // geo.positions
        if need_weight:
            interior(padded, geo, images)[...] = x[n0 : n0 + images].transpose(1, 0, 2, 3)
            patches = input_patches.rows(padded, span)
            grad_wt += xp.matmul(input_patches.row_shifted(patches, span), g2.T)
        if need_input:
            padded_grad = grad_patches.convolve(flipped, grid, span)
            grad_x[n0 : n0 + images] = interior(padded_grad, geo, images).transpose(1, 0, 2, 3)
    if grad_wt is not None:
        grad_wt = grad_wt.reshape(geo.kh, geo.C, geo.kw, geo.O).transpose(3, 1, 0, 2).copy()
    return grad_x, grad_wt
