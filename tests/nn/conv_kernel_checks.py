"""Shared checks for tests of the convolution kernels: a bounds-checked ``as_strided``, and a comparison of a
kernel pair with the im2col path."""

import itertools

import numpy as np
from numpy.lib.array_utils import byte_bounds

from nnrun.ops._conv_kernels import conv_backward, conv_forward


def bounds_checked(as_strided):
    """``as_strided`` that fails when a view reaches outside the memory of the array it was made from."""

    def checked(array, shape=None, strides=None, **kwargs):
        view = as_strided(array, shape, strides, **kwargs)
        owner = array
        while isinstance(owner.base, np.ndarray):
            owner = owner.base
        low, high = byte_bounds(view)
        owner_low, owner_high = byte_bounds(owner)
        assert view.size == 0 or owner_low <= low <= high <= owner_high, "strided view outside its buffer"
        return view

    return checked


def assert_matches_im2col(forward, backwards, x, weight, bias, geo):
    """``forward`` and each of ``backwards`` give im2col's results to 1e-12 (float64), for every subset of
    gradients, as C-contiguous arrays of the right shapes."""
    y = forward(x, weight, bias, geo, np)
    np.testing.assert_allclose(y, conv_forward(x, weight, bias, geo, np), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(7).standard_normal(y.shape)
    for need_input, need_weight, backward in itertools.product([True, False], [True, False], backwards):
        ours = backward(x, weight, g, geo, np, need_input, need_weight)
        theirs = conv_backward(x, weight, g, geo, np, need_input, need_weight)
        for a, b in zip(ours, theirs):
            assert (a is None) == (b is None)
            if a is not None:
                assert a.shape == b.shape and a.flags.c_contiguous
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
