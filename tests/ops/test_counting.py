"""unique, unique_consecutive, bincount, histc, searchsorted, bucketize against torch (values, dtypes)."""

import numpy as np
import pytest

import nnrun
from parity import check, ints, raises_like, randn

torch = pytest.importorskip("torch")

VALUES = ints([3, 1, 2, 3, 1, 5, 5, 0])
ROWS = ints([[1, 2, 0], [1, 2, 0], [0, 3, 1], [1, 1, 9]])

CASES = {
    "unique": (
        lambda lib, x: (
            lib.unique(x),
            *x.unique(return_inverse=True, return_counts=True),
            *lib.unique(x.reshape(2, 4), return_inverse=True),
            *x.unique(sorted=False, return_counts=True),
        ),
        VALUES,
    ),
    "unique_float": (lambda lib, x: lib.unique(x, return_counts=True), np.round(randn(20))),
    "unique_dim": (
        lambda lib, x: (
            *lib.unique(x, dim=0, return_inverse=True, return_counts=True),
            *x.unique(dim=1, return_inverse=True, return_counts=True),
            x.unique(dim=-1),
        ),
        ROWS,
    ),
    "unique_consecutive": (
        lambda lib, x: (
            *lib.unique_consecutive(x, return_inverse=True, return_counts=True),
            x.unique_consecutive(),
            *lib.unique_consecutive(x.reshape(2, 4), return_inverse=True),
        ),
        ints([1, 1, 2, 2, 3, 1, 1, 4]),
    ),
    "unique_consecutive_dim": (
        lambda lib, x: (*x.unique_consecutive(dim=0, return_inverse=True, return_counts=True),),
        ROWS,
    ),
    "bincount": (
        lambda lib, x, w: (
            x.bincount(),
            lib.bincount(x, minlength=9),
            lib.bincount(x, weights=w),
            x.bincount(w.float(), 10),
            x.bincount(x),
        ),
        VALUES,
        randn(8),
    ),
    "histc": (
        lambda lib, x: (
            lib.histc(x, bins=4, min=0, max=3),
            x.histc(5),
            x.float().histc(3, -1, 1),
            x[:1].histc(4),
        ),
        randn(30),
    ),
    "histc_one_value": (lambda lib, x: (x[:1].histc(4), (x * 0).histc(3)), randn(5)),
    "searchsorted": (
        lambda lib, s, v: (
            lib.searchsorted(s, v),
            lib.searchsorted(s, v, right=True),
            lib.searchsorted(s, v, side="right", out_int32=True),
            lib.searchsorted(s, 3),
            lib.searchsorted(s.repeat(3, 1), v.reshape(3, 2)),
            lib.searchsorted(s.repeat(3, 1), v.reshape(3, 2), right=True),
        ),
        ints([1, 3, 3, 5, 7]),
        ints([3, 6, 9, 0, 1, 7]),
    ),
    "searchsorted_sorter": (
        lambda lib, s, v: lib.searchsorted(s, v, sorter=s.argsort()),
        ints([5, 1, 7, 3]),
        ints([3, 6, 0]),
    ),
    "bucketize": (
        lambda lib, v, b: (lib.bucketize(v, b), lib.bucketize(v, b, right=True, out_int32=True)),
        np.array([[0.5, 3.0], [9.0, 3.5]]),
        np.array([1.0, 3.0, 5.0, 7.0]),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_parity(name):
    fn, *arrays = CASES[name]
    check(fn, *arrays, grad=False)


ERRORS = {
    "bincount_negative": (lambda lib, x: x.bincount(), ints([-1, 2])),
    "bincount_2d": (lambda lib, x: x.bincount(), ints([[1]])),
    "bincount_float": (lambda lib, x: x.bincount(), randn(3)),
    "histc_bins": (lambda lib, x: x.histc(0), randn(3)),
    "histc_range": (lambda lib, x: x.histc(3, 2, 1), randn(3)),
    "searchsorted_shapes": (lambda lib, s, v: lib.searchsorted(s, v), ints([[1, 2]]), ints([1, 2, 3])),
    "searchsorted_side": (lambda lib, s, v: lib.searchsorted(s, v, side="middle"), ints([1, 2]), ints([1])),
    "bucketize_2d": (lambda lib, v, b: lib.bucketize(v, b), ints([1]), ints([[1, 2]])),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    fn, *arrays = ERRORS[name]
    raises_like(fn, *arrays)


def test_no_gradient_and_methods():
    x = nnrun.tensor([1.0, 2.0, 2.0], requires_grad=True)
    assert not x.unique().requires_grad
    for name in ("unique", "unique_consecutive", "bincount", "histc"):
        assert callable(getattr(nnrun.Tensor, name))
    for name in ("unique", "unique_consecutive", "bincount", "histc", "searchsorted", "bucketize"):
        assert callable(getattr(nnrun, name))
