"""``Unfold`` (im2col) and ``Fold`` (col2im): sliding blocks of an image as columns, and back."""

from __future__ import annotations

from typing import Any

from nnrun._tensor import Tensor
from nnrun.nn import functional as F
from nnrun.nn.module import Module


class Fold(Module):
    """Columns ``(N, C·kh·kw, L)`` (or ``(C·kh·kw, L)``) summed into an image ``(N, C, *output_size)``;
    overlapping blocks add up."""

    output_size: Any
    kernel_size: Any
    dilation: Any
    padding: Any
    stride: Any

    def __init__(
        self, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
    ):
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
            f"padding={self.padding}, stride={self.stride}"
        )


class Unfold(Module):
    """Sliding ``kernel_size`` blocks of ``(N, C, H, W)`` (or ``(C, H, W)``) input as columns
    ``(N, C·kh·kw, L)``, ``L`` the number of block positions."""

    kernel_size: Any
    dilation: Any
    padding: Any
    stride: Any

    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
            f"stride={self.stride}"
        )
