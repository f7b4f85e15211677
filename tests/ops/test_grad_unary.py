"""Float64 finite-difference gradient checks for element-wise functions of one tensor."""

import pytest
from grad_inputs import uniform

import nnrun
from nnrun.autograd import gradcheck


def on_grid(shape):
    """A float64 leaf of distinct values on the grid 0.1 k + 0.025: at least 0.025 from every multiple
    of 0.05, so kinks placed on such multiples (abs, relu, clamp bounds) are never within eps."""
    count = 1
    for size in shape:
        count *= size
    steps = nnrun.randperm(count).to(nnrun.float64) - count // 2
    return (steps * 0.1 + 0.025).reshape(shape).requires_grad_()


SIGNED = (-2.0, 2.0)
POSITIVE = (0.2, 2.0)
GRID = "grid"
# (name, fn, input values); abs/relu/clamp use grid values so no element sits on a kink
UNARY = [
    ("neg_operator", lambda x: -x, SIGNED),
    ("neg", lambda x: x.neg(), SIGNED),
    ("negative_fn", lambda x: nnrun.negative(x), SIGNED),
    ("abs", lambda x: x.abs(), GRID),
    ("abs_builtin", lambda x: abs(x), GRID),
    ("abs_fn", lambda x: nnrun.abs(x), GRID),
    ("exp", lambda x: x.exp(), SIGNED),
    ("exp_fn", lambda x: nnrun.exp(x), SIGNED),
    ("log", lambda x: x.log(), POSITIVE),
    ("log_fn", lambda x: nnrun.log(x), POSITIVE),
    ("log1p", lambda x: x.log1p(), (-0.8, 2.0)),
    ("log1p_fn", lambda x: nnrun.log1p(x), (-0.8, 2.0)),
    ("sqrt", lambda x: x.sqrt(), POSITIVE),
    ("sqrt_fn", lambda x: nnrun.sqrt(x), POSITIVE),
    ("rsqrt", lambda x: x.rsqrt(), POSITIVE),
    ("rsqrt_fn", lambda x: nnrun.rsqrt(x), POSITIVE),
    ("sin", lambda x: x.sin(), (-4.0, 4.0)),
    ("sin_fn", lambda x: nnrun.sin(x), (-4.0, 4.0)),
    ("cos", lambda x: x.cos(), (-4.0, 4.0)),
    ("cos_fn", lambda x: nnrun.cos(x), (-4.0, 4.0)),
    ("tanh", lambda x: x.tanh(), (-3.0, 3.0)),
    ("tanh_fn", lambda x: nnrun.tanh(x), (-3.0, 3.0)),
    ("sigmoid", lambda x: x.sigmoid(), (-6.0, 6.0)),
    ("sigmoid_fn", lambda x: nnrun.sigmoid(x), (-6.0, 6.0)),
    ("sigmoid_saturated", lambda x: (x * 10).sigmoid(), (-4.0, 4.0)),
    ("relu", lambda x: x.relu(), GRID),
    ("relu_fn", lambda x: nnrun.relu(x), GRID),
    ("clamp_min", lambda x: x.clamp(min=-0.3), GRID),
    ("clamp_max", lambda x: x.clamp(max=0.2), GRID),
    ("clamp_both", lambda x: x.clamp(-0.3, 0.2), GRID),
    ("clamp_fn", lambda x: nnrun.clamp(x, min=-0.5, max=0.5), GRID),
    ("clip_method", lambda x: x.clip(min=0.0), GRID),
    ("clip_fn", lambda x: nnrun.clip(x, max=-0.1), GRID),
    ("clamp_int_bounds", lambda x: x.clamp(-1, 1), GRID),
    (
        "clamp_tensor_bounds",
        lambda x: x.clamp(nnrun.tensor(-0.2, dtype=nnrun.float64), nnrun.tensor(0.3, dtype=nnrun.float64)),
        GRID,
    ),
    ("chain", lambda x: (x.sin() * x.exp()).tanh().sigmoid(), SIGNED),
]


def _make(shape, values):
    return on_grid(shape) if values == GRID else uniform(shape, *values)


@pytest.mark.parametrize("shape", [(), (7,), (3, 4), (2, 2, 3)], ids=str)
@pytest.mark.parametrize(("name", "fn", "values"), UNARY, ids=[row[0] for row in UNARY])
def test_unary(name, fn, values, shape):
    assert gradcheck(fn, (_make(shape, values),))


@pytest.mark.parametrize(("name", "fn", "values"), UNARY, ids=[row[0] for row in UNARY])
def test_unary_non_contiguous(name, fn, values):
    x = _make((4, 6), values).detach().t()[::2].requires_grad_()
    assert not x.is_contiguous()
    assert gradcheck(fn, (x,))


def test_clamp_passes_gradient_only_inside_bounds():
    x = nnrun.tensor([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=nnrun.float64, requires_grad=True)
    x.clamp(-1.0, 1.0).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_relu_and_abs_at_zero_follow_torch():
    # kinks: torch gives relu'(0) = 0 and abs'(0) = 0
    x = nnrun.tensor([0.0, 1.0], dtype=nnrun.float64, requires_grad=True)
    (x.relu() + x.abs()).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0]
