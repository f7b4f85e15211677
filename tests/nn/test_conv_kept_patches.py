"""The weight gradient from the patch matrix that the forward pass kept (``kept_patches``) against the one
rebuilt block by block, and when the forward pass keeps it."""

import numpy as np
import pytest
from conv_kernel_checks import im2col_geometry

import nnrun
from nnrun.nn import functional as F
from nnrun.ops import _conv_dispatch
from nnrun.ops import conv as conv_ops
from nnrun.ops._conv_dispatch import keeps_patches
from nnrun.ops._conv_geometry import ConvGeometry
from nnrun.ops._conv_kernels import conv_backward, conv_forward, kept_patches, kept_weight_gradient

# (batch, channels in, out, groups, H, W, kernel, stride, padding (top, bottom, left, right), dilation):
# rows grid (stride 1), strided grid, groups, dilation, a padded 1x1 kernel
GEOMETRIES = [
    (5, 3, 4, 1, 9, 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
    (5, 1, 6, 1, 12, 12, (5, 5), (1, 1), (2, 2, 2, 2), (1, 1)),
    (5, 2, 3, 1, 11, 8, (3, 2), (3, 2), (1, 0, 2, 1), (2, 1)),
    (5, 4, 6, 2, 8, 8, (3, 3), (2, 2), (0, 1, 0, 1), (1, 1)),
    (3, 4, 2, 2, 6, 7, (1, 1), (1, 1), (1, 0, 0, 1), (1, 1)),
]


@pytest.mark.parametrize("images_per_block", [1, 2, 100])  # one image / a partial last block / one block
@pytest.mark.parametrize("n,c,o,groups,h,w,kernel,stride,padding,dilation", GEOMETRIES)
def test_kept_patches_give_the_rebuilt_weight_gradient(
    monkeypatch, images_per_block, n, c, o, groups, h, w, kernel, stride, padding, dilation
):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((o, c // groups, *kernel))
    bias = rng.standard_normal(o)
    geo = im2col_geometry(monkeypatch, x, weight, stride, padding, dilation, groups, images_per_block)
    patches = kept_patches(geo, np, x.dtype)
    y = conv_forward(x, weight, bias, geo, np, patches)
    np.testing.assert_allclose(y, conv_forward(x, weight, bias, geo, np), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    grad_w = kept_weight_gradient(patches, weight.shape, g, geo, np)
    assert grad_w.shape == weight.shape and grad_w.flags.c_contiguous and grad_w.base is None
    rebuilt = conv_backward(x, weight, g, geo, np, False, True)[1]
    np.testing.assert_allclose(grad_w, rebuilt, rtol=1e-12, atol=1e-12)


def test_no_patches_kept_for_a_plain_1x1_kernel_or_past_the_budget(monkeypatch):
    pointwise = ConvGeometry((2, 8, 6, 6), (4, 8, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1, (6, 6), False)
    assert not keeps_patches(pointwise, 4)
    geo = ConvGeometry((2, 8, 6, 6), (4, 8, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, (6, 6), False)
    assert keeps_patches(geo, 4)
    size = kept_patches(geo, np, np.float32).nbytes
    assert size == 8 * 9 * 2 * 6 * 8 * 4  # rows grid: Ho x Wp positions per image
    monkeypatch.setattr(_conv_dispatch, "KEPT_PATCH_BYTES", size - 1)
    assert not keeps_patches(geo, 4)


def _recorded_kept_patches(monkeypatch):
    calls = []

    def recording(geo, xp, dtype):
        calls.append(geo)
        return kept_patches(geo, xp, dtype)

    monkeypatch.setattr(conv_ops, "kept_patches", recording)
    return calls


def test_forward_keeps_patches_only_for_a_weight_gradient(monkeypatch):
    monkeypatch.setattr(_conv_dispatch, "kernel_rows_fit", lambda geo: False)  # im2col
    calls = _recorded_kept_patches(monkeypatch)
    x, w = nnrun.randn(2, 3, 8, 8, requires_grad=True), nnrun.randn(4, 3, 3, 3, requires_grad=True)
    with nnrun.no_grad():
        F.conv2d(x, w, padding=1)
    F.conv2d(x, w.detach(), padding=1).sum().backward()
    assert calls == [] and w.grad is None
    F.conv2d(x, w, padding=1).sum().backward()
    assert len(calls) == 1 and w.grad is not None


@pytest.mark.parametrize("groups,stride", [(1, 1), (2, 2)])
def test_conv2d_gradients_the_same_with_and_without_kept_patches(monkeypatch, groups, stride):
    monkeypatch.setattr(_conv_dispatch, "kernel_rows_fit", lambda geo: False)  # im2col
    rng = np.random.default_rng(3)
    x_data, w_data = rng.standard_normal((3, 4, 9, 9)), rng.standard_normal((6, 4 // groups, 3, 3))
    results = []
    for budget in (_conv_dispatch.KEPT_PATCH_BYTES, 0):
        monkeypatch.setattr(_conv_dispatch, "KEPT_PATCH_BYTES", budget)
        x, w = nnrun.tensor(x_data, requires_grad=True), nnrun.tensor(w_data, requires_grad=True)
        y = F.conv2d(x, w, stride=stride, padding=1, groups=groups)
        (y * y).sum().backward()
        results.append([t.detach().numpy() for t in (y, x.grad, w.grad)])
    for kept, rebuilt in zip(*results):
        np.testing.assert_allclose(kept, rebuilt, rtol=1e-12, atol=1e-12)


def test_kept_patches_are_freed_after_backward(monkeypatch):
    monkeypatch.setattr(_conv_dispatch, "kernel_rows_fit", lambda geo: False)  # im2col
    x, w = nnrun.randn(2, 3, 8, 8), nnrun.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    assert y.grad_fn.saved_tensors[2] is not None  # (input, weight, patches)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()
