"""BatchNorm1d/2d, LayerNorm, GroupNorm and their functional forms: parity with torch, gradchecks, errors."""

import warnings

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def _pair(array, requires_grad=True):
    return nnrun.tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


def _close(ours, theirs, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)


def _copy_state(ours, theirs):
    """Copy torch's parameters and buffers into our module (same names)."""
    state = {k: nnrun.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)


def _batch(shape, scale=2.0, shift=3.0):
    return (RNG.standard_normal(shape) * scale + shift).astype(np.float32)


def _randomize_affine(theirs):
    """Non-trivial affine parameters in torch's module (it starts at weight 1, bias 0), if it has them."""
    if theirs.weight is not None:
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            if theirs.bias is not None:
                theirs.bias.uniform_(-1, 1)


def _assert_step_matches(ours, theirs, x):
    """Both modules on the batch ``x``: the same output, input gradient and parameter gradients."""
    x_ours, x_theirs = _pair(x)
    y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
    _close(y_ours, y_theirs)
    g = RNG.standard_normal(x.shape).astype(np.float32)
    y_ours.backward(nnrun.tensor(g))
    y_theirs.backward(torch.tensor(g))
    _close(x_ours.grad, x_theirs.grad, atol=1e-5)
    for name, p in theirs.named_parameters():
        _close(getattr(ours, name).grad, p.grad, atol=1e-5)


# ----- BatchNorm -----
BN_CASES = [
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 4)),
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (5, 4, 7)),
    (nn.BatchNorm2d, torch.nn.BatchNorm2d, (3, 4, 5, 6)),
]
BN_OPTIONS = [
    {},
    {"momentum": None},
    {"momentum": 0.3, "eps": 1e-3},
    {"affine": False},
    {"bias": False},
    {"track_running_stats": False},
    {"affine": False, "track_running_stats": False},
]


@pytest.mark.parametrize("ours_cls, theirs_cls, shape", BN_CASES)
@pytest.mark.parametrize("options", BN_OPTIONS)
def test_batchnorm_train_then_eval_parity(ours_cls, theirs_cls, shape, options):
    channels = shape[1]
    theirs = theirs_cls(channels, **options)
    ours = ours_cls(channels, **options)
    _randomize_affine(theirs)
    _copy_state(ours, theirs)
    for step in range(4):  # several steps: running statistics accumulate (cumulative for momentum=None)
        _assert_step_matches(ours, theirs, _batch(shape, shift=step))
    for name, b in theirs.named_buffers():
        _close(getattr(ours, name), b)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    ours.eval()
    theirs.eval()
    x_ours, x_theirs = _pair(_batch(shape))
    y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
    _close(y_ours, y_theirs)
    y_ours.sum().backward()
    y_theirs.sum().backward()
    _close(x_ours.grad, x_theirs.grad)
    for name, p in theirs.named_parameters():
        _close(getattr(ours, name).grad, p.grad, rtol=1e-4, atol=1e-4)


def test_batchnorm_buffers_and_num_batches_tracked():
    bn = nn.BatchNorm2d(3)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert bn.num_batches_tracked.dtype == nnrun.int64 and bn.num_batches_tracked.item() == 0
    bn(nnrun.randn(2, 3, 4, 4))
    bn(nnrun.randn(2, 3, 4, 4))
    assert bn.num_batches_tracked.item() == 2
    bn.eval()
    bn(nnrun.randn(2, 3, 4, 4))
    assert bn.num_batches_tracked.item() == 2  # eval leaves the statistics alone
    untracked = nn.BatchNorm2d(3, track_running_stats=False)
    assert untracked.running_mean is None and list(untracked.state_dict()) == ["weight", "bias"]


def test_batchnorm_running_var_is_unbiased():
    bn = nn.BatchNorm1d(2, momentum=1.0)
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]], dtype=np.float32)
    bn(nnrun.tensor(x))
    np.testing.assert_allclose(bn.running_var.numpy(), x.var(axis=0, ddof=1), rtol=1e-6)
    np.testing.assert_allclose(bn.running_mean.numpy(), x.mean(axis=0), rtol=1e-6)


def test_batchnorm_eval_does_not_depend_on_batch():
    bn = nn.BatchNorm2d(2).eval()
    x = nnrun.randn(4, 2, 3, 3)
    whole = bn(x).detach().numpy()
    single = bn(x[:1]).detach().numpy()
    np.testing.assert_allclose(whole[:1], single, rtol=1e-6)


def test_batchnorm_eval_on_zero_length_input():
    bn = nn.BatchNorm1d(3).eval()
    x = nnrun.randn(2, 3, 0, requires_grad=True)
    y = bn(x)
    y.sum().backward()
    assert y.shape == x.grad.shape == (2, 3, 0)


@pytest.mark.parametrize(
    "shape", [(0, 3), (0, 3, 4, 4), (2, 3, 0)], ids=["empty-batch-1d", "empty-batch-2d", "zero-length"]
)
def test_batchnorm_training_on_empty_input_keeps_running_statistics(shape):
    bn = (nn.BatchNorm2d(3) if len(shape) == 4 else nn.BatchNorm1d(3)).train()
    bn.running_mean.fill_(0.5)
    x = nnrun.randn(*shape, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0
        y = bn(x)
        y.sum().backward()
    assert y.shape == x.grad.shape == shape
    np.testing.assert_array_equal(bn.running_mean.numpy(), [0.5] * 3)
    np.testing.assert_array_equal(bn.running_var.numpy(), [1.0] * 3)
    assert bn.num_batches_tracked.item() == 1
    np.testing.assert_array_equal(bn.weight.grad.numpy(), [0.0] * 3)
    np.testing.assert_array_equal(bn.bias.grad.numpy(), [0.0] * 3)


def test_batchnorm_float64_parity():
    theirs = torch.nn.BatchNorm2d(3).double()
    ours = nn.BatchNorm2d(3, dtype=nnrun.float64)
    x = RNG.standard_normal((2, 3, 4, 5))
    x_ours, x_theirs = _pair(x)
    y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
    (y_ours**3).sum().backward()
    (y_theirs**3).sum().backward()
    _close(y_ours, y_theirs, rtol=1e-10, atol=1e-12)
    _close(x_ours.grad, x_theirs.grad, rtol=1e-10, atol=1e-10)
    _close(ours.running_var, theirs.running_var, rtol=1e-12)


def test_batchnorm_input_checks():
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(nnrun.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(nnrun.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(nnrun.randn(1, 3))
    nn.BatchNorm1d(3).eval()(nnrun.randn(1, 3))  # fine with running statistics
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        F.batch_norm(nnrun.randn(2, 3), None, None, training=False)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (3, 3, 4), (2, 3, 2, 3)])
def test_batch_norm_gradcheck(training, shape):
    x = nnrun.randn(*shape, dtype=nnrun.float64, requires_grad=True)
    w = (nnrun.rand(3, dtype=nnrun.float64) + 0.5).requires_grad_()
    b = nnrun.randn(3, dtype=nnrun.float64, requires_grad=True)
    mean, var = nnrun.randn(3, dtype=nnrun.float64), nnrun.rand(3, dtype=nnrun.float64) + 0.5

    def fn(x, w, b):  # fresh running statistics each call: finite differences must not see updates
        return F.batch_norm(x, mean.clone(), var.clone(), w, b, training=training)

    assert gradcheck(fn, (x, w, b))


def test_batch_norm_without_affine_gradcheck():
    x = nnrun.randn(5, 2, 3, dtype=nnrun.float64, requires_grad=True)
    assert gradcheck(lambda x: F.batch_norm(x, None, None, training=True), (x,))


def test_batchnorm_printed_form():
    for ours, theirs in [
        (nn.BatchNorm1d(64), torch.nn.BatchNorm1d(64)),
        (
            nn.BatchNorm2d(3, momentum=None, affine=False),
            torch.nn.BatchNorm2d(3, momentum=None, affine=False),
        ),
        (
            nn.BatchNorm2d(8, eps=1e-3, track_running_stats=False),
            torch.nn.BatchNorm2d(8, 1e-3, track_running_stats=False),
        ),
        (nn.BatchNorm2d(8, bias=False), torch.nn.BatchNorm2d(8, bias=False)),
    ]:
        assert repr(ours) == repr(theirs)


# ----- LayerNorm / GroupNorm -----
@pytest.mark.parametrize(
    "normalized_shape, shape, options",
    [
        (6, (4, 6), {}),
        ((5,), (2, 3, 5), {"eps": 1e-3}),
        ((3, 4), (2, 3, 4), {}),
        ([4], (3, 4), {"elementwise_affine": False}),
        (4, (2, 4), {"bias": False}),
    ],
)
def test_layernorm_parity(normalized_shape, shape, options):
    theirs = torch.nn.LayerNorm(normalized_shape, **options)
    _randomize_affine(theirs)
    ours = nn.LayerNorm(normalized_shape, **options)
    _copy_state(ours, theirs)
    assert repr(ours) == repr(theirs)
    _assert_step_matches(ours, theirs, _batch(shape))


@pytest.mark.parametrize(
    "groups, channels, shape, options",
    [(2, 4, (3, 4, 5), {}), (1, 3, (2, 3, 2, 2), {}), (3, 3, (2, 3, 4, 4), {"eps": 1e-3}), (2, 6, (2, 6), {}),
     (2, 4, (2, 4, 3), {"affine": False}), (2, 4, (2, 4, 3), {"bias": False})],
)  # fmt: skip
def test_groupnorm_parity(groups, channels, shape, options):
    theirs = torch.nn.GroupNorm(groups, channels, **options)
    _randomize_affine(theirs)
    ours = nn.GroupNorm(groups, channels, **options)
    _copy_state(ours, theirs)
    assert repr(ours) == repr(theirs)
    _assert_step_matches(ours, theirs, _batch(shape))


def test_layer_and_group_norm_gradcheck():
    x = nnrun.randn(2, 3, 4, dtype=nnrun.float64, requires_grad=True)
    w = nnrun.randn(3, 4, dtype=nnrun.float64, requires_grad=True)
    b = nnrun.randn(3, 4, dtype=nnrun.float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (3, 4), w, b), (x, w, b))
    assert gradcheck(lambda x: F.layer_norm(x, (4,)), (x,))
    w, b = (
        nnrun.randn(4, dtype=nnrun.float64, requires_grad=True),
        nnrun.randn(4, dtype=nnrun.float64, requires_grad=True),
    )
    x = nnrun.randn(2, 4, 3, dtype=nnrun.float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), (x, w, b))
    assert gradcheck(lambda x: F.group_norm(x, 4), (x,))


def test_layer_and_group_norm_errors():
    with pytest.raises(
        RuntimeError, match=r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\]"
    ):
        F.layer_norm(nnrun.randn(2, 4, 3), (4,))
    with pytest.raises(ValueError, match=r"num_channels \(4\) must be divisible by num_groups \(3\)"):
        nn.GroupNorm(3, 4)
    with pytest.raises(
        RuntimeError, match="Expected number of channels in input to be divisible by num_groups"
    ):
        F.group_norm(nnrun.randn(2, 4, 3), 3)
