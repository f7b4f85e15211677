"""Float64 finite-difference gradient checks for binary arithmetic: + - * / // ** maximum minimum."""

import pytest
from grad_inputs import uniform

import nnrun
from nnrun.autograd import gradcheck
from nnrun.autograd.gradcheck import GradcheckError


def away_from_zero(shape, low=0.5, high=1.5):
    """A float64 leaf with |values| in [low, high) and random signs (safe divisors)."""
    magnitude = nnrun.rand(shape, dtype=nnrun.float64) * (high - low) + low
    sign = (nnrun.rand(shape, dtype=nnrun.float64) > 0.5) * 2.0 - 1.0
    return (magnitude * sign).requires_grad_()


# (name, fn(a, b), a's value range, b's value range); ranges keep clear of poles and log(negative)
SIGNED = (-1.0, 1.0)
POSITIVE = (0.5, 1.5)
NONZERO = "nonzero"
BINARY = [
    ("add", lambda a, b: a + b, SIGNED, SIGNED),
    ("add_fn_alpha", lambda a, b: nnrun.add(a, b, alpha=2.5), SIGNED, SIGNED),
    ("sub", lambda a, b: a - b, SIGNED, SIGNED),
    ("sub_fn_alpha", lambda a, b: nnrun.sub(a, b, alpha=-0.5), SIGNED, SIGNED),
    ("mul", lambda a, b: a * b, SIGNED, SIGNED),
    ("mul_method", lambda a, b: a.mul(b), SIGNED, SIGNED),
    ("div", lambda a, b: a / b, SIGNED, NONZERO),
    ("div_fn", lambda a, b: nnrun.div(a, b), SIGNED, NONZERO),
    ("true_divide_fn", lambda a, b: nnrun.true_divide(a, b), SIGNED, NONZERO),
    ("true_divide_method", lambda a, b: a.true_divide(b), SIGNED, NONZERO),
    ("pow", lambda a, b: a**b, POSITIVE, SIGNED),
    ("pow_fn", lambda a, b: nnrun.pow(a, b), POSITIVE, SIGNED),
    ("maximum", lambda a, b: nnrun.maximum(a, b), SIGNED, SIGNED),
    ("minimum", lambda a, b: nnrun.minimum(a, b), SIGNED, SIGNED),
    ("max_of_two", lambda a, b: nnrun.max(a, b), SIGNED, SIGNED),
    ("min_of_two", lambda a, b: a.minimum(b), SIGNED, SIGNED),
]

SHAPE_PAIRS = [
    ((3, 4), (3, 4)),
    ((3, 1, 4), (2, 4)),
    ((2, 4), (3, 1, 4)),
    ((3, 4), ()),
    ((), (3, 4)),
    ((4,), (3, 1)),
    ((1,), (2, 3)),
    ((), ()),
]


def _make(shape, value_range):
    if value_range == NONZERO:
        return away_from_zero(shape)
    return uniform(shape, *value_range)


@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
@pytest.mark.parametrize(("name", "fn", "a_range", "b_range"), BINARY, ids=[row[0] for row in BINARY])
def test_binary_broadcasting(name, fn, a_range, b_range, shapes):
    a, b = _make(shapes[0], a_range), _make(shapes[1], b_range)
    assert gradcheck(fn, (a, b))


@pytest.mark.parametrize(("name", "fn", "a_range", "b_range"), BINARY, ids=[row[0] for row in BINARY])
def test_binary_one_side_constant(name, fn, a_range, b_range):
    a = _make((2, 3), a_range)
    b = _make((3,), b_range).detach()
    assert gradcheck(fn, (a, b))
    a = a.detach()
    b.requires_grad_()
    assert gradcheck(fn, (a, b))


@pytest.mark.parametrize(("name", "fn", "a_range", "b_range"), BINARY, ids=[row[0] for row in BINARY])
def test_binary_non_contiguous(name, fn, a_range, b_range):
    a = _make((4, 3), a_range).detach().t().requires_grad_()
    b = _make((3, 8), b_range).detach()[:, ::2].requires_grad_()
    assert not a.is_contiguous() and not b.is_contiguous()
    assert gradcheck(fn, (a, b))


# Python scalars on either side, including the reflected dunders
SCALAR_FORMS = [
    ("radd", lambda x: 2.5 + x, SIGNED),
    ("add_scalar", lambda x: x + 2, SIGNED),
    ("rsub", lambda x: 2.5 - x, SIGNED),
    ("sub_scalar", lambda x: x - 2, SIGNED),
    ("rmul", lambda x: 3 * x, SIGNED),
    ("mul_scalar", lambda x: x * -1.5, SIGNED),
    ("rtruediv", lambda x: 2.0 / x, NONZERO),
    ("rtruediv_int", lambda x: 1 / x, NONZERO),
    ("truediv_scalar", lambda x: x / 4, SIGNED),
    ("pow_2", lambda x: x**2, SIGNED),
    ("pow_3_int", lambda x: x**3, SIGNED),
    ("pow_half", lambda x: x**0.5, POSITIVE),
    ("pow_negative", lambda x: x**-1.5, POSITIVE),
    ("pow_0", lambda x: x**0 + x, SIGNED),
    ("pow_1", lambda x: x**1, SIGNED),
    ("rpow", lambda x: 2**x, SIGNED),
    ("rpow_float", lambda x: 0.7**x, SIGNED),
    ("pow_fn_scalar_base", lambda x: nnrun.pow(3.0, x), SIGNED),
    ("maximum_scalar_tensor", lambda x: nnrun.maximum(x, nnrun.tensor(0.05, dtype=nnrun.float64)), SIGNED),
]


@pytest.mark.parametrize("shape", [(), (5,), (2, 3)], ids=str)
@pytest.mark.parametrize(("name", "fn", "value_range"), SCALAR_FORMS, ids=[row[0] for row in SCALAR_FORMS])
def test_python_scalar_operand(name, fn, value_range, shape):
    assert gradcheck(fn, (_make(shape, value_range),))


@pytest.mark.parametrize(
    "fn",
    [lambda a, b: a * (a // b), lambda a, b: a + b * (a // 0.3)],
    ids=["tensor_tensor", "tensor_scalar"],
)
def test_floor_divide_is_piecewise_constant(fn):
    # keep a / b and a / 0.3 clear of integers, where floor jumps
    a = nnrun.tensor([0.31, 0.95, -0.4, 1.45], dtype=nnrun.float64, requires_grad=True)
    b = nnrun.tensor([0.7, 0.6, 0.9, 0.65], dtype=nnrun.float64, requires_grad=True)
    assert not (a // b).requires_grad
    assert gradcheck(fn, (a, b))


def test_mixed_dtype_operand_gets_float64_gradient():
    a = uniform((2, 3))
    ints = nnrun.tensor([[1, -2, 3], [4, 5, -6]])
    halves = nnrun.tensor([0.5, -1.5, 2.0], dtype=nnrun.float32)
    assert gradcheck(lambda x: x * ints + x / halves - ints / (x * x + 1), (a,))


def test_reused_input_accumulates():
    x = uniform((3, 2))
    assert gradcheck(lambda t: t * t + t / (t * t + 1) - t, (x,))


@pytest.mark.parametrize(
    ("fn", "share"),
    [(nnrun.maximum, 0.5), (nnrun.minimum, 0.5)],
    ids=["maximum", "minimum"],
)
def test_tie_gradient_is_split_evenly(fn, share):
    # a central difference at a two-way tie also sees half the slope, so gradcheck applies here too
    a = nnrun.tensor([0.3, -0.2, 0.7], dtype=nnrun.float64, requires_grad=True)
    b = nnrun.tensor([0.3, 0.1, -0.4], dtype=nnrun.float64, requires_grad=True)
    assert gradcheck(fn, (a, b))
    fn(a, b).sum().backward()
    assert a.grad.tolist()[0] == share and b.grad.tolist()[0] == share


def test_gradcheck_catches_a_wrong_rule():
    # the battery is only meaningful if a wrong derivative fails: detach half of a product
    x = uniform((3,))
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: t * t.detach(), (x,))
