"""Float64 finite-difference gradient checks for shape and layout ops (views, copies, splits, joins)."""

import re

import pytest
from grad_inputs import leaf

import nnrun
from nnrun.autograd import gradcheck

# (name, fn, input shape); gradcheck compares full Jacobians, so a misplaced gradient fails
ONE_INPUT = [
    ("view", lambda x: x.view(4, 6), (2, 3, 4)),
    ("view_infer", lambda x: x.view(-1, 4), (2, 3, 4)),
    ("view_varargs_tuple", lambda x: x.view((3, 8)), (2, 3, 4)),
    ("view_as", lambda x: x.view_as(nnrun.zeros(6, 4)), (2, 3, 4)),
    ("reshape", lambda x: x.reshape(3, -1), (2, 3, 4)),
    ("reshape_fn", lambda x: nnrun.reshape(x, (24,)), (2, 3, 4)),
    ("reshape_non_contiguous", lambda x: x.t().reshape(-1), (3, 4)),
    ("reshape_as", lambda x: x.reshape_as(nnrun.zeros(4, 3, 2)), (2, 3, 4)),
    ("flatten", lambda x: x.flatten(), (2, 3, 4)),
    ("flatten_start", lambda x: x.flatten(1), (2, 3, 4)),
    ("flatten_start_end", lambda x: x.flatten(0, 1), (2, 3, 4)),
    ("flatten_negative", lambda x: nnrun.flatten(x, -2, -1), (2, 3, 4)),
    ("flatten_scalar", lambda x: x.flatten(), ()),
    ("unflatten", lambda x: x.unflatten(1, (2, 2)), (3, 4)),
    ("unflatten_infer", lambda x: nnrun.unflatten(x, -1, (-1, 2)), (3, 4)),
    ("squeeze_all", lambda x: x.squeeze(), (1, 3, 1, 2)),
    ("squeeze_dim", lambda x: x.squeeze(2), (1, 3, 1, 2)),
    ("squeeze_negative", lambda x: x.squeeze(-4), (1, 3, 1, 2)),
    ("squeeze_non_one", lambda x: x.squeeze(1), (1, 3, 1, 2)),
    ("squeeze_fn_tuple", lambda x: nnrun.squeeze(x, (0, 2)), (1, 3, 1, 2)),
    ("unsqueeze", lambda x: x.unsqueeze(0), (3, 2)),
    ("unsqueeze_middle", lambda x: x.unsqueeze(1), (3, 2)),
    ("unsqueeze_negative", lambda x: nnrun.unsqueeze(x, -1), (3, 2)),
    ("unsqueeze_scalar", lambda x: x.unsqueeze(0), ()),
    ("permute", lambda x: x.permute(2, 0, 1), (2, 3, 4)),
    ("permute_tuple", lambda x: x.permute((1, 2, 0)), (2, 3, 4)),
    ("permute_negative", lambda x: nnrun.permute(x, (-1, -3, -2)), (2, 3, 4)),
    ("transpose", lambda x: x.transpose(0, 2), (2, 3, 4)),
    ("transpose_negative", lambda x: nnrun.transpose(x, -1, -2), (2, 3, 4)),
    ("t", lambda x: x.t(), (3, 4)),
    ("t_fn", lambda x: nnrun.t(x), (3, 4)),
    ("t_vector", lambda x: x.t(), (4,)),
    ("T", lambda x: x.T, (2, 3, 4)),
    ("mT", lambda x: x.mT, (2, 3, 4)),
    ("expand", lambda x: x.expand(3, 4), (3, 1)),
    ("expand_new_dims", lambda x: x.expand(2, 3, 4), (1, 4)),
    ("expand_keep", lambda x: x.expand(-1, 2, 5), (3, 1, 5)),
    ("expand_scalar", lambda x: x.expand(2, 3), ()),
    ("expand_as", lambda x: x.expand_as(nnrun.zeros(2, 3, 4)), (3, 1)),
    ("repeat", lambda x: x.repeat(2, 3), (2, 3)),
    ("repeat_extra_dims", lambda x: x.repeat(2, 1, 2), (2, 3)),
    ("repeat_fn_tuple", lambda x: nnrun.repeat(x, (3,)), (4,)),
    ("flip", lambda x: x.flip(0), (3, 4)),
    ("flip_many", lambda x: x.flip(0, 2), (2, 3, 4)),
    ("flip_fn_negative", lambda x: nnrun.flip(x, (-1,)), (2, 3, 4)),
    ("roll_flat", lambda x: x.roll(2), (3, 4)),
    ("roll_dim", lambda x: x.roll(1, 0), (3, 4)),
    ("roll_negative", lambda x: x.roll(-3, -1), (3, 4)),
    ("roll_many", lambda x: nnrun.roll(x, (1, -2), (0, 2)), (2, 3, 4)),
    ("narrow", lambda x: x.narrow(1, 1, 2), (3, 4)),
    ("narrow_negative", lambda x: nnrun.narrow(x, -1, -3, 2), (3, 4)),
    ("chunk", lambda x: x.chunk(2), (4, 3)),
    ("chunk_uneven", lambda x: x.chunk(3, 1), (2, 5)),
    ("chunk_fn_negative", lambda x: nnrun.chunk(x, 2, -1), (2, 5)),
    ("split", lambda x: x.split(2), (5, 3)),
    ("split_dim", lambda x: x.split(2, dim=1), (3, 5)),
    ("split_sizes", lambda x: x.split([1, 3, 1], 1), (3, 5)),
    ("split_fn_sizes", lambda x: nnrun.split(x, [2, 3], dim=-1), (3, 5)),
    ("split_one_piece", lambda x: nnrun.split(x, 7), (5,)),
    ("split_pieces_reused", lambda x: sum(p * (i + 1) for i, p in enumerate(x.split(1))), (3, 2)),
    ("view_of_view", lambda x: x.t().unsqueeze(0).expand(2, 4, 3).flip(1).reshape(-1), (3, 4)),
]


@pytest.mark.parametrize(("name", "fn", "shape"), ONE_INPUT, ids=[row[0] for row in ONE_INPUT])
def test_shape_op(name, fn, shape):
    assert gradcheck(fn, (leaf(*shape),))


@pytest.mark.parametrize(("name", "fn", "shape"), ONE_INPUT, ids=[row[0] for row in ONE_INPUT])
def test_shape_op_with_nonlinear_consumer(name, fn, shape):
    # downstream of the op the gradient varies per element, so each must be routed back to its source
    def consumed(x):
        out = fn(x)
        return [(piece * piece).sin() for piece in (out if isinstance(out, tuple) else (out,))]

    assert gradcheck(consumed, (leaf(*shape),))


@pytest.mark.parametrize("dim", [0, 1, -1, -2])
def test_cat(dim):
    base = [2, 3]
    shapes = []
    for size in (1, 2, 3):
        shape = list(base)
        shape[dim] = size
        shapes.append(tuple(shape))
    tensors = [leaf(*shape) for shape in shapes]
    assert gradcheck(lambda a, b, c: nnrun.cat([a, b, c], dim), tensors)
    assert gradcheck(lambda a, b, c: nnrun.concat((a, b * 2, a), dim=dim), tensors)


def test_cat_with_constant_part():
    a, b = leaf(2, 3), leaf(1, 3).detach()
    assert gradcheck(lambda x: nnrun.cat([b, x, b]), (a,))


@pytest.mark.parametrize("position", [0, 1])
def test_cat_refuses_zero_dimensional_tensors_as_torch(position):
    torch = pytest.importorskip("torch")
    parts = [[1.0, 2.0], 3.0] if position else [3.0, [1.0, 2.0]]
    message = f"zero-dimensional tensor (at position {position}) cannot be concatenated"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        torch.cat([torch.tensor(p) for p in parts])
    with pytest.raises(RuntimeError, match=re.escape(message)):
        nnrun.cat([nnrun.tensor(p) for p in parts])


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack(dim):
    tensors = [leaf(2, 3) for _ in range(3)]
    assert gradcheck(lambda a, b, c: nnrun.stack([a, b, c], dim), tensors)
    assert gradcheck(lambda a, b, c: nnrun.stack((a, b * c, a), dim=dim), tensors)


def test_stack_scalars():
    tensors = [leaf() for _ in range(3)]
    assert gradcheck(lambda a, b, c: nnrun.stack([a, b, c]), tensors)
