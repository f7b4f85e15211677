"""Normalisation layers' math, each one fused node: ``batch_norm``, ``layer_norm``, ``group_norm``.

All three normalise ``x`` to ``xhat = (x - mean) / sqrt(var + eps)`` (biased variance) over some axes and
share one closed-form backward: with ``G = gamma · g`` and ``M`` values per statistic,
``dx = inv_std / M · (M G - sum(G) - xhat · sum(G xhat))``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnrun._tensor import array_of
from nnrun.autograd.function import Function


# ----- batch norm: statistics per channel over (N, *spatial), data viewed as (N, C, L) -----
def _as_ncl(x: Any) -> Any:
    return x.reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:]))


def _per_channel(xp: Any, values: Any, length: int) -> Any:
    """``values`` (C,) as an operand for (N, C, L) arrays. On the CPU a contiguous (C, L) block: NumPy's
    loops over (N, C, L) run about twice as fast against it as against a (C, 1) broadcast."""
    if xp is np and length > 1:
        return xp.repeat(values[:, None], length, axis=1)
    return values[:, None]


def _channel_sum(xp: Any, a: Any) -> Any:
    """Sum of a (N, C, L) array over N and L: a BLAS mat-vec beats NumPy's strided reduction."""
    if a.shape[2] == 1:
        return a[:, :, 0].sum(axis=0)
    return (a @ xp.ones(a.shape[2], dtype=a.dtype)).sum(axis=0)


def _channel_dot(xp: Any, a: Any, b: Any) -> Any:
    """``sum(a * b)`` over N and L of two (N, C, L) arrays, without the product as a temporary."""
    if a.shape[2] == 1:
        return xp.einsum("nc,nc->c", a[:, :, 0], b[:, :, 0])
    return xp.matmul(a[:, :, None, :], b[:, :, :, None]).sum(axis=0).reshape(a.shape[1])


class BatchNorm(Function):
    """``y = (x - mean) * inv_std * weight + bias`` per channel.

    Training saves the centred input and ``inv_std``; evaluation is one affine map and saves only ``x``.
    """

    _edge_slots = (0, 1, 2)  # input, weight, bias (an absent one shows as (None, 0))

    def name(self) -> str:
        return "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        xp = ctx.xp
        x3 = _as_ncl(x)
        count = x3.shape[0] * x3.shape[2]
        if training and count == 0:  # no values: statistics undefined, running ones kept (as PyTorch)
            ctx.save_for_backward(x3, None, weight, None)
            y = x3.copy()
        elif training:
            length = x3.shape[2]
            mean = _channel_sum(xp, x3) / count
            centred = x3 - _per_channel(xp, mean, length)
            var = _channel_dot(xp, centred, centred) / count
            if running_mean is not None:
                _update_running(running_mean, mean, momentum)
            if running_var is not None:
                _update_running(running_var, var * (count / max(count - 1, 1)), momentum)  # unbiased
            inv_std = 1 / xp.sqrt(var + eps)
            scale = inv_std if weight is None else inv_std * weight
            y = centred * _per_channel(xp, scale, length)
            if bias is not None:
                y += _per_channel(xp, bias, length)
            ctx.save_for_backward(centred, inv_std, weight, mean)
        else:
            mean = running_mean
            inv_std = 1 / xp.sqrt(running_var + eps)
            scale = inv_std if weight is None else inv_std * weight
            shift = -mean * scale if bias is None else bias - mean * scale
            y = x3 * _per_channel(xp, scale, x3.shape[2])
            y += _per_channel(xp, shift, x3.shape[2])
            ctx.save_for_backward(x3, inv_std, weight, mean)
        ctx.training = training
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad_out):
        xp = ctx.xp
        saved_x, inv_std, weight, mean = ctx.saved_tensors
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
        g = _as_ncl(grad_out)
        count = g.shape[0] * g.shape[2]
        grad_x = grad_w = grad_b = None
        if count == 0:  # an empty batch: an empty input gradient, zero parameter gradients
            zeros = xp.zeros(g.shape[1], dtype=g.dtype)
            grad_x = grad_out.copy() if needs_x else None
            grad_w, grad_b = (zeros if needs_w else None), (zeros.copy() if needs_b else None)
            return grad_x, grad_w, grad_b, None, None, None, None, None
        sum_g = _channel_sum(xp, g)
        if ctx.training:
            sum_g_centred = _channel_dot(xp, g, saved_x)
        else:  # saved_x is x itself: sum(g (x - mean)) = sum(g x) - mean sum(g)
            sum_g_centred = _channel_dot(xp, g, saved_x) - mean * sum_g
        if needs_w:
            grad_w = sum_g_centred * inv_std  # sum(g xhat)
        if needs_b:
            grad_b = sum_g
        if needs_x:
            k = inv_std if weight is None else inv_std * weight
            if ctx.training:
                # dx = k (g - sum(g)/M - xhat sum(g xhat)/M), xhat = centred inv_std: four passes, one buffer
                length = g.shape[2]
                grad_x = saved_x * _per_channel(xp, -inv_std * inv_std * sum_g_centred / count, length)
                grad_x += g
                grad_x -= _per_channel(xp, sum_g / count, length)
                grad_x *= _per_channel(xp, k, length)
            else:  # evaluation: the running statistics are constants
                grad_x = g * _per_channel(xp, k, g.shape[2])
            grad_x = grad_x.reshape(grad_out.shape)
        return grad_x, grad_w, grad_b, None, None, None, None, None


def _update_running(running: Any, batch_value: Any, momentum: float) -> None:
    """``running = (1 - momentum) running + momentum batch_value``, in place."""
    running *= 1 - momentum
    running += momentum * batch_value.astype(running.dtype, copy=False)


# ----- layer norm and group norm: statistics per row of a (R, D) view -----
def _normalize_rows(xp: Any, x2: Any, eps: float) -> tuple[Any, Any]:
    """``(xhat, inv_std)`` for each row of a 2-D array."""
    mean = x2.mean(axis=1, keepdims=True)
    xhat = x2 - mean
    var = xp.einsum("rd,rd->r", xhat, xhat)[:, None] / x2.shape[1]
    inv_std = 1 / xp.sqrt(var + eps)
    xhat *= inv_std
    return xhat, inv_std


def _normalize_rows_backward(xp: Any, grad_xhat: Any, xhat: Any, inv_std: Any) -> Any:
    """dx from dL/dxhat per row: inv_std (G - mean(G) - xhat mean(G xhat))."""
    width = xhat.shape[1]
    mean_g = grad_xhat.mean(axis=1, keepdims=True)
    mean_gx = xp.einsum("rd,rd->r", grad_xhat, xhat)[:, None] / width
    grad_x = xhat * mean_gx
    grad_x += mean_g
    xp.subtract(grad_xhat, grad_x, out=grad_x)
    grad_x *= inv_std
    return grad_x


class LayerNorm(Function):
    _edge_slots = (0, 1, 2)  # input, weight, bias (an absent one shows as (None, 0))

    def name(self) -> str:
        return "NativeLayerNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, width, eps):
        xp = ctx.xp
        xhat, inv_std = _normalize_rows(xp, x.reshape(-1, width), eps)
        y = xhat * weight.reshape(-1) if weight is not None else xhat.copy()
        if bias is not None:
            y += bias.reshape(-1)
        ctx.save_for_backward(xhat, inv_std, weight)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad_out):
        xp = ctx.xp
        xhat, inv_std, weight = ctx.saved_tensors
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
        g = grad_out.reshape(xhat.shape)
        grad_x = grad_w = grad_b = None
        if needs_w:
            grad_w = xp.einsum("rd,rd->d", g, xhat).reshape(weight.shape)
        if needs_b:
            grad_b = g.sum(axis=0).reshape(weight.shape if weight is not None else -1)
        if needs_x:
            grad_xhat = g * weight.reshape(-1) if weight is not None else g
            grad_x = _normalize_rows_backward(xp, grad_xhat, xhat, inv_std).reshape(grad_out.shape)
        return grad_x, grad_w, grad_b, None, None


class GroupNorm(Function):
    _edge_slots = (0, 1, 2)  # input, weight, bias (an absent one shows as (None, 0))

    def name(self) -> str:
        return "NativeGroupNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, num_groups, eps):
        xp = ctx.xp
        n, c = x.shape[0], x.shape[1]
        xhat, inv_std = _normalize_rows(xp, x.reshape(n * num_groups, -1), eps)
        xhat3 = xhat.reshape(n, c, -1)
        y = xhat3 * weight[:, None] if weight is not None else xhat3.copy()
        if bias is not None:
            y += bias[:, None]
        ctx.save_for_backward(xhat, inv_std, weight)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad_out):
        xp = ctx.xp
        xhat, inv_std, weight = ctx.saved_tensors
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
        n, c = grad_out.shape[0], grad_out.shape[1]
        g = grad_out.reshape(n, c, -1)
        xhat3 = xhat.reshape(n, c, -1)
        grad_x = grad_w = grad_b = None
        if needs_w:
            grad_w = xp.einsum("ncl,ncl->c", g, xhat3)
        if needs_b:
            grad_b = g.sum(axis=(0, 2))
        if needs_x:
            grad_xhat = (g * weight[:, None] if weight is not None else g).reshape(xhat.shape)
            grad_x = _normalize_rows_backward(xp, grad_xhat, xhat, inv_std).reshape(grad_out.shape)
        return grad_x, grad_w, grad_b, None, None


# ----- public functions -----
def batch_norm(
    input: Any,
    running_mean: Any,
    running_var: Any,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Any:
    """Normalise each channel of ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)`` input.

    Training: batch statistics, and ``running_mean``/``running_var`` (if given) updated in place with
    ``momentum`` (the variance unbiased). Evaluation: the running statistics.
    """
    if input.ndim < 2:
        raise ValueError(
            f"batch_norm: expected an input of at least 2 dimensions (N, C, *), got {input.ndim}D"
        )
    channels = input.shape[1]
    for name, t in (
        ("weight", weight),
        ("bias", bias),
        ("running_mean", running_mean),
        ("running_var", running_var),
    ):
        if t is not None and tuple(t.shape) != (channels,):
            raise RuntimeError(f"batch_norm: {name} should have shape [{channels}], got {list(t.shape)}")
    if training:
        values_per_channel = input.numel() // channels if channels else 0
        if values_per_channel == 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size {input.shape}"
            )
    elif running_mean is None or running_var is None:
        raise RuntimeError("running_mean must be defined in evaluation mode")
    out = BatchNorm.apply(
        input, weight, bias, array_of(running_mean), array_of(running_var), training, momentum, eps
    )
    if training:
        for stat in (running_mean, running_var):
            if stat is not None:
                stat._bump_version()
    return out


def layer_norm(
    input: Any, normalized_shape: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> Any:
    """Normalise over the trailing ``normalized_shape`` dimensions; ``weight``/``bias`` of that shape."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape) :]) != shape or len(shape) > input.ndim:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(map(str, shape))}], but got input of size{input.shape}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"layer_norm: {name} should have shape {list(shape)}, got {list(t.shape)}")
    return LayerNorm.apply(input, weight, bias, math.prod(shape), eps)


def group_norm(input: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Any:
    """Normalise each of ``num_groups`` channel groups of ``(N, C, *)`` input per sample."""
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input of shape "
            f"{list(input.shape)} and num_groups={num_groups}"
        )
    channels = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise RuntimeError(f"group_norm: {name} should have shape [{channels}], got {list(t.shape)}")
    return GroupNorm.apply(input, weight, bias, num_groups, eps)


def instance_norm(
    input: Any,
    running_mean: Any = None,
    running_var: Any = None,
    weight: Any = None,
    bias: Any = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Any:
    """Normalise each channel of each sample of ``(N, C, *)`` input over its spatial dimensions.

    ``use_input_stats``: the statistics of each (sample, channel), which is group norm with one channel
    per group; ``running_mean``/``running_var`` (if given) move with ``momentum`` towards their average
    over the batch (the variance unbiased). Otherwise: the running statistics, as batch norm in evaluation.
    """
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    if input.ndim < 3 or math.prod(input.shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {input.shape}")
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (channels,):
            raise RuntimeError(f"instance_norm: {name} should have shape [{channels}], got {list(t.shape)}")
    out = group_norm(input, channels, weight, bias, eps) if channels else input.clone()
    if running_mean is not None or running_var is not None:
        x3 = _as_ncl(array_of(input))
        if running_mean is not None and x3.shape[0]:
            _update_running(array_of(running_mean), x3.mean(axis=2).mean(axis=0), momentum)
            running_mean._bump_version()
        if running_var is not None and x3.shape[0]:
            unbiased = x3.var(axis=2, ddof=1 if x3.shape[2] > 1 else 0).mean(axis=0)
            _update_running(array_of(running_var), unbiased, momentum)
            running_var._bump_version()
    return out


def rms_norm(input: Any, normalized_shape: Any, weight: Any = None, eps: float | None = None) -> Any:
    """``input / sqrt(mean(input²) + eps) * weight`` over the trailing ``normalized_shape`` dimensions
    (``eps`` None: the machine epsilon of the input's dtype); ``weight`` of that shape."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if len(shape) > input.ndim:
        raise ValueError(f"Input tensor must have at least {len(shape)} dimensions, but got {input.ndim}")
    if tuple(input.shape[input.ndim - len(shape) :]) != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*"
            f"{', '.join(map(str, shape))}], but got input of size{list(input.shape)}"
        )
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(
            "Expected weight to be of same shape as normalized_shape, but got weight of shape "
            f"{list(weight.shape)} and normalized_shape = {list(shape)}"
        )
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight
