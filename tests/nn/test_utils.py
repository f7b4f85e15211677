"""nn.utils: gradient clipping and parameter/vector conversion, against torch."""

import math

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
    parameters_to_vector,
    vector_to_parameters,
)

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (4,), (2, 2, 3)]


def _pairs(scale: float = 1.0, seed: int = 0, with_missing_grad: bool = True):
    """The same parameters and gradients in nnrun and torch (the last one without a gradient)."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for i, shape in enumerate([*SHAPES, (5,)] if with_missing_grad else SHAPES):
        value = rng.standard_normal(shape).astype(np.float32)
        p, q = nn.Parameter(nnrun.tensor(value)), torch.nn.Parameter(torch.tensor(value))
        if i < len(SHAPES):
            grad = (rng.standard_normal(shape) * scale).astype(np.float32)
            p.grad, q.grad = nnrun.tensor(grad), torch.tensor(grad)
        ours.append(p)
        theirs.append(q)
    return ours, theirs


def _assert_grads_equal(ours, theirs, rtol=1e-6):
    for p, q in zip(ours, theirs):
        if q.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = _pairs()
    total_ours = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    total_theirs = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total_ours, nnrun.Tensor) and total_ours.shape == ()
    assert total_ours.dtype == nnrun.float32
    np.testing.assert_allclose(total_ours.item(), total_theirs.item(), rtol=1e-6)
    _assert_grads_equal(ours, theirs)


def test_clip_grad_norm_scales_to_max_norm_and_leaves_small_grads():
    ours, _ = _pairs(scale=10.0)
    before = get_total_norm([p.grad for p in ours if p.grad is not None]).item()
    returned = clip_grad_norm_(ours, 1.0)
    assert returned.item() == pytest.approx(before)
    after = get_total_norm([p.grad for p in ours if p.grad is not None]).item()
    assert after == pytest.approx(1.0, rel=1e-5)
    grads = [p.grad.numpy().copy() for p in ours if p.grad is not None]
    clip_grad_norm_(ours, 10.0)  # already within: coefficient clamped to 1
    for p, g in zip(ours, grads):
        np.testing.assert_array_equal(p.grad.numpy(), g)


def test_clip_grad_norm_single_tensor_generator_and_no_grads():
    ours, theirs = _pairs(with_missing_grad=False)
    total = clip_grad_norm_(ours[0], 0.5)
    expected = torch.nn.utils.clip_grad_norm_(theirs[0], 0.5)
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    _assert_grads_equal(ours[:1], theirs[:1])
    ours, theirs = _pairs(seed=1)
    total = clip_grad_norm_((p for p in ours), 0.5)
    expected = torch.nn.utils.clip_grad_norm_((q for q in theirs), 0.5)
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    _assert_grads_equal(ours, theirs)
    no_grad = nn.Parameter(nnrun.ones(3))
    assert clip_grad_norm_([no_grad], 1.0).item() == 0.0 and no_grad.grad is None
    with pytest.warns(UserWarning, match=r"^`parameters` is an empty generator, no gradient clipping"):
        assert clip_grad_norm_((p for p in []), 1.0).item() == 0.0


def test_clip_grad_norm_in_place_and_without_history():
    layer = nn.Linear(3, 2)
    layer(nnrun.randn(4, 3)).pow(2).sum().backward()
    grad = layer.weight.grad
    before = grad.numpy().copy()
    clip_grad_norm_(layer.parameters(), 1e-3)
    assert layer.weight.grad is grad and not np.array_equal(grad.numpy(), before)
    assert grad.grad_fn is None and not grad.requires_grad


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_clip_grad_norm_error_if_nonfinite(bad):
    ours, theirs = _pairs()
    for p, q in ((ours[0], theirs[0]),):
        p.grad.numpy()[0, 0] = bad
        q.grad[0, 0] = bad
    message = (
        r"^The total norm of order 2\.0 for gradients from `parameters` is non-finite, so it cannot be "
        r"clipped\. To disable this error and scale the gradients by the non-finite norm anyway, set "
        r"`error_if_nonfinite=False`$"
    )
    with pytest.raises(RuntimeError, match=message):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):
        total = clip_grad_norm_(ours, 1.0)  # scales by the non-finite norm, as torch
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert math.isnan(total.item()) == math.isnan(expected.item())
    assert math.isinf(total.item()) == math.isinf(expected.item())
    np.testing.assert_array_equal(np.isnan(ours[1].grad.numpy()), np.isnan(theirs[1].grad.numpy()))


def test_clip_grad_norm_float64():
    p = nn.Parameter(nnrun.zeros(4, dtype=nnrun.float64))
    p.grad = nnrun.tensor([3.0, 4.0, 0.0, 0.0], dtype=nnrun.float64)
    total = clip_grad_norm_([p], 1.0)
    assert total.dtype == nnrun.float64 and total.item() == 5.0
    np.testing.assert_allclose(p.grad.numpy(), np.array([3, 4, 0, 0]) / (5 + 1e-6), rtol=1e-12)


def test_get_total_norm_and_clip_grads_with_norm_match_torch():
    ours, theirs = _pairs(seed=2)
    grads_ours = [p.grad for p in ours if p.grad is not None]
    grads_theirs = [q.grad for q in theirs if q.grad is not None]
    for norm_type in (2.0, math.inf, 1.5):
        np.testing.assert_allclose(
            get_total_norm(grads_ours, norm_type).item(),
            torch.nn.utils.get_total_norm(grads_theirs, norm_type).item(),
            rtol=1e-6,
        )
    clip_grads_with_norm_(ours, 0.3, get_total_norm(grads_ours))
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.3, torch.nn.utils.get_total_norm(grads_theirs))
    _assert_grads_equal(ours, theirs)
    assert get_total_norm([]).item() == 0.0


@pytest.mark.parametrize("clip_value", [0.1, 0.5, 5])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = _pairs(seed=3)
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    _assert_grads_equal(ours, theirs, rtol=0)
    assert max(abs(p.grad.numpy()).max() for p in ours if p.grad is not None) <= clip_value
    single, _ = _pairs(seed=3)
    clip_grad_value_(single[0], clip_value)
    np.testing.assert_array_equal(single[0].grad.numpy(), ours[0].grad.numpy())


def test_parameters_to_vector_matches_torch_and_is_differentiable():
    ours, theirs = _pairs(seed=4)
    vec = parameters_to_vector(ours)
    expected = torch.nn.utils.parameters_to_vector(theirs)
    np.testing.assert_array_equal(vec.detach().numpy(), expected.detach().numpy())
    assert vec.shape == (sum(p.numel() for p in ours),) and vec.requires_grad
    for p in ours:
        p.grad = None
    (vec * nnrun.arange(vec.numel(), dtype=nnrun.float32)).sum().backward()
    start = 0
    for p in ours:
        n = p.numel()
        np.testing.assert_array_equal(p.grad.numpy().ravel(), np.arange(start, start + n, dtype=np.float32))
        start += n


def test_vector_to_parameters_round_trip():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    shapes = [p.shape for p in model.parameters()]
    vec = nnrun.arange(sum(p.numel() for p in model.parameters()), dtype=nnrun.float32)
    vector_to_parameters(vec, model.parameters())
    assert [p.shape for p in model.parameters()] == shapes
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())
    np.testing.assert_array_equal(parameters_to_vector(model.parameters()).detach().numpy(), vec.numpy())
    assert model[0].weight[0, 1].item() == 1.0 and model[0].bias[0].item() == 12.0
    with pytest.raises(TypeError, match=r"^expected nnrun.Tensor, but got: list$"):
        vector_to_parameters([1.0, 2.0], model.parameters())


def test_exported_from_nn():
    assert nn.utils.clip_grad_norm_ is clip_grad_norm_
    assert nn.utils.parameters_to_vector is parameters_to_vector
