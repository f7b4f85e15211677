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

The patch matrix has one column per *position*, in one of these layouts ("modes"):

* "flat" (stride 1): the whole padded grid. Output ``(h, w)`` of image ``n`` reads flat input
  ``n*Hp*Wp + h*Wp + w + (i*dh*Wp + j*dw)``, so every patch row is one contiguous run of the block buffer.
  Used for the input gradient by flipped patches, which needs the gradient on the full grid.
* "rows" (stride 1): the output rows at full padded width, ``Ho x Wp`` positions per image; every patch
  row is a contiguous run of ``Ho*Wp`` per image, and only ``Wp - Wo`` columns per row are wasted.
* "strided": the output pixels only (any stride); runs of ``Wo`` elements.
* "narrow" (kernel rows only, ``_conv_rows``): the padded rows without their padding columns.

Positions outside the output are computed and dropped (forward) or fed zero gradient (backward). A mode's
extra GEMM work (wasted positions times ``O``) is weighed against its longer copies by ``_MAX_WASTE``.

Shapes: ``x`` ``(N, C, H, W)``, ``w`` ``(O, C/groups, kh, kw)``, ``y`` ``(N, O, Ho, Wo)``.
"""

from __future__ import annotations

import copy
from typing import Any

# Bytes of patch matrix per block on the CPU (fits the last-level cache); a GPU takes the whole batch.
_CPU_BLOCK_BYTES = 4 << 20
# The forward pass keeps the whole batch's patch matrix for the weight gradient when it is at most this large
# (LeNet-5's layers, 11 MB each at batch 128; the ResNet stems), instead of the backward pass building it
# again block by block. LeNet-5 train steps, interleaved: 0.85-0.89x the time.
_KEPT_PATCH_BYTES = 16 << 20
# Flat and rows modes compute ``positions / (Ho*Wo)`` times the needed positions (GEMM work grows with that
# waste times ``O``) but copy long contiguous runs, where strided mode copies runs of only ``Wo`` elements
# (per-run overhead grows as ``Wo`` shrinks). A mode is used while ``(inflation - 1) * O * Wo`` stays below
# this (measured on CPU: 64 channels at 8x8 run 1.4x faster flat, 128 channels at 16x16 and 256 at 8x8 run
# faster strided; rows mode beats flat in every forward pass and wherever the flipped-kernel input gradient
# does not apply).
_MAX_WASTE = 400


class ConvGeometry:
    """Everything about one convolution's shapes that the kernels need, computed once per call."""

    __slots__ = (
        "C",
        "H",
        "Hg",
        "Ho",
        "Hp",
        "N",
        "O",
        "W",
        "Wg",
        "Wo",
        "Wp",
        "block",
        "dh",
        "dw",
        "groups",
        "kh",
        "kw",
        "mode",
        "on_gpu",
        "pl",
        "pt",
        "sh",
        "step_h",
        "step_w",
        "sw",
        "tail",
    )  # fmt: skip

    def __init__(
        self,
        x_shape: tuple[int, ...],
        w_shape: tuple[int, ...],
        stride: tuple[int, int],
        padding: tuple[int, int, int, int],
        dilation: tuple[int, int],
        groups: int,
        out_hw: tuple[int, int],
        on_gpu: bool,
    ) -> None:
        self.N, self.C, self.H, self.W = x_shape
        self.O, _, self.kh, self.kw = w_shape
        self.groups = groups
        self.sh, self.sw = stride
        self.dh, self.dw = dilation
        self.pt, pb, self.pl, pr = padding
        self.Ho, self.Wo = out_hw
        self.Hp, self.Wp = self.H + self.pt + pb, self.W + self.pl + pr
        self.on_gpu = on_gpu
        self._use(self.forward_mode())

    def _affordable(self, positions: int) -> bool:
        """Stride 1, and ``positions`` per image waste little enough GEMM work (see ``_MAX_WASTE``)."""
        waste = (positions / (self.Ho * self.Wo) - 1) * self.O * self.Wo
        return (self.sh, self.sw) == (1, 1) and waste <= _MAX_WASTE

    def forward_mode(self) -> str:
        return "rows" if self._affordable(self.Ho * self.Wp) else "strided"

    def backward_mode(self, need_input: bool) -> str:
        """Flat where the input gradient goes by flipped-kernel patches, else as forward. Flipped patches
        (one group, ``O <= C``): the input gradient is a "full" convolution of the gradient with the flipped
        kernel, whose patches (``O*kh*kw`` rows, plain copies) are no larger than the patch gradient that
        col2im would accumulate (``C*kh*kw`` rows, read-add-write per tap)."""
        flipped = need_input and self.groups == 1 and self.O <= self.C
        return "flat" if flipped and self._affordable(self.Hp * self.Wp) else self.forward_mode()

    def in_mode(self, mode: str) -> ConvGeometry:
        """This geometry with the patch grid of ``mode`` (itself when already in it)."""
        if mode == self.mode:
            return self
        other = copy.copy(self)
        other._use(mode)
        return other

    def _use(self, mode: str) -> None:
        self.mode = mode
        if mode == "flat":
            self.Hg, self.Wg, self.step_h, self.step_w = self.Hp, self.Wp, self.Wp, 1
            self.tail = (self.kh - 1) * self.dh * self.Wp + (self.kw - 1) * self.dw
        elif mode == "rows":
            self.Hg, self.Wg, self.step_h, self.step_w = self.Ho, self.Wp, self.Wp, 1
            self.tail = (self.kw - 1) * self.dw  # the last row's wasted columns read past its image
        elif mode == "narrow":  # kernel rows: padded rows without their column padding
            self.Hg, self.Wg, self.step_h, self.step_w = self.Hp, self.W, self.W, 1
            self.tail = self.pl + (self.kh - 1) * self.dh * self.W + (self.kw - 1) * self.dw
        else:
            self.Hg, self.Wg, self.step_h, self.step_w = self.Ho, self.Wo, self.sh * self.Wp, self.sw
            self.tail = 0
        self._block_by(self.C * self.kh * self.kw * self.Hg * self.Wg * 4)

    def _block_by(self, bytes_per_image: int) -> None:
        budget = _CPU_BLOCK_BYTES // max(bytes_per_image, 1)
        self.block = self.N if self.on_gpu else max(1, min(self.N, budget))

    def blocked_by(self, bytes_per_image: int) -> ConvGeometry:
        """A copy whose blocks hold ``_CPU_BLOCK_BYTES`` of buffers taking ``bytes_per_image`` each."""
        other = copy.copy(self)
        other._block_by(bytes_per_image)
        return other

    @property
    def flat(self) -> bool:
        return self.mode == "flat"

    @property
    def positions(self) -> int:
        """Patch-matrix columns per image."""
        return self.Hg * self.Wg


def blocks(geo: ConvGeometry) -> range:
    """First image of each block."""
    return range(0, geo.N, geo.block)


def padded_buffer(geo: ConvGeometry, xp: Any, dtype: Any) -> Any:
    """Zeros ``(C, block*Hp*Wp + tail)``: a block of padded input images, flat, and the tail their last
    positions' patches read past the end."""
    return xp.zeros((geo.C, geo.block * geo.Hp * geo.Wp + geo.tail), dtype=dtype)


def shifted_copies(xp: Any, source: Any, target: Any, shifts: tuple[int, ...]) -> Any:
    """Fill ``target`` ``(channels, *taps, extent)`` from ``source`` ``(channels, ...)``: element
    ``[c, t1, ..., q]`` is ``source[c, q + t1*shifts[0] + ...]`` (the caller keeps these in ``source``)."""
    s = source.itemsize
    strides = (source.strides[0], *(shift * s for shift in shifts), s)
    xp.copyto(target, xp.lib.stride_tricks.as_strided(source, target.shape, strides))
    return target


def interior(buffer: Any, geo: ConvGeometry, images: int) -> Any:
    """The ``(C, images, H, W)`` unpadded part of a padded block buffer ``(C, >= images*Hp*Wp)``."""
    grid = buffer[:, : images * geo.Hp * geo.Wp].reshape(buffer.shape[0], images, geo.Hp, geo.Wp)
    return grid[:, :, geo.pt : geo.pt + geo.H, geo.pl : geo.pl + geo.W]


class _Workspace:
    """The per-call buffers: padded input block, patch matrix, and (backward) padded gradient blocks."""

    def __init__(self, geo: ConvGeometry, xp: Any, dtype: Any) -> None:
        self.geo, self.xp = geo, xp
        self.span = geo.block * geo.Hp * geo.Wp + geo.tail  # padded buffer length per channel
        self.cols = xp.empty((geo.C * geo.kh * geo.kw, geo.block * geo.positions), dtype=dtype)
        self.itemsize = self.cols.itemsize
        self._padded: Any = None
        self._flipped: Any = None

    def padded(self) -> Any:
        if self._padded is None:  # zeroed once: later blocks only overwrite the interior
            self._padded = padded_buffer(self.geo, self.xp, self.cols.dtype)
        return self._padded

    def kernel_view(self, buffer: Any, images: int) -> Any:
        """``(C, kh, kw, images, Hg, Wg)`` strided view: element ``[c, i, j, n, h, w]`` is the input under
        kernel tap ``(i, j)`` for output position ``(h, w)`` of image ``n``."""
        g, s = self.geo, self.itemsize
        return self.xp.lib.stride_tricks.as_strided(
            buffer,
            (g.C, g.kh, g.kw, images, g.Hg, g.Wg),
            (buffer.strides[0], g.dh * g.Wp * s, g.dw * s, g.Hp * g.Wp * s, g.step_h * s, g.step_w * s),
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
        cols6 = cols.reshape(g.C, g.kh, g.kw, images, g.Hg, g.Wg)
        self.xp.copyto(cols6, self.kernel_view(padded, images))
        return cols

    def flipped_patches(self, grid: Any, images: int) -> Any:
        """Flat mode: patches ``(O*kh*kw, images*Hp*Wp + tail)`` of the gradient grid under the kernel flipped
        in both axes. ``grid`` ``(O, tail + block*Hp*Wp + tail)`` holds the gradient of position ``p`` at
        column ``tail + p`` (zero elsewhere); row ``(o, i, j)`` at column ``q`` is ``grid[o, q + i*dh*Wp +
        j*dw]``, so ``flipped W (C, O*kh*kw) @ patches`` is the padded input block's gradient."""
        g = self.geo
        span = images * g.Hp * g.Wp + g.tail
        if self._flipped is None:
            self._flipped = self.xp.empty((g.O, g.kh, g.kw, self.span), dtype=grid.dtype)
        patches = shifted_copies(self.xp, grid, self._flipped[..., :span], (g.dh * g.Wp, g.dw))
        return patches.reshape(g.O * g.kh * g.kw, span)

    def col2im(self, dcols: Any, images: int) -> Any:
        """Sum the patch-matrix gradient back onto the input: ``(images, C, H, W)`` view (CNHW memory)."""
        g, xp = self.geo, self.xp
        grad = xp.zeros((g.C, self.span), dtype=dcols.dtype)
        taps = dcols.reshape(g.C, g.kh * g.kw, images, g.Hg, g.Wg)
        s = self.itemsize
        strides = (grad.strides[0], g.Hp * g.Wp * s, g.step_h * s, g.step_w * s)
        for i in range(g.kh):
            for j in range(g.kw):
                start = i * g.dh * g.Wp + j * g.dw
                target = xp.lib.stride_tricks.as_strided(grad[:, start:], (g.C, images, g.Hg, g.Wg), strides)
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
    g2.reshape(geo.O, images, geo.Hg, geo.Wg)[:, :, : geo.Ho, : geo.Wo] = g_block.transpose(1, 0, 2, 3)
    return g2


def _is_pointwise(geo: ConvGeometry) -> bool:
    """A 1x1 kernel without padding: the convolution is a matmul over channels (after subsampling)."""
    return geo.kh == geo.kw == 1 and geo.Hp == geo.H and geo.Wp == geo.W


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
    ``conv_forward`` to fill and ``kept_weight_gradient`` to use; None for a 1x1 kernel (no patches) or when
    it would take more than ``_KEPT_PATCH_BYTES``."""
    geo = geo.in_mode(geo.forward_mode())
    shape = (geo.C * geo.kh * geo.kw, geo.N * geo.positions)
    if _is_pointwise(geo) or shape[0] * shape[1] * xp.dtype(dtype).itemsize > _KEPT_PATCH_BYTES:
        return None
    return xp.empty(shape, dtype=dtype)


def conv_forward(x: Any, w: Any, bias: Any, geo: ConvGeometry, xp: Any, kept: Any = None) -> Any:
    """``y (N, O, Ho, Wo)`` of a convolution; ``bias`` ``(O,)`` or None. ``kept``, from ``kept_patches``,
    receives the whole batch's patch matrix."""
    geo = geo.in_mode(geo.forward_mode())
    if _is_pointwise(geo):
        y = _pointwise_forward(x, w, geo, xp)
        if bias is not None:
            y += bias.reshape(1, geo.O, 1, 1)
        return y
    y = xp.empty((geo.N, geo.O, geo.Ho, geo.Wo), dtype=x.dtype)
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
    geo = geo.in_mode(geo.forward_mode())
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
    contiguous: on NumPy twice as fast as adding during the transposing copy, for one more GPU kernel)."""
    images = grid_out.shape[1] // geo.positions
    if bias is not None:
        grid_out += bias[:, None]
    out = grid_out.reshape(geo.O, images, geo.Hg, geo.Wg)[:, :, : geo.Ho, : geo.Wo]
    y[n0 : n0 + images] = out.transpose(1, 0, 2, 3)


def conv_backward(
    x: Any, w: Any, grad_out: Any, geo: ConvGeometry, xp: Any, need_input: bool, need_weight: bool
) -> tuple[Any, Any]:
    """``(grad_input (N, C, H, W) or None, grad_weight like w or None)``; ``x`` may be None when only the
    input gradient is wanted (which is also the forward pass of a transposed convolution)."""
    if _is_pointwise(geo):
        return _pointwise_backward(x, w, grad_out, geo, xp, need_input, need_weight)
    geo = geo.in_mode(geo.backward_mode(need_input))
    dtype = grad_out.dtype
    work = _Workspace(geo, xp, dtype)
    w2 = w.reshape(geo.O, -1)
    grouped_w = _grouped(w2, geo.groups)
    grouped_wt = grouped_w.swapaxes(-1, -2)
    k_group = w2.shape[1]
    grad_x = xp.empty((geo.N, geo.C, geo.H, geo.W), dtype=dtype) if need_input else None
    # dW accumulated transposed, (groups, k, O/groups): ``cols @ G.T`` runs 15-40% faster in OpenBLAS than
    # ``G @ cols.T`` for these shapes (few output channels, long inner dimension)
    grad_wt = xp.zeros(grouped_wt.shape, dtype=dtype) if need_weight else None
    flipped = need_input and geo.flat  # backward_mode chose flat for flipped patches
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
    if geo.sh == geo.sw == 1 and (geo.Ho, geo.Wo) == (geo.H, geo.W):
        return x
    return x[:, :, : (geo.Ho - 1) * geo.sh + 1 : geo.sh, : (geo.Wo - 1) * geo.sw + 1 : geo.sw]


def _pointwise_forward(x: Any, w: Any, geo: ConvGeometry, xp: Any) -> Any:
    """1x1 convolution as a batched matmul ``W (O, C) @ x_n (C, Ho*Wo)``: NCHW in, NCHW out, no im2col."""
    xs = xp.ascontiguousarray(_subsample(x, geo))
    g, n, hw = geo.groups, geo.N, geo.Ho * geo.Wo
    x4 = xs.reshape(n, g, geo.C // g, hw)
    y = xp.matmul(w.reshape(g, geo.O // g, geo.C // g), x4)
    return y.reshape(n, geo.O, geo.Ho, geo.Wo)


def _pointwise_backward(
    x: Any, w: Any, grad_out: Any, geo: ConvGeometry, xp: Any, need_input: bool, need_weight: bool
) -> tuple[Any, Any]:
    g, n, hw = geo.groups, geo.N, geo.Ho * geo.Wo
    g4 = grad_out.reshape(n, g, geo.O // g, hw)
    w3 = w.reshape(g, geo.O // g, geo.C // g)
    grad_x = grad_w = None
    if need_weight:
        xs = xp.ascontiguousarray(_subsample(x, geo)).reshape(n, g, geo.C // g, hw)
        grad_w = xp.empty(w.shape, dtype=grad_out.dtype)  # fresh: autograd takes it as ``.grad`` as it is
        xp.matmul(g4, xs.swapaxes(-1, -2)).sum(axis=0, out=grad_w.reshape(w3.shape))  # sum_n G_n @ x_n.T
    if need_input:
        dx = xp.matmul(w3.swapaxes(-1, -2), g4).reshape(n, geo.C, geo.Ho, geo.Wo)  # W.T @ G_n
        if geo.sh == geo.sw == 1 and (geo.Ho, geo.Wo) == (geo.H, geo.W):
            grad_x = dx
        else:
            grad_x = xp.zeros((n, geo.C, geo.H, geo.W), dtype=dx.dtype)
            _subsample(grad_x, geo)[...] = dx
    return grad_x, grad_w
