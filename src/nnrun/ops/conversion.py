"""Differentiable dtype casts and device transfers, plus detached copies."""

from __future__ import annotations

from nnrun import _backend
from nnrun.autograd.function import Function


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
