"""Convolution by channels-last patch rows: a CPU alternative to im2col for small images with many channels.

Each block of images is copied into a zero-padded channels-last buffer ``(images, Hp, Wp, C)``. There, kernel
row ``i`` of output position ``(h, w)`` reads ``kw*C`` contiguous floats, ``padded[n, h*sh + i*dh, w*sw :
w*sw + kw, :]``, so the patch matrix ``(positions, kh*kw*C)`` (one row per output position) is one strided
copy of runs ``kw*C`` long, where im2col's runs are one output row or one image long.

* Forward: ``y (positions, O) = patches @ W'ᵀ``, with ``W'`` the weight as ``(O, kh*kw*C)``, then to NCHW.
* Weight gradient: ``dW' = Gᵀ @ patches``, ``G`` the output gradient as ``(positions, O)``.
* Input gradient: where ``channels_last_flips_kernel`` (stride 1, few channels), the forward pass of the
  "full" convolution of ``G`` with the kernel flipped in both axes and its channel axes swapped
  (``flipped_geometry``). Otherwise
  ``dpatches = G @ W'`` (into the patch buffer), added back onto a padded channels-last block tap by tap
  (``kh*kw`` strided adds), whose interior goes to NCHW.

``W'`` keeps the output channels first, so reordering the weight and its gradient transposes ``(C, kh*kw)``
blocks per output channel, much cheaper than a whole ``(O, K)`` transpose at many channels.
"""

from __future__ import annotations

from typing import Any

from nnrun.ops._conv_dispatch import channels_last_flips_kernel
from nnrun.ops._conv_geometry import ConvGeometry
from nnrun.ops._conv_kernels import blocks


class _Block:
    """The per-call buffers: a zero-padded channels-last block of images and its patch matrix."""

    def __init__(self, geo: ConvGeometry, xp: Any, dtype: Any) -> None:
        self.positions = geo.out_h * geo.out_w  # patch rows per image
        self.geo = geo.blocked_by(self.positions * geo.kh * geo.kw * geo.C * 4)
        self.xp, self.dtype = xp, dtype
        self.patches = xp.empty((self.geo.block * self.positions, geo.kh * geo.kw * geo.C), dtype=dtype)
        self._padded: Any = None

    def padded(self) -> Any:
        """``(block, Hp, Wp, C)``, zeroed once: later blocks only overwrite the interior."""
        if self._padded is None:
            g = self.geo
            self._padded = self.xp.zeros((g.block, g.padded_h, g.padded_w, g.C), dtype=self.dtype)
        return self._padded

    def patch_rows(self, x_block: Any) -> Any:
        """Patch matrix ``(images*Ho*Wo, kh*kw*C)`` of a block ``(images, C, H, W)``: row ``(n, h, w)``,
        column ``(i, j, c)``."""
        g, images = self.geo, x_block.shape[0]
        padded = self.padded()
        interior(padded, g, images)[...] = x_block.transpose(0, 2, 3, 1)
        s = padded.itemsize
        row = g.padded_w * g.C * s
        view = self.xp.lib.stride_tricks.as_strided(
            padded,
            (images, g.out_h, g.out_w, g.kh, g.kw * g.C),
            (padded.strides[0], g.stride_h * row, g.stride_w * g.C * s, g.dilation_h * row, s),
        )
        patches = self.patches[: images * self.positions]
        self.xp.copyto(patches.reshape(view.shape), view)
        return patches


def interior(padded: Any, geo: ConvGeometry, images: int) -> Any:
    """The ``(images, H, W, C)`` unpadded part of a padded channels-last block."""
    return padded[:images, geo.pad_top : geo.pad_top + geo.H, geo.pad_left : geo.pad_left + geo.W]


def _weight_taps(w: Any) -> Any:
    """``(O, C, kh, kw)`` → ``(O, kh*kw*C)``: element ``[o, (i, j, c)]`` is ``w[o, c, i, j]``."""
    return w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1)


def channels_last_forward(x: Any, w: Any, bias: Any, geo: ConvGeometry, xp: Any) -> Any:
    """``y (N, O, Ho, Wo)`` of a convolution with one group and no column dilation; ``bias`` ``(O,)`` or
    None."""
    work = _Block(geo, xp, x.dtype)
    geo = work.geo
    y = xp.empty((geo.N, geo.O, geo.out_h, geo.out_w), dtype=x.dtype)
    w_taps_t = _weight_taps(w).T
    for n0 in blocks(geo):
        _store_output(y, n0, work.patch_rows(x[n0 : n0 + geo.block]) @ w_taps_t, geo, bias)
    return y


def _store_output(y: Any, n0: int, out: Any, geo: ConvGeometry, bias: Any) -> None:
    """Write a block's output rows ``(images*Ho*Wo, O)``, plus ``bias`` unless None, into ``y`` at ``n0``."""
    if bias is not None:
        out += bias
    images = out.reshape(-1, geo.out_h, geo.out_w, geo.O)
    y[n0 : n0 + images.shape[0]] = images.transpose(0, 3, 1, 2)


def flipped_geometry(geo: ConvGeometry) -> ConvGeometry:
    """The convolution of the output gradient ``(N, O, Ho, Wo)`` whose output is the input gradient of a
    stride-1 convolution: the "full" padding ``(k - 1)*d - p`` on each side, the input's size out (for
    padding within the kernel's extent, see ``channels_last_flips_kernel``)."""
    reach_h, reach_w = (geo.kh - 1) * geo.dilation_h, (geo.kw - 1) * geo.dilation_w
    padding = (
        reach_h - geo.pad_top,
        reach_h - geo.pad_bottom,
        reach_w - geo.pad_left,
        reach_w - geo.pad_right,
    )
    return ConvGeometry(
        (geo.N, geo.O, geo.out_h, geo.out_w),
        (geo.C, geo.O, geo.kh, geo.kw),
        (1, 1),
        padding,
        (geo.dilation_h, geo.dilation_w),
        1,
        (geo.H, geo.W),
        geo.on_gpu,
    )


def channels_last_backward(
    x: Any, w: Any, grad_out: Any, geo: ConvGeometry, xp: Any, need_input: bool, need_weight: bool
) -> tuple[Any, Any]:
    """``(grad_input or None, grad_weight or None)`` of a convolution with one group and no column
    dilation."""
    flipped = need_input and channels_last_flips_kernel(geo)
    grad_x = None
    if flipped:  # kernel flipped in both axes, channel axes swapped: (C, O, kh, kw)
        w_flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
        grad_x = channels_last_forward(grad_out, w_flipped, None, flipped_geometry(geo), xp)
    by_taps = need_input and not flipped  # the input gradient by tap-by-tap adds
    if not (by_taps or need_weight):
        return grad_x, None
    work = _Block(geo, xp, grad_out.dtype)
    geo = work.geo
    dtype = grad_out.dtype
    grad_rows = xp.empty((geo.block, geo.out_h, geo.out_w, geo.O), dtype=dtype)
    grad_w_taps = None
    if by_taps:
        grad_x = xp.empty((geo.N, geo.C, geo.H, geo.W), dtype=dtype)
        grad_padded = xp.empty((geo.block, geo.padded_h, geo.padded_w, geo.C), dtype=dtype)
        w_taps = _weight_taps(w)
    if need_weight:
        grad_w_taps = xp.zeros((geo.O, geo.kh * geo.kw * geo.C), dtype=dtype)
    for n0 in blocks(geo):
        g_block = grad_out[n0 : n0 + geo.block]
        images = g_block.shape[0]
        g = grad_rows[:images]
        g[...] = g_block.transpose(0, 2, 3, 1)
        g = g.reshape(-1, geo.O)
        if need_weight:
            grad_w_taps += g.T @ work.patch_rows(x[n0 : n0 + images])
        if by_taps:
            grad_patches = work.patches[: g.shape[0]]
            xp.matmul(g, w_taps, out=grad_patches)
            _store_input_gradient(grad_x, n0, grad_patches, grad_padded[:images], geo)
    grad_w = None
    if grad_w_taps is not None:
        grad_w = xp.ascontiguousarray(grad_w_taps.reshape(geo.O, geo.kh, geo.kw, geo.C).transpose(0, 3, 1, 2))
    return grad_x, grad_w


def _store_input_gradient(grad_x: Any, n0: int, grad_patches: Any, padded: Any, geo: ConvGeometry) -> None:
    """Add each patch row's gradient onto the pixels it read, in ``padded`` ``(images, Hp, Wp, C)`` (a work
    buffer), and write the interior into ``grad_x`` ``(N, C, H, W)`` from image ``n0``."""
    images = padded.shape[0]
    padded[...] = 0
    taps = grad_patches.reshape(images, geo.out_h, geo.out_w, geo.kh, geo.kw, geo.C)
    last_h, last_w = geo.stride_h * (geo.out_h - 1) + 1, geo.stride_w * (geo.out_w - 1) + 1
    for i in range(geo.kh):
        for j in range(geo.kw):
            top = i * geo.dilation_h
            padded[:, top : top + last_h : geo.stride_h, j : j + last_w : geo.stride_w] += taps[:, :, :, i, j]
    grad_x[n0 : n0 + images] = interior(padded, geo, images).transpose(0, 3, 1, 2)
