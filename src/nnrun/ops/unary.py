"""Element-wise functions of one tensor: exp, log, sqrt, trigonometry, activations, abs, neg, clamp."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun._tensor import array_of
from nnrun.autograd.function import Function
from nnrun.ops._broadcast import to_float

_ZERO_RUN = 1 << 16  # elements per piece of relu_array on NumPy (256 KB of float32: stays in cache)
_zero_runs: dict[Any, Any] = {}


def relu_array(xp: Any, x: Any, out: Any = None) -> Any:
    """``max(x, 0)`` into ``out`` (a new array when None); NaN stays NaN. On NumPy, a contiguous array goes in
    cache-sized pieces against a run of zeros: NumPy's maximum against a scalar has no SIMD loop and runs
    3-4x slower than against an array."""
    if out is None:
        out = xp.empty_like(x)
    if xp is not np or not (x.flags.c_contiguous and out.flags.c_contiguous):
        return xp.maximum(x, 0, out=out)
    zeros = _zero_runs.get(x.dtype)
    if zeros is None:
        zeros = _zero_runs[x.dtype] = np.zeros(_ZERO_RUN, dtype=x.dtype)
    source, target = x.reshape(-1), out.reshape(-1)
    for start in range(0, source.size, _ZERO_RUN):
        piece = source[start : start + _ZERO_RUN]
        np.maximum(piece, zeros[: piece.size], out=target[start : start + _ZERO_RUN])
    return out


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad_out):
        return -grad_out


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.exp(to_float(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * y  # d/dx exp(x) = exp(x)


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return ctx.xp.log(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / x  # d/dx log(x) = 1/x


class Log1p(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return ctx.xp.log1p(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / (1 + x)  # d/dx log(1+x) = 1/(1+x)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.sqrt(to_float(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out / (2 * y)  # d/dx sqrt(x) = 1/(2 sqrt(x))


class Rsqrt(Function):
    @staticmethod
    def forward(ctx, x):
        y = 1 / ctx.xp.sqrt(to_float(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * (-0.5 * y * y * y)  # d/dx x^(-1/2) = -1/2 x^(-3/2)


class Sin(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return ctx.xp.sin(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * ctx.xp.cos(x)


class Cos(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return ctx.xp.cos(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * -ctx.xp.sin(x)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.tanh(to_float(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * (1 - y * y)  # d/dx tanh(x) = 1 - tanh(x)^2


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        x = to_float(x)
        # exp(-|x|) never overflows; pick the algebraic form that stays accurate on each side of 0
        e = xp.exp(-xp.abs(x))
        y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * (y * (1 - y))  # d/dx sigmoid(x) = s(1-s)


class Relu(Function):
    @staticmethod
    def forward(ctx, x):
        y = relu_array(ctx.xp, x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * (y > 0)


class ReluInPlace(Function):
    """ReLU written into the input's own memory (``relu_`` on a tensor that is not a view): saves the result,
    which is that memory, instead of a private copy."""

    @staticmethod
    def forward(ctx, x):
        y = relu_array(ctx.xp, x, out=x)
        ctx.save_for_backward(y)
        return y

    def name(self) -> str:
        return "ReluBackward0"  # torch's name for relu and relu_ alike

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * (y > 0)


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.abs(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * ctx.xp.sign(x)  # d/dx |x| = sign(x), 0 at 0 as in torch


class Clamp(Function):
    @staticmethod
    def forward(ctx, x, min, max):
        xp = ctx.xp
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if x.dtype.kind in "biu" and (isinstance(min, float) or isinstance(max, float)):
            x = to_float(x)  # an integer tensor clamped to a float bound: the default float dtype, as torch
        ctx.save_for_backward(x)
        ctx.bounds = (min, max)
        if min is not None and max is not None:
            return xp.minimum(xp.maximum(x, min), max)
        return xp.maximum(x, min) if min is not None else xp.minimum(x, max)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        low, high = ctx.bounds
        inside = True
        if low is not None:
            inside = x >= low
        if high is not None:
            inside = inside & (x <= high)
        return grad_out * inside, None, None

    def name(self) -> str:
        tensor_bounds = any(hasattr(bound, "shape") for bound in self.bounds)
        return "ClampBackward0" if tensor_bounds else "ClampBackward1"  # torch's Tensor / Scalar overloads


# ----- public functions (also bound as Tensor methods) -----
def neg(input: Any) -> Any:
    return Neg.apply(input)


def exp(input: Any) -> Any:
    return Exp.apply(input)


def log(input: Any) -> Any:
    return Log.apply(input)


def log1p(input: Any) -> Any:
    return Log1p.apply(input)


def sqrt(input: Any) -> Any:
    return Sqrt.apply(input)


def rsqrt(input: Any) -> Any:
    return Rsqrt.apply(input)


def sin(input: Any) -> Any:
    return Sin.apply(input)


def cos(input: Any) -> Any:
    return Cos.apply(input)


def tanh(input: Any) -> Any:
    """``tanh(input)``; any shape."""
    return Tanh.apply(input)


def sigmoid(input: Any) -> Any:
    """``1 / (1 + exp(-input))``; any shape."""
    return Sigmoid.apply(input)


def relu(input: Any) -> Any:
    return Relu.apply(input)


def abs(input: Any) -> Any:
    return Abs.apply(input)


def clamp(input: Any, min: Any = None, max: Any = None) -> Any:
    """Limit each element to ``[min, max]``; the gradient flows where the input lies inside the bounds."""
    return Clamp.apply(input, array_of(min), array_of(max))  # tensor bounds are constants: no gradient
