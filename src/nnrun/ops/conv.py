"""Convolutions as fused autograd nodes: ``conv1d``, ``conv2d`` and ``conv_transpose2d``.

One node per layer: forward is blocked GEMMs over patch matrices, backward computes the input, weight and bias
gradients together, each by the algorithm that ``_conv_dispatch.conv_plan`` names: im2col (``_conv_kernels``),
kernel rows (``_conv_rows``) or channels last (``_conv_channels_last``). A 1-D convolution is the 2-D one on
a height-1 image.
A transposed convolution's forward pass is a convolution's input gradient and its backward pass is a
convolution forward (input gradient) plus a convolution's weight gradient.
"""

from __future__ import annotations

from typing import Any

from nnrun import _backend
from nnrun.autograd.function import Function
from nnrun.ops._conv_channels_last import channels_last_backward, channels_last_forward
from nnrun.ops._conv_dispatch import ConvPlan, conv_plan
from nnrun.ops._conv_geometry import ConvGeometry
from nnrun.ops._conv_kernels import conv_backward, conv_forward, kept_patches, kept_weight_gradient
from nnrun.ops._conv_rows import rows_backward, rows_forward
from nnrun.ops._window_args import Pair, int_tuple

Pads = tuple[int, int, int, int]  # (top, bottom, left, right)


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _on_gpu(array: Any) -> bool:
    return _backend.array_module(array).__name__ == "cupy"


def _as_batched_2d(x: Any, weight: Any, spatial: int, name: str) -> tuple[Any, Any]:
    """Check ranks and view ``x`` as ``(N, C, H, W)`` and ``weight`` as ``(O, C/groups, kh, kw)``."""
    if weight.ndim != spatial + 2:
        raise RuntimeError(
            f"{name}: expected a {spatial + 2}-D weight, but got weight of size {_shape(weight.shape)}"
        )
    if x.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input to {name}, but got "
            f"input of size: {_shape(x.shape)}"
        )
    if x.ndim == spatial + 1:
        x = x[None]
    if spatial == 1:
        x, weight = x[:, :, None, :], weight[:, :, None, :]
    return x, weight


def _check_dtypes(x: Any, weight: Any, bias: Any) -> None:
    if x.dtype != weight.dtype:
        raise RuntimeError(f"Input type ({x.dtype}) and weight type ({weight.dtype}) should be the same")
    if bias is not None and bias.dtype != weight.dtype:
        raise RuntimeError(f"Input type ({x.dtype}) and bias type ({bias.dtype}) should be the same")


def _check_bias(bias: Any, weight_shape: tuple[int, ...], channels: int) -> None:
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != channels):
        raise RuntimeError(
            f"Given weight of size {_shape(weight_shape)}, expected bias to be 1-dimensional with "
            f"{channels} elements, but got bias of size {_shape(bias.shape)} instead"
        )


def _check_hyper(stride: Pair, padding: Pads, dilation: Pair, groups: int) -> None:
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(padding) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(dilation) <= 0:
        raise RuntimeError("dilation should be greater than zero")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")


def conv_output_size(size: int, kernel: int, stride: int, before: int, after: int, dilation: int) -> int:
    """Output length of a convolution along one axis."""
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def _shaped(array: Any, shape: tuple[int, ...]) -> Any:
    """``array`` (or None) in ``shape``: itself when already so, since autograd copies a view (which might
    share memory) before making it a leaf's ``.grad``."""
    return array if array is None or array.shape == shape else array.reshape(shape)


def _forward_kernel(algorithm: str) -> Any:
    """The forward kernel of ``algorithm``: ``(x, w, bias, geo, xp)`` to ``y``."""
    kernels = {"channels_last": channels_last_forward, "kernel_rows": rows_forward, "im2col": conv_forward}
    return kernels[algorithm]


def _backward_kernel(algorithm: str) -> Any:
    """The backward kernel of ``algorithm``: ``(x, w, grad_out, geo, xp, need_input, need_weight)`` to
    ``(grad_input or None, grad_weight or None)``."""
    kernels = {"channels_last": channels_last_backward, "kernel_rows": rows_backward, "im2col": conv_backward}
    return kernels[algorithm]


def _kernel_gradients(
    plan: ConvPlan, x: Any, w: Any, grad_out: Any, geo: ConvGeometry, xp: Any, need_x: bool, need_w: bool
) -> tuple[Any, Any]:
    """The input and weight gradients by the plan's algorithms: in one pass where one algorithm gives both.
    (A weight gradient from kept patches is ``kept_weight_gradient``'s, so ``need_w`` is False then.)"""
    if plan.input_grad == plan.weight_grad:
        return _backward_kernel(plan.input_grad)(x, w, grad_out, geo, xp, need_x, need_w)
    grad_x = grad_w = None
    if need_x:
        grad_x = _backward_kernel(plan.input_grad)(x, w, grad_out, geo, xp, True, False)[0]
    if need_w:
        grad_w = _backward_kernel(plan.weight_grad)(x, w, grad_out, geo, xp, False, True)[1]
    return grad_x, grad_w


class ConvNd(Function):
    """``y = conv(x, weight) + bias`` for 1-D or 2-D inputs, batched or not."""

    _edge_slots = (0, 1, 2)  # input, weight, bias (an absent one shows as (None, 0))

    def name(self) -> str:
        return "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups, spatial):
        name = f"conv{spatial}d"
        _check_hyper(stride, padding, dilation, groups)
        x4, w4 = _as_batched_2d(x, weight, spatial, name)
        _check_dtypes(x, weight, bias)
        out_channels, in_per_group, kh, kw = w4.shape
        if out_channels % groups:
            raise RuntimeError(
                f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got "
                f"weight of size {_shape(weight.shape)} instead"
            )
        if x4.shape[1] != in_per_group * groups:
            batched = x if x.ndim == spatial + 2 else x[None]
            raise RuntimeError(
                f"Given groups={groups}, weight of size {_shape(weight.shape)}, expected "
                f"input{_shape(batched.shape)} to have {in_per_group * groups} channels, but got "
                f"{x4.shape[1]} channels instead"
            )
        _check_bias(bias, weight.shape, out_channels)
        (top, bottom, left, right), (dh, dw) = padding, dilation
        ho = conv_output_size(x4.shape[2], kh, stride[0], top, bottom, dh)
        wo = conv_output_size(x4.shape[3], kw, stride[1], left, right, dw)
        if ho <= 0 or wo <= 0:
            padded = (x4.shape[2] + top + bottom, x4.shape[3] + left + right)
            kernel = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
            shown = padded[1:] if spatial == 1 else padded
            kshown = kernel[1:] if spatial == 1 else kernel
            raise RuntimeError(
                f"Calculated padded input size per channel: ({' x '.join(map(str, shown))}). Kernel size: "
                f"({' x '.join(map(str, kshown))}). Kernel size can't be greater than actual input size"
            )
        geo = ConvGeometry(x4.shape, w4.shape, stride, padding, dilation, groups, (ho, wo), _on_gpu(x))
        plan = conv_plan(geo, x4.dtype.itemsize)
        patches = None
        if plan.weight_grad == "kept_patches" and ctx.needs_input_grad[1]:
            patches = kept_patches(geo, ctx.xp, x4.dtype)  # conv_forward fills it, for the weight gradient
            y = conv_forward(x4, w4, bias, geo, ctx.xp, patches)
        else:
            y = _forward_kernel(plan.output)(x4, w4, bias, geo, ctx.xp)
        ctx.geo, ctx.plan = geo, plan
        ctx.save_for_backward(x, weight, patches)
        if spatial == 1:
            y = y[:, :, 0]
        return y if x.ndim == spatial + 2 else y[0]

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, patches = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        geo = ctx.geo
        g4 = grad_out.reshape(geo.N, geo.O, geo.out_h, geo.out_w)
        x4 = x.reshape(geo.N, geo.C, geo.H, geo.W)
        w4 = weight.reshape(geo.O, geo.C // geo.groups, geo.kh, geo.kw)
        grad_x = grad_w = grad_b = None
        if need_w and patches is not None:
            grad_w = _shaped(kept_weight_gradient(patches, w4.shape, g4, geo, ctx.xp), weight.shape)
        need_kernel_w = need_w and patches is None
        if need_x or need_kernel_w:
            grad_x, kernel_grad_w = _kernel_gradients(
                ctx.plan, x4, w4, g4, geo, ctx.xp, need_x, need_kernel_w
            )
            grad_x = _shaped(grad_x, x.shape)
            if need_kernel_w:
                grad_w = _shaped(kernel_grad_w, weight.shape)
        if need_b:
            grad_b = g4.sum(axis=(0, 2, 3))  # dL/db = sum of the gradient over batch and positions
        return grad_x, grad_w, grad_b, None, None, None, None, None


class ConvTranspose2d(Function):
    """``y = conv_transpose2d(x, weight) + bias``: the adjoint of ``conv2d`` with the same weight."""

    _edge_slots = (0, 1, 2)  # input, weight, bias (an absent one shows as (None, 0))

    def name(self) -> str:
        return "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, output_padding, dilation, groups):
        _check_hyper(stride, padding, dilation, groups)
        x4, w4 = _as_batched_2d(x, weight, 2, "conv_transpose2d")
        _check_dtypes(x, weight, bias)
        in_channels, out_per_group, kh, kw = w4.shape
        if x4.shape[1] != in_channels:
            raise RuntimeError(
                f"Given transposed=1, weight of size {_shape(weight.shape)}, expected input"
                f"{_shape(x4.shape)} to have {in_channels} channels, but got {x4.shape[1]} channels instead"
            )
        if in_channels % groups:
            raise RuntimeError(
                f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got "
                f"weight of size {_shape(weight.shape)} instead"
            )
        (sh, sw), (dh, dw), (oph, opw) = stride, dilation, output_padding
        if not (oph < max(sh, dh) and opw < max(sw, dw)) or min(output_padding) < 0:
            raise RuntimeError(
                "output padding must be smaller than either stride or dilation, but got "
                f"output_padding_height: {oph} output_padding_width: {opw} stride_height: {sh} "
                f"stride_width: {sw} dilation_height: {dh} dilation_width: {dw}"
            )
        out_channels = out_per_group * groups
        _check_bias(bias, weight.shape, out_channels)
        n, _, h, w = x4.shape
        top, _, left, _ = padding
        ho = (h - 1) * sh - 2 * top + dh * (kh - 1) + oph + 1
        wo = (w - 1) * sw - 2 * left + dw * (kw - 1) + opw + 1
        if ho <= 0 or wo <= 0:
            raise RuntimeError(f"conv_transpose2d: the output size ({ho}, {wo}) is not positive")
        # The convolution this transposes maps (N, out_channels, ho, wo) to x's shape with the same weight.
        geo = ConvGeometry(
            (n, out_channels, ho, wo), w4.shape, stride, padding, dilation, groups, (h, w), _on_gpu(x)
        )
        y, _ = conv_backward(None, w4, x4, geo, ctx.xp, True, False)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        ctx.geo = geo
        ctx.save_for_backward(x, weight)
        return y if x.ndim == 4 else y[0]

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        geo = ctx.geo
        g4 = grad_out.reshape(geo.N, geo.C, geo.H, geo.W)
        x4 = x.reshape(geo.N, geo.O, geo.out_h, geo.out_w)
        grad_x = grad_w = grad_b = None
        if need_x:
            grad_x = conv_forward(g4, weight, None, geo, ctx.xp).reshape(x.shape)
        if need_w:
            grad_w = conv_backward(g4, weight, x4, geo, ctx.xp, False, True)[1]
        if need_b:
            grad_b = g4.sum(axis=(0, 2, 3))
        return grad_x, grad_w, grad_b, None, None, None, None, None


# ----- argument normalisation shared by the functional forms -----
def _padding(
    padding: Any, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]
) -> Pads:
    """``(top, bottom, left, right)`` for an int, a tuple, ``"valid"`` or ``"same"`` (odd extra: end)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"Invalid padding string '{padding}', should be one of ['valid', 'same']")
        if any(s != 1 for s in stride):
            raise ValueError("padding='same' is not supported for strided convolutions")
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads += [total // 2, total - total // 2]
        return tuple([0, 0] * (2 - len(kernel)) + pads)  # type: ignore[return-value]
    p = int_tuple(padding, len(kernel), "padding")
    return (0, 0, p[0], p[0]) if len(p) == 1 else (p[0], p[0], p[1], p[1])


def conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Any:
    """2-D convolution. input ``(N, C, H, W)`` or ``(C, H, W)``, weight ``(O, C/groups, kh, kw)``,
    bias ``(O,)``; output ``(N, O, Ho, Wo)``. ``padding`` is an int, a pair, ``"valid"`` or ``"same"``."""
    stride, dilation = int_tuple(stride, 2, "stride"), int_tuple(dilation, 2, "dilation")
    kernel = tuple(weight.shape[-2:])
    pads = _padding(padding, kernel, stride, dilation)
    return ConvNd.apply(input, weight, bias, stride, pads, dilation, groups, 2)


def conv1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Any:
    """1-D convolution. input ``(N, C, L)`` or ``(C, L)``, weight ``(O, C/groups, k)``, bias ``(O,)``;
    output ``(N, O, Lo)``. ``padding`` is an int, ``"valid"`` or ``"same"``."""
    (s,), (d,) = int_tuple(stride, 1, "stride"), int_tuple(dilation, 1, "dilation")
    pads = _padding(padding, tuple(weight.shape[-1:]), (s,), (d,))
    return ConvNd.apply(input, weight, bias, (1, s), pads, (1, d), groups, 1)


def conv_transpose2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Any:
    """Transposed 2-D convolution. input ``(N, Cin, H, W)``, weight ``(Cin, Cout/groups, kh, kw)``, bias
    ``(Cout,)``; output ``(N, Cout, (H-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1, ...)``."""
    stride, dilation = int_tuple(stride, 2, "stride"), int_tuple(dilation, 2, "dilation")
    p = int_tuple(padding, 2, "padding")
    output_padding = int_tuple(output_padding, 2, "output_padding")
    pads = (p[0], p[0], p[1], p[1])
    return ConvTranspose2d.apply(input, weight, bias, stride, pads, output_padding, dilation, groups)


def conv_transpose1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Any:
    """Transposed 1-D convolution. input ``(N, Cin, L)`` or ``(Cin, L)``, weight ``(Cin, Cout/groups, k)``,
    bias ``(Cout,)``; output ``(N, Cout, (L-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1)``.
    Computed as the 2-D one over a height of one (the graph shows that: a squeeze over the convolution)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"Expected 2D (unbatched) or 3D (batched) input to conv_transpose1d, but got input of size: "
            f"{list(input.shape)}"
        )
    (s,), (d,) = int_tuple(stride, 1, "stride"), int_tuple(dilation, 1, "dilation")
    (p,), (op,) = int_tuple(padding, 1, "padding"), int_tuple(output_padding, 1, "output_padding")
    rows = conv_transpose2d(
        input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, s), (0, p), (0, op), groups, (1, d)
    )
    return rows.squeeze(-2)
