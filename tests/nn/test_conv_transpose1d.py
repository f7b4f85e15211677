"""ConvTranspose1d and F.conv_transpose1d against torch: values, gradients, layer state, errors."""

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")

OPTIONS = [
    {},
    {"stride": 2},
    {"stride": 2, "padding": 1, "output_padding": 1},
    {"stride": (3,), "dilation": (2,), "padding": (2,)},
    {"groups": 2},
    {"bias": False, "stride": 2, "dilation": 2, "output_padding": 1},
]


def _weights(options, in_channels=4, out_channels=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    groups = options.get("groups", 1)
    weight = rng.standard_normal((in_channels, out_channels // groups, k))
    bias = None if options.get("bias") is False else rng.standard_normal(out_channels)
    return weight, bias


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-5)])
@pytest.mark.parametrize("batched", [True, False])
def test_functional_parity(options, dtype, tol, batched):
    weight, bias = _weights(options)
    x = np.random.default_rng(1).standard_normal((2, 4, 7) if batched else (4, 7))
    call = {k: v for k, v in options.items() if k != "bias"}
    tensors = {}
    for lib, f in ((nnrun, F), (torch, torch.nn.functional)):
        d = getattr(lib, dtype)
        args = [lib.tensor(a, dtype=d, requires_grad=True) for a in (x, weight)]
        b = None if bias is None else lib.tensor(bias, dtype=d, requires_grad=True)
        y = f.conv_transpose1d(*args, b, **call)
        upstream = np.random.default_rng(2).standard_normal(tuple(y.shape))
        y.backward(lib.tensor(upstream, dtype=d))
        tensors[lib.__name__] = (
            [y.detach().numpy()] + [a.grad.numpy() for a in args] + ([] if b is None else [b.grad.numpy()])
        )
    for a, b in zip(tensors["nnrun"], tensors["torch"], strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("options", OPTIONS[:4])
def test_gradcheck(options):
    weight, bias = _weights(options, 2, 2, 3)
    call = {k: v for k, v in options.items() if k != "bias"}
    inputs = [
        nnrun.tensor(a, requires_grad=True)
        for a in (np.random.default_rng(3).standard_normal((1, 2, 4)), weight)
    ]
    b = nnrun.tensor(bias, requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv_transpose1d(x, w, b, **call), (*inputs, b))


@pytest.mark.parametrize("options", OPTIONS)
def test_layer_matches_torch(options):
    theirs = torch.nn.ConvTranspose1d(4, 6, 3, **options)
    ours = nn.ConvTranspose1d(4, 6, 3, **options)
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    ours.load_state_dict({k: nnrun.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(4).standard_normal((2, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(
        ours(nnrun.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5
    )
    assert "ConvTranspose1d" in nn.LAYERS.entries()


def test_default_init_bounds_as_torch():
    layer = nn.ConvTranspose1d(8, 4, 5)
    bound = 1 / np.sqrt(4 * 5)  # fan_in of a transposed weight (in, out, k): out * k
    assert np.abs(layer.weight.detach().numpy()).max() <= bound
    assert np.abs(layer.bias.detach().numpy()).max() <= bound


def test_output_size_picks_the_output_padding():
    ours, theirs = nn.ConvTranspose1d(2, 3, 3, stride=2), torch.nn.ConvTranspose1d(2, 3, 3, stride=2)
    x = np.zeros((1, 2, 5), dtype=np.float32)
    assert tuple(ours(nnrun.tensor(x), output_size=[12]).shape) == tuple(
        theirs(torch.tensor(x), output_size=[12]).shape
    )
    with pytest.raises(ValueError, match="valid sizes range from 11 to 12"):
        ours(nnrun.tensor(x), output_size=[13])


@pytest.mark.parametrize(
    "call",
    [
        lambda f, t: f.conv_transpose1d(t.ones(1, 2, 3, 4), t.ones(2, 2, 3)),
    ],
)
def test_errors_match_torch(call):
    with pytest.raises(Exception) as theirs:
        call(torch.nn.functional, torch)
    with pytest.raises(type(theirs.value)):
        call(F, nnrun)


def test_string_padding_is_refused_when_built():
    # torch takes the string apart into characters and fails in forward; nnrun refuses it at once
    with pytest.raises(ValueError, match='padding "same" is not supported by ConvTranspose1d'):
        nn.ConvTranspose1d(2, 3, 3, padding="same")
