"""More activation functions, each one fused node where torch has one: ``selu``, ``celu``, ``hardsigmoid``,
``logsigmoid``, ``softshrink``, ``hardshrink``, ``threshold``, ``glu``, ``rrelu``; and the composed ones
(``softsign``, ``tanhshrink``, ``softmin``, ``gumbel_softmax``), which record torch's nodes for their parts.
The first few in ``activation.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun import _backend, _random
from nnrun._tensor import Tensor
from nnrun.autograd.function import Function
from nnrun.ops import activation as _activation
from nnrun.ops.activation import _float, _run, _sigmoid

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_ONE_SIXTH_FLOAT32 = float(np.float32(1) / np.float32(6))


class Selu(Function):
    """``scale * elu(x, alpha)`` with the self-normalising constants; torch records it as an ELU node."""

    def name(self) -> str:
        return "EluBackward0"

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        negative = _SELU_ALPHA * xp.expm1(xp.minimum(x, 0))
        ctx.save_for_backward(x, negative)
        return (_SELU_SCALE * xp.where(x > 0, x, negative)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        x, negative = ctx.saved_tensors
        # x <= 0: d/dx scale alpha (exp(x) - 1) = scale (negative + alpha)
        return ctx.xp.where(
            x > 0, grad_out * _SELU_SCALE, grad_out * (_SELU_SCALE * (negative + _SELU_ALPHA))
        )


class Celu(Function):
    @staticmethod
    def forward(ctx, x, alpha):
        xp = ctx.xp
        e = xp.exp(xp.minimum(x, 0) / alpha)
        ctx.save_for_backward(x, e)
        return xp.where(x > 0, x, alpha * (e - 1)).astype(x.dtype, copy=False)  # alpha (exp(x/alpha) - 1)

    @staticmethod
    def backward(ctx, grad_out):
        x, e = ctx.saved_tensors
        return ctx.xp.where(
            x > 0, grad_out, grad_out * e
        ), None  # d/dx alpha (exp(x/alpha) - 1) = exp(x/alpha)


class Hardsigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        # slope 1/6 strictly between the kinks; torch's kernel uses 1/6 rounded to float32, in every dtype
        return grad_out * ((x > -3) & (x < 3)) * _ONE_SIXTH_FLOAT32


class LogSigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        ctx.save_for_backward(x)
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))  # -softplus(-x), no overflow

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * _sigmoid(ctx.xp, -x)  # d/dx log sigmoid(x) = 1 - sigmoid(x)


class Softshrink(Function):
    @staticmethod
    def forward(ctx, x, lambd):
        xp = ctx.xp
        ctx.save_for_backward(x)
        ctx.lambd = lambd
        return xp.where(x > lambd, x - lambd, xp.where(x < -lambd, x + lambd, 0)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * ((x > ctx.lambd) | (x < -ctx.lambd)), None


class Hardshrink(Function):
    @staticmethod
    def forward(ctx, x, lambd):
        keep = (x > lambd) | (x < -lambd)
        ctx.save_for_backward(keep)
        return x * keep

    @staticmethod
    def backward(ctx, grad_out):
        (keep,) = ctx.saved_tensors
        return grad_out * keep, None


class Threshold(Function):
    @staticmethod
    def forward(ctx, x, threshold, value):
        above = x > threshold
        ctx.save_for_backward(above)
        return ctx.xp.where(above, x, value).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        (above,) = ctx.saved_tensors
        return grad_out * above, None, None


class Glu(Function):
    """``a * sigmoid(b)``, ``a`` and ``b`` the two halves of ``x`` along ``dim``."""

    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.xp
        a, b = xp.split(x, 2, axis=dim)
        s = _sigmoid(xp, b)
        ctx.save_for_backward(a, s)
        ctx.dim = dim
        return a * s

    @staticmethod
    def backward(ctx, grad_out):
        a, s = ctx.saved_tensors
        # d/da = s, d/db = a s (1 - s)
        return ctx.xp.concatenate([grad_out * s, grad_out * a * s * (1 - s)], axis=ctx.dim), None


class RreluWithNoise(Function):
    """``x`` where positive, ``slope * x`` elsewhere; ``slope`` an array (training: drawn per element) or a
    number (evaluation: the mean of the bounds)."""

    @staticmethod
    def forward(ctx, x, slope):
        xp = ctx.xp
        positive = x > 0
        factor = xp.where(positive, 1, slope).astype(x.dtype, copy=False)
        ctx.save_for_backward(factor)
        return x * factor

    @staticmethod
    def backward(ctx, grad_out):
        (factor,) = ctx.saved_tensors
        return grad_out * factor, None


# ----- public functions -----
def selu(input: Any, inplace: bool = False) -> Any:
    """``scale * elu(input, alpha)``, ``alpha`` ≈ 1.6733 and ``scale`` ≈ 1.0507 (self-normalising)."""
    return _run(Selu, input, inplace)


def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Any:
    """``max(0, x) + min(0, alpha (exp(x / alpha) - 1))``."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _run(Celu, input, inplace, alpha)


def hardsigmoid(input: Any, inplace: bool = False) -> Any:
    """``relu6(x + 3) / 6``: 0 up to -3, 1 from 3 on, linear between."""
    return _run(Hardsigmoid, input, inplace)


def logsigmoid(input: Any) -> Any:
    """``log(sigmoid(x))``, stable for any finite input."""
    return LogSigmoid.apply(_float(input))


def softsign(input: Any) -> Any:
    """``x / (1 + |x|)``."""
    return input / (input.abs() + 1)


def tanhshrink(input: Any) -> Any:
    """``x - tanh(x)``."""
    return input - input.tanh()


def _check_lambd(lambd: float) -> None:
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")


def softshrink(input: Any, lambd: float = 0.5) -> Any:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between."""
    _check_lambd(lambd)
    return Softshrink.apply(_float(input), lambd)


def hardshrink(input: Any, lambd: float = 0.5) -> Any:
    """``x`` where ``|x| > lambd``, 0 elsewhere."""
    _check_lambd(lambd)
    return Hardshrink.apply(_float(input), lambd)


def threshold(input: Any, threshold: float, value: float, inplace: bool = False) -> Any:
    """``x`` where ``x > threshold``, ``value`` elsewhere."""
    return _run(Threshold, input, inplace, threshold, value)


def glu(input: Any, dim: int = -1) -> Any:
    """``a * sigmoid(b)``, ``a`` and ``b`` the first and second half of ``input`` along ``dim`` (which must
    be even); the output is half as long along ``dim``."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    axis = _activation.softmax_dim(input.ndim, dim)
    size = input.shape[axis]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {axis} is size {size}")
    return Glu.apply(_float(input), axis)


def rrelu(
    input: Any, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace: bool = False
) -> Any:
    """Leaky ReLU whose negative slope is drawn uniformly from ``[lower, upper]`` for each element in
    training (nnrun's generator), and is ``(lower + upper) / 2`` in evaluation."""
    _float(input)
    if training:
        rng = _random.default_generator.array_generator(input.device)
        data = input._data
        slope = lower + (upper - lower) * rng.random(
            data.shape, dtype=data.dtype if data.dtype.itemsize >= 4 else "float32"
        )
    else:
        slope = (lower + upper) / 2
    return _run(RreluWithNoise, input, inplace, slope)


def softmin(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Any:
    """``softmax(-input)`` along ``dim`` (after casting to ``dtype``)."""
    dim = _activation._implicit_dim("softmin", dim, input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    return _activation.softmax(-input, dim)


def gumbel_softmax(logits: Any, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Any:
    """``softmax((logits + g) / tau)`` along ``dim``, ``g`` Gumbel(0, 1) noise from nnrun's generator;
    ``hard``: the one-hot of its argmax forward, with the soft sample's gradient (straight-through)."""
    _float(logits)
    rng = _random.default_generator.array_generator(logits.device)
    data = logits._data
    uniform = rng.random(data.shape, dtype=data.dtype if data.dtype.itemsize >= 4 else "float32")
    xp = _backend.array_module(data)
    gumbels = Tensor._make(
        -xp.log(-xp.log1p(-uniform)).astype(data.dtype, copy=False)
    )  # -log(Exponential(1))
    y_soft = _activation.softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    axis = _activation.softmax_dim(logits.ndim, dim)
    soft = y_soft._data
    one_hot = (soft == soft.max(axis=axis, keepdims=True)).astype(soft.dtype)
    first = xp.cumsum(one_hot, axis=axis) == 1  # only the first maximum, as argmax
    y_hard = Tensor._make(one_hot * first)
    return y_hard - y_soft.detach() + y_soft


# ----- in-place forms (``F.relu_``, ``F.selu_``, …): the function written into ``input``
def relu_(input: Any) -> Any:
    """``relu`` written into ``input``."""
    return input.relu_()


def elu_(input: Any, alpha: float = 1.0) -> Any:
    """``elu`` written into ``input``."""
    return _activation.elu(input, alpha, inplace=True)


def leaky_relu_(input: Any, negative_slope: float = 0.01) -> Any:
    """``leaky_relu`` written into ``input``."""
    return _activation.leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input: Any, min_val: float = -1.0, max_val: float = 1.0) -> Any:
    """``hardtanh`` written into ``input``."""
    return _activation.hardtanh(input, min_val, max_val, inplace=True)


def celu_(input: Any, alpha: float = 1.0) -> Any:
    """``celu`` written into ``input``."""
    return celu(input, alpha, inplace=True)


def selu_(input: Any) -> Any:
    """``selu`` written into ``input``."""
    return selu(input, inplace=True)


def threshold_(input: Any, threshold: float, value: float) -> Any:
    """``threshold`` written into ``input``."""
    return _run(Threshold, input, True, threshold, value)


def rrelu_(input: Any, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Any:
    """``rrelu`` written into ``input``."""
    return rrelu(input, lower, upper, training, inplace=True)
