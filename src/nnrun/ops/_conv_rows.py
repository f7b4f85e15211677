"""Stride-1 convolution by kernel rows: a CPU alternative to im2col where it moves less memory.

Positions are the "flat" grid of ``_conv_geometry`` (every pixel of the zero-padded block, ``Hp*Wp`` per
image, images one after another), so kernel row ``i`` reads ``i*dh*Wp`` positions further along than row 0.
Both passes use the "narrow" grid instead where ``kernel_rows_grid`` says so: rows ``W`` wide, without the
padding columns, so that the copies in and out run over whole images, not rows; taps that would read past a
row's end (padding columns on the flat grid) are zeroed in the patch matrix instead (``_zero_wrapped``).
The patch matrix ``R`` covers the kernel's columns only: row ``(j, c)`` at position ``t`` is
``padded[c, t + j*dw]`` (``kw*C`` rows where im2col has ``C*kh*kw``; the ``j = 0`` rows are the padded
block itself). One GEMM with the kernel's rows stacked, ``Z = W' (kh*O, kw*C) @ R``, gives every row's
share: ``y[o, q] = sum_i Z[(i, o), q + i*dh*Wp]``.

* Input gradient: the same pass over the zero-margined gradient grid, with the kernel flipped in both axes
  and its channel axes swapped (a "full" convolution).
* Weight gradient: ``dW[o, c, i, j] = sum_q G[o, q] R[(j, c), q + i*dh*Wp]``, ``kh`` GEMMs of row-shifted
  views of ``R`` with the gradient grid.
"""

from __future__ import annotations

from typing import Any

from nnrun.ops._conv_dispatch import kernel_rows_grid
from nnrun.ops._conv_geometry import ConvGeometry
from nnrun.ops._conv_kernels import blocks, fill_gradient_grid, interior, shifted_copies, store_block_output


def _blocked(geo: ConvGeometry, mode: str) -> ConvGeometry:
    """The grid of ``mode``, in blocks sized by the largest per-image buffer of either pass."""
    widest = max(geo.C, geo.O) * max(geo.kh, geo.kw)
    return geo.in_mode(mode).blocked_by(widest * geo.padded_h * geo.padded_w * 4)


class _RowPatches:
    """The patch matrix ``R`` of one source, and the GEMM products ``Z`` of a pass. ``R`` is laid out ``(kw,
    channels, length)``, block ``j`` holding the source shifted ``j*dw`` positions along; block 0 is the
    source itself (callers write it through ``source``), so building ``R`` copies ``kw - 1`` blocks."""

    def __init__(self, geo: ConvGeometry, xp: Any, dtype: Any, channels: int, length: int, lead: int) -> None:
        self.geo, self.xp = geo, xp
        self.lead = lead  # narrow grid: position 0's tap j reads source column j*dw - lead of its row
        self.shift = geo.dilation_h * geo.grid_w  # positions per kernel row
        self.reach = (geo.kh - 1) * self.shift  # positions R needs past the block for the lower kernel rows
        self.columns = geo.block * geo.positions + self.reach
        self.blocks = xp.empty((geo.kw, channels, length), dtype=dtype)
        self.source = self.blocks[0]  # ``(channels, length)``; ``length`` covers ``columns + (kw-1)*dw``
        self.source[...] = 0
        self._products: Any = None

    def patch_matrix(self, span: int) -> Any:
        """``R`` ``(kw*channels, span + reach)`` (rows ``(j, channel)``) of the source's first positions."""
        extent = span + self.reach
        g = self.geo
        if g.kw > 1:
            shifted = self.blocks[1:, :, :extent].transpose(1, 0, 2)  # (channels, kw - 1, extent)
            shifted_copies(self.xp, self.source[:, g.dilation_w :], shifted, (g.dilation_w,))
        if g.mode == "narrow":
            self._zero_wrapped(extent)
        return self.blocks[:, :, :extent].reshape(-1, extent)

    def _zero_wrapped(self, extent: int) -> None:
        """Narrow grid: zero, in each block ``j``, the positions whose tap column ``w + j*dw - lead`` lies
        outside the row (there the flat grid read padding; here it would read the neighbouring row), over
        the ``extent`` positions the GEMM reads (whole rows). Runs after the shifted copies, which read block
        0, so the source's own consumers must have read it first."""
        g = self.geo
        for j in range(g.kw):
            rows = self.blocks[j, :, :extent].reshape(self.blocks.shape[1], -1, g.W)
            offset = j * g.dilation_w - self.lead  # position column w reads column w + offset
            if offset < 0:
                rows[:, :, :-offset] = 0
            elif offset > 0:
                rows[:, :, max(g.W - offset, 0) :] = 0

    def row_shifted(self, patches: Any, span: int) -> Any:
        """``(kh, kw*channels, span)`` view of ``R``: kernel row ``i`` starts ``i*shift`` positions along."""
        s = patches.itemsize
        return self.xp.lib.stride_tricks.as_strided(
            patches, (self.geo.kh, patches.shape[0], span), (self.shift * s, patches.strides[0], s)
        )

    def convolve(self, stacked: Any, span: int) -> Any:
        """``(out, span)``: the sum over kernel rows of ``Z = stacked (kh*out, kw*channels) @ R``."""
        g, xp = self.geo, self.xp
        patches = self.patch_matrix(span)
        if self._products is None:
            self._products = xp.empty((stacked.shape[0], self.columns), dtype=patches.dtype)
        products = self._products[:, : patches.shape[1]]
        xp.matmul(stacked, patches, out=products)
        out = stacked.shape[0] // g.kh
        total = products[:out, :span]
        for i in range(1, g.kh):
            total += products[i * out : (i + 1) * out, i * self.shift : i * self.shift + span]
        return total


def rows_forward(x: Any, w: Any, bias: Any, geo: ConvGeometry, xp: Any) -> Any:
    """``y (N, O, Ho, Wo)`` of a stride-1 convolution with one group; ``bias`` ``(O,)`` or None."""
    geo = _blocked(geo, kernel_rows_grid(geo))
    dtype = x.dtype
    y = xp.empty((geo.N, geo.O, geo.out_h, geo.out_w), dtype=dtype)
    stacked = w.transpose(2, 0, 3, 1).reshape(geo.kh * geo.O, geo.kw * geo.C)  # [(i, o), (j, c)]
    patches = _RowPatches(geo, xp, dtype, geo.C, geo.block * geo.positions + geo.tail, geo.pad_left)
    for n0 in blocks(geo):
        block = x[n0 : n0 + geo.block]
        images = block.shape[0]
        _grid_interior(patches.source, geo, images, geo.pad_left)[...] = block.transpose(1, 0, 2, 3)
        store_block_output(y, n0, patches.convolve(stacked, images * geo.positions), geo, bias)
    return y


def _grid_interior(buffer: Any, geo: ConvGeometry, images: int, lead: int) -> Any:
    """The ``(channels, images, H, W)`` input pixels of a buffer on the flat or narrow grid (the narrow
    grid's pixel ``(r, c)`` of image ``n`` sits at ``lead + (n*Hp + r)*W + c``)."""
    if geo.mode != "narrow":
        return interior(buffer, geo, images)
    grid = buffer[:, lead : lead + images * geo.positions].reshape(
        buffer.shape[0], images, geo.padded_h, geo.W
    )
    return grid[:, :, geo.pad_top : geo.pad_top + geo.H]


def rows_backward(
    x: Any, w: Any, grad_out: Any, geo: ConvGeometry, xp: Any, need_input: bool, need_weight: bool
) -> tuple[Any, Any]:
    """``(grad_input or None, grad_weight or None)`` of a stride-1 convolution with one group."""
    geo = _blocked(geo, kernel_rows_grid(geo))
    dtype = grad_out.dtype
    positions = geo.block * geo.positions
    grad_x = grad_wt = None
    if need_input:
        grad_x = xp.empty((geo.N, geo.C, geo.H, geo.W), dtype=dtype)
        flipped = w[:, :, ::-1, ::-1].transpose(2, 1, 3, 0).reshape(geo.kh * geo.C, geo.kw * geo.O)
        # The flipped kernel's taps read up to ``read_past`` positions past an input position's gradient
        # (the kernel's extent on the grid); the grid holds that gradient ``margin`` positions along (the
        # narrow grid has no padding columns to skip).
        read_past = (geo.kh - 1) * geo.dilation_h * geo.grid_w + (geo.kw - 1) * geo.dilation_w
        margin = read_past - (geo.pad_left if geo.mode == "narrow" else 0)
        flipped_lead = (geo.kw - 1) * geo.dilation_w - geo.pad_left
        grad_patches = _RowPatches(geo, xp, dtype, geo.O, margin + positions + read_past, flipped_lead)
        grid = grad_patches.source
    else:
        grid, margin = xp.zeros((geo.O, positions), dtype=dtype), 0
    if need_weight:
        grad_wt = xp.zeros((geo.kh, geo.kw * geo.C, geo.O), dtype=dtype)  # [i, (j, c), o]
        input_patches = _RowPatches(geo, xp, dtype, geo.C, positions + geo.tail, geo.pad_left)
    for n0 in blocks(geo):
        g2 = fill_gradient_grid(grid, grad_out[n0 : n0 + geo.block], geo, margin)
        span = g2.shape[1]
        images = span // geo.positions
        if need_weight:
            pixels = _grid_interior(input_patches.source, geo, images, geo.pad_left)
            pixels[...] = x[n0 : n0 + images].transpose(1, 0, 2, 3)
            patches = input_patches.patch_matrix(span)
            grad_wt += xp.matmul(input_patches.row_shifted(patches, span), g2.T)
        if need_input:
            padded_grad = grad_patches.convolve(flipped, span)
            grad_x[n0 : n0 + images] = _grid_interior(padded_grad, geo, images, 0).transpose(1, 0, 2, 3)
    if grad_wt is not None:
        grad_wt = grad_wt.reshape(geo.kh, geo.kw, geo.C, geo.O).transpose(3, 2, 0, 1).copy()
    return grad_x, grad_wt
