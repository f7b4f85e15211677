"""1-D pooling: F.max_pool1d / avg_pool1d / adaptive_*_pool1d and their layers, against torch."""

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")

CASES = [
    ("max_pool1d", (2,), {}),
    ("max_pool1d", (3,), {"stride": 1, "padding": 1, "dilation": 2, "ceil_mode": True}),
    ("max_pool1d", ((3,),), {"stride": (2,), "padding": (1,)}),
    ("avg_pool1d", (2,), {}),
    ("avg_pool1d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}),
    ("avg_pool1d", ((3,),), {"stride": (1,)}),
    ("adaptive_avg_pool1d", (3,), {}),
    ("adaptive_avg_pool1d", (1,), {}),
    ("adaptive_max_pool1d", (3,), {}),
    ("adaptive_max_pool1d", (4,), {"return_indices": True}),
    ("max_pool1d", (2,), {"return_indices": True}),
]


@pytest.mark.parametrize(("name", "args", "options"), CASES)
@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-5)])
@pytest.mark.parametrize("shape", [(2, 3, 9), (3, 8)])
def test_pool1d_parity(name, args, options, dtype, tol, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    ours, theirs = nnrun.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y_ours = getattr(F, name)(ours, *args, **options)
    y_theirs = getattr(torch.nn.functional, name)(theirs, *args, **options)
    if options.get("return_indices"):
        np.testing.assert_array_equal(y_ours[1].numpy(), y_theirs[1].numpy())
        y_ours, y_theirs = y_ours[0], y_theirs[0]
    np.testing.assert_allclose(y_ours.detach().numpy(), y_theirs.detach().numpy(), rtol=tol, atol=tol)
    assert y_ours.grad_fn.name() == y_theirs.grad_fn.name()
    upstream = np.random.default_rng(1).standard_normal(tuple(y_theirs.shape)).astype(dtype)
    y_ours.backward(nnrun.tensor(upstream))
    y_theirs.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize(("name", "args", "options"), [c for c in CASES if not c[2].get("return_indices")])
def test_pool1d_gradcheck(name, args, options):
    x = nnrun.tensor(np.random.default_rng(2).standard_normal((2, 2, 9)), requires_grad=True)
    assert gradcheck(lambda x: getattr(F, name)(x, *args, **options), (x,))


@pytest.mark.parametrize(
    "build",
    [
        lambda m: m.MaxPool1d(2),
        lambda m: m.MaxPool1d(3, 1, 1, 2, True, True),
        lambda m: m.MaxPool1d((2,)),
        lambda m: m.AvgPool1d(2),
        lambda m: m.AvgPool1d(3, 1, 1, True, False),
        lambda m: m.AvgPool1d((2,), (1,)),
        lambda m: m.AdaptiveAvgPool1d(3),
        lambda m: m.AdaptiveMaxPool1d(3, True),
    ],
)
def test_pool1d_layers_match_torch(build):
    ours, theirs = build(nn), build(torch.nn)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    x = np.random.default_rng(3).standard_normal((2, 3, 10)).astype(np.float32)
    y_ours, y_theirs = ours(nnrun.tensor(x)), theirs(torch.tensor(x))
    if isinstance(y_theirs, tuple):
        np.testing.assert_array_equal(y_ours[1].numpy(), y_theirs[1].numpy())
        y_ours, y_theirs = y_ours[0], y_theirs[0]
    np.testing.assert_allclose(y_ours.numpy(), y_theirs.numpy(), rtol=1e-5, atol=1e-6)
    assert type(ours).__name__ in nn.LAYERS.entries()


@pytest.mark.parametrize(
    "call",
    [
        lambda f, t: f.max_pool1d(t.randn(2, 3, 4, 5), 2),
        lambda f, t: f.avg_pool1d(t.randn(3, 4, 5, 6), 2),
        lambda f, t: f.adaptive_avg_pool1d(t.randn(3, 4, 5, 6), 2),
        lambda f, t: f.avg_pool1d(t.randn(2, 3, 4), (2, 2)),
        lambda f, t: f.max_pool1d(t.randn(2, 3, 4), 5),
    ],
)
def test_pool1d_errors_match_torch(call):
    with pytest.raises(RuntimeError) as theirs:
        call(torch.nn.functional, torch)
    with pytest.raises(RuntimeError) as ours:
        call(F, nnrun)
    if "Invalid computed output size" not in str(theirs.value):  # the 2-D pool words that one its own way
        assert str(ours.value) == str(theirs.value)
