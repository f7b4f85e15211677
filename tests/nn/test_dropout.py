"""Dropout and Dropout2d: train vs eval, scaling, reproducibility, channel masks, statistics, errors."""

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F


def test_eval_is_identity_and_train_is_not():
    layer = nn.Dropout(0.5)
    x = nnrun.randn(100)
    assert layer.training
    assert not nnrun.equal(layer(x), x)
    layer.eval()
    assert layer(x) is x
    assert F.dropout(x, 0.5, training=False) is x


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_survivors_scaled_and_gradient_uses_same_mask(p):
    x = (nnrun.rand(50, 40) + 1).requires_grad_()
    y = F.dropout(x, p)
    kept = y.detach().numpy() != 0
    np.testing.assert_allclose(y.detach().numpy()[kept], x.detach().numpy()[kept] / (1 - p), rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / (1 - p), rtol=1e-6)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_statistics_over_a_large_tensor(p):
    x = nnrun.ones(400, 500)
    y = F.dropout(x, p).numpy()
    dropped = (y == 0).mean()
    assert abs(dropped - p) < 0.01  # 200k Bernoulli draws: std ~0.001
    assert abs(y.mean() - 1.0) < 0.02  # scaling keeps the expectation


def test_p_zero_and_one():
    x = nnrun.randn(10, 10, requires_grad=True)
    np.testing.assert_array_equal(F.dropout(x, 0.0).detach().numpy(), x.detach().numpy())
    y = F.dropout(x, 1.0)
    assert (y.detach().numpy() == 0).all() and np.isfinite(y.detach().numpy()).all()
    y.sum().backward()
    assert (x.grad.numpy() == 0).all()


def test_seed_reproducibility():
    x = nnrun.ones(20, 20)
    nnrun.manual_seed(7)
    a = F.dropout(x, 0.5).numpy()
    b = F.dropout(x, 0.5).numpy()
    nnrun.manual_seed(7)
    c = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)


def test_dropout2d_zeroes_whole_channels():
    x = nnrun.ones(16, 32, 5, 5)
    y = F.dropout2d(x, 0.5).numpy()
    per_channel = y.reshape(16, 32, -1)
    assert (per_channel.min(axis=2) == per_channel.max(axis=2)).all()  # each channel all kept or all zero
    assert set(np.unique(per_channel)) == {0.0, 2.0}
    assert abs((per_channel[:, :, 0] == 0).mean() - 0.5) < 0.1
    layer = nn.Dropout2d(0.5).eval()
    assert layer(x) is x


def test_dropout2d_three_dimensional_input_warns():
    with pytest.warns(UserWarning, match="3-D input"):
        y = F.dropout2d(nnrun.ones(4, 6, 10), 0.5).numpy()
    assert (y.min(axis=2) == y.max(axis=2)).all()  # (N, C, L): whole length-L channels


def test_inplace():
    base = nnrun.ones(8, 8, requires_grad=True)
    x = base * 1
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x
    kept = x.detach().numpy() != 0
    x.sum().backward()
    np.testing.assert_allclose(base.grad.numpy(), kept * 2.0)
    layer = nn.Dropout(0.3, inplace=True)
    y = nnrun.ones(4, 4)
    assert layer(y) is y


def test_gradcheck_with_fixed_seed():
    x = nnrun.randn(4, 5, dtype=nnrun.float64, requires_grad=True)

    def fn(t):
        nnrun.manual_seed(3)  # the same mask on every call
        return F.dropout(t, 0.4)

    assert gradcheck(fn, (x,))


def test_dtype_preserved():
    assert F.dropout(nnrun.randn(3, dtype=nnrun.float64)).dtype == nnrun.float64
    assert F.dropout(nnrun.randn(3)).dtype == nnrun.float32


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_invalid_probability(p):
    with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, but got {p}"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        F.dropout(nnrun.randn(3), p)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        nn.Dropout2d(p)


def test_printed_form():
    torch = pytest.importorskip("torch")
    for ours, theirs in [
        (nn.Dropout(), torch.nn.Dropout()),
        (nn.Dropout(0.2, inplace=True), torch.nn.Dropout(0.2, inplace=True)),
        (nn.Dropout2d(0.1), torch.nn.Dropout2d(0.1)),
    ]:
        assert repr(ours) == repr(theirs)
