"""Float64 finite-difference gradient checks through dtype casts and copies."""

import pytest
from grad_inputs import leaf

import nnrun
from nnrun.autograd import gradcheck

# float32 and float16 round trips lose precision, so these use a larger step and tolerance; a
# quadratic consumer keeps the central difference exact apart from that rounding
LOSSY = [
    ("to_float32", lambda x: (x.to(nnrun.float32) ** 2).to(nnrun.float64), 1e-3, 1e-3),
    ("float_double", lambda x: (x.float() * 3).double(), 1e-3, 1e-3),
    ("to_dtype_keyword", lambda x: x.to(dtype=nnrun.float32).to(dtype=nnrun.float64) * x, 1e-3, 1e-3),
    ("type_as", lambda x: x.type_as(nnrun.zeros(1)).type_as(x), 1e-3, 1e-3),
    ("half_double", lambda x: x.half().double(), 1e-2, 2e-2),
    ("float32_output", lambda x: (x * x).float(), 1e-2, 1e-3),
]


@pytest.mark.parametrize(("name", "fn", "eps", "atol"), LOSSY, ids=[row[0] for row in LOSSY])
def test_lossy_cast(name, fn, eps, atol):
    assert gradcheck(fn, (leaf(2, 3),), eps=eps, atol=atol, rtol=1e-2)


EXACT = [
    ("to_same_dtype", lambda x: x.to(nnrun.float64) * x),
    ("double_noop", lambda x: x.double().exp()),
    ("to_cpu", lambda x: x.to("cpu") * 2),
    ("cpu", lambda x: x.cpu().sin()),
    ("to_copy", lambda x: x.to(nnrun.float64, copy=True) * x),
    ("clone", lambda x: x.clone() * x),
    ("contiguous", lambda x: x.t().contiguous() @ x),
    ("int_cast_is_constant", lambda x: x * x.long() + x),
]


@pytest.mark.parametrize(("name", "fn"), EXACT, ids=[row[0] for row in EXACT])
def test_exact_conversion(name, fn):
    x = leaf(3, 3)
    if name == "int_cast_is_constant":  # keep clear of integers, where truncation jumps
        x = (
            nnrun.rand(3, 3, dtype=nnrun.float64) * 0.8 + 0.1 + nnrun.randint(-3, 3, (3, 3))
        ).requires_grad_()
    assert gradcheck(fn, (x,))


def test_integer_cast_has_no_gradient():
    x = leaf(3)
    assert not x.long().requires_grad
    assert not x.to(nnrun.int32).requires_grad
    assert not x.bool().requires_grad


def test_cast_gradient_has_input_dtype():
    x = leaf(3)
    (x.float() * 2).sum().backward()
    assert x.grad.dtype == nnrun.float64
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
