"""Pixel shuffle layers: move ``r × r`` blocks of pixels between the channel and spatial dimensions."""

from __future__ import annotations

from nnrun._tensor import Tensor
from nnrun.nn import functional as F
from nnrun.nn.module import Module


class PixelShuffle(Module):
    """``(*, C*r*r, H, W)`` → ``(*, C, H*r, W*r)`` for ``r = upscale_factor`` (sub-pixel convolution)."""

    upscale_factor: int

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """``(*, C, H*r, W*r)`` → ``(*, C*r*r, H, W)`` for ``r = downscale_factor``; undoes ``PixelShuffle``."""

    downscale_factor: int

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleave the ``groups`` channel groups of ``(N, C, *)`` input (ShuffleNet): channel
    ``g·(C/groups) + k`` moves to ``k·groups + g``."""

    groups: int

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
