"""Padding layers, F.pad's size errors, PixelShuffle/PixelUnshuffle: torch parity, gradchecks, reprs,
errors."""

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.config import build_model
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _parity(ours_fn, torch_fn, shape, dtype=np.float64, rtol=1e-12):
    """Forward and backward of ``ours_fn`` and ``torch_fn`` on one input and one upstream gradient."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_fn(xt)
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.tensor(g))
    xo = nnrun.tensor(x, requires_grad=True)
    yo = ours_fn(xo)
    yo.backward(nnrun.tensor(g))
    assert tuple(yo.shape) == tuple(yt.shape) and yo.dtype == nnrun.tensor(x).dtype
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=rtol)


# ----- padding layers -----
# (class name, constructor arguments, input shape)
PAD_LAYERS = [
    ("ZeroPad1d", (2,), (2, 3, 4)),
    ("ZeroPad1d", ((1, -2),), (3, 5)),
    ("ZeroPad2d", (1,), (2, 3, 4, 5)),
    ("ZeroPad2d", ((1, 2, 0, 3),), (3, 4, 5)),
    ("ZeroPad2d", ((-1, 2, 3, -2),), (1, 2, 4, 5)),
    ("ZeroPad3d", ((1, 0, 2, 1, 0, 1),), (1, 2, 3, 4, 2)),
    ("ConstantPad1d", (2, 3.5), (2, 3, 4)),
    ("ConstantPad1d", ((3, 1), -1), (3, 4)),
    ("ConstantPad2d", (1, 0.25), (2, 3, 4, 5)),
    ("ConstantPad2d", ((1, 2), 7), (2, 3, 4)),  # a 2-tuple pads the last dimension only, as torch does
    ("ConstantPad2d", ((2, 0, -1, 1), -2.0), (3, 4, 5)),
    ("ConstantPad3d", (1, 2.0), (1, 2, 3, 3, 2)),
    ("ConstantPad3d", ((0, 1, 2, 0, 1, 1), 1.5), (2, 3, 2, 4)),
    ("ReflectionPad1d", (2,), (2, 3, 5)),
    ("ReflectionPad1d", ((3, 1),), (3, 4)),
    ("ReflectionPad2d", (1,), (2, 3, 4, 5)),
    ("ReflectionPad2d", ((3, 0, 2, 1),), (3, 4, 5)),
    ("ReflectionPad2d", ((-1, 2, 3, -2),), (1, 2, 4, 5)),
    ("ReflectionPad3d", ((1, 2, 0, 1, 2, 1),), (1, 2, 3, 4, 5)),
    ("ReplicationPad1d", (3,), (2, 3, 4)),
    ("ReplicationPad1d", ((0, 5),), (3, 2)),
    ("ReplicationPad2d", (2,), (2, 3, 4, 5)),
    ("ReplicationPad2d", ((4, 1, 0, 3),), (3, 2, 3)),
    ("ReplicationPad3d", ((1, 2, 3, 0, 1, 1),), (2, 3, 2, 3)),
    ("CircularPad1d", (2,), (2, 3, 4)),
    ("CircularPad1d", ((-1, 3),), (3, 4)),
    ("CircularPad2d", ((1, 2, 3, 0),), (2, 3, 4, 5)),
    ("CircularPad2d", (1,), (3, 4, 5)),
    ("CircularPad3d", ((1, 0, 2, 1, 1, 1),), (1, 2, 3, 4, 5)),
]


@pytest.mark.parametrize("name, args, shape", PAD_LAYERS)
def test_pad_layer_parity_float64(name, args, shape):
    _parity(getattr(nn, name)(*args), getattr(torch.nn, name)(*args), shape)


@pytest.mark.parametrize("name, args, shape", PAD_LAYERS[::4])
def test_pad_layer_parity_float32(name, args, shape):
    _parity(getattr(nn, name)(*args), getattr(torch.nn, name)(*args), shape, np.float32, rtol=1e-5)


@pytest.mark.parametrize("name, args, shape", PAD_LAYERS)
def test_pad_layer_repr_attributes_and_state(name, args, shape):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding
    if hasattr(theirs, "value"):
        assert ours.value == theirs.value
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    assert list(ours.parameters()) == []
    assert nn.LAYERS.get(name) is getattr(nn, name)


@pytest.mark.parametrize(
    "layer",
    [
        nn.ConstantPad1d((2, -1), 0.5),
        nn.ZeroPad2d((1, 2, -1, 1)),
        nn.ConstantPad3d((1, 0, 0, 1, 1, 1), -1.0),
        nn.ReflectionPad1d((2, 1)),
        nn.ReflectionPad2d((2, -1, 1, 2)),
        nn.ReflectionPad3d((1, 1, 0, 1, 1, 0)),
        nn.ReplicationPad1d((3, 0)),
        nn.ReplicationPad2d((1, 3, 2, -1)),
        nn.ReplicationPad3d((0, 1, 2, 1, 1, 0)),
        nn.CircularPad1d((1, 3)),
        nn.CircularPad2d((-1, 2, 1, 1)),
        nn.CircularPad3d((1, 0, 1, 2, 0, 1)),
    ],
    ids=repr,
)
def test_pad_layer_gradcheck(layer):
    dims = len(layer.padding) // 2
    x = nnrun.randn(2, *(4,) * (dims + 1), dtype=nnrun.float64, requires_grad=True)
    assert gradcheck(layer, (x,))


def test_pad_layers_build_from_yaml():
    model = build_model(
        """
        module:
          Sequential:
            - {ReflectionPad2d: [[1, 2, 0, 1]]}
            - {ConstantPad1d: {padding: [1, 0], value: -1.0}}
            - ZeroPad2d: 1
            - {PixelUnshuffle: 2}
            - {PixelShuffle: {upscale_factor: 2}}
        """
    )
    x = nnrun.randn(1, 2, 3, 4)
    expected = TF.pad(
        TF.pad(TF.pad(torch.tensor(x.numpy()), (1, 2, 0, 1), "reflect"), (1, 0), value=-1.0), (1,) * 4
    )
    np.testing.assert_array_equal(model(x).numpy(), expected.numpy())
    assert repr(model[0]) == "ReflectionPad2d((1, 2, 0, 1))" and model[1].value == -1.0


@pytest.mark.parametrize(
    "name, args, shape, error, message",
    [
        (
            "ReflectionPad1d",
            (3,),
            (1, 2, 3),
            RuntimeError,
            "Padding size should be less than the corresponding",
        ),
        ("ReflectionPad2d", ((0, 0, 2, 2),), (1, 2, 5), RuntimeError, "Padding size should be less than"),
        (
            "ReflectionPad1d",
            (1,),
            (1, 1, 2, 2, 2),
            NotImplementedError,
            "Padding size 2 is not supported for 5D",
        ),
        ("ReplicationPad1d", (1,), (3,), NotImplementedError, "Padding size 2 is not supported for 1D"),
        ("ReflectionPad2d", ((1, 2, 3),), (1, 3, 3), RuntimeError, "Padding length must be divisible by 2"),
        ("ZeroPad2d", ((1, 2, 3),), (2, 2, 2), RuntimeError, "Padding length must be divisible by 2"),
        ("ConstantPad2d", (1, 0.0), (3,), RuntimeError, "Padding length should be less than or equal to two"),
        ("CircularPad2d", (1,), (1, 3), ValueError, r"expected 3D or 4D input \(got 2D input\)"),
        ("CircularPad1d", (1,), (1, 1, 1, 3), ValueError, r"expected 2D or 3D input \(got 4D input\)"),
        ("CircularPad3d", (1,), (1, 3, 3), ValueError, r"expected 4D or 5D input \(got 3D input\)"),
        ("CircularPad1d", (4,), (1, 3), RuntimeError, "wrapping around more than once"),
        ("ZeroPad1d", (-2,), (1, 3), RuntimeError, r"narrow\(\): length must be non-negative"),
        ("ReplicationPad1d", ((-2, -1),), (1, 2, 3), RuntimeError, r"input \(W: 3\) is too small"),
    ],
)
def test_pad_layer_errors_match_torch(name, args, shape, error, message):
    with pytest.raises(error, match=message):
        getattr(torch.nn, name)(*args)(torch.zeros(shape))
    with pytest.raises(error, match=message):
        getattr(nn, name)(*args)(nnrun.zeros(*shape))


# ----- F.pad: sizes after negative padding (cropping) -----
@pytest.mark.parametrize(
    "shape, pad, mode",
    [
        ((1, 2, 3), (-2, -2), "constant"),
        ((2,), (-3, 1), "constant"),
        ((3, 3, 1), (1, -2, 4, 0, 4, 0), "constant"),
        ((3, 2, 1), (-3, -2), "replicate"),
        ((3, 3, 1, 3), (0, -3, -1, 0), "replicate"),
        ((1, 2, 2), (-2, 0, -2, -3), "reflect"),
        ((2, 3, 2, 3), (4, -3, -2, -3), "replicate"),
        ((4, 1, 3, 4, 2), (-3, 0, -2, 1, -2, -2), "reflect"),
        ((1, 2, 3), (-2, -2), "circular"),
        ((1, 2, 3), (4, 0), "circular"),
    ],
)
def test_pad_size_errors_match_torch(shape, pad, mode):
    with pytest.raises(RuntimeError) as theirs:
        TF.pad(torch.zeros(shape), pad, mode)
    with pytest.raises(RuntimeError) as ours:
        F.pad(nnrun.zeros(*shape), pad, mode)
    assert str(ours.value)[:12] == str(theirs.value)[:12]  # torch words "too small" two ways


@pytest.mark.parametrize(
    "shape, pad, mode",
    [
        (
            (1, 2, 3, 3),
            (0, 0, -2, -1),
            "reflect",
        ),  # an empty padded dimension is allowed while another is not
        ((1, 2, 3, 3, 3), (0, 0, 0, 0, -2, -1), "replicate"),
        ((4, 4, 3), (-3, 0), "circular"),
        ((3, 5), (-3, -2), "constant"),
    ],
)
def test_pad_to_empty_matches_torch(shape, pad, mode):
    yt = TF.pad(torch.zeros(shape), pad, mode)
    yo = F.pad(nnrun.zeros(*shape), pad, mode)
    assert tuple(yo.shape) == tuple(yt.shape) and 0 in yo.shape


def test_circular_wrap_longer_than_what_cropping_keeps_is_refused():
    # torch checks only the input size and would copy unset memory here; nnrun refuses the wrap
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(nnrun.zeros(3, 3), (-3, 3), "circular")


# ----- pixel shuffle -----
@pytest.mark.parametrize(
    "shape, r", [((2, 8, 3, 4), 2), ((18, 2, 3), 3), ((2, 3, 4, 1, 2), 2), ((1, 5, 2, 3), 1)]
)
def test_pixel_shuffle_parity(shape, r):
    _parity(lambda t: F.pixel_shuffle(t, r), lambda t: TF.pixel_shuffle(t, r), shape)
    _parity(nn.PixelShuffle(r), torch.nn.PixelShuffle(r), shape, np.float32, rtol=1e-5)


@pytest.mark.parametrize(
    "shape, r", [((2, 2, 6, 4), 2), ((1, 6, 9), 3), ((2, 3, 2, 4, 6), 2), ((1, 5, 2, 3), 1)]
)
def test_pixel_unshuffle_parity(shape, r):
    _parity(lambda t: F.pixel_unshuffle(t, r), lambda t: TF.pixel_unshuffle(t, r), shape)
    _parity(nn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r), shape, np.float32, rtol=1e-5)


def test_pixel_shuffle_empty_batch():
    # torch's own backward fails on an empty batch, so only the forward is compared
    x = nnrun.zeros(0, 4, 2, 2, requires_grad=True)
    y = F.pixel_shuffle(x, 2)
    assert tuple(y.shape) == tuple(TF.pixel_shuffle(torch.zeros(0, 4, 2, 2), 2).shape) == (0, 1, 4, 4)
    F.pixel_unshuffle(y, 2).sum().backward()
    assert x.grad.shape == x.shape
    assert tuple(F.pixel_unshuffle(nnrun.zeros(0, 1, 4, 4), 2).shape) == (0, 4, 2, 2)


def test_pixel_shuffle_gradcheck_and_round_trip():
    x = nnrun.randn(2, 8, 3, 2, dtype=nnrun.float64, requires_grad=True)
    assert gradcheck(lambda t: F.pixel_shuffle(t, 2), (x,))
    y = nnrun.randn(2, 1, 6, 4, dtype=nnrun.float64, requires_grad=True)
    assert gradcheck(lambda t: F.pixel_unshuffle(t, 2), (y,))
    np.testing.assert_array_equal(
        F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2).detach().numpy(), x.detach().numpy()
    )
    ints = nnrun.tensor(np.arange(16).reshape(4, 2, 2))
    assert F.pixel_shuffle(ints, 2).dtype == nnrun.int64


def test_pixel_shuffle_layers_repr_and_state():
    for ours, theirs in [
        (nn.PixelShuffle(2), torch.nn.PixelShuffle(2)),
        (nn.PixelUnshuffle(3), torch.nn.PixelUnshuffle(3)),
    ]:
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    assert nn.PixelShuffle(2).upscale_factor == 2 and nn.PixelUnshuffle(3).downscale_factor == 3
    assert (
        nn.LAYERS.get("PixelShuffle") is nn.PixelShuffle
        and nn.LAYERS.get("PixelUnshuffle") is nn.PixelUnshuffle
    )


@pytest.mark.parametrize(
    "fn, shape, factor, error, message",
    [
        (
            "pixel_shuffle",
            (4, 2),
            2,
            RuntimeError,
            "expects input to have at least 3 dimensions, but got input with 2",
        ),
        ("pixel_shuffle", (5, 2, 2), 2, RuntimeError, r"input.size\(-3\)=5 is not divisible by 4"),
        ("pixel_shuffle", (4, 2, 2), 0, RuntimeError, "expects a positive upscale_factor, but got 0"),
        ("pixel_shuffle", (4, 2, 2), -1, RuntimeError, "expects a positive upscale_factor, but got -1"),
        (
            "pixel_shuffle",
            (4, 2, 2),
            2.0,
            TypeError,
            "argument 'upscale_factor' \\(position 2\\) must be int, not float",
        ),
        ("pixel_unshuffle", (4, 2), 2, RuntimeError, "expects input to have at least 3 dimensions"),
        (
            "pixel_unshuffle",
            (5, 3, 2),
            2,
            RuntimeError,
            r"height to be divisible by downscale_factor, but input.size\(-2\)=3",
        ),
        (
            "pixel_unshuffle",
            (5, 2, 3),
            2,
            RuntimeError,
            r"width to be divisible by downscale_factor, but input.size\(-1\)=3",
        ),
        ("pixel_unshuffle", (4, 2, 2), 0, RuntimeError, "expects a positive downscale_factor, but got 0"),
        ("pixel_unshuffle", (4, 2, 2), 1.5, TypeError, "must be int, not float"),
    ],
)
def test_pixel_shuffle_errors_match_torch(fn, shape, factor, error, message):
    with pytest.raises(error, match=message):
        getattr(TF, fn)(torch.zeros(shape), factor)
    with pytest.raises(error, match=message):
        getattr(F, fn)(nnrun.zeros(*shape), factor)
