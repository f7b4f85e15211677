"""Float64 finite-difference gradient checks for matmul, mm, bmm and einsum."""

import pytest
from grad_inputs import leaf

import nnrun
from nnrun.autograd import gradcheck

MATMUL_SHAPES = [
    ((4,), (4,)),
    ((4,), (4, 3)),
    ((3, 4), (4,)),
    ((2, 4), (4, 3)),
    ((2, 3, 4), (4, 2)),
    ((3, 4), (2, 4, 2)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((2, 3, 4), (2, 4, 2)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
    ((1, 3, 4), (2, 1, 4, 2)),
]


@pytest.mark.parametrize(("a_shape", "b_shape"), MATMUL_SHAPES, ids=str)
def test_matmul(a_shape, b_shape):
    a, b = leaf(*a_shape), leaf(*b_shape)
    assert gradcheck(lambda x, y: x @ y, (a, b))
    assert gradcheck(nnrun.matmul, (a, b))
    assert gradcheck(lambda x, y: x.matmul(y), (a, b))


def test_matmul_one_side_constant():
    a, b = leaf(2, 3), leaf(3, 4)
    assert gradcheck(lambda x: x @ b.detach(), (a,))
    assert gradcheck(lambda y: a.detach() @ y, (b,))


def test_matmul_non_contiguous():
    a = leaf(4, 3).detach().t().requires_grad_()
    b = leaf(2, 4, 6).detach()[:, :, ::3].requires_grad_()
    assert not a.is_contiguous() and not b.is_contiguous()
    assert gradcheck(lambda x, y: x @ y, (a, b))


def test_mm():
    a, b = leaf(3, 4), leaf(4, 2)
    assert gradcheck(nnrun.mm, (a, b))
    assert gradcheck(lambda x, y: x.mm(y), (a, b))


def test_bmm():
    a, b = leaf(2, 3, 4), leaf(2, 4, 5)
    assert gradcheck(nnrun.bmm, (a, b))
    assert gradcheck(lambda x, y: x.bmm(y).tanh(), (a, b))


# (equation, operand shapes)
EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii->", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->ij", [(3, 3, 2)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("ij,ij->", [(2, 3), (2, 3)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
    ("bij,jk->bik", [(2, 3, 4), (4, 2)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...ij,jk", [(2, 3, 4), (4, 2)]),
    ("...i->...", [(2, 3, 4)]),
    ("i...->...", [(2, 3, 4)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ij,jk,kl", [(2, 3), (3, 4), (4, 2)]),
    ("bi,bi->b", [(3, 4), (3, 4)]),
    ("bi,bj->bij", [(3, 2), (3, 4)]),
    ("ij,kj->ik", [(2, 3), (4, 3)]),
    ("i,i,i->i", [(3,), (3,), (3,)]),
    ("ii,i->i", [(3, 3), (3,)]),
    ("ij,j->i", [(1, 3), (3,)]),
    ("bij,bjk->bik", [(1, 3, 4), (2, 4, 2)]),
    ("ij, jk -> ik", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize(("equation", "shapes"), EINSUM, ids=[f"{eq}:{s}" for eq, s in EINSUM])
def test_einsum(equation, shapes):
    operands = [leaf(*shape) for shape in shapes]
    assert gradcheck(lambda *ops: nnrun.einsum(equation, *ops), operands)


def test_einsum_operand_list_and_reused_operand():
    a = leaf(3, 3)
    assert gradcheck(lambda x: nnrun.einsum("ij,jk->ik", [x, x]), (a,))
    assert gradcheck(lambda x: nnrun.einsum("ij,ji->", x, x), (a,))
