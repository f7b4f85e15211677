"""Upsample and F.interpolate: parity with torch (forward and backward per mode and align_corners),
torch's output-size rule, gradchecks, printed forms, errors."""

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)

SIZES_3D = [
    {"size": 7},
    {"size": 3},
    {"size": (5,)},
    {"size": 1},
    {"scale_factor": 2},
    {"scale_factor": 1.7},
    {"scale_factor": 0.5},
    {"scale_factor": (2.5,)},
    {"scale_factor": 1.3, "recompute_scale_factor": True},
]
SIZES_4D = [
    {"size": (7, 3)},
    {"size": 5},
    {"size": (1, 9)},
    {"scale_factor": 2},
    {"scale_factor": (1.5, 0.6)},
    {"scale_factor": 2.3},
    {"scale_factor": (3, 1.25), "recompute_scale_factor": True},
]
MODES_3D = [("nearest", None), ("nearest-exact", None), ("linear", False), ("linear", True), ("linear", None)]
MODES_4D = [
    ("nearest", None),
    ("nearest-exact", None),
    ("bilinear", False),
    ("bilinear", True),
    ("bilinear", None),
]


def _parity(shape, sizing, mode, align_corners, dtype, tol):
    x = RNG.standard_normal(shape).astype(dtype)
    x_o, x_t = nnrun.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    kwargs = dict(sizing, mode=mode, align_corners=align_corners)
    y_o = F.interpolate(x_o, **kwargs)
    y_t = torch.nn.functional.interpolate(x_t, **kwargs)
    assert tuple(y_o.shape) == tuple(y_t.shape)
    assert y_o.dtype == getattr(nnrun, str(y_t.dtype).removeprefix("torch."))
    np.testing.assert_allclose(y_o.detach().numpy(), y_t.detach().numpy(), rtol=tol, atol=tol)
    g = RNG.standard_normal(tuple(y_t.shape)).astype(dtype)
    y_o.backward(nnrun.tensor(g))
    y_t.backward(torch.tensor(g))
    np.testing.assert_allclose(x_o.grad.numpy(), x_t.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize(("mode", "align_corners"), MODES_3D)
@pytest.mark.parametrize("sizing", SIZES_3D)
@pytest.mark.parametrize(("dtype", "tol"), [(np.float32, 1e-5), (np.float64, 1e-10)])
def test_interpolate_3d_parity(mode, align_corners, sizing, dtype, tol):
    _parity((2, 3, 4), sizing, mode, align_corners, dtype, tol)


@pytest.mark.parametrize(("mode", "align_corners"), MODES_4D)
@pytest.mark.parametrize("sizing", SIZES_4D)
@pytest.mark.parametrize(("dtype", "tol"), [(np.float32, 1e-5), (np.float64, 1e-10)])
def test_interpolate_4d_parity(mode, align_corners, sizing, dtype, tol):
    _parity((2, 3, 4, 5), sizing, mode, align_corners, dtype, tol)


@pytest.mark.parametrize("in_size", [3, 7, 10, 13])
@pytest.mark.parametrize("out_size", [5, 15, 26, 39])
def test_interpolate_nearest_index_rule_matches_torch(in_size, out_size):
    _parity((1, 1, in_size), {"size": out_size}, "nearest", None, np.float32, 0)
    _parity((1, 1, in_size), {"scale_factor": out_size / in_size}, "nearest", None, np.float32, 0)


@pytest.mark.parametrize(
    ("shape", "mode", "align_corners", "sizing"),
    [
        ((2, 2, 4), "linear", False, {"size": 7}),
        ((2, 2, 4), "linear", True, {"scale_factor": 1.5}),
        ((2, 2, 5), "nearest", None, {"size": 3}),
        ((1, 2, 3, 4), "bilinear", False, {"scale_factor": 2}),
        ((1, 2, 3, 4), "bilinear", True, {"size": (5, 2)}),
        ((1, 2, 3, 4), "nearest", None, {"size": (6, 7)}),
        ((1, 2, 3, 4), "nearest-exact", None, {"scale_factor": 0.7}),
    ],
)
def test_interpolate_gradcheck(shape, mode, align_corners, sizing):
    x = nnrun.randn(*shape, dtype=nnrun.float64, requires_grad=True)
    assert gradcheck(lambda x: F.interpolate(x, mode=mode, align_corners=align_corners, **sizing), (x,))


def test_upsample_layer_parity_and_printed_form():
    for kwargs in [
        {"scale_factor": 2},
        {"scale_factor": (2, 3), "mode": "bilinear"},
        {"size": (3, 8), "mode": "bilinear", "align_corners": True},
        {"size": 6},
    ]:
        ours, theirs = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
        assert str(ours) == str(theirs)
        assert ours.state_dict().keys() == theirs.state_dict().keys()
        x = RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)
        np.testing.assert_allclose(
            ours(nnrun.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-5
        )
    assert "Upsample" in nn.LAYERS


def _call(lib, shape, **kwargs):
    return lib.nn.functional.interpolate(lib.zeros(*shape), **kwargs)


@pytest.mark.parametrize(
    ("shape", "kwargs", "error", "message"),
    [
        ((1, 2, 3, 4), {"size": 2, "scale_factor": 2}, ValueError, "only one of size or scale_factor"),
        ((1, 2, 3, 4), {}, ValueError, "either size or scale_factor should be defined"),
        ((1, 2, 3, 4), {"size": (2,)}, ValueError, "Input and output must have the same number of spatial"),
        (
            (1, 2, 3, 4),
            {"scale_factor": (2,)},
            ValueError,
            "Input and scale_factor must have the same number",
        ),
        (
            (1, 2, 3, 4),
            {"size": 3, "align_corners": True},
            ValueError,
            "align_corners option can only be set",
        ),
        (
            (1, 2, 3, 4),
            {"size": 3, "recompute_scale_factor": True},
            ValueError,
            "not meaningful with an explicit",
        ),
        (
            (1, 2, 3, 4),
            {"size": 3, "mode": "linear"},
            NotImplementedError,
            "Got 4D input, but linear mode needs 3D",
        ),
        (
            (1, 2, 3),
            {"size": 3, "mode": "bilinear"},
            NotImplementedError,
            "Got 3D input, but bilinear mode needs 4D",
        ),
        ((1, 2, 3, 4), {"size": 3, "mode": "foo"}, NotImplementedError, r"Input Error: Only 3D.*\(got foo\)"),
        ((2, 3), {"size": 3}, NotImplementedError, r"Input Error: Only 3D"),
        (
            (1, 2, 3),
            {"scale_factor": 0.2},
            RuntimeError,
            r"greater than 0, but got input \(W: 3\) and output \(W: 0\)",
        ),
    ],
)
def test_interpolate_errors_match_torch(shape, kwargs, error, message):
    with pytest.raises(error, match=message):
        _call(torch, shape, **kwargs)
    with pytest.raises(error, match=message):
        _call(nnrun, shape, **kwargs)
