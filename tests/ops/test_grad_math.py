"""Float64 finite-difference gradient checks for the element-wise math of ``ops/elementwise.py`` and
``ops/binary_math.py`` (rounding functions: their gradient is zero), and for the scans and statistics."""

import pytest
from grad_inputs import uniform

import nnrun
from nnrun.autograd import gradcheck

SIGNED = (-2.0, 2.0)
POSITIVE = (0.2, 2.0)
UNIT = (-0.9, 0.9)
UNARY = [
    ("expm1", lambda x: x.expm1(), SIGNED),
    ("exp2", lambda x: nnrun.exp2(x), SIGNED),
    ("log2", lambda x: x.log2(), POSITIVE),
    ("log10", lambda x: nnrun.log10(x), POSITIVE),
    ("tan", lambda x: x.tan(), (-1.2, 1.2)),
    ("asin", lambda x: x.asin(), UNIT),
    ("arccos", lambda x: nnrun.arccos(x), UNIT),
    ("atan", lambda x: x.arctan(), SIGNED),
    ("sinh", lambda x: x.sinh(), SIGNED),
    ("cosh", lambda x: nnrun.cosh(x), SIGNED),
    ("asinh", lambda x: x.asinh(), SIGNED),
    ("acosh", lambda x: x.acosh(), (1.2, 3.0)),
    ("atanh", lambda x: nnrun.atanh(x), UNIT),
    ("erf", lambda x: x.erf(), SIGNED),
    ("erfc", lambda x: nnrun.erfc(x), SIGNED),
    ("erfinv", lambda x: x.erfinv(), UNIT),
    ("reciprocal", lambda x: x.reciprocal(), POSITIVE),
    ("square", lambda x: nnrun.square(x), SIGNED),
    ("frac", lambda x: (x * 0.3).frac(), SIGNED),
    ("logit", lambda x: x.logit(), (0.1, 0.9)),
    ("logit_eps", lambda x: nnrun.logit(x, eps=0.2), (0.03, 0.97)),
    ("nan_to_num", lambda x: x.nan_to_num(), SIGNED),
    ("floor_flat", lambda x: x.floor() * x, SIGNED),
    ("round_decimals_flat", lambda x: x.round(decimals=1) + x, SIGNED),
    ("sign_flat", lambda x: x.sign() * x, SIGNED),
    ("clamp_min", lambda x: x.clamp_min(0.0) + nnrun.clamp_max(x, 0.5), SIGNED),
]
BINARY = [
    ("atan2", lambda a, b: nnrun.atan2(a, b), SIGNED),
    ("hypot", lambda a, b: a.hypot(b), SIGNED),
    ("fmod", lambda a, b: nnrun.fmod(a, b.abs() + 2.1), SIGNED),
    ("remainder", lambda a, b: a.remainder(b.abs() + 2.1) + a % 0.7, SIGNED),
    ("logaddexp", lambda a, b: a.logaddexp(b), SIGNED),
    ("xlogy", lambda a, b: nnrun.xlogy(a, b.abs() + 0.1), SIGNED),
    ("fmax", lambda a, b: a.fmax(b), SIGNED),
    ("fmin", lambda a, b: nnrun.fmin(a, b), SIGNED),
    ("lerp_scalar", lambda a, b: a.lerp(b, 0.3), SIGNED),
    ("lerp_tensor", lambda a, b: nnrun.lerp(a, b, b.sigmoid()), SIGNED),
    ("addcmul", lambda a, b: a.addcmul(b, a, value=0.5), SIGNED),
    ("addcdiv", lambda a, b: nnrun.addcdiv(a, a, b.abs() + 0.5, value=-2), SIGNED),
]


@pytest.mark.parametrize("shape", [(), (7,), (3, 4)], ids=str)
@pytest.mark.parametrize(("name", "fn", "values"), UNARY, ids=[row[0] for row in UNARY])
def test_unary(name, fn, values, shape):
    assert gradcheck(fn, (uniform(shape, *values),))


@pytest.mark.parametrize(("name", "fn", "values"), BINARY, ids=[row[0] for row in BINARY])
def test_binary_broadcast(name, fn, values):
    assert gradcheck(fn, (uniform((3, 4), *values), uniform((4,), *values)))
    assert gradcheck(fn, (uniform((2, 1), *values), uniform((1, 3), *values)))


INPLACE = [
    ("exp_", lambda y: y.exp_()),
    ("sqrt_", lambda y: y.abs_().add_(0.5).sqrt_()),
    ("log_", lambda y: (y * y + 1).log_()),
    ("sigmoid_tanh_", lambda y: y.sigmoid_().tanh_()),
    ("sin_cos_", lambda y: y.sin_().cos_()),
    ("square_reciprocal_", lambda y: y.square_().add_(1).reciprocal_()),
    ("erf_expm1_", lambda y: y.erf_().expm1_()),
    ("atan2_", lambda y: y.atan2_(y * 0.5 + 3)),
    ("clamp_min_max_", lambda y: y.clamp_min_(-0.5).clamp_max_(0.5)),
    ("floor_flat_", lambda y: y.floor_()),
]


@pytest.mark.parametrize(("name", "fn"), INPLACE, ids=[row[0] for row in INPLACE])
def test_inplace_on_non_leaf(name, fn):
    assert gradcheck(lambda x: fn(x * 1.3 + 0.01), (uniform((3, 4), -1.5, 1.5),))


def test_inplace_optimizer_style():
    """``addcmul_``, ``addcdiv_``, ``lerp_`` on a non-leaf: the gradient reaches every operand."""

    def fn(x, g):
        m = x * 1.0
        m.lerp_(g, 0.1)
        v = x * x
        v.addcmul_(g, g, value=0.01)
        return m.addcdiv_(g, v.sqrt() + 0.1, value=-0.5)

    assert gradcheck(fn, (uniform((3, 4), 0.5, 2.0), uniform((3, 4))))


def _distinct(*shape):
    """A float64 leaf with well-separated distinct values (no ties near a median or a sort boundary)."""
    count = 1
    for size in shape:
        count *= size
    return (
        ((nnrun.randperm(count).to(nnrun.float64) - count / 2) * 0.3 + 0.05).reshape(shape).requires_grad_()
    )


def _with_zeros():
    x = uniform((3, 5), 0.5, 1.5).detach()
    x[0, 1] = 0.0
    x[1, 2] = 0.0
    x[1, 4] = 0.0
    return x.requires_grad_()


REDUCE = [
    ("cumprod", lambda x: x.cumprod(1) + nnrun.cumprod(x, 0)),
    ("cummax_cummin", lambda x: x.cummax(1).values + nnrun.cummin(x, 0).values),
    ("logcumsumexp", lambda x: x.logcumsumexp(1) + nnrun.logcumsumexp(x * 3, 0)),
    ("diff", lambda x: x.diff(n=2, dim=1, prepend=x[:, :1] * 2)),
    ("median", lambda x: x.median() + x.median(1).values.sum() + nnrun.nanmedian(x, 0).values.sum()),
    ("mode_kthvalue", lambda x: x.round().mode(1).values * x.kthvalue(2, 1).values),
    (
        "quantile",
        lambda x: x.quantile(0.3) + nnrun.quantile(x, nnrun.tensor([0.2, 0.7], dtype=nnrun.float64), 1),
    ),
    ("nanquantile_midpoint", lambda x: x.nanquantile(0.45, dim=0, interpolation="midpoint")),
    ("nansum_nanmean", lambda x: x.nansum(1) * x.nanmean(0).sum()),
    (
        "var_mean_std_mean",
        lambda x: sum(nnrun.var_mean(x, 1)) + sum(nnrun.std_mean(x, 0, correction=0)).sum(),
    ),
    ("aminmax_dist", lambda x: sum(x.aminmax(dim=1)) * x.dist(x.flip(0), 3)),
    ("renorm", lambda x: x.renorm(2, 0, 1.0)),
]


@pytest.mark.parametrize(("name", "fn"), REDUCE, ids=[row[0] for row in REDUCE])
def test_scans_and_statistics(name, fn):
    assert gradcheck(fn, (_distinct(3, 5),))


def test_cumprod_with_zeros():
    assert gradcheck(lambda x: x.cumprod(1) * 2 + x.cumprod(0), (_with_zeros(),))
