"""The first layers (Identity, Linear, ReLU), F.linear / F.relu, and nn.init."""

import math

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F
from nnrun.nn import init


@pytest.fixture(autouse=True)
def _seed():
    nnrun.manual_seed(0)


# ----- Linear -----
def test_linear_structure():
    layer = nn.Linear(4, 3)
    assert layer.weight.shape == nnrun.Size([3, 4]) and layer.bias.shape == nnrun.Size([3])
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    no_bias = nn.Linear(4, 3, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    double = nn.Linear(2, 2, dtype=nnrun.float64, device="cpu")
    assert double.weight.dtype == nnrun.float64 and double.bias.dtype == nnrun.float64


@pytest.mark.parametrize("shape", [(4,), (5, 4), (2, 3, 4), (0, 4)])
def test_linear_shapes(shape):
    layer = nn.Linear(4, 3)
    out = layer(nnrun.randn(*shape))
    assert out.shape == nnrun.Size([*shape[:-1], 3])


def test_linear_default_init_bounds():
    layer = nn.Linear(100, 300)
    bound = 1 / math.sqrt(100)
    for p in (layer.weight, layer.bias):
        values = p.detach().numpy()
        assert values.min() >= -bound and values.max() <= bound
        assert values.max() > 0.9 * bound and values.min() < -0.9 * bound  # fills the whole interval
    assert abs(layer.weight.detach().numpy().std() - bound / math.sqrt(3)) < 0.05 * bound


def test_linear_init_reproducible_with_manual_seed():
    nnrun.manual_seed(3)
    a = nn.Linear(3, 2)
    nnrun.manual_seed(3)
    b = nn.Linear(3, 2)
    assert nnrun.equal(a.weight, b.weight) and nnrun.equal(a.bias, b.bias)


def test_linear_init_bounds_match_torch():
    torch = pytest.importorskip("torch")
    nnrun.manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = nn.Linear(50, 2000), torch.nn.Linear(50, 2000)
    bound = 1 / math.sqrt(50)  # both draw U(-1/sqrt(fan_in), 1/sqrt(fan_in)), whose std is bound/sqrt(3)
    for name in ("weight", "bias"):
        a = getattr(ours, name).detach().numpy()
        b = getattr(theirs, name).detach().numpy()
        assert max(abs(a).max(), abs(b).max()) <= bound
        for values in (a, b):
            assert abs(values.std() - bound / math.sqrt(3)) < 0.05 * bound / math.sqrt(3)


@pytest.mark.parametrize("layer", ["Linear", "Conv2d"])
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")
def test_layers_without_inputs_draw_a_zero_bias_as_torch_does(layer):
    """fan_in 0: the bias is U(0, 0) = zeros, and drawing it advances the generator, in both libraries."""
    torch = pytest.importorskip("torch")

    def next_draws(library, bias):
        library.manual_seed(0)
        built = (
            library.nn.Linear(0, 4, bias=bias) if layer == "Linear" else library.nn.Conv2d(0, 4, 3, bias=bias)
        )
        draws = library.rand(3).numpy()
        return built, draws

    for library in (nnrun, torch):
        with_bias, after_bias = next_draws(library, True)
        _, after_no_bias = next_draws(library, False)
        assert not np.array_equal(after_bias, after_no_bias), library.__name__
        assert not with_bias.bias.detach().numpy().any()


def test_linear_parity_with_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Linear(5, 3)
    theirs = torch.nn.Linear(5, 3)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.detach().numpy().copy()))
        theirs.bias.copy_(torch.from_numpy(ours.bias.detach().numpy().copy()))
    x = np.random.default_rng(0).standard_normal((2, 4, 5)).astype(np.float32)
    x_ours = nnrun.tensor(x, requires_grad=True)
    x_theirs = torch.tensor(x, requires_grad=True)
    y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
    np.testing.assert_allclose(y_ours.detach().numpy(), y_theirs.detach().numpy(), rtol=1e-5, atol=1e-6)
    (y_ours**2).sum().backward()
    (y_theirs**2).sum().backward()
    for a, b in ((x_ours, x_theirs), (ours.weight, theirs.weight), (ours.bias, theirs.bias)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("x_shape", [(5,), (3, 5), (2, 3, 5)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_functional_linear_gradcheck(x_shape, with_bias):
    x = nnrun.randn(*x_shape, dtype=nnrun.float64, requires_grad=True)
    w = nnrun.randn(4, 5, dtype=nnrun.float64, requires_grad=True)
    b = nnrun.randn(4, dtype=nnrun.float64, requires_grad=True)
    if with_bias:
        assert gradcheck(F.linear, (x, w, b))
    else:
        assert gradcheck(lambda x, w: F.linear(x, w), (x, w))


def test_functional_linear_matches_matmul_and_errors():
    x, w, b = nnrun.randn(3, 5), nnrun.randn(4, 5), nnrun.randn(4)
    assert nnrun.allclose(F.linear(x, w, b), x @ w.t() + b, atol=1e-6)
    with pytest.raises(RuntimeError, match=r"^mat1 and mat2 shapes cannot be multiplied \(6x3 and 5x4\)$"):
        F.linear(nnrun.randn(2, 3, 3), w)
    with pytest.raises(RuntimeError, match=r"both arguments to linear need to be at least 1D"):
        F.linear(nnrun.tensor(1.0), w)


def test_linear_grad_only_where_needed():
    layer = nn.Linear(3, 2).requires_grad_(False)
    layer.bias.requires_grad_(True)
    layer(nnrun.randn(4, 3)).sum().backward()
    assert layer.weight.grad is None and layer.bias.grad.tolist() == [4.0, 4.0]


# ----- Identity, ReLU -----
def test_identity_and_relu():
    x = nnrun.tensor([-1.0, 0.5])
    assert nn.Identity(3, unused=True)(x) is x
    assert nn.ReLU()(x).tolist() == [0.0, 0.5] and x.tolist() == [-1.0, 0.5]
    y = x.clone()
    assert nn.ReLU(inplace=True)(y) is y and y.tolist() == [0.0, 0.5]
    assert F.relu(x).tolist() == [0.0, 0.5]


# ----- init -----
def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("tanh") == 5 / 3 and init.calculate_gain("selu") == 0.75
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01**2))
    assert init.calculate_gain("leaky_relu", 0) == math.sqrt(2)
    with pytest.raises(ValueError, match=r"^Unsupported nonlinearity foo$"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match=r"^negative_slope True not a valid number$"):
        init.calculate_gain("leaky_relu", True)


def test_fans_and_errors():
    assert init._calculate_fan_in_and_fan_out(nnrun.empty(3, 4)) == (4, 3)
    assert init._calculate_fan_in_and_fan_out(nnrun.empty(8, 2, 3, 3)) == (18, 72)
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(nnrun.empty(3))
    with pytest.raises(
        ValueError, match=r"^Mode x not supported, please use one of \['fan_in', 'fan_out'\]$"
    ):
        init.kaiming_uniform_(nnrun.empty(3, 3), mode="x")


def test_fills_in_place_without_history():
    p = nn.Parameter(nnrun.empty(200, 100))
    assert init.uniform_(p, -2, 3) is p
    assert p.is_leaf and p.requires_grad
    values = p.detach().numpy()
    assert values.min() >= -2 and values.max() < 3
    init.normal_(p, 1.0, 0.5)
    assert abs(p.detach().numpy().mean() - 1) < 0.02 and abs(p.detach().numpy().std() - 0.5) < 0.02
    init.constant_(p, 0.25)
    assert (p == 0.25).all()
    init.zeros_(p)
    assert not p.any()
    init.ones_(p)
    assert (p == 1).all()
    init.xavier_uniform_(p)
    assert abs(p.detach().numpy()).max() <= math.sqrt(6 / 300)
    init.kaiming_normal_(p, nonlinearity="relu")
    assert abs(p.detach().numpy().std() - math.sqrt(2 / 100)) < 0.01
    init.xavier_normal_(p, gain=2.0)
    assert abs(p.detach().numpy().std() - 2 * math.sqrt(2 / 300)) < 0.01


def test_init_generator_and_empty_tensor():
    g1, g2 = nnrun.Generator().manual_seed(5), nnrun.Generator().manual_seed(5)
    a, b = nnrun.empty(3, 3), nnrun.empty(3, 3)
    init.kaiming_uniform_(a, generator=g1)
    init.kaiming_uniform_(b, generator=g2)
    assert nnrun.equal(a, b)
    with pytest.warns(UserWarning, match=r"Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(nnrun.empty(0, 3))
