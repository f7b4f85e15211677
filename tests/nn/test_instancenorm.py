"""InstanceNorm1d/2d and F.instance_norm: parity with torch (forward, backward, running statistics),
gradchecks, printed forms, state_dict keys, errors."""

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def _close(ours, theirs, rtol=1e-5, atol=1e-5):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)


def _copy_state(ours, theirs):
    ours.load_state_dict({k: nnrun.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})


CASES = [
    (nn.InstanceNorm1d, torch.nn.InstanceNorm1d, (4, 3, 7)),
    (nn.InstanceNorm1d, torch.nn.InstanceNorm1d, (3, 7)),  # unbatched
    (nn.InstanceNorm2d, torch.nn.InstanceNorm2d, (2, 3, 5, 4)),
    (nn.InstanceNorm2d, torch.nn.InstanceNorm2d, (3, 5, 4)),  # unbatched
]
OPTIONS = [
    {},
    {"affine": True},
    {"affine": True, "bias": False},
    {"track_running_stats": True},
    {"affine": True, "track_running_stats": True, "momentum": 0.3, "eps": 1e-3},
    {"track_running_stats": True, "momentum": None},
]


@pytest.mark.parametrize(("ours_cls", "theirs_cls", "shape"), CASES)
@pytest.mark.parametrize("options", OPTIONS)
def test_instancenorm_train_then_eval_parity(ours_cls, theirs_cls, shape, options):
    theirs = theirs_cls(3, **options)
    if theirs.weight is not None:
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            if theirs.bias is not None:
                theirs.bias.uniform_(-1, 1)
    ours = ours_cls(3, **options)
    _copy_state(ours, theirs)
    assert str(ours) == str(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    for mode in ("train", "eval", "train"):
        ours.train(mode == "train")
        theirs.train(mode == "train")
        x = (RNG.standard_normal(shape) * 2 + 3).astype(np.float32)
        x_ours, x_theirs = nnrun.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
        _close(y_ours, y_theirs)
        g = RNG.standard_normal(y_theirs.shape).astype(np.float32)
        y_ours.backward(nnrun.tensor(g))
        y_theirs.backward(torch.tensor(g))
        _close(x_ours.grad, x_theirs.grad)
        for name, p in theirs.named_parameters():
            _close(getattr(ours, name).grad, p.grad, atol=1e-4)
            getattr(ours, name).grad = None
            p.grad = None
        for name, b in theirs.named_buffers():
            _close(getattr(ours, name), b)


def test_instance_norm_functional_parity_float64():
    x = RNG.standard_normal((3, 4, 6))
    w, b = RNG.uniform(0.5, 1.5, 4), RNG.standard_normal(4)
    rm_o, rv_o = nnrun.zeros(4, dtype=nnrun.float64), nnrun.ones(4, dtype=nnrun.float64)
    rm_t, rv_t = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    args_o = [nnrun.tensor(a, requires_grad=True) for a in (x, w, b)]
    args_t = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    y_o = F.instance_norm(args_o[0], rm_o, rv_o, args_o[1], args_o[2], momentum=0.2, eps=1e-4)
    y_t = torch.nn.functional.instance_norm(
        args_t[0], rm_t, rv_t, args_t[1], args_t[2], momentum=0.2, eps=1e-4
    )
    _close(y_o, y_t, rtol=1e-10, atol=1e-10)
    g = RNG.standard_normal(x.shape)
    y_o.backward(nnrun.tensor(g))
    y_t.backward(torch.tensor(g))
    for a_o, a_t in zip(args_o, args_t, strict=True):
        _close(a_o.grad, a_t.grad, rtol=1e-10, atol=1e-10)
    _close(rm_o, rm_t, rtol=1e-12, atol=1e-12)
    _close(rv_o, rv_t, rtol=1e-12, atol=1e-12)
    # with use_input_stats=False the running statistics are used and left alone
    y_o = F.instance_norm(nnrun.tensor(x), rm_o, rv_o, use_input_stats=False)
    y_t = torch.nn.functional.instance_norm(torch.tensor(x), rm_t, rv_t, use_input_stats=False)
    _close(y_o, y_t, rtol=1e-10, atol=1e-10)
    _close(rm_o, rm_t, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 2, 5), (2, 2, 3, 4)])
def test_instance_norm_gradcheck(shape):
    x = nnrun.randn(*shape, dtype=nnrun.float64, requires_grad=True)
    w = (nnrun.rand(2, dtype=nnrun.float64) + 0.5).requires_grad_()
    b = nnrun.randn(2, dtype=nnrun.float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (x, w, b))
    assert gradcheck(lambda x: F.instance_norm(x), (x,))
    mean, var = nnrun.randn(2, dtype=nnrun.float64), nnrun.rand(2, dtype=nnrun.float64) + 0.5
    assert gradcheck(lambda x, w: F.instance_norm(x, mean, var, w, use_input_stats=False), (x, w))


def test_instancenorm_momentum_none_keeps_running_stats_and_does_not_count():
    m = nn.InstanceNorm1d(2, track_running_stats=True, momentum=None)
    m(nnrun.randn(3, 2, 5))
    np.testing.assert_array_equal(m.running_mean.numpy(), np.zeros(2, np.float32))
    assert m.num_batches_tracked.item() == 0


def test_instancenorm_errors_match_torch():
    cases = [
        (lambda mod, t: mod.InstanceNorm1d(3)(t.randn(2, 3, 4, 5)), ValueError, "expected 2D or 3D input"),
        (lambda mod, t: mod.InstanceNorm2d(3)(t.randn(3, 4)), ValueError, "expected 3D or 4D input"),
        (lambda mod, t: mod.InstanceNorm1d(3)(t.randn(2, 3, 1)), ValueError, "more than 1 spatial element"),
        (
            lambda mod, t: mod.InstanceNorm1d(4, affine=True)(t.randn(2, 3, 5)),
            ValueError,
            "to match num_features",
        ),
    ]
    for fn, error, message in cases:
        with pytest.raises(error, match=message):
            fn(torch.nn, torch)
        with pytest.raises(error, match=message):
            fn(nn, nnrun)
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(4)(nnrun.randn(2, 3, 5))


def test_instancenorm_is_not_a_batchnorm_and_is_a_layer():
    from nnrun.nn.modules.batchnorm import _BatchNorm

    assert not isinstance(nn.InstanceNorm2d(3), _BatchNorm)
    assert "InstanceNorm1d" in nn.LAYERS and "InstanceNorm2d" in nn.LAYERS
