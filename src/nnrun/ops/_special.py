"""The error function on arrays (NumPy has none): ``erf``, ``erfc`` and the normal CDF, to double precision.

W. J. Cody's rational Chebyshev approximations (Math. Comp. 23 (1969) 631-637, the CALERF coefficients),
evaluated for whole arrays: ``erf(x) = x R1(x²)`` for ``|x| <= 0.46875``; ``erfc(x) = exp(-x²) R2(x)`` on
``(0.46875, 4]`` and ``erfc(x) = exp(-x²)/x (1/sqrt(pi) + R3(1/x²)/x²)`` beyond. ``exp(-x²)`` is taken as
``exp(-s²) exp(-(x-s)(x+s))`` with ``s = x`` rounded down to a sixteenth, which keeps erfc's relative error
near machine precision far into the tail (where ``x²`` itself would round).
"""

from __future__ import annotations

import math
from typing import Any

_THRESHOLD = 0.46875
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_PI = 1 / math.sqrt(math.pi)

# erf on [0, 0.46875]: x (A0 + A1 z + ... ) / (B0 + B1 z + ...), z = x², highest degree first
_A = (
    1.85777706184603153e-1,
    3.16112374387056560e00,
    1.13864154151050156e02,
    3.77485237685302021e02,
    3.20937758913846947e03,
)
_B = (1.0, 2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
# erfc on (0.46875, 4]: exp(-x²) P(x) / Q(x)
_C = (
    2.15311535474403846e-8,
    5.64188496988670089e-1,
    8.88314979438837594e00,
    6.61191906371416295e01,
    2.98635138197400131e02,
    8.81952221241769090e02,
    1.71204761263407058e03,
    2.05107837782607147e03,
    1.23033935479799725e03,
)
_D = (
    1.0,
    1.57449261107098347e01,
    1.17693950891312499e02,
    5.37181101862009858e02,
    1.62138957456669019e03,
    3.29079923573345963e03,
    4.36261909014324716e03,
    3.43936767414372164e03,
    1.23033935480374942e03,
)
# erfc beyond 4: exp(-x²)/x (1/sqrt(pi) - w P(w)/Q(w)), w = 1/x²
_P = (
    1.63153871373020978e-2,
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
)
_Q = (
    1.0,
    2.56852019228982242e00,
    1.87295284992346047e00,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
)


def _poly(coefficients: tuple[float, ...], z: Any) -> Any:
    """Horner's rule, highest degree first."""
    result = coefficients[0] + 0 * z
    for c in coefficients[1:]:
        result = result * z + c
    return result


def _erf_small(xp: Any, x: Any) -> Any:
    z = x * x
    return x * _poly(_A, z) / _poly(_B, z)


def _erfc_large(xp: Any, y: Any) -> Any:
    """erfc(y) for y > 0.46875 (float64 in, float64 out)."""
    y = xp.minimum(y, 40.0)  # erfc(40) underflows to 0 anyway; keeps inf out of the arithmetic
    s = xp.floor(y * 16) / 16
    gauss = xp.exp(-s * s) * xp.exp(-(y - s) * (y + s))
    middle = y <= 4
    with_safe_y = xp.where(middle, 5.0, y)
    w = 1 / (with_safe_y * with_safe_y)
    tail = (_INV_SQRT_PI - w * _poly(_P, w) / _poly(_Q, w)) / with_safe_y
    near = _poly(_C, y) / _poly(_D, y)
    return gauss * xp.where(middle, near, tail)


def erfc(xp: Any, x: Any) -> Any:
    """Complementary error function ``1 - erf(x)``, computed in float64, relative error ~1e-16."""
    x = x.astype("float64", copy=False)
    y = xp.abs(x)
    small = y <= _THRESHOLD
    tail = _erfc_large(xp, xp.where(small, 1.0, y))
    tail = xp.where(x < 0, 2 - tail, tail)
    return xp.where(small, 1 - _erf_small(xp, xp.where(small, x, 0.0)), tail)


def erf(xp: Any, x: Any) -> Any:
    """Error function ``2/sqrt(pi) ∫_0^x exp(-t²) dt``, computed in float64."""
    x = x.astype("float64", copy=False)
    y = xp.abs(x)
    small = y <= _THRESHOLD
    large = xp.copysign(1 - _erfc_large(xp, xp.where(small, 1.0, y)), x)
    return xp.where(small, _erf_small(xp, xp.where(small, x, 0.0)), large)


def normal_cdf(xp: Any, x: Any) -> Any:
    """``Phi(x) = erfc(-x/sqrt(2)) / 2`` in float64, accurate relative to its value in both tails."""
    return 0.5 * erfc(xp, -_SQRT_HALF * x.astype("float64", copy=False))
