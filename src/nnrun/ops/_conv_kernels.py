"""Array-level 2-D convolution kernels: im2col + one GEMM per block of images, col2im by kernel offsets.

All three passes (``conv_forward``, and ``conv_backward`` for the input and weight gradients) walk the batch
in blocks of images sized so the patch matrix of a block stays in cache. Per block:

* the block is copied into a zero-padded buffer laid out ``(C, images * Hp * Wp)`` ("CNHW", flat);
* the patch matrix ``cols`` ``(C*kh*kw, positions)`` is one strided copy of that buffer;
* one GEMM ``W (O, C*kh*kw) @ cols`` gives the block's output ``(O, positions)``;
* backward: ``dW.T += cols @ G.T`` (the patches are rebuilt from the input, which is cheaper than keeping a
  9x-sized matrix alive from forward to backward, except for small layers: see ``kept_patches``),
  ``dcols = W.T @ G``, and col2im adds the ``kh*kw`` shifted
  slices of ``dcols`` into the padded gradient buffer (a loop over kernel offsets, never over pixels); in
  flat mode with ``O <= C`` the input gradient is instead one GEMM of the flipped kernel with shifted copies
  of the zero-margined gradient grid (a "full" convolution, see ``flipped_patches``).

The grids of positions ("modes") are described in ``_conv_geometry``; ``_conv_dispatch`` chooses them.

Shapes: ``x`` ``(N, C, H, W)``, ``w`` ``(O, C/groups, kh, kw)``, ``y`` ``(N, O, Ho, Wo)``.
"""

from __future__ import annotations

from typing import Any

from nnrun.ops._conv_dispatch import im2col_backward_grid, im2col_grid, is_pointwise
from nnrun.ops._conv_geometry import ConvGeometry


def blocks(geo: ConvGeometry) -> range:
    """First image of each block."""
    return range(0, geo.N, geo.block)


def padded_buffer(geo: ConvGeometry, xp: Any, dtype: Any) -> Any:
    """Zeros ``(C, block*Hp*Wp + tail)``: a block of padded input images, flat, and the tail their last
    positions' patches read past the end."""
    return xp.zeros((geo.C, geo.block * geo.padded_h * geo.padded_w + geo.tail), dtype=dtype)


def shifted_copies(xp: Any, source: Any, target: Any, shifts: tuple[int, ...]) -> Any:
    """Fill ``target`` ``(channels, *taps, extent)`` from ``source`` ``(channels, ...)``: element
    ``[c, t1, ..., q]`` is ``source[c, q + t1*shifts[0] + ...]`` (the caller keeps these in ``source``)."""
    s = source.itemsize
    strides = (source.strides[0], *(shift * s for shift in shifts), s)
    xp.copyto(target, xp.lib.stride_tricks.as_strided(source, target.shape, strides))
    return target


def interior(buffer: Any, geo: ConvGeometry, images: int) -> Any:
    """The ``(C, images, H, W)`` unpadded part of a padded block buffer ``(C, >= images*Hp*Wp)``."""
    grid = buffer[:, : images * geo.padded_h * geo.padded_w].reshape(
        buffer.shape[0], images, geo.padded_h, geo.padded_w
    )
    return grid[:, :, geo.pad_top : geo.pad_top + geo.H, geo.pad_left : geo.pad_left + geo.W]


class _Workspace:
    """The per-call buffers: padded input block, patch matrix, and (backward) padded gradient blocks."""

    def __init__(self, geo: ConvGeometry, xp: Any, dtype: Any) -> None:
        self.geo, self.xp = geo, xp
        self.span = geo.block * geo.padded_h * geo.padded_w + geo.tail  # padded buffer length per channel
        self.cols = xp.empty((geo.C * geo.kh * geo.kw, geo.block * geo.positions), dtype=dtype)
        self.itemsize = self.cols.itemsize
        self._padded: Any = None
        self._flipped: Any = None

    def padded(self) -> Any:
        if self._padded is None:  # zeroed once: later blocks only overwrite the interior
            self._padded = padded_buffer(self.geo, self.xp, self.cols.dtype)
        return self._padded

    def kernel_view(self, buffer: Any, images: int) -> Any:
        """``(C, kh, kw, images, grid_h, grid_w)`` strided view: element ``[c, i, j, n, h, w]`` is the input
        under kernel tap ``(i, j)`` for output position ``(h, w)`` of image ``n``."""
        g, s = self.geo, self.itemsize
        row, image = g.padded_w * s, g.padded_h * g.padded_w * s
        return self.xp.lib.stride_tricks.as_strided(
            buffer,
            (g.C, g.kh, g.kw, images, g.grid_h, g.grid_w),
            (buffer.strides[0], g.dilation_h * row, g.dilation_w * s, image, g.step_h * s, g.step_w * s),
        )

    def im2col(self, x_block: Any, cols: Any = None) -> Any:
        """Patch matrix ``(C*kh*kw, images*positions)`` of a block ``(images, C, H, W)``, in the workspace's
        buffer or in ``cols``."""
        images = x_block.shape[0]
        padded = self.padded()
        interior(padded, self.geo, images)[...] = x_block.transpose(1, 0, 2, 3)
        if cols is None:
            cols = self.cols[:, : images * self.geo.positions]
        g = self.geo
        cols6 = cols.reshape(g.C, g.kh, g.kw, images, g.grid_h, g.grid_w)
        self.xp.copyto(cols6, self.kernel_view(padded, images))
        return cols

    def flipped_patches(self, grid: Any, images: int) -> Any:
        """Flat mode: patches ``(O*kh*kw, images*Hp*Wp + tail)`` of the gradient grid under the kernel flipped
        in both axes. ``grid`` ``(O, tail + block*Hp*Wp + tail)`` holds the gradient of position ``p`` at
        column ``tail + p`` (zero elsewhere); row ``(o, i, j)`` at column ``q`` is ``grid[o, q + i*dh*Wp +
        j*dw]``, so ``flipped W (C, O*kh*kw) @ patches`` is the padded input block's gradient."""
        g = self.geo
        span = images * g.padded_h * g.padded_w + g.tail
        if self._flipped is None:
            self._flipped = self.xp.empty((g.O, g.kh, g.kw, self.span), dtype=grid.dtype)
        patches = shifted_copies(
            self.xp, grid, self._flipped[..., :span], (g.dilation_h * g.padded_w, g.dilation_w)
        )
        return patches.reshape(g.O * g.kh * g.kw, span)

    def col2im(self, dcols: Any, images: int) -> Any:
        """Sum the patch-matrix gradient back onto the input: ``(images, C, H, W)`` view (CNHW memory)."""
        g, xp = self.geo, self.xp
        grad = xp.zeros((g.C, self.span), dtype=dcols.dtype)
        taps = dcols.reshape(g.C, g.kh * g.kw, images, g.grid_h, g.grid_w)
        s = self.itemsize
        strides = (grad.strides[0], g.padded_h * g.padded_w * s, g.step_h * s, g.step_w * s)
        for i in range(g.kh):
            for j in range(g.kw):
                start = i * g.dilation_h * g.padded_w + j * g.dilation_w
                target = xp.lib.stride_tricks.as_strided(
                    grad[:, start:], (g.C, images, g.grid_h, g.grid_w), strides
                )
                target += taps[:, i * g.kw + j]
        return interior(grad, g, images).transpose(1, 0, 2, 3)


def fill_gradient_grid(grid: Any, g_block: Any, geo: ConvGeometry, margin: int) -> Any:
    """Write a block ``(images, O, Ho, Wo)`` of the output gradient onto ``grid`` ``(O, margin + block *
    positions + ...)`` at columns ``margin...``; return that ``(O, images * positions)`` part. Columns of
    positions outside the output keep the zeros ``grid`` was made with."""
    images = g_block.shape[0]
    positions = images * geo.positions
    if images < geo.block:  # the partial last block: clear the previous block's gradient past its end
        grid[:, margin + positions :] = 0
    g2 = grid[:, margin : margin + positions]
    on_grid = g2.reshape(geo.O, images, geo.grid_h, geo.grid_w)
    on_grid[:, :, : geo.out_h, : geo.out_w] = g_block.transpose(1, 0, 2, 3)
    return g2


def _flipped_weight(w: Any) -> Any:
    """``(O, C, kh, kw)`` → ``(C, O*kh*kw)``: element ``[c, (o, i, j)]`` is ``w[o, c, kh-1-i, kw-1-j]``."""
    return w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(w.shape[1], -1)


def _grouped(w2: Any, groups: int) -> Any:
    """``(O, K)`` → ``(groups, O/groups, K)`` (a no-op view for one group)."""
    o, k = w2.shape
    return w2 if groups == 1 else w2.reshape(groups, o // groups, k)


def _block_gemm(w2: Any, cols: Any, groups: int, xp: Any) -> Any:
    """``w2 (O, K) @ cols (K, P)``, block-diagonal over groups: ``(O, P)``."""
    if groups == 1:
        return w2 @ cols
    o, k = w2.shape
    return xp.matmul(_grouped(w2, groups), cols.reshape(groups, k, -1)).reshape(o, -1)


def kept_patches(geo: ConvGeometry, xp: Any, dtype: Any) -> Any:
    """An empty patch matrix for the whole batch, ``(C*kh*kw, N*positions)`` on the forward grid, for
    ``conv_forward`` to fill and ``kept_weight_gradient`` to use (where ``keeps_patches``)."""
    geo = geo.in_mode(im2col_grid(geo))
    return xp.empty((geo.C * geo.kh * geo.kw, geo.N * geo.positions), dtype=dtype)


def conv_forward(x: Any, w: Any, bias: Any, geo: ConvGeometry, xp: Any, kept: Any = None) -> Any:
    """``y (N, O, Ho, Wo)`` of a convolution; ``bias`` ``(O,)`` or None. ``kept``, from ``kept_patches``,
    receives the whole batch's patch matrix."""
    geo = geo.in_mode(im2col_grid(geo))
    if is_pointwise(geo):
        y = _pointwise_forward(x, w, geo, xp)
        if bias is not None:
            y += bias.reshape(1, geo.O, 1, 1)
        return y
    y = xp.empty((geo.N, geo.O, geo.out_h, geo.out_w), dtype=x.dtype)
    work = _Workspace(geo, xp, x.dtype)
    w2 = w.reshape(geo.O, -1)
    for n0 in blocks(geo):
        block = x[n0 : n0 + geo.block]
        target = None if kept is None else kept[:, n0 * geo.positions : (n0 + len(block)) * geo.positions]
        cols = work.im2col(block, target)
        store_block_output(y, n0, _block_gemm(w2, cols, geo.groups, xp), geo, bias)
    return y


def kept_weight_gradient(
    patches: Any, w_shape: tuple[int, ...], grad_out: Any, geo: ConvGeometry, xp: Any
) -> Any:
    """The weight gradient ``G @ patches.T`` (block-diagonal over groups) from the whole batch's patch matrix
    that ``conv_forward`` filled, with ``G`` the output gradient on the forward grid."""
    geo = geo.in_mode(im2col_grid(geo))
    grid = xp.zeros((geo.O, patches.shape[1]), dtype=grad_out.dtype)
    fill_gradient_grid(grid, grad_out, geo, 0)  # positions outside the output keep zero gradient
    groups, positions = geo.groups, patches.shape[1]
    grad_w = xp.empty(w_shape, dtype=grad_out.dtype)  # fresh: autograd takes it as ``.grad`` as it is
    xp.matmul(
        grid.reshape(groups, geo.O // groups, positions),
        patches.reshape(groups, patches.shape[0] // groups, positions).swapaxes(-1, -2),
        out=grad_w.reshape(groups, geo.O // groups, patches.shape[0] // groups),
    )
    return grad_w


def store_block_output(y: Any, n0: int, grid_out: Any, geo: ConvGeometry, bias: Any) -> None:
    """Write a block's output ``(O, images*positions)``, on the position grid, into ``y (N, O, Ho, Wo)`` from
    image ``n0`` on, adding ``bias`` ``(O,)`` unless it is None (in place on ``grid_out``, whose rows are
    contiguous: on NumPy faster than adding during the transposing copy, for one more GPU kernel)."""
    images = grid_out.shape[1] // geo.positions
    if bias is not None:
        grid_out += bias[:, None]
    out = grid_out.reshape(geo.O, images, geo.grid_h, geo.grid_w)[:, :, : geo.out_h, : geo.out_w]
    y[n0 : n0 + images] = out.transpose(1, 0, 2, 3)


def conv_backward(
    x: Any, w: Any, grad_out: Any, geo: ConvGeometry, xp: Any, need_input: bool, need_weight: bool
) -> tuple[Any, Any]:
    """``(grad_input (N, C, H, W) or None, grad_weight like w or None)``; ``x`` may be None when only the
    input gradient is wanted (which is also the forward pass of a transposed convolution)."""
    if is_pointwise(geo):
        return _pointwise_backward(x, w, grad_out, geo, xp, need_input, need_weight)
    geo = geo.in_mode(im2col_backward_grid(geo, need_input))
    dtype = grad_out.dtype
    work = _Workspace(geo, xp, dtype)
    w2 = w.reshape(geo.O, -1)
    grouped_w = _grouped(w2, geo.groups)
    grouped_wt = grouped_w.swapaxes(-1, -2)
    k_group = w2.shape[1]
    grad_x = xp.empty((geo.N, geo.C, geo.H, geo.W), dtype=dtype) if need_input else None
    # dW accumulated transposed, (groups, k, O/groups): OpenBLAS runs ``cols @ G.T`` faster than
    # ``G @ cols.T`` for these shapes (few output channels, long inner dimension)
    grad_wt = xp.zeros(grouped_wt.shape, dtype=dtype) if need_weight else None
    flipped = need_input and geo.flat  # the flat grid is chosen for flipped patches
    w_flipped = _flipped_weight(w) if flipped else None
    margin = geo.tail if flipped else 0
    # Gradient on the position grid (columns margin...), ``margin`` zeros either side; positions outside
    # the output stay zero throughout.
    grid = xp.zeros((geo.O, 2 * margin + geo.block * geo.positions), dtype=dtype)
    for n0 in blocks(geo):
        g2 = fill_gradient_grid(grid, grad_out[n0 : n0 + geo.block], geo, margin)
        positions = g2.shape[1]
        images = positions // geo.positions
        g3 = g2 if geo.groups == 1 else g2.reshape(geo.groups, geo.O // geo.groups, positions)
        cols = None
        if need_weight:
            cols = work.im2col(x[n0 : n0 + images])
            cols3 = cols if geo.groups == 1 else cols.reshape(geo.groups, k_group, positions)
            grad_wt += xp.matmul(cols3, g3.swapaxes(-1, -2))  # dW.T = cols @ G.T
        if flipped:
            padded_grad = w_flipped @ work.flipped_patches(grid, images)
            grad_x[n0 : n0 + images] = interior(padded_grad, geo, images).transpose(1, 0, 2, 3)
        elif need_input:
            if cols is None:
                cols = work.cols[:, :positions]
            cols3 = cols if geo.groups == 1 else cols.reshape(geo.groups, k_group, positions)
            xp.matmul(grouped_wt, g3, out=cols3)  # dcols = W.T @ G, into the patch buffer
            grad_x[n0 : n0 + images] = work.col2im(cols, images)
    grad_w = None
    if grad_wt is not None:  # a fresh array in w's shape: autograd takes it as ``.grad`` without a copy
        grad_w = xp.empty(w.shape, dtype=dtype)
        grad_w.reshape(grouped_w.shape)[...] = grad_wt.swapaxes(-1, -2)
    return grad_x, grad_w


def _subsample(x: Any, geo: ConvGeometry) -> Any:
    """The input pixels a strided 1x1 kernel reads: ``(N, C, Ho, Wo)``."""
    if geo.stride_h == geo.stride_w == 1 and (geo.out_h, geo.out_w) == (geo.H, geo.W):
        return x
    rows = slice(None, (geo.out_h - 1) * geo.stride_h + 1, geo.stride_h)
    columns = slice(None, (geo.out_w - 1) * geo.stride_w + 1, geo.stride_w)
    return x[:, :, rows, columns]


def _pointwise_forward(x: Any, w: Any, geo: ConvGeometry, xp: Any) -> Any:
    """1x1 convolution as a batched matmul ``W (O, C) @ x_n (C, Ho*Wo)``: NCHW in, NCHW out, no im2col."""
    xs = xp.ascontiguousarray(_subsample(x, geo))
    g, n, hw = geo.groups, geo.N, geo.out_h * geo.out_w
    x4 = xs.reshape(n, g, geo.C // g, hw)
    y = xp.matmul(w.reshape(g, geo.O // g, geo.C // g), x4)
    return y.reshape(n, geo.O, geo.out_h, geo.out_w)


def _pointwise_backward(
    x: Any, w: Any, grad_out: Any, geo: ConvGeometry, xp: Any, need_input: bool, need_weight: bool
) -> tuple[Any, Any]:
    g, n, hw = geo.groups, geo.N, geo.out_h * geo.out_w
    g4 = grad_out.reshape(n, g, geo.O // g, hw)
    w3 = w.reshape(g, geo.O // g, geo.C // g)
    grad_x = grad_w = None
    if need_weight:
        xs = xp.ascontiguousarray(_subsample(x, geo)).reshape(n, g, geo.C // g, hw)
        grad_w = xp.empty(w.shape, dtype=grad_out.dtype)  # fresh: autograd takes it as ``.grad`` as it is
        xp.matmul(g4, xs.swapaxes(-1, -2)).sum(axis=0, out=grad_w.reshape(w3.shape))  # sum_n G_n @ x_n.T
    if need_input:
        dx = xp.matmul(w3.swapaxes(-1, -2), g4).reshape(n, geo.C, geo.out_h, geo.out_w)  # W.T @ G_n
        if geo.stride_h == geo.stride_w == 1 and (geo.out_h, geo.out_w) == (geo.H, geo.W):
            grad_x = dx
        else:
            grad_x = xp.zeros((n, geo.C, geo.H, geo.W), dtype=dx.dtype)
            _subsample(grad_x, geo)[...] = dx
    return grad_x, grad_w
