"""Convolution layers: ``Conv1d``, ``Conv2d`` and ``ConvTranspose2d``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from nnrun import _creation
from nnrun._tensor import Tensor
from nnrun.nn import functional as F
from nnrun.nn import init
from nnrun.nn.module import Module
from nnrun.nn.parameter import Parameter
from nnrun.ops._window_args import int_tuple


class _ConvNd(Module):
    """Shared state of the convolution layers.

    ``weight`` is ``(out_channels, in_channels/groups, *kernel_size)`` (transposed:
    ``(in_channels, out_channels/groups, *kernel_size)``), ``bias`` ``(out_channels,)``; both start as in
    PyTorch: kaiming_uniform_(a=sqrt(5)) and U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """

    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] | str
    dilation: tuple[int, ...]
    transposed: bool
    output_padding: tuple[int, ...]
    groups: int
    padding_mode: str
    weight: Parameter
    bias: Parameter | None

    def __init__(
        self,
        dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        transposed: bool,
        output_padding: Any,
        groups: int,
        bias: bool,
        padding_mode: str,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(
                "padding_mode must be one of ['zeros', 'reflect', 'replicate', 'circular'], but got "
                f"padding_mode='{padding_mode}'"
            )
        if transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        self.stride = int_tuple(stride, dims, "stride", repeat_single=False)
        self.dilation = int_tuple(dilation, dims, "dilation", repeat_single=False)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string '{padding}', should be one of ['valid', 'same']")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = int_tuple(padding, dims, "padding", repeat_single=False)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = int_tuple(kernel_size, dims, "kernel_size", repeat_single=False)
        self.transposed = transposed
        self.output_padding = int_tuple(output_padding, dims, "output_padding", repeat_single=False)
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's (left, right) pairs, last dimension first, for the non-zeros padding modes
        self._reversed_padding_repeated_twice = _reversed_padding(
            self.padding, self.kernel_size, self.dilation
        )
        shape = (
            (in_channels, out_channels // groups, *self.kernel_size)
            if transposed
            else (out_channels, in_channels // groups, *self.kernel_size)
        )
        self.weight = Parameter(_creation.empty(shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(_creation.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.layer_default_(self.weight, self.bias)  # fan_in = weight.shape[1] * kernel area

    def extra_repr(self) -> str:
        dims = len(self.kernel_size)
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        )
        if self.padding != (0,) * dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


def _reversed_padding(padding: Any, kernel_size: tuple[int, ...], dilation: tuple[int, ...]) -> list[int]:
    """The ``pad`` argument of ``F.pad`` that pads as ``padding`` does (for 'same', the odd pixel right)."""
    pairs = []
    for i in reversed(range(len(kernel_size))):
        if padding == "valid":
            pairs += [0, 0]
        elif padding == "same":
            total = dilation[i] * (kernel_size[i] - 1)
            pairs += [total // 2, total - total // 2]
        else:
            pairs += [padding[i], padding[i]]
    return pairs


class _Conv(_ConvNd):
    """The arguments of ``Conv1d`` and ``Conv2d``, over ``_dims`` spatial dimensions."""

    _dims: ClassVar[int]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            self._dims, in_channels, out_channels, kernel_size, stride, padding, dilation, False, 0, groups,
            bias, padding_mode, device, dtype,
        )  # fmt: skip

    def _padded(self, input: Tensor) -> tuple[Tensor, Any]:
        """``input`` and the padding the convolution adds: 'reflect', 'replicate' and 'circular' pad first
        (through ``F.pad``) and convolve without padding."""
        if self.padding_mode == "zeros":
            return input, self.padding
        padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
        return padded, (0,) * len(self.kernel_size)


class Conv1d(_Conv):
    """1-D convolution: ``(N, C_in, L)`` → ``(N, C_out, L_out)`` (or unbatched ``(C_in, L)``)."""

    _dims = 1

    def forward(self, input: Tensor) -> Tensor:
        input, padding = self._padded(input)
        return F.conv1d(input, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv2d(_Conv):
    """2-D convolution: ``(N, C_in, H, W)`` → ``(N, C_out, H_out, W_out)`` (or unbatched ``(C_in, H, W)``)."""

    _dims = 2

    def forward(self, input: Tensor) -> Tensor:
        input, padding = self._padded(input)
        return F.conv2d(input, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class _ConvTranspose(_ConvNd):
    """The arguments of ``ConvTranspose1d`` and ``ConvTranspose2d``, over ``_dims`` spatial dimensions;
    ``_function`` is ``F.conv_transpose1d`` or ``F.conv_transpose2d``."""

    _dims: ClassVar[int]
    _function: ClassVar[Callable[..., Tensor]]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if isinstance(padding, str):
            raise ValueError(f'padding "{padding}" is not supported by {type(self).__name__}')
        super().__init__(
            self._dims, in_channels, out_channels, kernel_size, stride, padding, dilation, True,
            output_padding, groups, bias, padding_mode, device, dtype,
        )  # fmt: skip

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = _output_padding_for(self, input, output_size, self._dims)
        return self._function(
            input, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups,
            self.dilation,
        )  # fmt: skip


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-D convolution: ``(N, C_in, L)`` → ``(N, C_out, L_out)`` with
    ``L_out = (L - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1``."""

    _dims = 1
    _function = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """Transposed 2-D convolution: ``(N, C_in, H, W)`` → ``(N, C_out, H_out, W_out)`` with
    ``H_out = (H - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1``."""

    _dims = 2
    _function = staticmethod(F.conv_transpose2d)


def _output_padding_for(layer: _ConvNd, input: Tensor, output_size: Any, dims: int) -> tuple[int, ...]:
    """The output_padding that makes a transposed convolution's output ``output_size`` (its last ``dims``
    entries are used)."""
    wanted = list(output_size)[-dims:]
    extra = []
    for i in range(dims):
        smallest = (
            (input.shape[-dims + i] - 1) * layer.stride[i]
            - 2 * layer.padding[i]
            + layer.dilation[i] * (layer.kernel_size[i] - 1)
            + 1
        )
        if not smallest <= wanted[i] < smallest + layer.stride[i]:
            raise ValueError(
                f"requested an output size of {wanted}, but valid sizes range from {smallest} to "
                f"{smallest + layer.stride[i] - 1} (for an input of {list(input.shape[-dims:])})"
            )
        extra.append(wanted[i] - smallest)
    return tuple(extra)
