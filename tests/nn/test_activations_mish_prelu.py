"""Mish, Hardswish, PReLU and Softmax2d: torch parity (values, gradients, node names), gradchecks, layers."""

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")

# the kinks of hardswish (-3, 3), zero, and values far out on both sides
SPECIAL = np.array([-1e4, -30.0, -3.0, -2.5, 0.0, 1.5, 3.0, 3.5, 30.0, 1e4])


def _input(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape) * 4
    x.reshape(-1)[: SPECIAL.size] = SPECIAL
    return x


CASES = [
    ("mish", lambda f, x, w: f.mish(x)),
    ("hardswish", lambda f, x, w: f.hardswish(x)),
    ("prelu_shared", lambda f, x, w: f.prelu(x, w[:1])),
    ("prelu_per_channel", lambda f, x, w: f.prelu(x, w)),
    ("softmax2d", lambda f, x, w: (torch.nn if f is torch.nn.functional else nn).Softmax2d()(x)),
]


@pytest.mark.parametrize(("name", "call"), CASES)
@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-5)])
def test_parity_with_torch(name, call, dtype, tol):
    x, w = _input((2, 3, 4, 5)), np.array([0.25, -0.5, 1.5])
    ours = [nnrun.tensor(a, dtype=getattr(nnrun, dtype), requires_grad=True) for a in (x, w)]
    theirs = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in (x, w)]
    y_ours, y_theirs = call(F, *ours), call(torch.nn.functional, *theirs)
    np.testing.assert_allclose(y_ours.detach().numpy(), y_theirs.detach().numpy(), rtol=tol, atol=tol)
    assert y_ours.grad_fn.name() == y_theirs.grad_fn.name()
    upstream = np.random.default_rng(1).standard_normal(x.shape)
    y_ours.backward(nnrun.tensor(upstream, dtype=getattr(nnrun, dtype)))
    y_theirs.backward(torch.tensor(upstream, dtype=getattr(torch, dtype)))
    for a, b in zip(ours, theirs, strict=True):
        if b.grad is None:
            assert a.grad is None
        else:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol * 10)


@pytest.mark.parametrize(("name", "call"), CASES)
def test_gradcheck(name, call):
    x = np.random.default_rng(2).standard_normal((2, 3, 2, 2)) * 2
    x[np.abs(np.abs(x) - 3) < 0.05] += 0.2  # keep central differences off hardswish's kinks
    x[np.abs(x) < 0.05] += 0.2  # and off prelu's
    inputs = (
        nnrun.tensor(x, requires_grad=True),
        nnrun.tensor([0.25, -0.5, 1.5], dtype=nnrun.float64, requires_grad=True),
    )
    assert gradcheck(lambda x, w: call(F, x, w), inputs)


@pytest.mark.parametrize("name", ["mish", "hardswish"])
def test_inplace_matches_out_of_place(name):
    x = np.random.default_rng(3).standard_normal((3, 4))
    expected = getattr(torch.nn.functional, name)(torch.tensor(x)).numpy()
    leaf = nnrun.tensor(x, requires_grad=True)
    y = leaf * 1
    out = getattr(F, name)(y, inplace=True)
    assert out is y
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-12)
    out.sum().backward()
    reference = torch.tensor(x, requires_grad=True)
    getattr(torch.nn.functional, name)(reference).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), reference.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize(
    "build",
    [
        lambda m: m.Mish(),
        lambda m: m.Mish(True),
        lambda m: m.Hardswish(True),
        lambda m: m.PReLU(),
        lambda m: m.PReLU(3, 0.1),
        lambda m: m.Softmax2d(),
    ],
)
def test_layers_match_torch(build):
    ours, theirs = build(nn), build(torch.nn)
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[k].numpy(), v.numpy())
    assert type(ours).__name__ in nn.LAYERS.entries()


def test_prelu_layer_trains_as_torch():
    ours, theirs = nn.PReLU(3), torch.nn.PReLU(3)
    x = _input((4, 3, 5)).astype(np.float32)
    (ours(nnrun.tensor(x)) ** 2).sum().backward()
    (theirs(torch.tensor(x)) ** 2).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5)


@pytest.mark.parametrize(
    "call",
    [
        lambda t, f: f.prelu(t.ones(2, 3, 4), t.ones(4)),
        lambda t, f: f.prelu(t.ones(3), t.ones(3)),
        lambda t, f: t.nn.Softmax2d()(t.ones(3, 4)),
    ],
)
def test_errors_match_torch(call):
    with pytest.raises(Exception) as theirs:
        call(torch, torch.nn.functional)
    with pytest.raises(type(theirs.value)) as ours:
        call(nnrun, F)
    assert str(ours.value) == str(theirs.value)
