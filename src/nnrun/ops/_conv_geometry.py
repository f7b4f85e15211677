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
    """Everything about one convolution's shapes that the kernels need, computed once per call.

    ``N, C, H, W`` the input, ``O`` the output channels, ``kh, kw`` the kernel; the padded input is
    ``padded_h x padded_w`` and the output ``out_h x out_w`` (``Hp, Wp`` and ``Ho, Wo`` in formulas). The
    patch grid of ``mode`` has ``grid_h x grid_w`` positions per image, ``step_h`` and ``step_w`` elements
    of the flat padded image apart, and its patches read ``tail`` elements past the last image; ``block``
    images go through the kernels at a time.
    """

    __slots__ = (
        "C", "H", "N", "O", "W",
        "block",
        "dilation_h", "dilation_w",
        "grid_h", "grid_w",
        "groups",
        "kh", "kw",
        "mode",
        "on_gpu",
        "out_h", "out_w",
        "pad_bottom", "pad_left", "pad_right", "pad_top",
        "padded_h", "padded_w",
        "step_h", "step_w",
        "stride_h", "stride_w",
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
        self.stride_h, self.stride_w = stride
        self.dilation_h, self.dilation_w = dilation
        self.pad_top, self.pad_bottom, self.pad_left, self.pad_right = padding
        self.out_h, self.out_w = out_hw
        self.padded_h = self.H + self.pad_top + self.pad_bottom
        self.padded_w = self.W + self.pad_left + self.pad_right
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
        reach_h = (self.kh - 1) * self.dilation_h  # a patch's rows below its first
        reach_w = (self.kw - 1) * self.dilation_w  # and columns right of its first
        self.step_h, self.step_w = self.padded_w, 1
        if mode == "flat":
            self.grid_h, self.grid_w = self.padded_h, self.padded_w
            self.tail = reach_h * self.padded_w + reach_w
        elif mode == "rows":
            self.grid_h, self.grid_w = self.out_h, self.padded_w
            self.tail = reach_w  # the last row's wasted columns read past its image
        elif mode == "narrow":  # kernel rows: padded rows without their column padding
            self.grid_h, self.grid_w, self.step_h = self.padded_h, self.W, self.W
            self.tail = self.pad_left + reach_h * self.W + reach_w
        else:
            self.grid_h, self.grid_w = self.out_h, self.out_w
            self.step_h, self.step_w = self.stride_h * self.padded_w, self.stride_w
            self.tail = 0
        self._block_by(self.C * self.kh * self.kw * self.grid_h * self.grid_w * 4)

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
        return self.grid_h * self.grid_w
