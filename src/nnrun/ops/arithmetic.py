"""Binary arithmetic with broadcasting: + - * / // ** maximum minimum."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun import _backend
from nnrun._tensor import Tensor, array_of
from nnrun.autograd.function import Function
from nnrun.ops import _out
from nnrun.ops._broadcast import check_broadcastable, promote, shape_of, to_float, unbroadcast


def _cast_back(grad: Any, like_dtype: Any) -> Any:
    return grad if grad.dtype == like_dtype else grad.astype(like_dtype)


class _Binary(Function):
    """Records input shapes and dtypes so backward can sum broadcast gradients and undo promotion."""

    @staticmethod
    def remember(ctx: Function, a: Any, b: Any) -> None:
        ctx.a_shape, ctx.b_shape = shape_of(a), shape_of(b)
        check_broadcastable(ctx.a_shape, ctx.b_shape)
        ctx.a_dtype = getattr(a, "dtype", None)
        ctx.b_dtype = getattr(b, "dtype", None)

    @staticmethod
    def grads(ctx: Function, grad_a: Any, grad_b: Any) -> tuple[Any, Any]:
        needs_a, needs_b = ctx.needs_input_grad
        return (
            _cast_back(unbroadcast(grad_a, ctx.a_shape), ctx.a_dtype) if needs_a else None,
            _cast_back(unbroadcast(grad_b, ctx.b_shape), ctx.b_dtype) if needs_b else None,
        )


class Add(_Binary):
    _edge_slots = (0, 1)  # a Python scalar is an input of torch's add, shown as (None, 0)

    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = promote(a, b)
        return a + b

    @staticmethod
    def backward(ctx, grad_out):
        return _Binary.grads(ctx, grad_out, grad_out)


class Sub(_Binary):
    @property
    def _edge_slots(self) -> tuple[int, ...]:
        return (1,) if self.a_dtype is None else (0, 1)

    def name(self) -> str:
        return "RsubBackward1" if self.a_dtype is None else "SubBackward0"  # scalar - tensor is torch's rsub

    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = promote(a, b)
        return a - b

    @staticmethod
    def backward(ctx, grad_out):
        return _Binary.grads(ctx, grad_out, -grad_out if ctx.needs_input_grad[1] else None)


class Mul(_Binary):
    _edge_slots = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = promote(a, b)
        needs_a, needs_b = ctx.needs_input_grad
        # keep only what backward reads, so a later in-place change to an unneeded operand is allowed
        ctx.save_for_backward(a if needs_b else None, b if needs_a else None)
        return a * b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        needs_a, needs_b = ctx.needs_input_grad
        return _Binary.grads(ctx, grad_out * b if needs_a else None, grad_out * a if needs_b else None)


class Div(_Binary):
    _edge_slots = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = promote(a, b)
        if getattr(a, "dtype", getattr(b, "dtype", None)).kind != "f":  # true division: int / int -> float
            a = to_float(a) if hasattr(a, "dtype") else a
            b = to_float(b) if hasattr(b, "dtype") else b
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)  # a only for d/db
        return a / b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        needs_a, needs_b = ctx.needs_input_grad
        grad_a = grad_out / b if needs_a else None
        grad_b = -grad_out * a / (b * b) if needs_b else None  # d(a/b)/db = -a/b^2
        return _Binary.grads(ctx, grad_a, grad_b)


class Pow(_Binary):
    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = promote(a, b)
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        a, b, out = ctx.saved_tensors
        needs_a, needs_b = ctx.needs_input_grad
        xp = ctx.xp
        grad_a = grad_b = None
        if needs_a:
            # d(a^b)/da = b * a^(b-1); zero where b == 0, so that 0^0 has gradient 0 as in torch
            if hasattr(b, "shape"):
                grad_a = grad_out * xp.where(b == 0, 0, b * a ** xp.where(b == 0, 1, b - 1))
            else:
                grad_a = grad_out * (b * a ** (b - 1)) if b != 0 else xp.zeros_like(grad_out)
        if needs_b:
            # d(a^b)/db = a^b * log(a), taken as 0 where a == 0 (torch's convention)
            grad_b = grad_out * xp.where(a == 0, 0, out * xp.log(xp.where(a == 0, 1, a)))
        return _Binary.grads(ctx, grad_a, grad_b)

    def name(self) -> str:
        # torch's overloads: tensor ** scalar, tensor ** tensor, scalar ** tensor
        return (
            "PowBackward0"
            if self.b_dtype is None
            else "PowBackward2"
            if self.a_dtype is None
            else "PowBackward1"
        )


class Maximum(_Binary):
    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return ctx.xp.maximum(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        return _Binary.grads(ctx, *_split_by_winner(ctx.xp, grad_out, a > b, a == b))


class Minimum(_Binary):
    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return ctx.xp.minimum(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        return _Binary.grads(ctx, *_split_by_winner(ctx.xp, grad_out, a < b, a == b))


class Remainder(_Binary):
    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = promote(a, b)
        ctx.save_for_backward(*((a, b) if ctx.needs_input_grad[1] else (None, None)))
        with np.errstate(invalid="ignore", divide="ignore"):  # x % 0.0 is NaN, silently as in torch
            return a % b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        # remainder(a, b) = a - b floor(a / b): d/da = 1, d/db = -floor(a / b)
        grad_b = -grad_out * ctx.xp.floor(a / b) if ctx.needs_input_grad[1] else None
        return _Binary.grads(ctx, grad_out, grad_b)

    def name(self) -> str:
        return "RemainderBackward0" if self.b_dtype is None else "RemainderBackward1"  # Scalar / Tensor


def _split_by_winner(xp: Any, grad_out: Any, a_wins: Any, tie: Any) -> tuple[Any, Any]:
    """Gradient of max/min: to the winner, split evenly on ties (as torch does)."""
    share_a = xp.where(a_wins, 1.0, xp.where(tie, 0.5, 0.0)).astype(grad_out.dtype)
    return grad_out * share_a, grad_out * (1 - share_a)


def add(input: Any, other: Any, *, alpha: float = 1, out: Any = None) -> Any:
    """``input + alpha * other`` (written into ``out`` when given)."""
    if out is not None:
        return _out.into("add", out, (input, other), lambda: add(input, other, alpha=alpha))
    return Add.apply(input, other if alpha == 1 else other * alpha)  # other may be a Python scalar


def sub(input: Any, other: Any, *, alpha: float = 1, out: Any = None) -> Any:
    """``input - alpha * other`` (written into ``out`` when given)."""
    if out is not None:
        return _out.into("sub", out, (input, other), lambda: sub(input, other, alpha=alpha))
    return Sub.apply(input, other if alpha == 1 else other * alpha)


def mul(input: Any, other: Any, *, out: Any = None) -> Any:
    if out is not None:
        return _out.into("mul", out, (input, other), lambda: mul(input, other))
    return Mul.apply(input, other)


def div(input: Any, other: Any, *, rounding_mode: str | None = None, out: Any = None) -> Any:
    """``input / other``; ``rounding_mode`` "trunc" or "floor" rounds the quotient (not differentiable)."""
    if out is not None:
        return _out.into("div", out, (input, other), lambda: div(input, other, rounding_mode=rounding_mode))
    if rounding_mode is None:
        return Div.apply(input, other)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        a, b = promote(array_of(input), array_of(other))
        dtype = getattr(a, "dtype", None) or b.dtype
        quotient = _backend.array_module(a if hasattr(a, "dtype") else b).trunc(a / b)
        return Tensor._make(quotient.astype(dtype, copy=False))
    raise ValueError(
        f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'"
    )


def true_divide(dividend: Any, divisor: Any, *, out: Any = None) -> Any:
    """``torch.true_divide``: ``div`` with no rounding, the true quotient (integers give a float result)."""
    return div(dividend, divisor, out=out)


def floor_divide(input: Any, other: Any) -> Any:
    """Element-wise floor of ``input / other``; not differentiable (as in torch)."""
    a, b = promote(array_of(input), array_of(other))
    return Tensor._make(a // b)


def remainder(input: Any, other: Any) -> Any:
    """Python's modulus: ``input - other * floor(input / other)``, with the sign of ``other``."""
    check_integer_divisor(input, other)
    return Remainder.apply(input, other)


def pow(input: Any, exponent: Any) -> Any:
    return Pow.apply(input, exponent)


def maximum(input: Any, other: Any) -> Any:
    return Maximum.apply(input, other)


def minimum(input: Any, other: Any) -> Any:
    return Minimum.apply(input, other)


def check_integer_divisor(input: Any, other: Any) -> None:
    """Integer division by zero raises, as in torch (NumPy would warn and give 0)."""
    a, b = promote(array_of(input), array_of(other))
    array = a if hasattr(a, "dtype") else b
    if array.dtype.kind in "iub" and bool(_backend.array_module(array).any(b == 0)):
        raise RuntimeError("ZeroDivisionError")
