"""Bilinear, RMSNorm, Unfold/Fold, ChannelShuffle, UpsamplingNearest2d/Bilinear2d, Dropout1d/3d, AlphaDropout
and FeatureAlphaDropout: torch parity (values, gradients, node names), gradchecks, printed forms, state_dict,
statistics of the random layers, errors, and a YAML model."""

import numpy as np
import pytest
from close_to_torch import assert_close_to_torch

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.config import build_model
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# (name, shapes of the differentiable inputs, call(functional, *inputs), torch's node name or None)
CASES = [
    ("bilinear", [(5, 3), (5, 4), (2, 3, 4), (2,)], lambda f, a, b, w, c: f.bilinear(a, b, w, c), None),
    (
        "bilinear_nobias_batch",
        [(2, 3, 3), (2, 3, 4), (6, 3, 4)],
        lambda f, a, b, w: f.bilinear(a, b, w),
        None,
    ),
    ("rms_norm", [(4, 6)], lambda f, x: f.rms_norm(x, (6,)), "MulBackward0"),
    (
        "rms_norm_weight_eps",
        [(2, 3, 4), (3, 4)],
        lambda f, x, w: f.rms_norm(x, [3, 4], w, 1e-3),
        "MulBackward0",
    ),
    ("unfold", [(2, 3, 5, 6)], lambda f, x: f.unfold(x, 2), "Im2ColBackward0"),
    (
        "unfold_args",
        [(2, 2, 7, 6)],
        lambda f, x: f.unfold(x, (2, 3), dilation=(2, 1), padding=1, stride=(2, 1)),
        "Im2ColBackward0",
    ),
    ("unfold_unbatched", [(3, 4, 4)], lambda f, x: f.unfold(x, 3, padding=1, stride=2), None),
    ("fold", [(2, 12, 12)], lambda f, x: f.fold(x, (4, 5), 2), "Col2ImBackward0"),
    (
        "fold_args",
        [(1, 12, 6)],
        lambda f, x: f.fold(x, (5, 5), (2, 3), dilation=(1, 2), padding=1, stride=2),
        "Col2ImBackward0",
    ),
    ("fold_unbatched", [(8, 9)], lambda f, x: f.fold(x, 4, 2, stride=1), None),
    ("channel_shuffle", [(2, 6, 3, 2)], lambda f, x: f.channel_shuffle(x, 3), "ChannelShuffleBackward0"),
    ("channel_shuffle_3d", [(2, 8, 5)], lambda f, x: f.channel_shuffle(x, 2), None),
]


def _module(f):
    return torch if f is TF else nnrun


@pytest.mark.parametrize(("name", "shapes", "call", "node"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-5)])
def test_parity_with_torch(name, shapes, call, node, dtype, tol):
    arrays = [np.random.default_rng(i).standard_normal(s) for i, s in enumerate(shapes)]
    ours = [nnrun.tensor(a, dtype=getattr(nnrun, dtype), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
    y_ours, y_theirs = call(F, *ours), call(TF, *theirs)
    assert y_ours.shape == tuple(y_theirs.shape)
    assert_close_to_torch(y_ours, y_theirs, tol)
    if node is not None:
        assert y_ours.grad_fn.name() == y_theirs.grad_fn.name() == node
    upstream = np.random.default_rng(9).standard_normal(tuple(y_theirs.shape))
    y_ours.backward(nnrun.tensor(upstream, dtype=getattr(nnrun, dtype)))
    y_theirs.backward(torch.tensor(upstream, dtype=getattr(torch, dtype)))
    for a, b in zip(ours, theirs, strict=True):
        assert_close_to_torch(a.grad, b.grad, tol)


@pytest.mark.parametrize(("name", "shapes", "call", "node"), CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name, shapes, call, node):
    arrays = [np.random.default_rng(i + 3).standard_normal(s) for i, s in enumerate(shapes)]
    assert gradcheck(lambda *xs: call(F, *xs), [nnrun.tensor(a, requires_grad=True) for a in arrays])


def test_fold_is_the_adjoint_of_unfold():
    """<unfold(x), y> = <x, fold(y)>: each one's backward is the other's forward."""
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((2, 3 * 6, 12))
    args = {"kernel_size": (2, 3), "dilation": 1, "padding": (1, 0), "stride": (2, 2)}
    columns = F.unfold(nnrun.tensor(x), **args).numpy()
    image = F.fold(nnrun.tensor(y), (6, 7), **args).numpy()
    np.testing.assert_allclose((columns * y).sum(), (x * image).sum(), rtol=1e-12)


LAYERS = [
    ("Bilinear", (2, 3, 4), {}),
    ("Bilinear", (3, 2, 5), {"bias": False}),
    ("RMSNorm", (4,), {}),
    ("RMSNorm", ([3, 4],), {"eps": 1e-5, "elementwise_affine": False}),
    ("Unfold", (3,), {}),
    ("Unfold", ((2, 3),), {"dilation": 2, "padding": 1, "stride": 2}),
    ("Fold", ((4, 5), 2), {}),
    ("Fold", (6, (2, 3)), {"padding": 1, "stride": (1, 2)}),
    ("ChannelShuffle", (2,), {}),
    ("UpsamplingNearest2d", (), {"scale_factor": 2}),
    ("UpsamplingNearest2d", ((5, 7),), {}),
    ("UpsamplingBilinear2d", (), {"size": (3, 4)}),
    ("UpsamplingBilinear2d", (), {"scale_factor": 1.5}),
    ("Dropout1d", (), {}),
    ("Dropout3d", (0.2, True), {}),
    ("AlphaDropout", (0.3,), {}),
    ("FeatureAlphaDropout", (), {"p": 0.1}),
]


@pytest.mark.parametrize(("layer", "args", "kwargs"), LAYERS)
def test_layers_print_and_hold_state_like_torch(layer, args, kwargs):
    ours, theirs = getattr(nn, layer)(*args, **kwargs), getattr(torch.nn, layer)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    mine, ref = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(ref)
    for key, value in ref.items():
        assert mine[key].shape == tuple(value.shape)
    assert layer in nn.LAYERS


@pytest.mark.parametrize(
    ("layer", "args", "inputs"),
    [
        ("Bilinear", (3, 4, 2), [(5, 3), (5, 4)]),
        ("RMSNorm", ([3, 4],), [(2, 3, 4)]),
        ("Unfold", ((2, 3),), [(2, 3, 5, 5)]),
        ("Fold", ((4, 5), 2), [(2, 8, 12)]),
        ("ChannelShuffle", (2,), [(2, 4, 3, 3)]),
        ("UpsamplingNearest2d", ((5, 7),), [(2, 3, 3, 4)]),
        ("UpsamplingBilinear2d", (None, 2), [(2, 3, 3, 4)]),
    ],
)
def test_layers_compute_like_torch(layer, args, inputs):
    ours, theirs = getattr(nn, layer)(*args), getattr(torch.nn, layer)(*args)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    arrays = [np.random.default_rng(i).standard_normal(s).astype(np.float32) for i, s in enumerate(inputs)]
    y = ours(*[nnrun.tensor(a) for a in arrays])
    assert_close_to_torch(y, theirs(*[torch.tensor(a) for a in arrays]), 1e-5)


def test_bilinear_starts_uniform_in_one_over_sqrt_in1():
    layer = nn.Bilinear(16, 3, 50)
    bound = 1 / 4
    for p in (layer.weight, layer.bias):
        values = p.detach().numpy()
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.9 * bound


def test_rms_norm_default_eps_is_the_dtype_epsilon():
    x = np.full((2, 3), 1e-5)
    for dtype in ("float32", "float64"):
        ours = F.rms_norm(nnrun.tensor(x, dtype=getattr(nnrun, dtype)), (3,))
        theirs = TF.rms_norm(torch.tensor(x, dtype=getattr(torch, dtype)), (3,))
        assert_close_to_torch(ours, theirs, 1e-6)


@pytest.mark.parametrize(
    ("name", "shape", "mask_dims"),
    [
        ("dropout1d", (40, 30, 7), 2),
        ("dropout1d", (300, 7), 1),
        ("dropout3d", (20, 30, 2, 3, 2), 2),
        ("dropout3d", (300, 2, 3, 2), 1),
    ],
)
def test_channel_dropout_drops_whole_channels(name, shape, mask_dims):
    nnrun.manual_seed(0)
    x = nnrun.ones(*shape, dtype=nnrun.float64, requires_grad=True)
    y = getattr(F, name)(x, p=0.4)
    values = y.detach().numpy()
    per_channel = values.reshape(*shape[:mask_dims], -1)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # each channel kept or dropped whole
    assert set(np.unique(values)) <= {0.0, 1 / 0.6}
    assert abs((per_channel[..., 0] == 0).mean() - 0.4) < 0.1
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)  # the gradient is the mask
    assert getattr(F, name)(x, p=0.4, training=False) is x


@pytest.mark.parametrize(
    ("name", "shape", "feature"),
    [("alpha_dropout", (200, 300), False), ("feature_alpha_dropout", (300, 200, 4), True)],
)
def test_alpha_dropout_keeps_mean_and_variance(name, shape, feature):
    nnrun.manual_seed(1)
    x = nnrun.randn(*shape, dtype=nnrun.float64, requires_grad=True)
    y = getattr(F, name)(x, 0.2, training=True)
    values = y.detach().numpy()
    assert abs(values.mean()) < 0.02 and abs(values.std() - 1) < 0.02
    y.sum().backward()
    a = 1 / np.sqrt((1.7580993408473766**2 * 0.2 + 1) * 0.8)
    kept = x.grad.numpy() != 0  # the gradient is a where kept, 0 where dropped
    np.testing.assert_allclose(x.grad.numpy()[kept], a)
    # kept elements are a·x + b, dropped ones SELU's saturation mapped alike: as torch's for the same mask
    np.testing.assert_allclose(values[kept], a * x.detach().numpy()[kept] + 1.7580993408473766 * a * 0.2)
    np.testing.assert_allclose(values[~kept], -1.7580993408473766 * a + 1.7580993408473766 * a * 0.2)
    assert abs((~kept).mean() - 0.2) < 0.02
    if feature:
        per_channel = kept.reshape(shape[0], shape[1], -1)
        assert np.all(per_channel.all(-1) | ~per_channel.any(-1))
    assert getattr(F, name)(x, 0.2) is x  # training defaults to False in the functional form
    np.testing.assert_array_equal(getattr(F, name)(x, 1.0, training=True).detach().numpy(), 0.0)
    layer = getattr(nn, "AlphaDropout" if not feature else "FeatureAlphaDropout")(0.2)
    assert layer.eval()(x) is x


def _raises_like_torch(ours, theirs):
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value)) as got:
        ours()
    assert str(got.value) == str(expected.value)


ERRORS = [
    ("bilinear_dims", lambda t, f: f.bilinear(t.zeros(3, 2), t.zeros(2, 4), t.zeros(5, 2, 4))),
    ("bilinear_ndim", lambda t, f: f.bilinear(t.zeros(3, 2), t.zeros(1, 3, 4), t.zeros(5, 2, 4))),
    ("bilinear_in1", lambda t, f: f.bilinear(t.zeros(3, 3), t.zeros(3, 4), t.zeros(5, 2, 4))),
    ("bilinear_in2", lambda t, f: f.bilinear(t.zeros(3, 2), t.zeros(3, 3), t.zeros(5, 2, 4))),
    ("bilinear_bias", lambda t, f: f.bilinear(t.zeros(3, 2), t.zeros(3, 4), t.zeros(5, 2, 4), t.zeros(4))),
    ("rms_shape", lambda t, f: f.rms_norm(t.zeros(2, 3), (4,))),
    ("rms_rank", lambda t, f: f.rms_norm(t.zeros(2, 3), (2, 3, 4))),
    ("rms_weight", lambda t, f: f.rms_norm(t.zeros(2, 4), [4], t.ones(3))),
    ("unfold_rank", lambda t, f: f.unfold(t.zeros(2, 3, 4, 5, 6), 2)),
    ("unfold_too_small", lambda t, f: f.unfold(t.zeros(2, 3, 4, 5), 7)),
    ("fold_rank", lambda t, f: f.fold(t.zeros(2, 12, 4, 3), (3, 3), 2)),
    ("fold_channels", lambda t, f: f.fold(t.zeros(2, 13, 4), (3, 3), 2)),
    ("fold_blocks", lambda t, f: f.fold(t.zeros(2, 12, 5), (3, 3), 2)),
    ("shuffle_rank", lambda t, f: f.channel_shuffle(t.zeros(6), 2)),
    ("shuffle_divisible", lambda t, f: f.channel_shuffle(t.zeros(2, 6, 3), 4)),
    ("shuffle_groups", lambda t, f: f.channel_shuffle(t.zeros(2, 6, 3), 0)),
    ("dropout1d_rank", lambda t, f: f.dropout1d(t.zeros(2, 3, 4, 5))),
    ("alpha_p", lambda t, f: f.alpha_dropout(t.zeros(3), p=1.5)),
    ("feature_alpha_p", lambda t, f: f.feature_alpha_dropout(t.zeros(2, 3), p=-0.5)),
    ("layer_p", lambda t, f: t.nn.Dropout3d(p=2.0)),
]


@pytest.mark.parametrize(("name", "call"), ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(name, call):
    _raises_like_torch(lambda: call(nnrun, F), lambda: call(torch, TF))


def test_dropout3d_warns_on_other_ranks_like_torch():
    with pytest.warns(UserWarning, match="Received a 3-D input to dropout3d"):
        F.dropout3d(nnrun.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="Received a 3-D input to dropout3d"):
        TF.dropout3d(torch.ones(2, 3, 4))


def test_new_layers_build_from_yaml():
    model = build_model(
        """
        module:
          Sequential:
            - {Unfold: {kernel_size: 2, stride: 2}}
            - {Fold: {output_size: [4, 4], kernel_size: 2, stride: 2}}
            - {ChannelShuffle: 2}
            - {UpsamplingNearest2d: {scale_factor: 2}}
            - {RMSNorm: {normalized_shape: 8}}
            - SELU
            - {AlphaDropout: 0.1}
            - {Threshold: {threshold: 0.1, value: 0.0}}
        """
    )
    assert tuple(model(nnrun.randn(2, 4, 4, 4)).shape) == (2, 4, 8, 8)
    bilinear = build_model("module: {Bilinear: {in1_features: 3, in2_features: 2, out_features: 4}}")
    assert repr(bilinear) == "Bilinear(in1_features=3, in2_features=2, out_features=4, bias=True)"
