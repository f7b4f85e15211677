"""The channels-last convolution (``nnrun.ops._conv_channels_last``) against im2col, and when it is used."""

import math

import numpy as np
import pytest
from conv_kernel_checks import assert_matches_im2col, bounds_checked

import nnrun
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F
from nnrun.ops import _conv_dispatch
from nnrun.ops._conv_channels_last import channels_last_backward, channels_last_forward, flipped_geometry
from nnrun.ops._conv_dispatch import channels_last_flips_kernel, uses_channels_last
from nnrun.ops._conv_geometry import ConvGeometry

# (batch, in channels, out channels, H, W, kernel, stride, padding (top, bottom, left, right), row dilation);
# odd batches, so that blocks of two images leave a partial last block
GEOMETRIES = [
    (5, 3, 4, 8, 9, (3, 3), (1, 1), (1, 1, 1, 1), 1),
    (5, 3, 2, 8, 9, (3, 2), (2, 1), (1, 0, 2, 1), 2),
    (5, 2, 3, 7, 6, (5, 5), (2, 3), (2, 2, 2, 2), 1),
    (7, 4, 4, 10, 7, (2, 3), (1, 2), (0, 1, 1, 0), 3),
    (3, 1, 6, 5, 5, (3, 3), (1, 1), (0, 0, 0, 0), 1),
    (3, 2, 3, 1, 9, (1, 3), (1, 2), (0, 0, 1, 1), 1),  # one row (conv1d)
    (5, 3, 4, 9, 8, (3, 3), (1, 1), (2, 2, 1, 0), 2),  # stride 1, dilated rows
    (5, 3, 4, 7, 8, (3, 3), (1, 1), (0, 1, 2, 1), 1),  # stride 1, asymmetric padding
    (3, 2, 3, 6, 7, (3, 3), (1, 1), (3, 1, 0, 2), 1),  # padding beyond the kernel's reach: tap adds
]


def _geometry(x, w, stride, padding, dh):
    (pt, pb, pl, pr), (sh, sw) = padding, stride
    ho = (x.shape[2] + pt + pb - dh * (w.shape[2] - 1) - 1) // sh + 1
    wo = (x.shape[3] + pl + pr - (w.shape[3] - 1) - 1) // sw + 1
    return ConvGeometry(x.shape, w.shape, stride, padding, (dh, 1), 1, (ho, wo), False)


@pytest.mark.parametrize("per_block", [1, 2, 100])  # images: one / a partial last block / one block
@pytest.mark.parametrize("n,c,o,h,w,kernel,stride,padding,dh", GEOMETRIES)
@pytest.mark.parametrize("flipped_channels", [0, 128])  # stride-1 input gradient by tap adds / flipped kernel
def test_channels_last_matches_im2col(
    monkeypatch, per_block, n, c, o, h, w, kernel, stride, padding, dh, flipped_channels
):
    monkeypatch.setattr(np.lib.stride_tricks, "as_strided", bounds_checked(np.lib.stride_tricks.as_strided))
    monkeypatch.setattr(_conv_dispatch, "CHANNELS_LAST_MAX_FLIPPED_CHANNELS", flipped_channels)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((o, c, *kernel))
    bias = rng.standard_normal(o)
    geo = _geometry(x, weight, stride, padding, dh)
    per_image = (
        geo.out_h * geo.out_w * kernel[0] * kernel[1] * c * 4
    )  # the patch matrix's block budget per image
    monkeypatch.setattr(_conv_dispatch, "CPU_BLOCK_BYTES", per_block * per_image)
    assert_matches_im2col(channels_last_forward, [channels_last_backward], x, weight, bias, geo)


def test_channels_last_keeps_float32():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    weight = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    geo = _geometry(x, weight, (1, 1), (1, 1, 1, 1), 1)
    y = channels_last_forward(x, weight, np.ones(4, np.float32), geo, np)
    grad_x, grad_w = channels_last_backward(x, weight, np.ones_like(y), geo, np, True, True)
    assert y.dtype == grad_x.dtype == grad_w.dtype == np.float32


@pytest.mark.parametrize(
    "c,o,size,kernel,padding,stride,groups,dilation,expected",
    [
        (64, 64, 8, 3, 1, 1, 1, 1, True),  # ResNet-20 stage 3
        (32, 64, 16, 3, 1, 2, 1, 1, True),  # its stride-2 entry (8x8 out)
        (512, 512, 4, 3, 1, 1, 1, 1, True),  # ResNet-18 stage 4
        (64, 128, 32, 3, 1, 2, 1, 1, False),  # 16x16 out
        (16, 16, 8, 3, 1, 1, 1, 1, False),  # runs of 48 floats
        (64, 64, 8, 3, 1, 1, 4, 1, False),  # grouped
        (64, 64, 8, 3, 2, 1, 1, 2, False),  # dilated columns
        (64, 64, 8, 1, 0, 1, 1, 1, False),  # pointwise
    ],
)
def test_channels_last_for_small_images(c, o, size, kernel, padding, stride, groups, dilation, expected):
    out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    x_shape, w_shape = (8, c, size, size), (o, c // groups, kernel, kernel)
    geo = ConvGeometry(
        x_shape, w_shape, (stride,) * 2, (padding,) * 4, (dilation,) * 2, groups, (out, out), False
    )
    assert uses_channels_last(geo) is expected


def test_channels_last_is_not_used_on_a_gpu():
    geo = ConvGeometry((8, 64, 8, 8), (64, 64, 3, 3), (1, 1), (1,) * 4, (1, 1), 1, (8, 8), True)
    assert not uses_channels_last(geo)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 1, 1), (2, (2, 0), (2, 1))])
def test_conv2d_gradcheck_channels_last(monkeypatch, stride, padding, dilation):
    monkeypatch.setattr(_conv_dispatch, "CHANNELS_LAST_MIN_RUN", 0)  # a few channels take the path too
    rng = np.random.default_rng(3)
    x, w, b = (
        nnrun.tensor(rng.standard_normal(s), dtype=nnrun.float64, requires_grad=True)
        for s in [(2, 2, 5, 4), (3, 2, 3, 2), (3,)]
    )
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation), (x, w, b))


@pytest.mark.parametrize("shape", [(0, 32, 8, 8), (32, 8, 8), (2, 32, 8, 8)])  # empty, unbatched, batched
def test_conv2d_channels_last_equals_im2col(monkeypatch, shape):
    rng = np.random.default_rng(4)
    x_data, w_data, b_data = (rng.standard_normal(s) for s in (shape, (8, 32, 3, 3), (8,)))
    results = []
    channels_last_then_im2col = (_conv_dispatch.CHANNELS_LAST_MIN_RUN, math.inf)  # at 32 channels, 8x8
    for min_run in channels_last_then_im2col:
        monkeypatch.setattr(_conv_dispatch, "CHANNELS_LAST_MIN_RUN", min_run)
        x, w, b = (nnrun.tensor(a, requires_grad=True) for a in (x_data, w_data, b_data))
        y = F.conv2d(x, w, b, padding=1)
        y.sum().backward()
        results.append([t.detach().numpy() for t in (y, x.grad, w.grad, b.grad)])
    for ours, theirs in zip(*results):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "o,stride,padding,expected",
    [
        (64, (1, 1), (1, 1, 1, 1), True),  # ResNet-20 stage 3
        (128, (1, 1), (0, 2, 2, 0), True),  # padding up to the kernel's reach
        (256, (1, 1), (1, 1, 1, 1), False),  # many channels: the GEMM outweighs the tap adds
        (64, (2, 2), (1, 1, 1, 1), False),  # strided
        (64, (1, 1), (3, 1, 1, 1), False),  # padding beyond the kernel's reach
    ],
)
def test_input_gradient_by_the_flipped_kernel_where_it_pays(o, stride, padding, expected):
    (pt, pb, pl, pr), (sh, sw) = padding, stride
    out = ((8 + pt + pb - 3) // sh + 1, (8 + pl + pr - 3) // sw + 1)
    geo = ConvGeometry((4, 64, 8, 8), (o, 64, 3, 3), stride, padding, (1, 1), 1, out, False)
    assert channels_last_flips_kernel(geo) is expected
    if expected:  # the output gradient in, the input's shape out
        flipped = flipped_geometry(geo)
        assert (4, o, *out, 64) == (flipped.N, flipped.C, flipped.H, flipped.W, flipped.O)
        assert (flipped.out_h, flipped.out_w) == (8, 8)
