"""Shared checks for tests of the convolution kernels: a bounds-checked ``as_strided``, a comparison of a
kernel pair with the im2col path, and geometries with im2col blocks of a chosen size."""

import itertools

import numpy as np
from numpy.lib.array_utils import byte_bounds

from nnrun.ops import _conv_dispatch
from nnrun.ops._conv_geometry import ConvGeometry
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


def im2col_geometry(monkeypatch, x, weight, stride, padding, dilation, groups, images_per_block):
    """The ``ConvGeometry`` of a convolution of ``x`` with ``weight``, ``CPU_BLOCK_BYTES`` set so that
    im2col's blocks on its forward grid hold ``images_per_block`` images."""
    (pt, pb, pl, pr), (dh, dw), (sh, sw) = padding, dilation, stride
    (h, w), (kh, kw) = x.shape[2:], weight.shape[2:]
    ho = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    wo = (w + pl + pr - dw * (kw - 1) - 1) // sw + 1

    def geometry():
        return ConvGeometry(x.shape, weight.shape, stride, padding, dilation, groups, (ho, wo), False)

    per_image = x.shape[1] * kh * kw * geometry().positions * 4  # the patch matrix's block budget
    monkeypatch.setattr(_conv_dispatch, "CPU_BLOCK_BYTES", images_per_block * per_image)
    geo = geometry()
    assert geo.block == min(x.shape[0], images_per_block)
    return geo
