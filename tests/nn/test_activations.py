"""Activation functions and layers: torch parity (forward and backward, extreme inputs), gradchecks, reprs."""

import math

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

EXTREMES = np.array(
    [-1e4, -100.0, -30.0, -20.5, -5.0, -1.0, -1e-3, 0.0, 1e-3, 0.5, 1.0, 5.0, 20.5, 30.0, 100.0, 1e4]
)

# (name, ours, theirs): element-wise functions
ELEMENTWISE = [
    ("relu6", F.relu6, TF.relu6),
    ("leaky_relu", F.leaky_relu, TF.leaky_relu),
    ("leaky_relu_0.2", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    ("elu", F.elu, TF.elu),
    ("elu_0.5", lambda x: F.elu(x, alpha=0.5), lambda x: TF.elu(x, alpha=0.5)),
    ("gelu", F.gelu, TF.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    ("silu", F.silu, TF.silu),
    ("softplus", F.softplus, TF.softplus),
    ("softplus_beta", lambda x: F.softplus(x, beta=2.0, threshold=5.0), lambda x: TF.softplus(x, 2.0, 5.0)),
    ("sigmoid", F.sigmoid, torch.sigmoid),
    ("tanh", F.tanh, torch.tanh),
    ("hardtanh", F.hardtanh, TF.hardtanh),
    ("hardtanh_wide", lambda x: F.hardtanh(x, -2.0, 3.0), lambda x: TF.hardtanh(x, -2.0, 3.0)),
]


def _run(fn, lib, x, g):
    t = lib.tensor(x, requires_grad=True)
    y = fn(t)
    y.backward(lib.tensor(g))
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, ours, theirs", ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_elementwise_parity(name, ours, theirs, dtype):
    rng = np.random.default_rng(1)
    x = np.concatenate([EXTREMES, rng.standard_normal(48) * 3]).astype(dtype).reshape(4, 16)
    g = rng.standard_normal(x.shape).astype(dtype)
    y_ours, g_ours = _run(ours, nnrun, x, g)
    y_theirs, g_theirs = _run(theirs, torch, x, g)
    assert y_ours.dtype == dtype and np.isfinite(y_ours).all() and np.isfinite(g_ours).all()
    rtol, atol = (1e-5, 1e-6) if dtype == np.float32 else (1e-10, 1e-12)
    np.testing.assert_allclose(y_ours, y_theirs, rtol=rtol, atol=atol)
    np.testing.assert_allclose(g_ours, g_theirs, rtol=rtol, atol=atol)


def test_gelu_exact_matches_erf_everywhere():
    """Exact GELU uses nnrun's own erf: compare with math.erf over a fine grid, in float64."""
    x = np.linspace(-40, 40, 4001)
    expected = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    got = F.gelu(nnrun.tensor(x)).numpy()
    # rounding of x / sqrt(2) alone costs ~x² ulps of relative error deep in the tail
    np.testing.assert_allclose(got, expected, rtol=5e-13, atol=1e-300)


@pytest.mark.parametrize("name, ours, theirs", ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_elementwise_gradcheck(name, ours, theirs):
    # values on a grid 0.1 k + 0.03: never within eps of a kink (0, ±1, 6, -2, 3)
    x = nnrun.tensor((np.arange(-40, 40) * 0.1 + 0.03).reshape(8, 10), requires_grad=True)
    assert gradcheck(ours, (x,))


@pytest.mark.parametrize("dim", [0, 1, -1, 2])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_parity_and_extremes(dim, log):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 5)).astype(np.float32) * 3
    x[0, 0, :] = [1e4, -1e4, 0.0, 30.0, -30.0]  # huge logits: no overflow, no nan
    g = rng.standard_normal(x.shape).astype(np.float32)
    ours = F.log_softmax if log else F.softmax
    theirs = TF.log_softmax if log else TF.softmax
    y_ours, g_ours = _run(lambda t: ours(t, dim=dim), nnrun, x, g)
    y_theirs, g_theirs = _run(lambda t: theirs(t, dim=dim), torch, x, g)
    assert np.isfinite(y_ours).all() and np.isfinite(g_ours).all()
    np.testing.assert_allclose(y_ours, y_theirs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g_ours, g_theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dim", [0, 1])
def test_softmax_gradcheck(dim):
    x = nnrun.randn(3, 4, dtype=nnrun.float64, requires_grad=True)
    assert gradcheck(lambda t: F.softmax(t, dim), (x,))
    assert gradcheck(lambda t: F.log_softmax(t, dim), (x,))


def test_softmax_dtype_and_implicit_dim():
    x = nnrun.randn(2, 3)
    assert F.softmax(x, dim=1, dtype=nnrun.float64).dtype == nnrun.float64
    with pytest.warns(UserWarning, match="no dim given; using dim=1"):
        y = F.softmax(x)
    np.testing.assert_allclose(y.sum(1).numpy(), np.ones(2), rtol=1e-6)
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.softmax(x, dim=2)
    scalar = F.softmax(nnrun.tensor(3.0), dim=0)
    assert scalar.item() == 1.0


def test_inplace_variants():
    for name, fn in [("relu6", F.relu6), ("leaky_relu", F.leaky_relu), ("elu", F.elu), ("silu", F.silu),
                     ("hardtanh", F.hardtanh)]:  # fmt: skip
        base = nnrun.tensor([-2.0, -0.5, 0.5, 7.0], requires_grad=True)
        x = base * 1  # non-leaf: may be overwritten
        expected = fn(x).detach().numpy()
        out = fn(x, inplace=True)
        assert out is x, name
        np.testing.assert_allclose(x.detach().numpy(), expected, err_msg=name)
        x.sum().backward()
        expected_grad = torch.func.grad(lambda t, n=name: getattr(TF, n)(t).sum())(
            torch.tensor([-2.0, -0.5, 0.5, 7.0])
        )
        np.testing.assert_allclose(base.grad.numpy(), expected_grad.numpy(), rtol=1e-6, err_msg=name)


MODULES = [
    (nn.ReLU6(), torch.nn.ReLU6()),
    (nn.ReLU6(True), torch.nn.ReLU6(True)),
    (nn.LeakyReLU(), torch.nn.LeakyReLU()),
    (nn.LeakyReLU(0.2, True), torch.nn.LeakyReLU(0.2, True)),
    (nn.ELU(), torch.nn.ELU()),
    (nn.ELU(0.5, True), torch.nn.ELU(0.5, True)),
    (nn.GELU(), torch.nn.GELU()),
    (nn.GELU("tanh"), torch.nn.GELU("tanh")),
    (nn.SiLU(), torch.nn.SiLU()),
    (nn.SiLU(True), torch.nn.SiLU(True)),
    (nn.Softplus(), torch.nn.Softplus()),
    (nn.Softplus(2, 10), torch.nn.Softplus(2, 10)),
    (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Tanh(), torch.nn.Tanh()),
    (nn.Hardtanh(), torch.nn.Hardtanh()),
    (nn.Hardtanh(-2, 3, True), torch.nn.Hardtanh(-2, 3, True)),
    (nn.Softmax(1), torch.nn.Softmax(1)),
    (nn.Softmax(dim=-1), torch.nn.Softmax(dim=-1)),
    (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
]


@pytest.mark.parametrize("ours, theirs", MODULES, ids=[repr(m[1]) for m in MODULES])
def test_module_printed_form_and_forward(ours, theirs):
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(3).standard_normal((2, 5)).astype(np.float32) * 4
    out_ours = ours(nnrun.tensor(x) * 1).numpy()
    out_theirs = theirs(torch.tensor(x) * 1).numpy()
    np.testing.assert_allclose(out_ours, out_theirs, rtol=1e-5, atol=1e-6)
    assert list(ours.parameters()) == []


def test_argument_errors():
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(nnrun.randn(2), approximate="fast")
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(RuntimeError, match="floating-point"):
        F.silu(nnrun.tensor([1, 2]))


def test_backward_node_names():
    x = nnrun.randn(3, requires_grad=True)
    assert F.relu6(x).grad_fn.name() == "HardtanhBackward0"
    assert F.gelu(x).grad_fn.name() == "GeluBackward0"
    assert F.log_softmax(x, 0).grad_fn.name() == "LogSoftmaxBackward0"
