"""Scans, order statistics and NaN-aware reductions against torch: values, indices, dtypes, gradients
(float32 and float64) and errors."""

import numpy as np
import pytest

import nnrun

torch = pytest.importorskip("torch")
from test_torch_parity import check  # noqa: E402  (after the skip: it needs torch)

NAN = float("nan")


def randn(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def with_zeros(dtype=np.float32):
    a = randn(3, 5, dtype=dtype)
    a[0, 1] = 0.0
    a[1, 2] = a[1, 4] = 0.0
    return a


def distinct(*shape, seed=0, dtype=np.float32):
    """Values with no ties (so the index of a median or k-th value is unique)."""
    count = int(np.prod(shape))
    values = np.random.default_rng(seed).permutation(count).astype(dtype) * 0.37 - count * 0.1
    return values.reshape(shape)


CASES = {
    "cumprod": (
        lambda lib, a: (a.cumprod(1), lib.cumprod(a, dim=0), a.cumprod(-1, dtype=lib.float64)),
        with_zeros(),
    ),
    "cumprod_no_zeros": (lambda lib, a: lib.cumprod(a.exp(), 1), randn(2, 4)),
    "cummax_cummin": (
        lambda lib, a: (*a.cummax(1), *lib.cummin(a, 0), *lib.cummax(a[0], -1)),
        distinct(3, 5),
    ),
    "logcumsumexp": (lambda lib, a: (a.logcumsumexp(1), lib.logcumsumexp(a * 30, 0)), randn(3, 5)),
    "diff": (
        lambda lib, a, b: (
            a.diff(),
            lib.diff(a, n=2, dim=0),
            lib.diff(a, prepend=b, append=b),
            a.diff(n=3, dim=1, prepend=b),
        ),
        randn(4, 5),
        randn(4, 1, seed=1),
    ),
    "median": (
        lambda lib, a: (a.median(), *lib.median(a, 1), *a.median(dim=0, keepdim=True), *lib.nanmedian(a, 1)),
        distinct(4, 5),
    ),
    "median_even_count": (lambda lib, a: (a.median(), *a.median(1)), distinct(3, 4)),
    "mode": (
        lambda lib, a: (*a.mode(), *lib.mode(a, 0, keepdim=True)),
        np.array([[1.0, 3.0, 3.0, 2.0, 1.0, 3.0], [5.0, 5.0, 4.0, 4.0, 0.0, 7.0]], dtype=np.float32),
    ),
    "kthvalue": (lambda lib, a: (*a.kthvalue(2), *lib.kthvalue(a, 3, 0, True)), distinct(4, 5)),
    "quantile_scalar": (
        lambda lib, a: (
            a.quantile(0.3),
            lib.quantile(a, 0.75, dim=1),
            a.quantile(0.5, dim=0, keepdim=True),
            a.quantile(0.4, keepdim=True),
            lib.nanquantile(a, 0.2, dim=1),
        ),
        distinct(4, 5),
    ),
    "quantile_modes": (
        lambda lib, a: tuple(
            lib.quantile(a, 0.35, dim=1, interpolation=mode)
            for mode in ("linear", "lower", "higher", "midpoint", "nearest")
        ),
        distinct(3, 6),
    ),
    "nansum_nanmean": (
        lambda lib, a: (
            lib.nansum(a.log()),
            a.log().nansum(1),
            lib.nanmean(a.log(), dim=0, keepdim=True),
            a.log().nanmean(),
        ),
        np.abs(randn(3, 4)) + 0.1,
    ),
    "var_mean_std_mean": (
        lambda lib, a: (
            *lib.var_mean(a),
            *lib.std_mean(a, 1),
            *lib.var_mean(a, dim=0, correction=0, keepdim=True),
            *lib.std_mean(a, (0, 1), unbiased=False),
            *lib.var_mean(a, True),
        ),
        randn(4, 3),
    ),
    "aminmax": (
        lambda lib, a: (*lib.aminmax(a), *a.aminmax(dim=1), *lib.aminmax(a, dim=0, keepdim=True)),
        distinct(3, 4),
    ),
    "dist": (
        lambda lib, a, b: (lib.dist(a, b), a.dist(b, 1), lib.dist(a, b, 3.0), a.dist(b, float("inf"))),
        randn(3, 4),
        randn(4, seed=1),
    ),
    "renorm": (lambda lib, a: (a.renorm(2, 0, 1.5), lib.renorm(a, 1, 1, 2.0)), randn(3, 4) * 2),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parity(name, dtype):
    fn, *arrays = CASES[name]
    tolerance = 1e-10 if dtype == np.float64 else 1e-5
    check(fn, *(a.astype(dtype) for a in arrays), rtol=tolerance, atol=tolerance)


def _same(got, want):
    assert str(got.dtype).replace("nnrun.", "") == str(want.dtype).replace("torch.", "")
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, equal_nan=True)


def _both(fn):
    got, want = fn(nnrun), fn(torch)
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    for g, w in zip(got, want):
        _same(g, w)


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib: lib.tensor([1.0, 1, 1, 0, 2, NAN, 3, NAN]).cummax(0),
        lambda lib: lib.tensor([1.0, 1, 1, 0, 2, NAN, -3]).cummin(0),
        lambda lib: lib.tensor([[3, 1, 2], [0, 5, 5]]).cummax(1),
        lambda lib: lib.tensor([1, 2, 3, 4]).cumprod(0),
        lambda lib: lib.tensor([True, True, False]).cumprod(0),
        lambda lib: lib.tensor(3.0).cumprod(0),
        lambda lib: lib.tensor(3.0).cummax(0),
        lambda lib: lib.tensor([1.0, NAN, 2.0]).median(),
        lambda lib: lib.tensor([[3.0, 1, NAN], [4, 2, 2]]).median(1),
        lambda lib: lib.tensor([[3.0, 1, NAN], [NAN, NAN, NAN]]).nanmedian(1),
        lambda lib: lib.tensor([[3.0, 1, NAN, 7.0], [NAN, NAN, NAN, NAN]]).nanmedian(),
        lambda lib: lib.tensor([5, 2, 9, 4]).median(),
        lambda lib: lib.tensor([[5, 2, 2, 4, 4, 9]]).mode(1),
        lambda lib: lib.tensor([3.0, 1, 3, 1, 2]).mode(),
        lambda lib: lib.tensor([[5, 2, 9, 4]]).kthvalue(4, 1),
        lambda lib: lib.tensor([[1.0, NAN, 3], [2, 4, 6]]).quantile(0.5, dim=1),
        lambda lib: lib.tensor([[1.0, NAN, 3], [NAN, NAN, NAN]]).nanquantile(0.5, dim=1),
        lambda lib: lib.tensor([1.0, 2, 3, 4]).quantile(lib.tensor([0.0, 0.25, 1.0])),
        lambda lib: lib.tensor([[1.0, 2, 3, 4]]).quantile(lib.tensor([0.1, 0.9]), dim=1, keepdim=True),
        lambda lib: lib.tensor([1.0, 2, 3, 4]).quantile(lib.tensor(0.5)),
        lambda lib: lib.tensor([[1.0, NAN], [0.0, 2.0]]).nansum(),
        lambda lib: lib.tensor([[1, 0], [3, 4]]).nansum(0),
        lambda lib: lib.tensor([[NAN, NAN], [0.0, 2.0]]).nanmean(1),
        lambda lib: lib.tensor([[0, 1, 2], [0, 0, 3]]).count_nonzero(),
        lambda lib: lib.count_nonzero(lib.tensor([[0, 1, 2], [0, 0, 3]]), dim=1),
        lambda lib: lib.count_nonzero(lib.tensor([[0.0, 1, 2], [0, 0, 3]]), dim=(0, 1)),
        lambda lib: lib.tensor([[1, 5], [3, 2]]).aminmax(),
        lambda lib: lib.tensor([[1, 5], [3, 2]]).aminmax(keepdim=True),
        lambda lib: lib.tensor([True, False, False]).diff(),
        lambda lib: lib.tensor([1, 4, 9, 16]).diff(n=2),
        lambda lib: lib.tensor([1, 4]).diff(n=5),
    ],
)
def test_values_indices_and_dtypes(fn):
    _both(fn)


def test_cumprod_gradient_with_zeros_float64():
    for values in ([2.0, 0.0, 3.0, 0.0, 4.0], [0.0, 2.0, 3.0], [1.5, 2.0, 0.0], [0.0, 0.0, 0.0]):
        grads = []
        for lib in (nnrun, torch):
            x = lib.tensor([values], dtype=lib.float64, requires_grad=True)
            x.cumprod(1).backward(lib.tensor([[0.5, -1.0, 2.0, 0.25, 1.0][: len(values)]], dtype=lib.float64))
            grads.append(x.grad.numpy())
        np.testing.assert_allclose(*grads, rtol=1e-12)


def test_logcumsumexp_extremes():
    values = [-1000.0, 0.0, 1000.0, -float("inf"), 5.0]
    _both(lambda lib: lib.tensor(values, dtype=lib.float64).logcumsumexp(0))


def test_median_gradient_shared_by_ties():
    grads = []
    for lib in (nnrun, torch):
        x = lib.tensor([3.0, 1.0, 2.0, 2.0, 5.0], requires_grad=True)
        x.median().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(*grads)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda lib: lib.kthvalue(lib.tensor([1.0, 2]), 3), RuntimeError),
        (lambda lib: lib.kthvalue(lib.tensor([1.0, 2]), 0), RuntimeError),
        (lambda lib: lib.quantile(lib.tensor([1, 2]), 0.5), RuntimeError),
        (lambda lib: lib.quantile(lib.tensor([1.0, 2]), 1.5), RuntimeError),
        (lambda lib: lib.quantile(lib.tensor([1.0, 2]), 0.5, interpolation="foo"), RuntimeError),
        (lambda lib: lib.quantile(lib.tensor([1.0, 2]), lib.tensor([0.5], dtype=lib.float64)), RuntimeError),
        (lambda lib: lib.quantile(lib.tensor([]), 0.5), RuntimeError),
        (lambda lib: lib.quantile(lib.ones(3, 4), lib.tensor([[0.5]])), RuntimeError),
        (lambda lib: lib.median(lib.zeros(0, 3), 0), IndexError),
        (lambda lib: lib.mode(lib.tensor([])), IndexError),
        (lambda lib: lib.diff(lib.tensor(1.0)), RuntimeError),
        (lambda lib: lib.logcumsumexp(lib.tensor([1, 2]), 0), NotImplementedError),
        (lambda lib: lib.nanmean(lib.tensor([1, 2])), RuntimeError),
        (lambda lib: lib.cumprod(lib.ones(2, 3), 2), IndexError),
        (lambda lib: lib.cummax(lib.ones(2, 3), -3), IndexError),
        (lambda lib: lib.renorm(lib.ones(3), 2, 0, 1.0), RuntimeError),
        (lambda lib: lib.aminmax(lib.tensor([])), RuntimeError),
        (lambda lib: lib.aminmax(lib.zeros(0, 2), dim=0), IndexError),
    ],
)
def test_errors_match_torch(call, error):
    with pytest.raises(error) as torch_error:
        call(torch)
    with pytest.raises(error) as nnrun_error:
        call(nnrun)
    assert str(nnrun_error.value).split()[:2] == str(torch_error.value).split()[:2]
