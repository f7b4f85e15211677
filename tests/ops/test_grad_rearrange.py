"""movedim, swapaxes, unbind, rot90, the stack/split families, atleast_Nd, broadcasting, meshgrid,
cartesian_prod, combinations, repeat_interleave, unfold, diagonal, diag_embed, trace, block_diag and the
triangle indices: float64 gradient checks, and forward and backward against torch."""

import numpy as np
import pytest
from grad_inputs import leaf

import nnrun
from nnrun.autograd import gradcheck
from parity import check, ints, raises_like, randn

torch = pytest.importorskip("torch")

CASES = {
    "movedim": (
        lambda lib, x: (x.movedim(0, 2), lib.movedim(x, (0, 1), (2, 0)), lib.moveaxis(x, -1, 0)),
        randn(2, 3, 4),
    ),
    "swapaxes": (lambda lib, x: (x.swapaxes(0, 2), lib.swapdims(x, 1, -1), x.swapdims(0, 1)), randn(2, 3, 4)),
    "unbind": (lambda lib, x: (*x.unbind(1), *lib.unbind(x, -1)), randn(2, 3, 4)),
    "rot90": (
        lambda lib, x: (*(lib.rot90(x, k, (1, 2)) for k in (-1, 0, 1, 2, 3, 5)), x.rot90()),
        randn(2, 3, 4),
    ),
    "flip_lr_ud": (lambda lib, x: (x.fliplr(), lib.flipud(x)), randn(3, 4)),
    "atleast": (
        lambda lib, a, b, c: (
            *lib.atleast_1d(a, b),
            *lib.atleast_2d([a, b, c]),
            *lib.atleast_3d(a, b, c),
            lib.atleast_3d(c.t()),
        ),
        np.array(2.0),
        randn(3),
        randn(2, 3),
    ),
    "stacks": (
        lambda lib, a, b: (
            lib.hstack([a, b]),
            lib.vstack((a, b)),
            lib.dstack([a, b]),
            lib.column_stack([a[:, 0], b[:, 1], a]),
            lib.row_stack([a, b]),
            lib.hstack([a[0], b[0]]),
            lib.vstack([a[0], b[1]]),
        ),
        randn(2, 3),
        randn(2, 3, seed=1),
    ),
    "tensor_split": (
        lambda lib, x, i: (
            *x.tensor_split(3, dim=1),
            *lib.tensor_split(x, [1, 5, 3, -1], 1),
            *x.tensor_split(i, 1),
            *lib.tensor_split(x, 7, 1),
        ),
        randn(2, 5),
        ints([2, 3]),
    ),
    "hvdsplit": (
        lambda lib, x: (*x.hsplit(2), *lib.vsplit(x, [1]), *x.dsplit(3), *lib.hsplit(x[0, :, 0], 2)),
        randn(2, 4, 3),
    ),
    "broadcast": (
        lambda lib, a, b: (
            a.broadcast_to((2, 3, 4)),
            lib.broadcast_to(b, (-1, 4)),
            *lib.broadcast_tensors(a, b),
        ),
        randn(3, 1),
        randn(3, 4),
    ),
    "meshgrid": (
        lambda lib, a, b, c: (
            *lib.meshgrid(a, b, indexing="ij"),
            *lib.meshgrid([a, b, c], indexing="xy"),
            *lib.meshgrid(a, c[0], indexing="xy"),
        ),
        randn(3),
        randn(4),
        randn(2),
    ),
    "cartesian_prod": (
        lambda lib, a, b: (lib.cartesian_prod(a, b), lib.cartesian_prod(a, b, a), lib.cartesian_prod(a)),
        randn(3),
        randn(2),
    ),
    "combinations": (
        lambda lib, a: (
            lib.combinations(a),
            lib.combinations(a, 3),
            lib.combinations(a, with_replacement=True),
            lib.combinations(a, 0),
        ),
        randn(4),
    ),
    "repeat_interleave": (
        lambda lib, x, r: (
            x.repeat_interleave(2),
            lib.repeat_interleave(x, 3, dim=1),
            x.repeat_interleave(r, dim=0),
            lib.repeat_interleave(r),
            x.repeat_interleave(r[:1], dim=0),
            x[0, 0].repeat_interleave(2),
            x.repeat_interleave(r, 0, output_size=3),
        ),
        randn(2, 3),
        ints([1, 2]),
    ),
    "unfold": (
        lambda lib, x: (
            x.unfold(1, 2, 1),
            x.unfold(-1, 2, 2),
            x.unfold(0, 2, 1),
            x.unfold(2, 4, 3),
            x[0, 0, 0].unfold(0, 1, 1),
        ),
        randn(3, 4, 5),
    ),
    "diagonal": (
        lambda lib, x: (
            x.diagonal(),
            lib.diagonal(x, 1, 1, 2),
            x.diagonal(-1, 2, 0),
            x.diagonal(offset=-2, dim1=-1, dim2=-2),
            x[0].diagonal(5),
        ),
        randn(3, 4, 5),
    ),
    "diag_embed": (
        lambda lib, x: (
            x.diag_embed(),
            lib.diag_embed(x, 1, 0, 2),
            x.diag_embed(-1, 2, 0),
            lib.diag_embed(x[0], 2),
        ),
        randn(2, 3),
    ),
    "trace": (lambda lib, x: (x.trace(), lib.trace(x.t()), lib.trace(x[:2])), randn(3, 4)),
    "block_diag": (
        lambda lib, a, b, c: (lib.block_diag(a, b, c), lib.block_diag(c, a), lib.block_diag(b)),
        randn(2, 3),
        randn(4),
        np.array(1.5),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_parity(name):
    fn, *arrays = CASES[name]
    check(fn, *arrays)


GRADCHECKS = {
    "movedim": (lambda x: x.movedim((0, 2), (1, 0)), (2, 3, 4)),
    "unbind": (lambda x: x.unbind(1)[1] * x.unbind(1)[2], (2, 3, 4)),
    "rot90": (lambda x: x.rot90(1, (2, 0)) * 2.0, (2, 3, 4)),
    "hstack": (lambda x: nnrun.hstack([x, x[:, :1] ** 2]), (2, 3)),
    "dstack": (lambda x: nnrun.dstack([x, x.exp()]), (2, 3)),
    "column_stack": (lambda x: nnrun.column_stack([x[0], x.t()]), (3, 3)),
    "tensor_split": (lambda x: x.tensor_split([1, 1, 3], 1)[2] * 3.0, (2, 4)),
    "broadcast_tensors": (lambda x: nnrun.broadcast_tensors(x, x[0])[1] * x, (3, 4)),
    "meshgrid": (lambda x: nnrun.meshgrid(x, x[:2], indexing="xy")[0] ** 2, (3,)),
    "cartesian_prod": (lambda x: nnrun.cartesian_prod(x, x[1:]).prod(1), (3,)),
    "combinations": (lambda x: nnrun.combinations(x, 2, with_replacement=True).prod(1), (4,)),
    "repeat_interleave": (lambda x: x.repeat_interleave(nnrun.tensor([2, 0, 3]), dim=1) ** 2, (2, 3)),
    "unfold": (lambda x: x.unfold(1, 3, 2) ** 2, (2, 7)),
    "diagonal": (lambda x: x.diagonal(1, 0, 2) ** 2, (3, 4, 5)),
    "diag_embed": (lambda x: x.diag_embed(-1, 0, 2) * 2.0, (2, 3)),
    "trace": (lambda x: x.trace(), (3, 4)),
    "block_diag": (lambda x: nnrun.block_diag(x, x[0], x[0, 0]) ** 2, (2, 3)),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck(name):
    fn, shape = GRADCHECKS[name]
    assert gradcheck(fn, (leaf(*shape),))


def test_gradcheck_non_contiguous():
    x = leaf(4, 3, 2).detach().permute(2, 1, 0).requires_grad_()  # (2, 3, 4), not contiguous
    assert gradcheck(lambda t: (t.diagonal(0, 1, 2), t.unfold(2, 2, 1), t.movedim(2, 0)), (x,))


def test_broadcast_shapes_and_indices():
    assert nnrun.broadcast_shapes((3, 1), (1, 4), (2, 1, 1)) == torch.broadcast_shapes(
        (3, 1), (1, 4), (2, 1, 1)
    )
    assert nnrun.broadcast_shapes(5, (3, 1)) == torch.broadcast_shapes(5, (3, 1))
    assert isinstance(nnrun.broadcast_shapes((2,)), nnrun.Size)
    for args in [(3, 3), (3, 4, 1), (4, 3, -1), (2, 5, -3), (0, 3)]:
        for name in ("tril_indices", "triu_indices"):
            got, want = getattr(nnrun, name)(*args), getattr(torch, name)(*args)
            assert got.dtype == nnrun.int64
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert nnrun.tril_indices(3, 3, dtype=nnrun.int32).dtype == nnrun.int32


ERRORS = {
    "movedim_types": (lambda lib, x: x.movedim((0, 1), 2), randn(2, 3, 4)),
    "movedim_lengths": (lambda lib, x: x.movedim((0, 1), (2,)), randn(2, 3, 4)),
    "movedim_repeat": (lambda lib, x: x.movedim((0, 0), (1, 2)), randn(2, 3, 4)),
    "unbind_range": (lambda lib, x: x.unbind(3), randn(2, 3)),
    "rot90_dims": (lambda lib, x: x.rot90(1, (0,)), randn(2, 3)),
    "rot90_1d": (lambda lib, x: x.rot90(), randn(3)),
    "fliplr_1d": (lambda lib, x: x.fliplr(), randn(3)),
    "hsplit_indivisible": (lambda lib, x: x.hsplit(3), randn(2, 4)),
    "vsplit_1d": (lambda lib, x: x.vsplit(2), randn(4)),
    "dsplit_2d": (lambda lib, x: x.dsplit(2), randn(4, 2)),
    "tensor_split_zero": (lambda lib, x: x.tensor_split(0), randn(4)),
    "broadcast_to_bad": (lambda lib, x: x.broadcast_to((2, 4)), randn(3)),
    "broadcast_tensors_bad": (lambda lib, a, b: lib.broadcast_tensors(a, b), randn(3), randn(4)),
    "meshgrid_2d": (lambda lib, a: lib.meshgrid(a, indexing="ij"), randn(2, 2)),
    "meshgrid_indexing": (lambda lib, a: lib.meshgrid(a, indexing="yx"), randn(2)),
    "cartesian_prod_2d": (lambda lib, a: lib.cartesian_prod(a, a), randn(2, 2)),
    "combinations_2d": (lambda lib, a: lib.combinations(a), randn(2, 2)),
    "repeat_interleave_count": (lambda lib, x, r: x.repeat_interleave(r, dim=0), randn(3, 2), ints([1, 2])),
    "repeat_interleave_negative": (
        lambda lib, x, r: x.repeat_interleave(r, dim=0),
        randn(2, 2),
        ints([1, -1]),
    ),
    "unfold_size": (lambda lib, x: x.unfold(1, 5, 1), randn(2, 3)),
    "unfold_step": (lambda lib, x: x.unfold(1, 2, 0), randn(2, 3)),
    "diagonal_same_dims": (lambda lib, x: x.diagonal(0, 1, 1), randn(2, 3)),
    "diag_embed_same_dims": (lambda lib, x: x.diag_embed(0, 0, 0), randn(2, 3)),
    "trace_3d": (lambda lib, x: x.trace(), randn(2, 2, 2)),
    "block_diag_3d": (lambda lib, x: lib.block_diag(x), randn(2, 2, 2)),
    "roll_no_dims": (lambda lib, x: x.roll((1, 2)), randn(2, 3)),
    "roll_one_shift_two_dims": (lambda lib, x: x.roll(1, (0, 1)), randn(2, 3)),
    "roll_two_shifts_one_dim": (lambda lib, x: x.roll((1, 2), (0,)), randn(2, 3)),
    "narrow_start": (lambda lib, x: x.narrow(1, 5, 1), randn(2, 3)),
    "narrow_negative_start": (lambda lib, x: x.narrow(1, -5, 1), randn(2, 3)),
    "narrow_length": (lambda lib, x: x.narrow(1, 1, -1), randn(2, 3)),
    "narrow_past_end": (lambda lib, x: x.narrow(1, 2, 2), randn(2, 3)),
}


def test_roll_flip_narrow_parity():
    check(
        lambda lib, x: (
            x.roll(1),
            x.roll(-2, 1),
            x.roll((1, 2), (0, -1)),
            lib.roll(x, 5, -1),
            x.roll((1,)),
            x.narrow(-1, -2, 2),
            x.narrow(1, 3, 0),
            x.narrow(0, lib.tensor(1), 1),
            x.flip((0, -1)),
            lib.flip(x, [1]),
        ),
        randn(2, 3, 4),
    )


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    fn, *arrays = ERRORS[name]
    raises_like(fn, *arrays)


def test_shape_in_place_parity():
    def fn(lib, x):
        y = x * 2.0
        y.t_()
        z = (x * 3.0).unsqueeze(1)
        z.squeeze_(1)
        z.unsqueeze_(-1)
        z.transpose_(0, 2)
        w = x[None] * 1.0
        w.swapaxes_(0, 2)
        w.swapdims_(0, 1)
        w.squeeze_()
        return y * y, z.exp(), w.sin()

    check(fn, randn(2, 3))


def test_shape_in_place_keeps_memory_and_views():
    x = nnrun.zeros(2, 3)
    y = x.t()
    y.t_()
    y[0, 1] = 5.0
    assert x.tolist() == [[0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]
    a = leaf(2, 3)
    b = a * 2.0
    v = b[0:1]
    v.unsqueeze_(0)
    assert tuple(v.shape) == (1, 1, 3)
    v.mul_(3.0)
    b.sum().backward()
    assert a.grad.tolist() == [[6.0] * 3, [2.0] * 3]


def test_shape_in_place_on_a_leaf_raises_as_torch():
    raises_like(lambda lib, x: x.requires_grad_().t_(), randn(2, 3))
    x = nnrun.zeros(2, 1, 3)
    assert x.squeeze_() is x and tuple(x.shape) == (2, 3)
