"""The kernel-rows convolution (``nnrun.ops._conv_rows``) against the im2col path, and when it is used."""

import functools
import math

import numpy as np
import pytest
from conv_kernel_checks import assert_matches_im2col, bounds_checked

import nnrun
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F
from nnrun.ops import _conv_dispatch
from nnrun.ops import conv as conv_ops
from nnrun.ops._conv_dispatch import ConvPlan, input_gradient_by_rows, uses_kernel_rows
from nnrun.ops._conv_geometry import ConvGeometry
from nnrun.ops._conv_rows import rows_backward, rows_forward

# The input gradient by kernel rows, the weight gradient by im2col, as conv2d runs layers that kernel rows fit
# but do not pay for.
rows_input_backward = functools.partial(
    conv_ops._kernel_gradients, ConvPlan("im2col", "kernel_rows", "im2col")
)

# (batch, in channels, out channels, H, W, kernel, padding (top, bottom, left, right), dilation); odd batches,
# so that blocks of two images leave a partial last block
GEOMETRIES = [
    (5, 3, 4, 8, 9, (3, 3), (1, 1, 1, 1), (1, 1)),
    (5, 3, 2, 8, 9, (3, 2), (1, 0, 2, 1), (2, 1)),
    (5, 2, 3, 6, 6, (5, 5), (2, 2, 2, 2), (1, 1)),
    (7, 4, 4, 10, 7, (2, 3), (0, 1, 1, 0), (1, 2)),
    (3, 1, 6, 5, 5, (3, 3), (0, 0, 0, 0), (1, 1)),
    (3, 3, 4, 7, 8, (3, 3), (1, 1, 0, 2), (1, 1)),
]


def _geometry(x, w, padding, dilation):
    (pt, pb, pl, pr), (dh, dw) = padding, dilation
    ho = x.shape[2] + pt + pb - dh * (w.shape[2] - 1)
    wo = x.shape[3] + pl + pr - dw * (w.shape[3] - 1)
    return ConvGeometry(x.shape, w.shape, (1, 1), padding, dilation, 1, (ho, wo), False)


@pytest.mark.parametrize("images_per_block", [1, 2, 100])  # one image / a partial last block / one block
@pytest.mark.parametrize("n,c,o,h,w,kernel,padding,dilation", GEOMETRIES)
def test_kernel_rows_match_im2col(monkeypatch, images_per_block, n, c, o, h, w, kernel, padding, dilation):
    monkeypatch.setattr(np.lib.stride_tricks, "as_strided", bounds_checked(np.lib.stride_tricks.as_strided))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((o, c, *kernel))
    bias = rng.standard_normal(o)
    geo = _geometry(x, weight, padding, dilation)
    per_image = (
        max(c, o) * max(kernel) * geo.padded_h * geo.padded_w * 4
    )  # the rows path's block budget per image
    monkeypatch.setattr(_conv_dispatch, "CPU_BLOCK_BYTES", images_per_block * per_image)
    assert_matches_im2col(rows_forward, [rows_backward, rows_input_backward], x, weight, bias, geo)


def test_kernel_rows_keep_float32():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 16, 16)).astype(np.float32)
    weight = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    geo = _geometry(x, weight, (1, 1, 1, 1), (1, 1))
    y = rows_forward(x, weight, None, geo, np)
    grad_x, grad_w = rows_backward(x, weight, np.ones_like(y), geo, np, True, True)
    assert y.dtype == grad_x.dtype == grad_w.dtype == np.float32


@pytest.mark.parametrize(
    "c,o,size,kernel,padding,stride,groups,expected",
    [
        # (C*kw + kh*O) * Hp*Wp against (C*kh*kw + O) * Ho*Wo floats moved per image
        (16, 16, 32, 3, 1, 1, 1, True),  # ResNet-20 stage 1: 0.68
        (32, 32, 16, 3, 1, 1, 1, True),  # stage 2: 0.76
        (64, 64, 8, 3, 1, 1, 1, False),  # stage 3: 0.94
        (512, 512, 4, 3, 1, 1, 1, False),  # ResNet-18 stage 4: 1.35
        (3, 16, 32, 3, 1, 1, 1, False),  # ResNet-20 stem: 1.50
        (3, 64, 32, 3, 1, 1, 1, False),  # ResNet-18 CIFAR stem: 2.5
        (1, 6, 28, 5, 2, 1, 1, False),  # LeNet-5's first layer: 1.47
        (16, 32, 32, 3, 1, 2, 1, False),  # strided
        (16, 16, 32, 3, 1, 1, 4, False),  # grouped
        (16, 32, 32, 1, 0, 1, 1, False),  # pointwise
    ],
)
def test_kernel_rows_where_they_move_less_memory(c, o, size, kernel, padding, stride, groups, expected):
    out = (size + 2 * padding - kernel) // stride + 1
    x_shape, w_shape = (8, c, size, size), (o, c // groups, kernel, kernel)
    geo = ConvGeometry(x_shape, w_shape, (stride,) * 2, (padding,) * 4, (1, 1), groups, (out, out), False)
    assert uses_kernel_rows(geo) is expected


@pytest.mark.parametrize(
    "c,o,size,kernel,stride,groups,expected",
    [
        (6, 16, 14, 5, 1, 1, True),  # LeNet-5's second layer: im2col, but its input gradient by kernel rows
        (16, 16, 32, 3, 1, 1, True),  # uses kernel rows throughout
        (16, 32, 32, 3, 2, 1, False),  # strided
        (16, 16, 32, 3, 1, 4, False),  # grouped
        (16, 32, 32, 1, 1, 1, False),  # one kernel row
    ],
)
def test_input_gradient_by_rows_where_they_fit(c, o, size, kernel, stride, groups, expected):
    out = (size - kernel) // stride + 1
    x_shape, w_shape = (8, c, size, size), (o, c // groups, kernel, kernel)
    for on_gpu in (False, True):
        geo = ConvGeometry(x_shape, w_shape, (stride,) * 2, (0,) * 4, (1, 1), groups, (out, out), on_gpu)
        assert input_gradient_by_rows(geo) is (expected and not on_gpu)


def test_conv2d_input_gradient_by_rows_equals_im2col(monkeypatch):
    rng = np.random.default_rng(5)
    x_data, w_data = rng.standard_normal((3, 6, 14, 14)), rng.standard_normal((16, 6, 5, 5))
    results = []
    for fits in (
        _conv_dispatch.kernel_rows_fit,
        lambda geo: False,
    ):  # input gradient by kernel rows, then by col2im
        monkeypatch.setattr(_conv_dispatch, "kernel_rows_fit", fits)
        x, w = nnrun.tensor(x_data, requires_grad=True), nnrun.tensor(w_data, requires_grad=True)
        F.conv2d(x, w).sum().backward()
        results.append([t.grad.numpy() for t in (x, w)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_kernel_rows_are_not_used_on_a_gpu():
    geo = ConvGeometry((8, 16, 32, 32), (16, 16, 3, 3), (1, 1), (1,) * 4, (1, 1), 1, (32, 32), True)
    assert not uses_kernel_rows(geo)


@pytest.mark.parametrize("padding,dilation", [(1, 1), ((2, 0), 2)])
def test_conv2d_gradcheck_by_kernel_rows(monkeypatch, padding, dilation):
    monkeypatch.setattr(
        _conv_dispatch, "MAX_KERNEL_ROWS_TRAFFIC", math.inf
    )  # small images take the kernel-rows path too
    rng = np.random.default_rng(3)
    x, w, b = (
        nnrun.tensor(rng.standard_normal(s), dtype=nnrun.float64, requires_grad=True)
        for s in [(2, 2, 5, 4), (3, 2, 3, 2), (3,)]
    )
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, 1, padding, dilation), (x, w, b))


@pytest.mark.parametrize("shape", [(0, 4, 16, 16), (4, 16, 16), (2, 4, 16, 16)])  # empty, unbatched, batched
def test_conv2d_by_kernel_rows_equals_im2col(monkeypatch, shape):
    rng = np.random.default_rng(4)
    x_data, w_data = rng.standard_normal(shape), rng.standard_normal((4, 4, 3, 3))
    results = []
    for fits in (
        _conv_dispatch.kernel_rows_fit,
        lambda geo: False,
    ):  # kernel rows (16x16, 4 channels), then im2col
        monkeypatch.setattr(_conv_dispatch, "kernel_rows_fit", fits)
        x, w = nnrun.tensor(x_data, requires_grad=True), nnrun.tensor(w_data, requires_grad=True)
        y = F.conv2d(x, w, padding=1)
        y.sum().backward()
        results.append([t.detach().numpy() for t in (y, x.grad, w.grad)])
    for ours, theirs in zip(*results):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_conv1d_never_takes_kernel_rows(monkeypatch):
    monkeypatch.setattr(_conv_dispatch, "MAX_KERNEL_ROWS_TRAFFIC", math.inf)
    monkeypatch.setattr(conv_ops, "rows_forward", None)  # a call would fail
    x, w = nnrun.randn(2, 4, 64), nnrun.randn(4, 4, 3)
    assert F.conv1d(x, w, padding=1).shape == (2, 4, 64)
