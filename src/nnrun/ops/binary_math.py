"""Element-wise math of two or three tensors: atan2, hypot, fmod, logaddexp, xlogy, fmax/fmin, lerp,
addcmul/addcdiv, clamp_min/clamp_max, heaviside. Operands broadcast and promote as in ``arithmetic``."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun import _backend, _dtype
from nnrun._tensor import Tensor, array_of
from nnrun.autograd.function import Function
from nnrun.ops import arithmetic, unary
from nnrun.ops._broadcast import check_broadcastable, promote, shape_of, unbroadcast
from nnrun.ops.arithmetic import _Binary
from nnrun.ops.elementwise import quiet, require_float


def _arrays(a: Any, b: Any, *, floating: bool = False) -> tuple[Any, Any]:
    """Both operands as arrays of their promoted dtype (a Python number becomes a 0-d array of it, so
    that NumPy's functions of it keep that dtype); with ``floating``, integers become the default float."""
    a, b = promote(a, b)
    like = a if hasattr(a, "dtype") else b
    dtype = like.dtype if like.dtype.kind == "f" or not floating else _dtype.get_default_dtype().np
    xp = _backend.array_module(like)
    return xp.asarray(a, dtype=dtype), xp.asarray(b, dtype=dtype)


@quiet
class Atan2(_Binary):
    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = _arrays(a, b, floating=True)
        ctx.save_for_backward(a, b)
        return ctx.xp.arctan2(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        scale = grad_out / (a * a + b * b)  # d atan2(a, b) = (b da - a db) / (a^2 + b^2)
        return _Binary.grads(ctx, scale * b, -scale * a)


@quiet
class Hypot(_Binary):
    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = _arrays(a, b)
        y = ctx.xp.hypot(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        a, b, y = ctx.saved_tensors
        return _Binary.grads(ctx, grad_out * a / y, grad_out * b / y)


@quiet
class Fmod(_Binary):
    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = promote(a, b)
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[1] else None)
        return ctx.xp.fmod(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        # fmod(a, b) = a - b trunc(a / b): d/da = 1, d/db = -trunc(a / b)
        grad_b = -grad_out * ctx.xp.trunc(a / b) if ctx.needs_input_grad[1] else None
        return _Binary.grads(ctx, grad_out, grad_b)

    def name(self) -> str:
        return (
            "FmodBackward0" if self.b_dtype is None else "FmodBackward1"
        )  # torch's Scalar / Tensor overloads


@quiet
class Logaddexp(_Binary):
    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = _arrays(a, b)
        y = ctx.xp.logaddexp(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        a, b, y = ctx.saved_tensors
        xp = ctx.xp
        return _Binary.grads(ctx, grad_out * xp.exp(a - y), grad_out * xp.exp(b - y))


@quiet
class Xlogy(_Binary):
    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = _arrays(a, b, floating=True)
        xp = ctx.xp
        ctx.save_for_backward(a, b)
        y = a * xp.log(b)
        return xp.where((a == 0) & ~xp.isnan(b), 0, y).astype(y.dtype, copy=False)  # 0 log(y) = 0

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        xp = ctx.xp
        grad_a = grad_out * xp.where(a != 0, xp.log(b), 0)  # torch: xlogy(a != 0, b)
        return _Binary.grads(ctx, grad_a, grad_out * a / b)


@quiet
class Fmax(_Binary):
    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return ctx.xp.fmax(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        a_wins = (a >= b) | ctx.xp.isnan(b)  # ties go to the first operand, as in torch
        return _Binary.grads(ctx, grad_out * a_wins, grad_out * ~a_wins)


@quiet
class Fmin(_Binary):
    @staticmethod
    def forward(ctx, a, b):
        _Binary.remember(ctx, a, b)
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return ctx.xp.fmin(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        a_wins = (a <= b) | ctx.xp.isnan(b)
        return _Binary.grads(ctx, grad_out * a_wins, grad_out * ~a_wins)


class _Ternary(Function):
    """Three broadcast operands (``lerp``, ``addcmul``, ``addcdiv``): promoted to one dtype, the gradients
    summed back to each operand's shape and cast to its dtype."""

    @staticmethod
    def remember(ctx: Function, *operands: Any) -> tuple[Any, ...]:
        ctx.shapes = [shape_of(x) for x in operands]
        ctx.dtypes = [getattr(x, "dtype", None) for x in operands]
        for i, first in enumerate(ctx.shapes):
            for second in ctx.shapes[i + 1 :]:
                check_broadcastable(first, second)
        target = _dtype.result_type(operands[0], operands[1])
        for x in operands[2:]:
            target = _dtype.result_type(np.empty(0, dtype=target), x)  # a stand-in of the dtype so far
        return tuple(x.astype(target, copy=False) if hasattr(x, "dtype") else x for x in operands)

    @staticmethod
    def grads(ctx: Function, *grads: Any) -> tuple[Any, ...]:
        out = []
        for grad, needed, shape, dtype in zip(grads, ctx.needs_input_grad, ctx.shapes, ctx.dtypes):
            if grad is None or not needed or dtype is None:
                out.append(None)
                continue
            grad = unbroadcast(grad, shape)
            out.append(grad if grad.dtype == dtype else grad.astype(dtype))
        return tuple(out)


@quiet
class Lerp(_Ternary):
    @staticmethod
    def forward(ctx, start, end, weight):
        start, end, weight = _Ternary.remember(ctx, start, end, weight)
        xp = ctx.xp
        ctx.save_for_backward(start, end, weight)
        delta = end - start
        # from the nearer end, as torch: exact at weight 0 and 1
        small = xp.abs(weight) < 0.5
        return xp.where(small, start + weight * delta, end - delta * (1 - weight)).astype(
            delta.dtype, copy=False
        )

    @staticmethod
    def backward(ctx, grad_out):
        start, end, weight = ctx.saved_tensors
        # d/dstart = 1 - w, d/dend = w, d/dw = end - start
        return _Ternary.grads(ctx, grad_out * (1 - weight), grad_out * weight, grad_out * (end - start))

    def name(self) -> str:
        return "LerpBackward0" if self.dtypes[2] is None else "LerpBackward1"  # Scalar / Tensor weight


@quiet
class Addcmul(_Ternary):
    @staticmethod
    def forward(ctx, input, tensor1, tensor2, value):
        input, tensor1, tensor2 = _Ternary.remember(ctx, input, tensor1, tensor2)
        ctx.value = value
        ctx.save_for_backward(tensor1, tensor2)
        return input + value * (tensor1 * tensor2)

    @staticmethod
    def backward(ctx, grad_out):
        tensor1, tensor2 = ctx.saved_tensors
        scaled = grad_out * ctx.value
        return (*_Ternary.grads(ctx, grad_out, scaled * tensor2, scaled * tensor1), None)


@quiet
class Addcdiv(_Ternary):
    @staticmethod
    def forward(ctx, input, tensor1, tensor2, value):
        input, tensor1, tensor2 = _Ternary.remember(ctx, input, tensor1, tensor2)
        ctx.value = value
        ctx.save_for_backward(tensor1, tensor2)
        return input + value * (tensor1 / tensor2)

    @staticmethod
    def backward(ctx, grad_out):
        tensor1, tensor2 = ctx.saved_tensors
        scaled = grad_out * ctx.value / tensor2
        # d/dt1 = value / t2, d/dt2 = -value t1 / t2^2
        return (*_Ternary.grads(ctx, grad_out, scaled, -scaled * tensor1 / tensor2), None)


# ----- public functions (also bound as Tensor methods) -----
def atan2(input: Any, other: Any) -> Any:
    """The angle of the point ``(other, input)``: ``atan(input / other)`` in the right quadrant."""
    return Atan2.apply(input, other)


def hypot(input: Any, other: Any) -> Any:
    require_float("hypot_cpu", input, other)
    return Hypot.apply(input, other)


def fmod(input: Any, other: Any) -> Any:
    """C's remainder: ``input - other * trunc(input / other)``, with the sign of ``input``."""
    arithmetic.check_integer_divisor(input, other)
    return Fmod.apply(input, other)


def logaddexp(input: Any, other: Any) -> Any:
    """``log(exp(input) + exp(other))`` without overflow."""
    require_float("logaddexp_cpu", input, other)
    return Logaddexp.apply(input, other)


def xlogy(input: Any, other: Any) -> Any:
    """``input * log(other)``, taken as 0 where ``input`` is 0 (unless ``other`` is NaN)."""
    return Xlogy.apply(input, other)


def fmax(input: Any, other: Any) -> Any:
    """Element-wise maximum that ignores NaN (NaN only where both are NaN)."""
    return Fmax.apply(input, other)


def fmin(input: Any, other: Any) -> Any:
    """Element-wise minimum that ignores NaN (NaN only where both are NaN)."""
    return Fmin.apply(input, other)


def clamp_min(input: Any, min: Any) -> Any:
    return unary.clamp(input, min=min)


def clamp_max(input: Any, max: Any) -> Any:
    return unary.clamp(input, max=max)


def lerp(input: Any, end: Any, weight: Any) -> Any:
    """``input + weight * (end - input)``; ``weight`` a number or a tensor."""
    require_float("lerp_kernel_scalar" if not isinstance(weight, Tensor) else "lerp_kernel_tensor", input)
    return Lerp.apply(input, end, weight)


def addcmul(input: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Any:
    """``input + value * tensor1 * tensor2``."""
    return Addcmul.apply(input, tensor1, tensor2, value)


def addcdiv(input: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Any:
    """``input + value * tensor1 / tensor2`` (floating point only, as in torch)."""
    check_addcdiv(tensor1, tensor2)
    return Addcdiv.apply(input, tensor1, tensor2, value)


def check_addcdiv(tensor1: Any, tensor2: Any) -> None:
    for t in (tensor1, tensor2):
        if array_of(t).dtype.kind != "f":
            raise RuntimeError(
                "Integer division with addcdiv is no longer supported, and in a future release addcdiv will "
                "perform a true division of tensor1 and tensor2."
            )


def heaviside(input: Any, values: Any) -> Tensor:
    """The step function: 0 where ``input < 0``, 1 where ``input > 0``, ``values`` where it is 0.
    Not differentiable, as in torch."""
    x, v = array_of(input), array_of(values)
    if getattr(v, "dtype", x.dtype) != x.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    check_broadcastable(shape_of(x), shape_of(v))
    xp = _backend.array_module(x)
    return Tensor._make(xp.where(x == 0, v, (x > 0).astype(x.dtype)).astype(x.dtype, copy=False))
