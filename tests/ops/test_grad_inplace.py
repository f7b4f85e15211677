"""Float64 finite-difference gradient checks through in-place ops on non-leaf tensors.

Each function clones its input (a leaf may not be modified in place), mutates the clone, and continues
with a nonlinear consumer so that a wrong rebase of the history shows up in the Jacobian.
"""

import pytest
from grad_inputs import uniform

import nnrun
from nnrun.autograd import gradcheck

MASK = nnrun.tensor([[True, False, True], [False, False, True]])


def _add_(x):
    y = x * 1.5
    y.add_(2.0)
    return y.sin()


def _add_tensor_alpha(x, other):
    y = x.clone()
    y.add_(other, alpha=-2)
    return y * y


def _sub_(x, other):
    y = x.clone()
    y.sub_(other)
    y.sub_(0.5, alpha=3)
    return y.exp()


def _mul_(x, other):
    y = x.clone()
    y.mul_(other)
    y.mul_(y)
    return y


def _div_(x, other):
    y = x.clone()
    y.div_(other)
    y.div_(3)
    return y.tanh()


def _augmented_assignments(x, other):
    y = x.clone()
    y += other
    y -= 0.25
    y *= other
    y /= 2
    return y * x


def _pow_(x):
    y = x.clone()
    y.pow_(3)
    return y


def _clamp_(x):
    y = x * 2
    y.clamp_(-0.9, 0.8)  # y lies on the grid 0.6 k + 0.1
    return y * y


def _clamp_min_only(x):
    y = x.clone()
    y.clamp_(min=0.1)
    return y.log()


def _clip_max_only(x):
    y = x.clone()
    y.clip_(max=0.3)
    return y.exp()


def _neg_relu_(x):
    y = x.clone()
    y.neg_().relu_()  # relu_ last: it saves its result, which a later in-place op invalidates (torch too)
    return y * x


def _masked_fill_(x):
    y = x.clone()
    y.masked_fill_(MASK, 0.5)
    return y * x


def _masked_fill_tensor_value(x, value):
    y = x.clone()
    y.masked_fill_(MASK, value)
    return y * y


def _setitem_basic(x, value):
    y = x.clone()
    y[0, 1:] = value[:2]
    y[1] = 3.0
    return y * x


def _setitem_broadcast(x, value):
    y = x * x
    y[:, 1] = value[0]
    return y.exp()


def _setitem_mask(x, value):
    y = x.clone()
    y[MASK] = value
    return y * x


def _setitem_index_tensor(x, value):
    y = x.clone()
    y[nnrun.tensor([1, 0])] = value  # rows
    return y * x


def _setitem_tensor_values_and_indices(x, value):
    y = x.clone()
    y[nnrun.tensor([0, 1]), nnrun.tensor([2, 0])] = value[1:]
    return y.sin()


def _copy_(x, src):
    y = x.clone()
    y.copy_(src)
    return y * x


def _copy_broadcast(x, src):
    y = x.clone()
    y.copy_(src[0])  # (3,) into (2, 3)
    return y * y + x


def _fill_(x):
    y = x.clone()
    y[0].fill_(2.0)  # a view of a non-leaf
    return y * x


def _fill_tensor_value(x, value):
    y = x.clone()
    y.fill_(value.sum())
    return y * x


def _zero_(x):
    y = x * 2
    y[:, 0].zero_()
    return y * x


def _view_mutation(x, other):
    y = x.clone()
    row = y[1]
    row.mul_(other[0])  # writes through the view into y
    return y * y


def _transposed_view_mutation(x, other):
    y = x.clone()
    view = y.t()
    view.add_(other.t())
    return y.sin()


def _view_of_view_mutation(x, other):
    y = x.clone()
    y.t()[1:].unsqueeze(0).mul_(other[:, 1:].t())  # a view of a view of a view
    y.view(-1)[::4].zero_()
    return y * x


def _split_piece_mutation(x, other):
    y = x * 3
    first, second = y.split([1, 2], dim=1)
    second.add_(other[:, :2])
    first.mul_(other[:, 2:])
    return y.exp() + first


def _write_into_constant_buffer(x, other):
    buffer = nnrun.zeros(2, 3, dtype=nnrun.float64)
    buffer[1].copy_(x[0] * other[1])  # the buffer starts without history and gains it
    buffer[:, 0].add_(x[:, 2])
    return buffer.sin()


def _chain(x, other):
    y = x * 2
    y.add_(other).mul_(other).sub_(1).div_(other.abs() + 1).clamp_(-2.0, 2.0)
    y[0, 0] = other[1, 1]
    return y.exp()


def _mutation_after_use(x):
    y = x.clone()
    z = y * 3  # Mul saves y's value only through a copy when y is later overwritten
    y.add_(1)
    return z + y


def _view_taken_before_base_mutation(x, other):
    y = x * 1.0
    v = y[1]  # its history must be rebuilt from y's after y changes in place
    y.mul_(other)
    return v * v


def _expanded_view_taken_before_base_mutation(x):
    y = x * 1.0
    e = y[0].expand(2, 3)
    y.add_(1.0)
    return e * e


def _sibling_view_mutation(x, other):
    y = x * 1.0
    row, col = y[0], y[:, 1]  # overlapping views of one base
    row.mul_(other[0])
    return col * col


INPLACE = [
    ("add_", _add_, 1),
    ("add_tensor_alpha", _add_tensor_alpha, 2),
    ("sub_", _sub_, 2),
    ("mul_", _mul_, 2),
    ("div_", _div_, 2),
    ("augmented_assignments", _augmented_assignments, 2),
    ("pow_", _pow_, 1),
    ("clamp_", _clamp_, 1),
    ("clamp_min_only", _clamp_min_only, 1),
    ("clip_max_only", _clip_max_only, 1),
    ("neg_relu_", _neg_relu_, 1),
    ("masked_fill_", _masked_fill_, 1),
    ("masked_fill_tensor_value", _masked_fill_tensor_value, 2),
    ("setitem_basic", _setitem_basic, 2),
    ("setitem_broadcast", _setitem_broadcast, 2),
    ("setitem_mask", _setitem_mask, 2),
    ("setitem_index_tensor", _setitem_index_tensor, 2),
    ("setitem_tensor_values_and_indices", _setitem_tensor_values_and_indices, 2),
    ("copy_", _copy_, 2),
    ("copy_broadcast", _copy_broadcast, 2),
    ("fill_", _fill_, 1),
    ("fill_tensor_value", _fill_tensor_value, 2),
    ("zero_", _zero_, 1),
    ("view_mutation", _view_mutation, 2),
    ("transposed_view_mutation", _transposed_view_mutation, 2),
    ("view_of_view_mutation", _view_of_view_mutation, 2),
    ("split_piece_mutation", _split_piece_mutation, 2),
    ("write_into_constant_buffer", _write_into_constant_buffer, 2),
    ("chain", _chain, 2),
    ("mutation_after_use", _mutation_after_use, 1),
    ("view_taken_before_base_mutation", _view_taken_before_base_mutation, 2),
    ("expanded_view_taken_before_base_mutation", _expanded_view_taken_before_base_mutation, 1),
    ("sibling_view_mutation", _sibling_view_mutation, 2),
]

# a 3-element value for masked/indexed writes (MASK has three True entries), a (2, 3) tensor otherwise
VALUE_SHAPES = {
    "masked_fill_tensor_value": (),
    "setitem_mask": (3,),
    "setitem_index_tensor": (3,),
    "setitem_tensor_values_and_indices": (3,),
    "setitem_basic": (3,),
    "setitem_broadcast": (2, 1),
}


@pytest.mark.parametrize(("name", "fn", "arity"), INPLACE, ids=[row[0] for row in INPLACE])
def test_inplace(name, fn, arity):
    # clamp-like ops use a grid 0.05 away from every bound; divisors stay away from zero
    x = (nnrun.randperm(6).to(nnrun.float64) * 0.3 - 0.85).reshape(2, 3).requires_grad_()
    inputs = [x]
    if arity == 2:
        shape = VALUE_SHAPES.get(name, (2, 3))
        inputs.append(uniform(shape, 0.5, 1.5))
    assert gradcheck(fn, inputs)


def test_inplace_on_leaf_requiring_grad_raises():
    x = uniform((3,))
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.add_(1)


def test_inplace_on_view_of_leaf_requiring_grad_raises():
    x = uniform((2, 3))
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x[0].mul_(2)
    with nnrun.no_grad():
        x[0].mul_(2)  # allowed outside autograd, e.g. initialisation


def test_view_mutation_rebases_the_base():
    x = uniform((2, 3))
    y = x.clone()
    y[0].fill_(2.0)
    (y * x).sum().backward()
    expected = [[2.0, 2.0, 2.0], [2 * v for v in x.tolist()[1]]]
    assert x.grad.tolist() == expected


def test_overwriting_a_value_saved_for_backward_is_detected():
    x = uniform((3,))
    y = x.clone()
    z = y.sin()  # Sin saves its input y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_inplace_under_no_grad_is_not_recorded():
    x = uniform((3,))
    y = x * 2
    with nnrun.no_grad():
        y.mul_(10)
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
