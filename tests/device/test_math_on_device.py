"""The element-wise math, scans, statistics and random fills run by nnrun on ``cuda`` (the CuPy stand-in)
and on the CPU: equal values and gradients, and nothing read back from the device."""

import numpy as np
import pytest

import nnrun


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def distinct(*shape, seed=0):
    count = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(count).astype(np.float32) * 0.37 - count * 0.1).reshape(
        shape
    )


CASES = {
    "rounding_signs": (
        lambda lib, a: (
            a.floor() * a,
            a.ceil(),
            a.round(decimals=1),
            a.trunc(),
            a.frac(),
            a.sign(),
            a.signbit(),
        ),
        (randn(3, 4) * 3,),
    ),
    "exp_log_trig": (
        lambda lib, a: (
            a.expm1(),
            a.exp2(),
            a.abs().log2(),
            a.abs().log10(),
            a.tan(),
            a.atan(),
            a.sinh(),
            a.cosh(),
            a.asinh(),
            (a.abs() + 1.1).acosh(),
            (a * 0.3).tanh().atanh(),
            (a * 0.3).tanh().asin(),
            (a * 0.3).tanh().acos(),
        ),
        (randn(3, 4),),
    ),
    "erf_logit_misc": (
        lambda lib, a: (
            a.erf(),
            a.erfc(),
            (a * 0.3).tanh().erfinv(),
            a.sigmoid().logit(eps=0.1),
            a.reciprocal(),
            a.square(),
            a.log2().nan_to_num(),
        ),
        (randn(3, 4),),
    ),
    "binary": (
        lambda lib, a, b: (
            lib.atan2(a, b),
            a.hypot(b),
            lib.fmod(a, 0.7),
            a.remainder(b.abs() + 0.5),
            a.logaddexp(b),
            lib.xlogy(a, b.abs()),
            a.fmax(b),
            a.fmin(b),
            a.lerp(b, 0.3),
            a.lerp(b, b.sigmoid()),
            a.addcmul(a, b, value=0.5),
            a.addcdiv(a, b.abs() + 0.5),
            a.clamp_min(0.1),
            a.clamp_max(-0.1),
            lib.heaviside(a, b),
        ),
        (randn(3, 4), randn(4, seed=1)),
    ),
    "inplace": (
        lambda lib, a, b: (
            (a * 1.0).exp_(),
            (a * 1.0).sigmoid_(),
            (a * 1.0).lerp_(b, 0.2).addcmul_(a, b, value=0.1).addcdiv_(a, b.abs() + 1),
            (a * 1.0).clamp_min_(0.1).sqrt_(),
            (a * 2.0).floor_(),
        ),
        (randn(3, 4), randn(3, 4, seed=1)),
    ),
    "scans": (
        lambda lib, a: (
            a.cumprod(1),
            *a.cummax(1),
            *a.cummin(0),
            a.logcumsumexp(1),
            a.diff(n=2, dim=1),
        ),
        (distinct(3, 5),),
    ),
    "cumprod_zeros": (lambda lib, a: (a * (a > 0)).cumprod(1), (randn(3, 5),)),
    "statistics": (
        lambda lib, a: (
            a.median(),
            *a.median(1),
            *a.nanmedian(0),
            *a.round().mode(1),
            *a.kthvalue(2, 1),
            a.quantile(0.3),
            a.quantile(0.6, dim=1, interpolation="nearest"),
            a.nanquantile(0.2, dim=0, keepdim=True),
            a.nansum(1),
            a.nanmean(),
            a.count_nonzero(1),
            *lib.var_mean(a, 1),
            *lib.std_mean(a, 0),
            *a.aminmax(dim=1),
            a.dist(a.flip(0)),
            a.renorm(2, 0, 1.0),
        ),
        (distinct(4, 5),),
    ),
}


def _run(fn, arrays, device):
    inputs = [nnrun.tensor(array, device=device, requires_grad=array.dtype.kind == "f") for array in arrays]
    outputs = list(fn(nnrun, *inputs))
    differentiable = [(out * 0.5).sum() for out in outputs if out.requires_grad]
    sum(differentiable[1:], differentiable[0]).backward()
    return [out.detach() for out in outputs] + [t.grad for t in inputs]


@pytest.mark.parametrize("name", sorted(CASES))
def test_on_the_device_matches_the_cpu(fake_cuda, name):
    fn, arrays = CASES[name]
    with fake_cuda.during() as moved:
        on_device = _run(fn, arrays, "cuda")
    reads = [t for t in moved if t.kind.startswith("device->host")]
    assert not reads, f"{name}: {reads}"
    for got, want in zip(on_device, _run(fn, arrays, "cpu"), strict=True):
        assert got.device.type == "cuda"
        np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_random_fills_stay_on_the_device(fake_cuda):
    nnrun.manual_seed(0)
    with fake_cuda.during() as moved:
        x = nnrun.empty(1000, device="cuda")
        x.normal_().uniform_(-1, 1).exponential_().bernoulli_(0.5).random_(0, 7).geometric_(0.5)
        x.log_normal_().cauchy_()
        draws = [
            nnrun.normal(x, 1.0),
            nnrun.normal(0.0, 1.0, (3,), device="cuda"),
            nnrun.bernoulli(nnrun.full((100,), 0.5, device="cuda")),
            nnrun.randint_like(x, 5),
        ]
    assert not [t for t in moved if t.kind.startswith("device->host")]
    assert all(t.device.type == "cuda" for t in [x, *draws])
