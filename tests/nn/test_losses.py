"""Losses: F.* and nn.*Loss against torch (values and gradients over an argument grid), float64
gradchecks, extreme logits, printed forms and error messages."""

import warnings

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["none", "mean", "sum"]


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _compare(ours_fn, torch_fn, arrays, grad_of=(0,), rtol=1e-5, atol=1e-6, seed=1):
    """Run both losses on the same arrays; compare the loss and the gradients of ``grad_of`` under a
    random upstream gradient."""
    ours_in = [nnrun.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    torch_in = [torch.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    out_ours, out_torch = ours_fn(*ours_in), torch_fn(*torch_in)
    assert tuple(out_ours.shape) == tuple(out_torch.shape)
    assert out_ours.dtype.name == str(out_torch.dtype).removeprefix("torch.")
    np.testing.assert_allclose(out_ours.detach().numpy(), out_torch.detach().numpy(), rtol=rtol, atol=atol)
    upstream = _rng(seed).standard_normal(tuple(out_torch.shape)).astype(arrays[0].dtype)
    out_ours.backward(nnrun.tensor(upstream))
    out_torch.backward(torch.tensor(upstream))
    for i in grad_of:
        np.testing.assert_allclose(
            ours_in[i].grad.numpy(), torch_in[i].grad.numpy(), rtol=rtol, atol=atol, err_msg=f"input {i}"
        )
    return out_ours


def _compare_functional(name, arrays, grad_of=(0,), rtol=1e-5, atol=1e-6, **kwargs):
    """``F.<name>`` against torch's ``F.<name>``, called on ``arrays`` with keyword arguments ``kwargs``."""
    return _compare(
        lambda *args: getattr(F, name)(*args, **kwargs),
        lambda *args: getattr(TF, name)(*args, **kwargs),
        arrays,
        grad_of,
        rtol,
        atol,
    )


def _class_weights(rng, weighted):
    """A per-class weight for the parity grid's 5 classes, as a list holding it (or nothing)."""
    return [rng.uniform(0.2, 2.0, 5).astype(np.float32)] if weighted else []


def _index_target(shape, classes, ignore_index, rng):
    """Class indices for an input of ``shape`` (class dim 1, or 0 for 1-D), some set to ignore_index."""
    target_shape = () if len(shape) == 1 else (shape[0], *shape[2:])
    target = rng.integers(0, classes, target_shape)
    if ignore_index >= 0 and target.size > 1:
        target.flat[0] = ignore_index  # make sure the ignored class occurs
    elif ignore_index < 0 and target.size > 1:
        target.flat[1] = ignore_index
    return target


CLASS_SHAPES = [(5,), (6, 5), (3, 5, 4), (2, 5, 3, 2)]


# ----- cross-entropy and NLL: parity grid -----
@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_class_indices(shape, weighted, ignore_index, reduction, label_smoothing):
    rng = _rng()
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    target = _index_target(shape, 5, ignore_index, rng)
    _compare_functional(
        "cross_entropy",
        [x, target, *_class_weights(rng, weighted)],
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_cross_entropy_probabilities(shape, weighted, reduction, label_smoothing):
    rng = _rng(2)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    target = rng.random(shape).astype(np.float32)
    target /= target.sum(axis=0 if len(shape) == 1 else 1, keepdims=True)
    _compare_functional(
        "cross_entropy",
        [x, target, *_class_weights(rng, weighted)],
        grad_of=(0, 1),
        reduction=reduction,
        label_smoothing=label_smoothing,
    )


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(shape, weighted, ignore_index, reduction):
    rng = _rng(3)
    x = rng.standard_normal(shape).astype(np.float32)
    target = _index_target(shape, 5, ignore_index, rng)
    arrays = [x, target, *_class_weights(rng, weighted)]
    _compare_functional("nll_loss", arrays, ignore_index=ignore_index, reduction=reduction)


def test_cross_entropy_equals_nll_of_log_softmax():
    rng = _rng(4)
    x = nnrun.tensor(rng.standard_normal((4, 3)).astype(np.float64))
    t = nnrun.tensor(np.array([0, 2, 1, 2]))
    log_p = x.detach().numpy() - np.log(np.exp(x.detach().numpy()).sum(axis=1, keepdims=True))
    assert np.isclose(F.cross_entropy(x, t).item(), F.nll_loss(nnrun.tensor(log_p), t).item(), rtol=1e-12)


def test_cross_entropy_float64_parity():
    rng = _rng(5)
    x = rng.standard_normal((7, 4, 3))
    t = rng.integers(0, 4, (7, 3))
    w = rng.uniform(0.5, 1.5, 4)
    _compare_functional("cross_entropy", [x, t, w], rtol=1e-10, atol=1e-12, label_smoothing=0.1)


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_cross_entropy_extreme_logits(scale):
    rng = _rng(6)
    x = (rng.standard_normal((8, 5)) * scale).astype(np.float32)
    t = rng.integers(0, 5, 8)
    probs = np.full((8, 5), 0.2, dtype=np.float32)
    for target, smoothing in ((t, 0.0), (t, 0.2), (probs, 0.0)):
        for reduction in REDUCTIONS:
            out = _compare_functional(
                "cross_entropy", [x, target], atol=1e-3, reduction=reduction, label_smoothing=smoothing
            )
            assert np.isfinite(out.detach().numpy()).all()


def test_cross_entropy_all_ignored_and_empty_are_nan():
    x = nnrun.randn(3, 4)
    assert np.isnan(F.cross_entropy(x, nnrun.tensor([-100, -100, -100])).item())
    assert F.cross_entropy(x, nnrun.tensor([-100, -100, -100]), reduction="sum").item() == 0
    assert np.isnan(F.cross_entropy(nnrun.randn(0, 4), nnrun.zeros(0, dtype=nnrun.int64)).item())
    assert np.isnan(F.cross_entropy(nnrun.randn(0, 4), nnrun.zeros(0, 4)).item())
    assert F.cross_entropy(nnrun.randn(0, 4), nnrun.zeros(0, dtype=nnrun.int64), reduction="none").shape == (
        0,
    )


def test_cross_entropy_ignored_targets_get_no_gradient():
    x = nnrun.randn(3, 4, requires_grad=True)
    F.cross_entropy(x, nnrun.tensor([1, -100, 3]), label_smoothing=0.2).backward()
    assert (x.grad.numpy()[1] == 0).all() and (x.grad.numpy()[0] != 0).all()
    assert np.allclose(x.grad.numpy().sum(axis=1), 0, atol=1e-6)  # softmax - target sums to 0 per row


# ----- element-wise losses -----
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss"])
@pytest.mark.parametrize("shape", [(), (7,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_difference_losses(name, shape, reduction):
    rng = _rng(7)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.standard_normal(shape).astype(np.float32)
    if shape:
        y.flat[0] = x.flat[0]  # a zero difference: the L1 subgradient there is 0 in both
    _compare_functional(name, [x, y], grad_of=(0, 1), reduction=reduction)


@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0, 2.5])
def test_smooth_l1_beta(beta):
    rng = _rng(8)
    x, y = rng.standard_normal((2, 5, 6)).astype(np.float32)
    for reduction in REDUCTIONS:
        _compare_functional("smooth_l1_loss", [x, y], grad_of=(0, 1), reduction=reduction, beta=beta)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_difference_losses(name, reduction):
    rng = _rng(9)
    x, y = rng.standard_normal((2, 4, 3)).astype(np.float32)
    w = rng.uniform(0.1, 2.0, (4, 3)).astype(np.float32)
    _compare(
        lambda a, b, w: getattr(F, name)(a, b, reduction=reduction, weight=w),
        lambda a, b, w: getattr(TF, name)(a, b, reduction=reduction, weight=w),
        [x, y, w],
        grad_of=(0, 1, 2),
    )
    with pytest.raises(ValueError, match=r"^Weights and input must have the same size\.$"):
        getattr(F, name)(nnrun.tensor(x), nnrun.tensor(y), weight=nnrun.ones(3))


def test_broadcast_target_warns_and_matches_torch():
    rng = _rng(10)
    x = rng.standard_normal((3, 1)).astype(np.float32)
    y = rng.standard_normal((3,)).astype(np.float32)
    message = r"^Using a target size \(nnrun.Size\(\[3\]\)\) that is different to the input size"
    a, b = nnrun.tensor(x, requires_grad=True), nnrun.tensor(y, requires_grad=True)
    with pytest.warns(UserWarning, match=message):
        loss = F.mse_loss(a, b)
    loss.backward()
    ta, tb = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    with pytest.warns(UserWarning, match=r"^Using a target size \(torch.Size\(\[3\]\)\)"):
        expected = TF.mse_loss(ta, tb)
    expected.backward()
    assert np.isclose(loss.item(), expected.item(), rtol=1e-6)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-5)
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor b \(4\)"):
        F.l1_loss(nnrun.randn(3), nnrun.randn(4))


def test_empty_mean_is_nan():
    assert np.isnan(F.mse_loss(nnrun.randn(0), nnrun.randn(0)).item())
    assert F.l1_loss(nnrun.randn(0), nnrun.randn(0), reduction="sum").item() == 0


# ----- binary cross-entropy -----
@pytest.mark.parametrize("weight_shape", [None, (4,), (3, 4)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(weight_shape, reduction):
    rng = _rng(11)
    x = rng.uniform(0.02, 0.98, (3, 4)).astype(np.float32)
    t = rng.random((3, 4)).astype(np.float32)
    arrays = [x, t] + ([] if weight_shape is None else [rng.uniform(0.2, 2, weight_shape).astype(np.float32)])
    _compare_functional("binary_cross_entropy", arrays, grad_of=(0, 1), reduction=reduction)


def test_binary_cross_entropy_clamps_log_at_minus_100():
    x = np.array([0.0, 1.0, 1e-30, 0.5], dtype=np.float32)
    t = np.array([1.0, 0.0, 1.0, 1.0], dtype=np.float32)
    out = _compare_functional("binary_cross_entropy", [x, t], atol=1e-3, reduction="none")
    assert out.tolist()[:2] == [100.0, 100.0]


@pytest.mark.parametrize("weight_shape", [None, (4,), (3, 4)])
@pytest.mark.parametrize("pos_weight_shape", [None, (4,), (3, 4)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(weight_shape, pos_weight_shape, reduction):
    rng = _rng(12)
    x = (rng.standard_normal((3, 4)) * 4).astype(np.float32)
    t = rng.random((3, 4)).astype(np.float32)
    w = None if weight_shape is None else rng.uniform(0.2, 2, weight_shape).astype(np.float32)
    pw = None if pos_weight_shape is None else rng.uniform(0.2, 3, pos_weight_shape).astype(np.float32)
    _compare(
        lambda x, t: F.binary_cross_entropy_with_logits(
            x,
            t,
            None if w is None else nnrun.tensor(w),
            reduction=reduction,
            pos_weight=None if pw is None else nnrun.tensor(pw),
        ),
        lambda x, t: TF.binary_cross_entropy_with_logits(
            x,
            t,
            None if w is None else torch.tensor(w),
            reduction=reduction,
            pos_weight=None if pw is None else torch.tensor(pw),
        ),
        [x, t],
        grad_of=(0, 1),
    )


def test_binary_cross_entropy_with_logits_extreme():
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.0], dtype=np.float32)
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.5], dtype=np.float32)
    pw = np.full(5, 2.0, dtype=np.float32)
    for reduction in REDUCTIONS:
        out = _compare(
            lambda x, t, pw, r=reduction: F.binary_cross_entropy_with_logits(
                x, t, reduction=r, pos_weight=pw
            ),
            lambda x, t, pw, r=reduction: TF.binary_cross_entropy_with_logits(
                x, t, reduction=r, pos_weight=pw
            ),
            [x, t, pw],
        )
        assert np.isfinite(out.detach().numpy()).all()


# ----- KL divergence -----
@pytest.mark.parametrize("reduction", ["none", "batchmean", "sum", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    rng = _rng(13)
    x = np.log(rng.dirichlet(np.ones(5), 4)).astype(np.float32)
    p = rng.dirichlet(np.ones(5), 4).astype(np.float32)
    p[0, 0] = 0.0  # xlogy(0, 0) = 0
    t = np.log(p + 1e-3).astype(np.float32) if log_target else p
    grad_of = (0, 1) if log_target else (0,)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="reduction: 'mean' divides")
        _compare_functional("kl_div", [x, t], grad_of=grad_of, reduction=reduction, log_target=log_target)


def test_kl_div_target_gradient_and_mean_warning():
    rng = _rng(14)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    t = rng.uniform(0.1, 1.0, (3, 4)).astype(np.float32)
    _compare_functional("kl_div", [x, t], grad_of=(0, 1), reduction="batchmean")
    with pytest.warns(UserWarning, match=r"^reduction: 'mean' divides the total loss by both"):
        F.kl_div(nnrun.tensor(x), nnrun.tensor(t))
    with pytest.raises(ValueError, match=r"^average is not a valid value for reduction$"):
        F.kl_div(nnrun.tensor(x), nnrun.tensor(t), reduction="average")


# ----- float64 gradchecks of every functional -----
def _f64(*shape, low=None, high=None, seed=0, requires_grad=True):
    rng = _rng(seed)
    data = rng.standard_normal(shape) if low is None else rng.uniform(low, high, shape)
    return nnrun.tensor(data, requires_grad=requires_grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_classification(reduction):
    x = _f64(3, 4, 2)
    t = nnrun.tensor([[0, 3], [-100, 1], [2, 2]])
    w = _f64(4, low=0.5, high=1.5, requires_grad=False)
    assert gradcheck(lambda x: F.cross_entropy(x, t, w, reduction=reduction, label_smoothing=0.2), (x,))
    assert gradcheck(lambda x: F.nll_loss(x, t, w, reduction=reduction), (x,))
    p = _f64(3, 4, 2, low=0.0, high=1.0, seed=1)
    assert gradcheck(lambda x, p: F.cross_entropy(x, p, w, reduction=reduction, label_smoothing=0.1), (x, p))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_regression(reduction):
    x, y = _f64(3, 4), _f64(3, 4, seed=1)
    w = _f64(3, 4, low=0.1, high=1, seed=2)
    assert gradcheck(lambda a, b, w: F.mse_loss(a, b, reduction=reduction, weight=w), (x, y, w))
    assert gradcheck(lambda a, b: F.l1_loss(a, b, reduction=reduction), (x, y))
    assert gradcheck(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=0.8), (x, y))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_binary_and_kl(reduction):
    probs, t = _f64(3, 4, low=0.05, high=0.95), _f64(3, 4, low=0, high=1, seed=1)
    w = _f64(4, low=0.5, high=2, seed=2, requires_grad=False)
    assert gradcheck(lambda x, t: F.binary_cross_entropy(x, t, w, reduction=reduction), (probs, t))
    logits = _f64(3, 4, seed=3)
    assert gradcheck(
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=w * 2),
        (logits, t),
    )
    log_p = _f64(3, 4, seed=4)
    assert gradcheck(lambda x, t: F.kl_div(x, t, reduction=reduction), (log_p, t))
    assert gradcheck(lambda x, t: F.kl_div(x, t, reduction="batchmean", log_target=True), (log_p, logits))


# ----- errors -----
def test_class_target_errors():
    x = nnrun.randn(3, 4)
    with pytest.raises(IndexError, match=r"^Target 5 is out of bounds: expected a class index in \[0, 4\)"):
        F.cross_entropy(x, nnrun.tensor([0, 5, 1]))
    with pytest.raises(IndexError, match=r"^Target -3 is out of bounds"):
        F.nll_loss(x, nnrun.tensor([0, -3, 1]))
    with pytest.raises(IndexError, match=r"^Target 4 is out of bounds"):
        F.cross_entropy(x, nnrun.tensor([4, 1, 1]), ignore_index=1)
    with pytest.raises(
        ValueError, match=r"^Expected input batch_size \(3\) to match target batch_size \(2\)\.$"
    ):
        F.cross_entropy(x, nnrun.tensor([0, 1]))
    with pytest.raises(RuntimeError, match=r"^Expected target size \[2, 4\], got \[2, 3\]$"):
        F.cross_entropy(nnrun.randn(2, 3, 4), nnrun.tensor([[0, 1, 2], [0, 1, 1]]))
    with pytest.raises(RuntimeError, match=r"expected target dtype to be an integer type"):
        F.cross_entropy(x, nnrun.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(RuntimeError, match=r"^ignore_index is not supported for floating point target$"):
        F.cross_entropy(x, nnrun.rand(3, 4), ignore_index=1)
    with pytest.raises(RuntimeError, match=r"^weight tensor should be defined either for all 4 classes"):
        F.cross_entropy(x, nnrun.tensor([0, 1, 2]), weight=nnrun.ones(3))
    with pytest.raises(RuntimeError, match=r"^label_smoothing must be between 0\.0 and 1\.0\. Got: 1\.5$"):
        F.cross_entropy(x, nnrun.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match=r"not differentiable with respect to argument 'weight'"):
        F.cross_entropy(x, nnrun.tensor([0, 1, 2]), weight=nnrun.ones(4, requires_grad=True))


def test_elementwise_errors():
    with pytest.raises(ValueError, match=r"^foo is not a valid value for reduction$"):
        F.mse_loss(nnrun.randn(3), nnrun.randn(3), reduction="foo")
    with pytest.raises(RuntimeError, match=r"^smooth_l1_loss does not support negative values for beta\.$"):
        F.smooth_l1_loss(nnrun.randn(3), nnrun.randn(3), beta=-1)
    with pytest.raises(RuntimeError, match=r"^all elements of input should be between 0 and 1$"):
        F.binary_cross_entropy(nnrun.tensor([0.5, 1.5]), nnrun.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"that is different to the input size .* is deprecated"):
        F.binary_cross_entropy(nnrun.rand(3, 1), nnrun.rand(3))
    with pytest.raises(
        ValueError, match=r"^Target size \(nnrun.Size\(\[3\]\)\) must be the same as input size"
    ):
        F.binary_cross_entropy_with_logits(nnrun.randn(3, 1), nnrun.rand(3))
    with pytest.raises(RuntimeError, match=r"^pos_weight of shape \[5\] does not broadcast"):
        F.binary_cross_entropy_with_logits(nnrun.randn(3, 4), nnrun.rand(3, 4), pos_weight=nnrun.ones(5))


def test_legacy_size_average_and_reduce():
    x, y = nnrun.randn(4, 3), nnrun.randn(4, 3)
    with pytest.warns(UserWarning, match=r"please use reduction='sum' instead"):
        summed = F.mse_loss(x, y, size_average=False)
    assert np.isclose(summed.item(), ((x - y) ** 2).sum().item(), rtol=1e-6)
    with pytest.warns(UserWarning, match=r"please use reduction='none' instead"):
        assert F.cross_entropy(x, nnrun.tensor([0, 1, 2, 0]), reduce=False).shape == (4,)
    with pytest.warns(UserWarning, match=r"please use reduction='none' instead"):
        assert nn.L1Loss(reduce=False).reduction == "none"


# ----- modules -----
LOSS_MODULES = [
    ("MSELoss", {}),
    ("L1Loss", {"reduction": "sum"}),
    ("SmoothL1Loss", {"beta": 0.5}),
    ("CrossEntropyLoss", {"label_smoothing": 0.1, "ignore_index": 1}),
    ("NLLLoss", {"reduction": "none"}),
    ("BCELoss", {}),
    ("BCEWithLogitsLoss", {}),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}),
]


@pytest.mark.parametrize(("name", "kwargs"), LOSS_MODULES)
def test_module_repr_and_attributes(name, kwargs):
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert str(ours) == str(theirs) == f"{name}()"
    for attribute in ("reduction", "beta", "ignore_index", "label_smoothing", "log_target"):
        assert getattr(ours, attribute, None) == getattr(theirs, attribute, None), attribute
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []


def test_weight_buffers():
    w = np.array([0.5, 1.0, 2.0], dtype=np.float32)
    for name in ("CrossEntropyLoss", "NLLLoss", "BCELoss"):
        ours = getattr(nn, name)(weight=nnrun.tensor(w))
        theirs = getattr(torch.nn, name)(weight=torch.tensor(w))
        assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()] == ["weight"]
        assert list(ours.state_dict()) == ["weight"] and ours.weight.tolist() == w.tolist()
        assert list(ours.parameters()) == []
    ours = nn.BCEWithLogitsLoss(weight=nnrun.tensor(w), pos_weight=nnrun.tensor(w))
    theirs = torch.nn.BCEWithLogitsLoss(weight=torch.tensor(w), pos_weight=torch.tensor(w))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "pos_weight"]
    assert nn.CrossEntropyLoss().weight is None and nn.BCEWithLogitsLoss().pos_weight is None


def test_modules_match_torch():
    rng = _rng(15)
    w = rng.uniform(0.5, 2, 4).astype(np.float32)
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 6)
    probs = rng.uniform(0.05, 0.95, (6, 4)).astype(np.float32)
    y = rng.standard_normal((6, 4)).astype(np.float32)
    cases = [
        ("CrossEntropyLoss", dict(label_smoothing=0.1), [logits, labels], True),
        ("NLLLoss", {}, [logits, labels], True),
        ("MSELoss", {}, [logits, y], False),
        ("L1Loss", {"reduction": "none"}, [logits, y], False),
        ("SmoothL1Loss", {"beta": 0.4}, [logits, y], False),
        ("BCELoss", {}, [probs, probs[::-1].copy()], True),
        ("BCEWithLogitsLoss", {}, [logits, probs], True),
        ("KLDivLoss", {"reduction": "batchmean"}, [logits, probs], False),
    ]
    for name, kwargs, arrays, weighted in cases:
        extra_ours = {"weight": nnrun.tensor(w)} if weighted else {}
        extra_torch = {"weight": torch.tensor(w)} if weighted else {}
        if name == "BCEWithLogitsLoss":
            extra_ours["pos_weight"], extra_torch["pos_weight"] = nnrun.tensor(w * 2), torch.tensor(w * 2)
        _compare(
            getattr(nn, name)(**kwargs, **extra_ours),
            getattr(torch.nn, name)(**kwargs, **extra_torch),
            arrays,
        )


def test_cross_entropy_trains_a_linear_classifier():
    nnrun.manual_seed(0)
    rng = _rng(16)
    x = nnrun.tensor(rng.standard_normal((64, 2)).astype(np.float32))
    y = nnrun.tensor((x.numpy()[:, 0] > x.numpy()[:, 1]).astype(np.int64))
    model, loss_fn = nn.Linear(2, 2), nn.CrossEntropyLoss()
    first = None
    for _ in range(100):
        loss = loss_fn(model(x), y)
        first = first if first is not None else loss.item()
        model.zero_grad()
        loss.backward()
        with nnrun.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
    assert loss.item() < 0.3 * first
