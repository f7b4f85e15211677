"""Strided convolutions (im2col on the strided grid) against a direct float64 reference, without torch."""

import numpy as np
import pytest
from conv_kernel_checks import im2col_geometry

from nnrun.ops._conv_kernels import conv_backward, conv_forward

# (batch, channels in, out, groups, H, W, kernel, stride, padding (top, bottom, left, right), dilation)
GEOMETRIES = [
    (5, 3, 4, 1, 9, 9, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),
    (5, 2, 3, 1, 11, 8, (3, 2), (3, 2), (1, 0, 2, 1), (2, 1)),
    (3, 2, 2, 1, 12, 13, (5, 5), (2, 3), (2, 2, 2, 2), (1, 1)),
    (5, 4, 6, 2, 8, 8, (3, 3), (2, 2), (0, 1, 0, 1), (1, 1)),
]


def _reference(x, w, g, stride, padding, dilation, groups):
    """Output, input gradient and weight gradient by one einsum per kernel tap on the padded input."""
    (sh, sw), (pt, pb, pl, pr), (dh, dw) = stride, padding, dilation
    h, wd = x.shape[2:]
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    ho, wo = g.shape[2:]
    y, dxp, dw_ = np.zeros(g.shape), np.zeros_like(xp), np.zeros_like(w)
    og = o // groups
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + (ho - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (wo - 1) * sw + 1, sw)
            for k in range(groups):
                xs = xp[:, k * cg : (k + 1) * cg, rows, cols]
                wk, gk = w[k * og : (k + 1) * og, :, i, j], g[:, k * og : (k + 1) * og]
                y[:, k * og : (k + 1) * og] += np.einsum("oc,nchw->nohw", wk, xs)
                dxp[:, k * cg : (k + 1) * cg, rows, cols] += np.einsum("oc,nohw->nchw", wk, gk)
                dw_[k * og : (k + 1) * og, :, i, j] = np.einsum("nohw,nchw->oc", gk, xs)
    return y, dxp[:, :, pt : pt + h, pl : pl + wd], dw_


@pytest.mark.parametrize("images_per_block", [1, 2, 100])  # one image / a partial last block / one block
@pytest.mark.parametrize("n,c,o,groups,h,w,kernel,stride,padding,dilation", GEOMETRIES)
def test_strided_convolution_matches_reference(
    monkeypatch, images_per_block, n, c, o, groups, h, w, kernel, stride, padding, dilation
):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((o, c // groups, *kernel))
    geo = im2col_geometry(monkeypatch, x, weight, stride, padding, dilation, groups, images_per_block)
    assert geo.mode == "strided"
    g = rng.standard_normal((n, o, geo.out_h, geo.out_w))
    y_ref, dx_ref, dw_ref = _reference(x, weight, g, stride, padding, dilation, groups)
    np.testing.assert_allclose(conv_forward(x, weight, None, geo, np), y_ref, rtol=1e-12, atol=1e-12)
    dx, dw_ = conv_backward(x, weight, g, geo, np, True, True)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw_, dw_ref, rtol=1e-12, atol=1e-12)
