"""More element-wise math of one tensor: rounding, signs, exp/log variants, hyperbolic and inverse
trigonometric functions, the error function family, ``logit``, ``nan_to_num``, ``reciprocal``, ``frac``.

Rounding and sign functions have a zero gradient everywhere (torch's convention), so they record a node but
send zeros back. Float-valued functions of an integer tensor compute in the default float dtype.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from nnrun import _backend
from nnrun._tensor import Tensor, array_of, scalar_type_name
from nnrun.autograd.function import Function
from nnrun.ops import _special, arithmetic
from nnrun.ops._broadcast import to_float

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2


def quiet(function: type[Function]) -> type[Function]:
    """Run ``function``'s forward and backward without NumPy's floating-point warnings: as in torch, a value
    outside the domain gives NaN or inf silently (log2(-1), atanh(1), x / 0)."""
    for name in ("forward", "backward"):
        if name in vars(function):
            setattr(function, name, staticmethod(_silenced(vars(function)[name].__func__)))
    return function


def _silenced(method: Any) -> Any:
    @functools.wraps(method)
    def run(*args: Any) -> Any:
        with np.errstate(all="ignore"):
            return method(*args)

    return run


class _Flat(Function):
    """A step function (floor, ceil, round, trunc, sign): its gradient is zero wherever it exists."""

    @staticmethod
    def backward(ctx, grad_out):
        return ctx.xp.zeros_like(grad_out)


@quiet
class Floor(_Flat):
    @staticmethod
    def forward(ctx, x):
        return x.copy() if x.dtype.kind in "iub" else ctx.xp.floor(x)


@quiet
class Ceil(_Flat):
    @staticmethod
    def forward(ctx, x):
        return x.copy() if x.dtype.kind in "iub" else ctx.xp.ceil(x)


@quiet
class Trunc(_Flat):
    @staticmethod
    def forward(ctx, x):
        return x.copy() if x.dtype.kind in "iub" else ctx.xp.trunc(x)


@quiet
class Round(_Flat):
    """Round half to even; with ``decimals``, to that many decimal places (negative: tens, hundreds)."""

    @staticmethod
    def forward(ctx, x, decimals):
        xp = ctx.xp
        ctx.decimals = decimals
        if x.dtype.kind in "iub":
            return x.copy()
        if decimals == 0:
            return xp.rint(x)
        scale = x.dtype.type(10.0 ** abs(decimals))
        return xp.rint(x * scale) / scale if decimals > 0 else xp.rint(x / scale) * scale

    @staticmethod
    def backward(ctx, grad_out):
        return ctx.xp.zeros_like(grad_out), None

    def name(self) -> str:
        return "RoundBackward1" if self.decimals else "RoundBackward0"  # torch's round(decimals=) overload


@quiet
class Sign(_Flat):
    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "b":
            return x.copy()
        y = ctx.xp.sign(x)
        return ctx.xp.where(y != y, 0, y).astype(y.dtype, copy=False) if x.dtype.kind == "f" else y  # NaN: 0


@quiet
class Frac(Function):
    @staticmethod
    def forward(ctx, x):
        return x - ctx.xp.trunc(x)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out  # d/dx (x - trunc(x)) = 1 almost everywhere


@quiet
class Reciprocal(Function):
    @staticmethod
    def forward(ctx, x):
        y = 1 / to_float(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return -grad_out * y * y  # d/dx 1/x = -1/x^2


@quiet
class Expm1(Function):
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.expm1(to_float(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * (y + 1)  # d/dx (e^x - 1) = e^x


@quiet
class Exp2(Function):
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.exp2(to_float(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * (y * _LN2)  # d/dx 2^x = 2^x ln 2


@quiet
class Log2(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return ctx.xp.log2(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / (x * _LN2)


@quiet
class Log10(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return ctx.xp.log10(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / (x * _LN10)


@quiet
class Tan(Function):
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.tan(to_float(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * (1 + y * y)  # d/dx tan(x) = 1 + tan(x)^2


@quiet
class Asin(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return ctx.xp.arcsin(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / ctx.xp.sqrt(1 - x * x)


@quiet
class Acos(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return ctx.xp.arccos(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return -grad_out / ctx.xp.sqrt(1 - x * x)


@quiet
class Atan(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return ctx.xp.arctan(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / (1 + x * x)


@quiet
class Sinh(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return ctx.xp.sinh(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * ctx.xp.cosh(x)


@quiet
class Cosh(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return ctx.xp.cosh(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * ctx.xp.sinh(x)


@quiet
class Asinh(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return ctx.xp.arcsinh(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / ctx.xp.sqrt(x * x + 1)


@quiet
class Acosh(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return ctx.xp.arccosh(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / ctx.xp.sqrt(x * x - 1)


@quiet
class Atanh(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return ctx.xp.arctanh(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / (1 - x * x)


@quiet
class Erf(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return _special.erf(ctx.xp, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * (_TWO_OVER_SQRT_PI * ctx.xp.exp(-x * x))


@quiet
class Erfc(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        ctx.save_for_backward(x)
        return _special.erfc(ctx.xp, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * (-_TWO_OVER_SQRT_PI * ctx.xp.exp(-x * x))


@quiet
class Erfinv(Function):
    @staticmethod
    def forward(ctx, x):
        x = to_float(x)
        y = erfinv_array(ctx.xp, x).astype(x.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * (_SQRT_PI_OVER_TWO * ctx.xp.exp(y * y))  # 1 / erf'(y)


def erfinv_array(xp: Any, x: Any) -> Any:
    """Inverse error function in float64: M. Giles' single-precision approximation ("Approximating the erfinv
    function", GPU Computing Gems, 2011) refined by two Newton steps on ``erf(y) = x``; ±1 give ±inf and
    values outside [-1, 1] and NaN give NaN."""
    x = x.astype("float64", copy=False)
    inside = xp.abs(x) < 1
    z = xp.where(inside, x, 0.0)
    w = -xp.log((1 - z) * (1 + z))
    central = w < 5
    wc = w - 2.5
    pc = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):  # fmt: skip
        pc = pc * wc + c
    wt = xp.sqrt(xp.maximum(w, 5.0)) - 3
    pt = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):  # fmt: skip
        pt = pt * wt + c
    y = xp.where(central, pc, pt) * z
    for _ in range(2):  # Newton: y -= (erf(y) - x) / erf'(y)
        y = y - (_special.erf(xp, y) - z) / (_TWO_OVER_SQRT_PI * xp.exp(-y * y))
    y = xp.where(inside, y, xp.copysign(xp.inf, x))
    return xp.where(xp.abs(x) <= 1, y, xp.nan)  # NaN beyond [-1, 1] and for NaN


@quiet
class Logit(Function):
    @staticmethod
    def forward(ctx, x, eps):
        xp = ctx.xp
        x = to_float(x)
        ctx.eps = eps
        ctx.save_for_backward(x)
        z = x if eps is None else xp.clip(x, eps, 1 - eps)
        return xp.log(z / (1 - z))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        xp, eps = ctx.xp, ctx.eps
        grad = grad_out / (x * (1 - x))  # d/dx log(x / (1-x)) = 1 / (x (1-x))
        if eps is None:
            return grad, None
        return xp.where((x < eps) | (x > 1 - eps), 0, grad), None  # clamped: flat outside [eps, 1-eps]


@quiet
class NanToNum(Function):
    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        xp = ctx.xp
        ctx.save_for_backward(x)
        if x.dtype.kind != "f":
            return x.copy()
        info = np.finfo(x.dtype)
        posinf = info.max if posinf is None else posinf
        neginf = info.min if neginf is None else neginf
        y = xp.where(xp.isnan(x), x.dtype.type(nan), x)
        return xp.where(y == np.inf, x.dtype.type(posinf), xp.where(y == -np.inf, x.dtype.type(neginf), y))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * ctx.xp.isfinite(x), None, None, None  # replaced values are constants


# ----- public functions (also bound as Tensor methods) -----
def floor(input: Any) -> Any:
    return Floor.apply(input)


def ceil(input: Any) -> Any:
    return Ceil.apply(input)


def trunc(input: Any) -> Any:
    return Trunc.apply(input)


def round(input: Any, *, decimals: int = 0) -> Any:
    """Round half to even (as torch and NumPy); ``decimals`` places after the point (negative: before)."""
    if decimals != 0:
        require_float("round_cpu", input)
    return Round.apply(input, int(decimals))


def sign(input: Any) -> Any:
    """-1, 0 or 1 by the sign of each element (0 for NaN is NaN); bool stays bool."""
    return Sign.apply(input)


def sgn(input: Any) -> Any:
    """``sign`` for real tensors (torch's ``sgn`` extends it to complex, which nnrun does not have)."""
    return Sign.apply(input)


def signbit(input: Any) -> Tensor:
    """True where the sign bit is set (-0.0 and negative numbers); not differentiable."""
    data = array_of(input)
    return Tensor._make(_backend.array_module(data).signbit(data))


def frac(input: Any) -> Any:
    """``input - trunc(input)``: the fractional part, with the sign of the input."""
    require_float("frac_cpu", input)
    return Frac.apply(input)


def reciprocal(input: Any) -> Any:
    return Reciprocal.apply(input)


def square(input: Any) -> Any:
    return arithmetic.pow(input, 2)


def expm1(input: Any) -> Any:
    return Expm1.apply(input)


def exp2(input: Any) -> Any:
    return Exp2.apply(input)


def log2(input: Any) -> Any:
    return Log2.apply(input)


def log10(input: Any) -> Any:
    return Log10.apply(input)


def tan(input: Any) -> Any:
    return Tan.apply(input)


def asin(input: Any) -> Any:
    return Asin.apply(input)


def acos(input: Any) -> Any:
    return Acos.apply(input)


def atan(input: Any) -> Any:
    return Atan.apply(input)


def sinh(input: Any) -> Any:
    return Sinh.apply(input)


def cosh(input: Any) -> Any:
    return Cosh.apply(input)


def asinh(input: Any) -> Any:
    return Asinh.apply(input)


def acosh(input: Any) -> Any:
    return Acosh.apply(input)


def atanh(input: Any) -> Any:
    return Atanh.apply(input)


def erf(input: Any) -> Any:
    return Erf.apply(input)


def erfc(input: Any) -> Any:
    return Erfc.apply(input)


def erfinv(input: Any) -> Any:
    """The inverse of ``erf`` on (-1, 1); ±inf at ±1, NaN beyond."""
    return Erfinv.apply(input)


def logit(input: Any, eps: float | None = None) -> Any:
    """``log(p / (1 - p))``; with ``eps``, ``p`` is first clamped to ``[eps, 1 - eps]``."""
    return Logit.apply(input, None if eps is None else float(eps))


def nan_to_num(input: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Any:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default the dtype's largest
    and smallest finite values)."""
    return NanToNum.apply(input, nan, posinf, neginf)


def require_float(kernel: str, *inputs: Any) -> None:
    """Raise torch's NotImplementedError when a float-only kernel meets an integer or bool tensor."""
    for value in inputs:
        data = array_of(value)
        if hasattr(data, "dtype") and data.dtype.kind != "f":
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{scalar_type_name(data.dtype)}'")
