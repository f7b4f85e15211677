"""Differentiable dtype casts, device transfers and copies, and the writes behind ``fill_`` and ``copy_``."""

from __future__ import annotations

from nnrun import _backend
from nnrun.autograd.function import Function
from nnrun.ops._broadcast import unbroadcast


class Cast(Function):
    @staticmethod
    def forward(ctx, x, np_dtype):
        ctx.in_dtype = x.dtype
        return x.astype(np_dtype)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.astype(ctx.in_dtype), None

    def name(self) -> str:
        return "ToCopyBackward0"


class ToDevice(Function):
    @staticmethod
    def forward(ctx, x, device):
        ctx.source = _backend.device_of(x)
        return _backend.transfer(x, device)

    @staticmethod
    def backward(ctx, grad_out):
        return _backend.transfer(grad_out, ctx.source), None


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out


class Fill(Function):
    """``x`` filled with ``value`` (a scalar, or an array broadcast to ``x``): ``fill_``."""

    @staticmethod
    def forward(ctx, x, value):
        ctx.value_shape = getattr(value, "shape", ())
        return (
            ctx.xp.full_like(x, value) if not hasattr(value, "shape") else ctx.xp.broadcast_to(value, x.shape)
        )

    @staticmethod
    def backward(ctx, grad_out):
        grad_value = grad_out.sum().reshape(ctx.value_shape) if ctx.needs_input_grad[1] else None
        return None, grad_value


class Copy(Function):
    """``src`` broadcast to ``x``'s shape and cast to its dtype and device: ``copy_``."""

    @staticmethod
    def forward(ctx, x, src):
        if not hasattr(src, "shape"):
            return ctx.xp.full_like(x, src)
        ctx.src_shape, ctx.src_dtype = src.shape, src.dtype
        src = _backend.transfer(src, _backend.device_of(x))
        return ctx.xp.broadcast_to(src, x.shape).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        if not ctx.needs_input_grad[1]:
            return None, None
        return None, unbroadcast(grad_out, ctx.src_shape).astype(ctx.src_dtype, copy=False)
