"""The element-wise math of ``ops/elementwise.py`` and ``ops/binary_math.py`` against torch: forward and
backward (float32 and float64), dtypes of integer inputs, special values, in-place forms and bad arguments."""

import numpy as np
import pytest

import nnrun

torch = pytest.importorskip("torch")
from test_torch_parity import check  # noqa: E402  (after the skip: it needs torch)


def randn(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def uniform(low, high, *shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)


UNARY = {
    "floor_ceil_trunc_frac": (
        lambda lib, a: (a.floor(), lib.ceil(a), a.trunc(), lib.fix(a), a.frac() * a),
        randn(3, 4) * 3,
    ),
    "round": (
        lambda lib, a: (a.round(), lib.round(a, decimals=2), a.round(decimals=-1) * a),
        randn(3, 4) * 30,
    ),
    "sign_sgn": (lambda lib, a: (a.sign() * a, lib.sgn(a), a.signbit()), randn(5)),
    "exp_log_variants": (
        lambda lib, a: (a.expm1(), lib.exp2(a), a.abs().log2(), lib.log10(a.abs())),
        randn(3, 4),
    ),
    "trig": (lambda lib, a: (a.tan(), lib.atan(a), a.arctan() * 2), randn(3, 4)),
    "inverse_trig": (lambda lib, a: (a.asin(), lib.acos(a), lib.arcsin(a)), uniform(-0.95, 0.95, 6)),
    "hyperbolic": (
        lambda lib, a: (a.sinh(), lib.cosh(a), a.asinh(), (a.abs() + 1.1).acosh(), (a * 0.3).tanh().atanh()),
        randn(3, 4),
    ),
    "erf_family": (lambda lib, a: (a.erf(), lib.erfc(a), (a * 0.3).tanh().erfinv()), randn(4, 5)),
    "reciprocal_square": (lambda lib, a: (a.reciprocal(), lib.square(a)), uniform(0.5, 2, 5)),
    "logit": (lambda lib, a: (a.logit(), lib.logit(a, eps=0.25), a.logit(0.1)), uniform(0.02, 0.98, 8)),
    "nan_to_num": (
        lambda lib, a: (
            (a.log2() * a).nan_to_num(),
            lib.nan_to_num(a.log10(), nan=1.0, posinf=2.0, neginf=-3.0),
        ),
        np.array([-1.0, 0.25, 0.5, 2.0], dtype=np.float32),
    ),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_parity(name, dtype):
    fn, array = UNARY[name]
    tolerance = 1e-10 if dtype == np.float64 else 1e-5
    check(fn, array.astype(dtype), rtol=tolerance, atol=tolerance)


BINARY = {
    "atan2": (lambda lib, a, b: (lib.atan2(a, b), a.arctan2(b), lib.arctan2(b, a)), (3, 4), (4,)),
    "hypot": (lambda lib, a, b: (a.hypot(b), lib.hypot(b, a)), (3, 4), (3, 1)),
    "fmod_remainder": (
        lambda lib, a, b: (lib.fmod(a, b), a.fmod(0.7), lib.remainder(a, b), a % b, a.remainder(-1.5)),
        (3, 4),
        (4,),
    ),
    "logaddexp_xlogy": (
        lambda lib, a, b: (lib.logaddexp(a, b * 10), lib.xlogy(a, b.abs()), a.xlogy(2.0)),
        (2, 3),
        (2, 3),
    ),
    "fmax_fmin": (lambda lib, a, b: (lib.fmax(a, b), a.fmin(b)), (3, 4), (3, 4)),
    "lerp": (
        lambda lib, a, b: (lib.lerp(a, b, 0.3), a.lerp(b, 0.8), a.lerp(b, b.sigmoid())),
        (3, 4),
        (4,),
    ),
    "addcmul_addcdiv": (
        lambda lib, a, b: (
            lib.addcmul(a, a, b, value=0.5),
            a.addcmul(b, b),
            lib.addcdiv(a, b, a.abs() + 0.5, value=-2.0),
        ),
        (3, 4),
        (4,),
    ),
    "clamp_min_max": (
        lambda lib, a, b: (lib.clamp_min(a, -0.2), a.clamp_max(0.3), lib.clamp_min(b, 0.1)),
        (3, 4),
        (4,),
    ),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_parity(name, dtype):
    fn, a_shape, b_shape = BINARY[name]
    tolerance = 1e-10 if dtype == np.float64 else 1e-5
    check(
        fn, randn(*a_shape, dtype=dtype), randn(*b_shape, seed=1, dtype=dtype), rtol=tolerance, atol=tolerance
    )


INPLACE = [
    lambda y, a, b: y.abs_(),
    lambda y, a, b: y.abs_().add_(0.1).sqrt_(),
    lambda y, a, b: y.abs_().add_(0.1).log_(),
    lambda y, a, b: y.exp_(),
    lambda y, a, b: y.sigmoid_(),
    lambda y, a, b: y.tanh_(),
    lambda y, a, b: y.sin_().mul_(2).cos_(),
    lambda y, a, b: y.square_(),
    lambda y, a, b: y.abs_().add_(0.5).reciprocal_(),
    lambda y, a, b: y.mul_(3).round_().floor_().ceil_().trunc_(),
    lambda y, a, b: y.clamp_min_(-0.3).clamp_max_(0.4).erf_(),
    lambda y, a, b: y.atan_(),
    lambda y, a, b: y.sinh_(),
    lambda y, a, b: y.expm1_(),
    lambda y, a, b: y.lerp_(b, 0.25).addcmul_(a, b, value=0.5).addcdiv_(b, a.abs() + 1.0, value=-1.5),
    lambda y, a, b: y.atan2_(a).fmod_(0.3),
    lambda y, a, b: y.xlogy_(a.abs() + 0.5),
    lambda y, a, b: y.hypot_(a),
]


@pytest.mark.parametrize("index", range(len(INPLACE)))
def test_inplace_parity(index):
    check(lambda lib, a, b: INPLACE[index](a * 1.0, a, b) * a, randn(3, 4), randn(3, 4, seed=1))


def test_inplace_returns_self_and_bumps_version():
    x = nnrun.tensor([0.5, -1.5, 2.5])
    assert x.floor_() is x and x.tolist() == [0.0, -2.0, 2.0]
    assert x.sign_().tolist() == [0.0, -1.0, 1.0]


def _same(got, want):
    got_array = got.numpy() if hasattr(got, "numpy") else np.asarray(got)
    want_array = want.numpy()
    assert str(got.dtype).replace("nnrun.", "") == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(got_array, want_array, rtol=1e-6, atol=1e-7, equal_nan=True)


INT_VALUES = [[-3, -1, 0, 2, 7]]


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, t: lib.floor(t),
        lambda lib, t: t.round(),
        lambda lib, t: t.sign(),
        lambda lib, t: lib.signbit(t),
        lambda lib, t: t.square(),
        lambda lib, t: t.reciprocal(),
        lambda lib, t: lib.exp2(t),
        lambda lib, t: t.erf(),
        lambda lib, t: t.tan(),
        lambda lib, t: lib.atan2(t, t + 10),
        lambda lib, t: lib.fmod(t, 3),
        lambda lib, t: lib.remainder(t, -3),
        lambda lib, t: lib.fmax(t, t.flip(0)),
        lambda lib, t: lib.xlogy(t, 2),
        lambda lib, t: lib.heaviside(t, lib.tensor([5])),
        lambda lib, t: lib.addcmul(t, t, t, value=2),
        lambda lib, t: t.nan_to_num(),
        lambda lib, t: lib.sign(t > 0),
    ],
)
def test_integer_inputs_dtype_and_values(fn):
    _same(fn(nnrun, nnrun.tensor(INT_VALUES)), fn(torch, torch.tensor(INT_VALUES)))


def test_special_values():
    values = [float("nan"), float("inf"), -float("inf"), -0.0, 0.0, 1.0, -1.0, 2.5, -2.5, 0.5]
    for name in [
        "floor",
        "ceil",
        "round",
        "trunc",
        "sign",
        "signbit",
        "expm1",
        "erf",
        "erfc",
        "erfinv",
        "atanh",
    ]:
        got = getattr(nnrun, name)(nnrun.tensor(values))
        want = getattr(torch, name)(torch.tensor(values))
        _same(got, want)
    a = [float("nan"), 1.0, float("nan"), 0.0]
    b = [2.0, float("nan"), float("nan"), -0.0]
    for name in ["fmax", "fmin", "atan2", "xlogy", "hypot", "logaddexp"]:
        _same(
            getattr(nnrun, name)(nnrun.tensor(a), nnrun.tensor(b)),
            getattr(torch, name)(torch.tensor(a), torch.tensor(b)),
        )
    big = [1e38, -1e38, float("inf"), -float("inf")]
    _same(nnrun.tensor(big).nan_to_num(), torch.tensor(big).nan_to_num())
    _same(
        nnrun.heaviside(nnrun.tensor(a), nnrun.tensor(0.5)),
        torch.heaviside(torch.tensor(a), torch.tensor(0.5)),
    )


def test_erfinv_accuracy_float64():
    x = np.linspace(-0.999999, 0.999999, 2001)
    got = nnrun.tensor(x).erfinv().numpy()
    np.testing.assert_allclose(got, torch.tensor(x).erfinv().numpy(), rtol=1e-12, atol=1e-14)


def test_rounding_gradient_is_zero_and_recorded():
    for lib in (nnrun, torch):
        x = lib.tensor([0.3, 1.7, -2.2], requires_grad=True)
        y = x.floor() + x.round(decimals=1) + x.sign() + x.ceil() + x.trunc()
        assert y.requires_grad
        y.sum().backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda lib: lib.tensor([1, 2]).frac(), NotImplementedError),
        (lambda lib: lib.tensor([1, 2]).round(decimals=1), NotImplementedError),
        (lambda lib: lib.hypot(lib.tensor([1, 2]), lib.tensor([1, 2])), NotImplementedError),
        (lambda lib: lib.logaddexp(lib.tensor([1, 2]), lib.tensor([1, 2])), NotImplementedError),
        (lambda lib: lib.lerp(lib.tensor([1, 2]), lib.tensor([1, 2]), 0.5), NotImplementedError),
        (lambda lib: lib.fmod(lib.tensor([1, 2]), 0), RuntimeError),
        (lambda lib: lib.remainder(lib.tensor([1, 2]), lib.tensor([1, 0])), RuntimeError),
        (lambda lib: lib.tensor([3, 4]) % 0, RuntimeError),
        (lambda lib: lib.addcdiv(lib.tensor([1, 2]), lib.tensor([1, 2]), lib.tensor([1, 2])), RuntimeError),
        (lambda lib: lib.heaviside(lib.tensor([1, 2]), lib.tensor([0.5])), RuntimeError),
        (lambda lib: lib.atan2(lib.ones(2, 3), lib.ones(4)), RuntimeError),
        (lambda lib: lib.tensor([1, 2]).exp_(), RuntimeError),
        (lambda lib: lib.ones(2, requires_grad=True).floor_(), RuntimeError),
    ],
)
def test_errors_match_torch(call, error):
    with pytest.raises(error) as torch_error:
        call(torch)
    with pytest.raises(error) as nnrun_error:
        call(nnrun)
    words = str(torch_error.value).split()[:3]
    assert str(nnrun_error.value).split()[:3] == words


def test_float_remainder_by_zero_is_nan():
    _same(nnrun.remainder(nnrun.tensor([1.0, -2.0]), 0.0), torch.remainder(torch.tensor([1.0, -2.0]), 0.0))
    _same(nnrun.fmod(nnrun.tensor([1.0, -2.0]), 0.0), torch.fmod(torch.tensor([1.0, -2.0]), 0.0))


def test_node_names_match_torch():
    def names(lib):
        x = lib.tensor([[1.0, 5.0, 3.0], [2.0, 0.5, 4.0]], requires_grad=True)
        results = [
            x.median(),
            x.median(1).values,
            x.nanmedian(1, keepdim=True).values,
            x.mode(1).values,
            x.kthvalue(1).values,
            x.cummax(1).values,
            x.cummin(0).values,
            x.cumprod(0),
            x.logcumsumexp(0),
            x.erfinv(),
            x.atan2(x),
            x.fmod(x),
            x.fmod(2.0),
            x.remainder(x),
            x.remainder(2.0),
            x.logit(),
            x.nan_to_num(),
            x.frac(),
            x.round(),
            x.round(decimals=1),
            x.fmax(x),
            x.logaddexp(x),
            x.hypot(x),
            x.exp2(),
            x.expm1(),
            x.floor(),
            x.sign(),
            x.reciprocal(),
            x.asinh(),
        ]
        return [r.grad_fn.name() for r in results]

    assert names(nnrun) == names(torch)


def test_lerp_addcmul_addcdiv_node_names_and_promotion():
    for lib in (nnrun, torch):
        a = lib.ones(2, requires_grad=True)
        assert a.lerp(a * 2, 0.5).grad_fn.name() == "LerpBackward0"
        assert a.lerp(a * 2, a).grad_fn.name() == "LerpBackward1"
        assert lib.addcmul(a, a, a).grad_fn.name() == "AddcmulBackward0"
        assert lib.addcdiv(a, a, a).grad_fn.name() == "AddcdivBackward0"
    got = nnrun.addcmul(nnrun.ones(2), nnrun.ones(2, dtype=nnrun.float64), nnrun.ones(2, dtype=nnrun.int64))
    want = torch.addcmul(torch.ones(2), torch.ones(2, dtype=torch.float64), torch.ones(2, dtype=torch.int64))
    _same(got, want)
    _same(nnrun.lerp(nnrun.zeros(3), nnrun.ones(3), 1.0), torch.lerp(torch.zeros(3), torch.ones(3), 1.0))
