"""Activation functions, each one fused node, stable for any finite input (±1e4 included).

``hardtanh`` (and ``relu6``), ``leaky_relu``, ``elu``, ``gelu`` (exact and tanh), ``silu``, ``mish``,
``hardswish``, ``prelu``, ``softplus``, ``softmax`` and ``log_softmax``. ``sigmoid``, ``tanh`` and ``relu``
live in ``unary.py``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from nnrun.autograd.function import Function
from nnrun.autograd.inplace import apply_inplace
from nnrun.ops import _special
from nnrun.ops._broadcast import unbroadcast

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_GELU_CUBIC = 0.044715


def _sigmoid(xp: Any, x: Any) -> Any:
    """1 / (1 + exp(-x)) without overflow: exp(-|x|) <= 1, and the form picked on each side of 0."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Hardtanh(Function):
    @staticmethod
    def forward(ctx, x, min_val, max_val):
        ctx.save_for_backward(x)
        ctx.bounds = (min_val, max_val)
        return ctx.xp.clip(x, min_val, max_val)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        low, high = ctx.bounds
        return grad_out * ((x > low) & (x < high)), None, None  # flat (zero slope) at and beyond the bounds


class LeakyRelu(Function):
    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return ctx.xp.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return ctx.xp.where(x > 0, grad_out, grad_out * ctx.negative_slope), None


class Elu(Function):
    @staticmethod
    def forward(ctx, x, alpha):
        xp = ctx.xp
        y = xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))
        ctx.save_for_backward(x, y)
        ctx.alpha = alpha
        return y

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx.saved_tensors
        # x <= 0: d/dx alpha (exp(x) - 1) = alpha exp(x) = y + alpha
        return ctx.xp.where(x > 0, grad_out, grad_out * (y + ctx.alpha)), None


class Gelu(Function):
    @staticmethod
    def forward(ctx, x, approximate):
        xp = ctx.xp
        ctx.approximate = approximate
        if approximate == "tanh":
            # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x³)))
            t = xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x))
            ctx.save_for_backward(x, t)
            return 0.5 * x * (1 + t)
        cdf = _special.normal_cdf(xp, x).astype(x.dtype, copy=False)  # x Phi(x)
        ctx.save_for_backward(x, cdf)
        return x * cdf

    @staticmethod
    def backward(ctx, grad_out):
        x, saved = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = saved
            inner_slope = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
            return grad_out * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner_slope), None
        # d/dx x Phi(x) = Phi(x) + x phi(x), phi the standard normal density
        density = ctx.xp.exp(-0.5 * x * x) * _INV_SQRT_2PI
        return grad_out * (saved + x * density), None


class Silu(Function):
    @staticmethod
    def forward(ctx, x):
        s = _sigmoid(ctx.xp, x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad_out):
        x, s = ctx.saved_tensors
        return grad_out * (s * (1 + x * (1 - s)))  # d/dx x s(x) = s + x s (1 - s)


class Softplus(Function):
    @staticmethod
    def forward(ctx, x, beta, threshold):
        xp = ctx.xp
        bx = x * beta
        ctx.save_for_backward(bx)
        ctx.threshold = threshold
        # log(1 + exp(bx)) / beta, which is x itself (to rounding) once bx passes the threshold
        return xp.where(bx > threshold, x, xp.logaddexp(0, bx) / beta)

    @staticmethod
    def backward(ctx, grad_out):
        (bx,) = ctx.saved_tensors
        xp = ctx.xp
        return xp.where(bx > ctx.threshold, grad_out, grad_out * _sigmoid(xp, bx)), None, None


class Mish(Function):
    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        t = xp.tanh(xp.logaddexp(0, x))  # tanh(softplus(x))
        ctx.save_for_backward(x, t)
        return x * t

    @staticmethod
    def backward(ctx, grad_out):
        x, t = ctx.saved_tensors
        # d/dx x tanh(sp(x)) = t + x (1 - t²) sigmoid(x), as sp'(x) = sigmoid(x)
        return grad_out * (t + x * (1 - t * t) * _sigmoid(ctx.xp, x))


class Hardswish(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * ctx.xp.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        # 0 up to -3, x/3 + 1/2 between, 1 from 3 on (torch's values at the two kinks)
        slope = xp.where(x <= -3, 0, xp.where(x >= 3, 1, x / 3 + 0.5))
        return grad_out * slope.astype(grad_out.dtype, copy=False)


class PRelu(Function):
    """``x`` where positive, ``w x`` elsewhere, with one ``w`` per channel (dimension 1) or one for all."""

    @staticmethod
    def forward(ctx, x, weight):
        per_channel = weight.size > 1
        shape = [1] * x.ndim
        if per_channel:
            shape[1] = weight.size
        w = weight.reshape(shape)
        ctx.save_for_backward(x, w)
        ctx.weight_shape = weight.shape
        return ctx.xp.where(x > 0, x, w * x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        x, w = ctx.saved_tensors
        xp = ctx.xp
        needs_x, needs_w = ctx.needs_input_grad
        grad_x = xp.where(x > 0, grad_out, w * grad_out) if needs_x else None
        grad_w = None
        if needs_w:  # d/dw (w x) = x where x <= 0, summed over all but the channel dimension
            grad_w = unbroadcast(xp.where(x > 0, 0, grad_out * x), w.shape).reshape(ctx.weight_shape)
        return grad_x, grad_w

    def name(self) -> str:
        return "PreluKernelBackward0"


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.xp
        shifted = x - x.max(axis=dim, keepdims=True)  # exp(<= 0) cannot overflow
        y = xp.exp(shifted)
        y /= y.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        # dL/dx = y (g - sum(g y)) along dim
        return y * (grad_out - (grad_out * y).sum(axis=ctx.dim, keepdims=True)), None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.xp
        shifted = x - x.max(axis=dim, keepdims=True)
        y = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        # dL/dx = g - softmax(x) sum(g) along dim
        return grad_out - ctx.xp.exp(y) * grad_out.sum(axis=ctx.dim, keepdims=True), None


# ----- public functions -----
def _float(input: Any) -> Any:
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"expected a floating-point input, got {input.dtype}")
    return input


def _run(function: type[Function], input: Any, inplace: bool, *args: Any) -> Any:
    """``function`` applied to ``input``, or written back into it when ``inplace``."""
    _float(input)
    return apply_inplace(input, function, *args) if inplace else function.apply(input, *args)


def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Any:
    """``clip(input, min_val, max_val)``; the gradient is 1 strictly inside the bounds."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _run(Hardtanh, input, inplace, min_val, max_val)


def relu6(input: Any, inplace: bool = False) -> Any:
    """``min(max(input, 0), 6)``."""
    return _run(Hardtanh, input, inplace, 0.0, 6.0)


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Any:
    """``input`` where positive, ``negative_slope * input`` elsewhere."""
    return _run(LeakyRelu, input, inplace, negative_slope)


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Any:
    """``input`` where positive, ``alpha (exp(input) - 1)`` elsewhere."""
    return _run(Elu, input, inplace, alpha)


def gelu(input: Any, approximate: str = "none") -> Any:
    """``input * Phi(input)`` (``approximate='tanh'``: the tanh approximation of Phi)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return Gelu.apply(_float(input), approximate)


def silu(input: Any, inplace: bool = False) -> Any:
    """``input * sigmoid(input)``."""
    return _run(Silu, input, inplace)


def mish(input: Any, inplace: bool = False) -> Any:
    """``input * tanh(softplus(input))``."""
    return _run(Mish, input, inplace)


def hardswish(input: Any, inplace: bool = False) -> Any:
    """``input * relu6(input + 3) / 6``."""
    return _run(Hardswish, input, inplace)


def prelu(input: Any, weight: Any) -> Any:
    """``input`` where positive, ``weight * input`` elsewhere; ``weight`` holds one slope, or one per
    channel (dimension 1 of ``input``)."""
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(
            "Mismatch of parameter numbers and input channel size. Found parameter numbers = "
            f"{weight.numel()} and channel size = {channels}."
        )
    return PRelu.apply(_float(input), weight)


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold``."""
    return Softplus.apply(_float(input), beta, threshold)


def softmax_dim(ndim: int, dim: int | None) -> int:
    """The axis for ``dim`` (``None``: torch's legacy choice, 0 for 0-, 1- and 3-D inputs, else 1)."""
    if dim is None:
        return 0 if ndim in (0, 1, 3) else 1
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-size}, {size - 1}], but got {dim})"
        )
    return dim % size if ndim else 0


def _softmax_input(input: Any, dtype: Any) -> Any:
    return _float(input if dtype is None else input.to(dtype))


def _implicit_dim(name: str, dim: int | None, ndim: int) -> int | None:
    if dim is None:
        dim = softmax_dim(ndim, None)
        warnings.warn(
            f"{name}: no dim given; using dim={dim} (PyTorch's deprecated implicit choice); pass dim",
            stacklevel=3,
        )
    return dim


def softmax(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Any:
    """``exp(x) / sum(exp(x))`` along ``dim`` (after casting to ``dtype``), computed after subtracting the
    maximum; output shaped like the input."""
    dim = _implicit_dim("softmax", dim, input.ndim)
    input = _softmax_input(input, dtype)
    return Softmax.apply(input, softmax_dim(input.ndim, dim) if input.ndim else None)


def log_softmax(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Any:
    """``x - logsumexp(x)`` along ``dim`` (after casting to ``dtype``), stable for any finite logits;
    output shaped like the input."""
    dim = _implicit_dim("log_softmax", dim, input.ndim)
    input = _softmax_input(input, dtype)
    return LogSoftmax.apply(input, softmax_dim(input.ndim, dim) if input.ndim else None)
