"""The shapes of one 2-D convolution, and the grid of positions its patch matrix covers.

The patch matrix has one column per *position*, in one of these grids ("modes"; ``_conv_dispatch`` chooses):

* "flat" (stride 1): the whole padded grid. Output ``(h, w)`` of image ``n`` reads flat input
  ``n*Hp*Wp + h*Wp + w + (i*dh*Wp + j*dw)``, so every patch row is one contiguous run of the block buffer.
* "rows" (stride 1): the output rows at full padded width, ``Ho x Wp`` positions per image; every patch
  row is a contiguous run of ``Ho*Wp`` per image, and only ``Wp - Wo`` columns per row are wasted.
* "strided": the output pixels only (any stride); runs of ``Wo`` elements.
* "narrow" (kernel rows only): the padded rows without their padding columns.

Positions outside the output are computed and dropped (forward) or fed zero gradient (backward).
"""

from __future__ import annotations

import copy

from nnrun.ops._conv_dispatch import im2col_grid, images_per_block


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
        self._use(im2col_grid(self))

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
        self.block = images_per_block(self, bytes_per_image)

    def blocked_by(self, bytes_per_image: int) -> ConvGeometry:
        """A copy whose blocks are sized for buffers taking ``bytes_per_image`` each."""
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
