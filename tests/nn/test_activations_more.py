"""SELU, CELU, Hardsigmoid, LogSigmoid, Softsign, Tanhshrink, Softshrink, Hardshrink, Threshold, GLU, Softmin,
RReLU and gumbel_softmax: torch parity (values, gradients, node names), gradchecks, in-place forms, layers."""

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# kinks (±3, ±0.5, 0), and values far out on both sides
SPECIAL = np.array([-1e4, -100.0, -30.0, -3.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 1.5, 3.0, 30.0, 100.0, 1e4])

# (name, call(f, x)): f is nnrun's F or torch's
CASES = [
    ("selu", lambda f, x: f.selu(x)),
    ("celu", lambda f, x: f.celu(x)),
    ("celu_2", lambda f, x: f.celu(x, alpha=2.0)),
    ("hardsigmoid", lambda f, x: f.hardsigmoid(x)),
    ("logsigmoid", lambda f, x: f.logsigmoid(x)),
    ("softsign", lambda f, x: f.softsign(x)),
    ("tanhshrink", lambda f, x: f.tanhshrink(x)),
    ("softshrink", lambda f, x: f.softshrink(x)),
    ("softshrink_1", lambda f, x: f.softshrink(x, 1.0)),
    ("hardshrink", lambda f, x: f.hardshrink(x)),
    ("hardshrink_2", lambda f, x: f.hardshrink(x, 2.0)),
    ("threshold", lambda f, x: f.threshold(x, 0.1, 20.0)),
    ("glu", lambda f, x: f.glu(x)),
    ("glu_dim1", lambda f, x: f.glu(x, 1)),
    ("softmin", lambda f, x: f.softmin(x, dim=1)),
    ("softmin_dtype", lambda f, x: f.softmin(x, dim=-1, dtype=x.dtype)),
    ("rrelu_eval", lambda f, x: f.rrelu(x)),
    ("rrelu_eval_bounds", lambda f, x: f.rrelu(x, 0.2, 0.6)),
]


def _input(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape) * 4
    x.reshape(-1)[: SPECIAL.size] = SPECIAL
    return x


@pytest.mark.parametrize(("name", "call"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-5)])
def test_parity_with_torch(name, call, dtype, tol):
    x = _input((3, 4, 6))
    if name == "softmin":  # keep exp in range: the far-out values overflow float32 in both libraries
        x = np.clip(x, -50, 50)
    ours = nnrun.tensor(x, dtype=getattr(nnrun, dtype), requires_grad=True)
    theirs = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    y_ours, y_theirs = call(F, ours), call(TF, theirs)
    expected = y_theirs.detach().numpy()
    np.testing.assert_allclose(y_ours.detach().numpy(), expected, rtol=tol, atol=tol * np.abs(expected).max())
    assert y_ours.grad_fn.name() == y_theirs.grad_fn.name()
    upstream = np.random.default_rng(1).standard_normal(y_theirs.shape)
    y_ours.backward(nnrun.tensor(upstream, dtype=getattr(nnrun, dtype)))
    y_theirs.backward(torch.tensor(upstream, dtype=getattr(torch, dtype)))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=tol, atol=tol * 10)


@pytest.mark.parametrize(("name", "call"), CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name, call):
    x = np.random.default_rng(2).standard_normal((2, 4, 2)) * 2
    for kink in (-3.0, -2.0, -1.0, -0.5, 0.0, 0.1, 0.5, 1.0, 2.0, 3.0):  # central differences stay off kinks
        x[np.abs(x - kink) < 0.05] += 0.12
    assert gradcheck(lambda t: call(F, t), (nnrun.tensor(x, requires_grad=True),))


INPLACE = [
    ("relu_", (), "relu_"),
    ("elu_", (0.5,), "elu_"),
    ("leaky_relu_", (0.2,), "leaky_relu_"),
    ("hardtanh_", (-0.5, 2.0), "hardtanh_"),
    ("celu_", (1.5,), "celu_"),
    ("selu_", (), "selu_"),
    ("threshold_", (0.1, -3.0), "threshold_"),
    ("rrelu_", (0.1, 0.3), "rrelu_"),
]


@pytest.mark.parametrize(("name", "args", "torch_name"), INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_functional_forms(name, args, torch_name):
    x = np.random.default_rng(3).standard_normal((3, 4))
    leaf, reference = nnrun.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, y_ref = leaf * 1, reference * 1
    out = getattr(F, name)(y, *args)
    assert out is y
    getattr(TF, torch_name)(y_ref, *args)
    np.testing.assert_allclose(y.detach().numpy(), y_ref.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    y_ref.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), reference.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize(
    ("layer", "args"),
    [
        ("SELU", ()),
        ("SELU", (True,)),
        ("CELU", ()),
        ("CELU", (2.0, True)),
        ("Hardsigmoid", ()),
        ("Hardsigmoid", (True,)),
        ("LogSigmoid", ()),
        ("Softsign", ()),
        ("Tanhshrink", ()),
        ("Softshrink", ()),
        ("Softshrink", (1.5,)),
        ("Hardshrink", (0.25,)),
        ("Threshold", (0.1, 20)),
        ("Threshold", (0.1, 2.0, True)),
        ("GLU", ()),
        ("GLU", (1,)),
        ("Softmin", ()),
        ("Softmin", (1,)),
        ("RReLU", ()),
        ("RReLU", (0.1, 0.3, True)),
    ],
)
def test_layers_repr_and_eval_parity(layer, args):
    ours, theirs = getattr(nn, layer)(*args), getattr(torch.nn, layer)(*args)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    assert layer in nn.LAYERS
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(4).standard_normal((2, 4, 6))
    if layer == "Softmin" and not args:  # the implicit dimension warns in both
        with pytest.warns(UserWarning, match="dim"):
            y, expected = ours(nnrun.tensor(x)), theirs(torch.tensor(x))
    else:
        y, expected = ours(nnrun.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)


def test_rrelu_training_draws_slopes_in_bounds():
    nnrun.manual_seed(0)
    x = -np.abs(np.random.default_rng(5).standard_normal((50, 40))) - 0.1
    leaf = nnrun.tensor(x, requires_grad=True)
    layer = nn.RReLU(0.1, 0.3)
    y = layer(leaf)
    slopes = y.detach().numpy() / x
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.04
    y.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), slopes, rtol=1e-12)  # d/dx (a x) = a, the drawn slope
    assert y.grad_fn.name() == "RreluWithNoiseBackward0"
    nnrun.manual_seed(0)
    np.testing.assert_array_equal(layer(nnrun.tensor(x)).numpy(), y.detach().numpy())  # reproducible
    positive = nnrun.tensor(np.abs(x))
    np.testing.assert_array_equal(layer(positive).numpy(), np.abs(x))


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax(hard):
    nnrun.manual_seed(1)
    logits = np.log(np.array([[0.7, 0.2, 0.1]] * 4000))
    leaf = nnrun.tensor(logits, requires_grad=True)
    y = F.gumbel_softmax(leaf, tau=0.5, hard=hard)
    values = y.detach().numpy()
    np.testing.assert_allclose(values.sum(axis=-1), 1.0, rtol=1e-12)
    if hard:
        assert set(np.unique(values)) == {0.0, 1.0}
    # the argmax of a Gumbel-perturbed logit follows the softmax probabilities
    frequency = np.bincount(values.argmax(axis=-1), minlength=3) / len(values)
    np.testing.assert_allclose(frequency, [0.7, 0.2, 0.1], atol=0.03)
    weights = nnrun.tensor(np.random.default_rng(6).standard_normal(logits.shape))
    (y * weights).sum().backward()
    assert leaf.grad is not None and np.abs(leaf.grad.numpy()).sum() > 0
    np.testing.assert_allclose(leaf.grad.numpy().sum(axis=-1), 0.0, atol=1e-10)  # softmax's gradient


def test_errors_match_torch():
    x = nnrun.randn(2, 3)
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        F.glu(x)
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        torch.nn.functional.glu(torch.randn(2, 3))
    for fn in ("softshrink", "hardshrink"):
        with pytest.raises(RuntimeError, match="lambda must be greater or equal to 0"):
            getattr(F, fn)(x, -1.0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.selu_(nnrun.randn(3, requires_grad=True))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        torch.nn.functional.selu_(torch.randn(3, requires_grad=True))
