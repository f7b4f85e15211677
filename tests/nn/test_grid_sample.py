"""F.affine_grid and F.grid_sample: torch parity (values, gradients of the image and the grid) over every
mode, padding mode and align_corners, gradchecks, warnings and errors."""

import numpy as np
import pytest
from close_to_torch import assert_close_to_torch

import nnrun
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("size", [[2, 3, 4, 5], [2, 1, 3, 1], [2, 1, 2, 3, 4]])
@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-12), ("float32", 1e-5)])
def test_affine_grid_matches_torch(size, align_corners, dtype, tol):
    spatial = len(size) - 2
    theta = np.random.default_rng(0).standard_normal((2, spatial, spatial + 1))
    ours = nnrun.tensor(theta, dtype=getattr(nnrun, dtype), requires_grad=True)
    theirs = torch.tensor(theta, dtype=getattr(torch, dtype), requires_grad=True)
    unit = align_corners and min(size[2:]) == 1
    with pytest.warns(UserWarning, match="unit-size") if unit else _quiet():
        y_ours = F.affine_grid(ours, size, align_corners)
    with pytest.warns(UserWarning, match="unit-size") if unit else _quiet():
        y_theirs = TF.affine_grid(theirs, size, align_corners)
    assert_close_to_torch(y_ours, y_theirs, tol)
    upstream = np.random.default_rng(1).standard_normal(tuple(y_theirs.shape))
    y_ours.backward(nnrun.tensor(upstream, dtype=getattr(nnrun, dtype)))
    y_theirs.backward(torch.tensor(upstream, dtype=getattr(torch, dtype)))
    assert_close_to_torch(ours.grad, theirs.grad, tol)


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


MODES = [
    (m, p, a)
    for m in ("bilinear", "nearest")
    for p in ("zeros", "border", "reflection")
    for a in (True, False)
]


@pytest.mark.parametrize(("mode", "padding_mode", "align_corners"), MODES)
@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-5)])
def test_grid_sample_matches_torch(mode, padding_mode, align_corners, dtype, tol):
    rng = np.random.default_rng(2)
    x, grid = rng.standard_normal((2, 3, 5, 6)), rng.uniform(-1.6, 1.6, (2, 4, 7, 2))
    ours = [nnrun.tensor(a, dtype=getattr(nnrun, dtype), requires_grad=True) for a in (x, grid)]
    theirs = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in (x, grid)]
    y_ours = F.grid_sample(*ours, mode, padding_mode, align_corners)
    y_theirs = TF.grid_sample(*theirs, mode, padding_mode, align_corners)
    assert_close_to_torch(y_ours, y_theirs, tol)
    upstream = rng.standard_normal(tuple(y_theirs.shape))
    y_ours.backward(nnrun.tensor(upstream, dtype=getattr(nnrun, dtype)))
    y_theirs.backward(torch.tensor(upstream, dtype=getattr(torch, dtype)))
    assert_close_to_torch(ours[0].grad, theirs[0].grad, tol)
    if mode == "nearest":  # no gradient reaches the grid: torch's is zeros
        assert ours[1].grad is None and not theirs[1].grad.any()
    else:
        assert_close_to_torch(ours[1].grad, theirs[1].grad, tol)


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [True, False])
def test_grid_sample_gradcheck(padding_mode, align_corners):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 4, 5))
    grid = rng.uniform(-1.4, 1.4, (1, 3, 3, 2))
    inputs = [nnrun.tensor(x, requires_grad=True), nnrun.tensor(grid, requires_grad=True)]
    assert gradcheck(lambda a, g: F.grid_sample(a, g, "bilinear", padding_mode, align_corners), inputs)


def test_affine_grid_gradcheck():
    theta = nnrun.tensor(np.random.default_rng(4).standard_normal((2, 2, 3)), requires_grad=True)
    assert gradcheck(lambda t: F.affine_grid(t, [2, 1, 3, 4], False), [theta])


def test_spatial_transformer_identity():
    """The identity map samples the image back, as in a spatial transformer network at its start."""
    x = nnrun.randn(2, 3, 5, 6, dtype=nnrun.float64)
    theta = nnrun.tensor(np.tile(np.eye(2, 3), (2, 1, 1)))
    for align_corners in (True, False):
        grid = F.affine_grid(theta, list(x.shape), align_corners)
        np.testing.assert_allclose(
            F.grid_sample(x, grid, align_corners=align_corners).numpy(), x.numpy(), atol=1e-12
        )


def test_align_corners_default_warns_like_torch():
    theta = torch.zeros(1, 2, 3)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(nnrun.zeros(1, 2, 3), [1, 1, 2, 2])
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        TF.affine_grid(theta, [1, 1, 2, 2])
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(nnrun.zeros(1, 1, 2, 2), nnrun.zeros(1, 2, 2, 2))


def _raises_like_torch(ours, theirs):
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value)) as got:
        ours()
    assert str(got.value) == str(expected.value).replace("torch.Size", "nnrun.Size")


ERRORS = [
    ("theta_shape", lambda t, f: f.affine_grid(t.zeros(2, 3, 3), [2, 1, 4, 4], False)),
    ("size_rank", lambda t, f: f.affine_grid(t.zeros(2, 2, 3), [2, 1, 4], False)),
    ("size_positive", lambda t, f: f.affine_grid(t.zeros(2, 2, 3), [2, 1, 0, 4], False)),
    (
        "mode",
        lambda t, f: f.grid_sample(t.zeros(1, 1, 2, 2), t.zeros(1, 2, 2, 2), "cubic", align_corners=False),
    ),
    (
        "padding_mode",
        lambda t, f: f.grid_sample(
            t.zeros(1, 1, 2, 2), t.zeros(1, 2, 2, 2), padding_mode="wrap", align_corners=False
        ),
    ),
]


@pytest.mark.parametrize(("name", "call"), ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(name, call):
    _raises_like_torch(lambda: call(nnrun, F), lambda: call(torch, TF))


def test_unsupported_inputs_say_so():
    with pytest.raises(NotImplementedError, match="4-D"):
        F.grid_sample(nnrun.zeros(1, 1, 2, 2, 2), nnrun.zeros(1, 2, 2, 2, 3), align_corners=False)
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.grid_sample(nnrun.zeros(1, 1, 2, 2), nnrun.zeros(1, 2, 2, 2), "bicubic", align_corners=False)
