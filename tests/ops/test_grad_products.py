"""dot, vdot, outer/ger, mv, the add* family (addmm, addmv, addr, baddbmm, addbmm and their in-place forms),
kron, cross, tensordot, chain_matmul: float64 gradient checks, and forward and backward against torch."""

import numpy as np
import pytest
from grad_inputs import leaf

import nnrun
from nnrun.autograd import gradcheck
from parity import check, raises_like, randn

torch = pytest.importorskip("torch")


def _add_inplace(lib, m, a, b, v, w, p, q):
    y, z, u = m * 1.0, v * 1.0, p * 1.0
    y.addmm_(a, b, beta=0.5, alpha=2.0)
    z.addmv_(m, w)
    u.baddbmm_(p, q.transpose(1, 2), alpha=-1.0)
    r = m * 2.0
    r.addr_(v, w, beta=3.0)
    s = p[0] * 1.0
    s.addbmm_(p, q, beta=0.5)
    return y, z, u, r, s


CASES = {
    "dot_vdot": (lambda lib, a, b: (a.dot(b), lib.vdot(a, b), lib.dot(a, a)), randn(4), randn(4, seed=1)),
    "outer_ger": (lambda lib, a, b: (lib.outer(a, b), a.ger(b), lib.ger(b, a)), randn(4), randn(3, seed=1)),
    "mv": (lambda lib, m, v: (m.mv(v), lib.mv(m.t(), m[:, 0])), randn(3, 4), randn(4, seed=1)),
    "addmm": (
        lambda lib, m, a, b: (
            lib.addmm(m, a, b),
            m.addmm(a, b, beta=0.5, alpha=-2.0),
            lib.addmm(m[0], a, b, beta=2),
            lib.addmm(m, a, b, beta=0),
        ),
        randn(3, 4),
        randn(3, 2, seed=1),
        randn(2, 4, seed=2),
    ),
    "addmv_addr": (
        lambda lib, m, v, w: (
            lib.addmv(v, m, w, alpha=3.0),
            v.addmv(m, w, beta=0),
            lib.addr(m, v, w),
            m.addr(v, w, beta=-1, alpha=0.5),
        ),
        randn(3, 4),
        randn(3, seed=1),
        randn(4, seed=2),
    ),
    "baddbmm_addbmm": (
        lambda lib, m, p, q: (
            lib.baddbmm(m, p, q),
            m.baddbmm(p, q, beta=0.25, alpha=2.0),
            lib.addbmm(m[0], p, q),
            m[1].addbmm(p, q, beta=0),
        ),
        randn(2, 3, 4),
        randn(2, 3, 5, seed=1),
        randn(2, 5, 4, seed=2),
    ),
    "add_inplace": (
        _add_inplace,
        randn(3, 4),
        randn(3, 2, seed=1),
        randn(2, 4, seed=2),
        randn(3, seed=3),
        randn(4, seed=4),
        randn(2, 3, 3, seed=5),
        randn(2, 3, 3, seed=6),
    ),
    "kron": (
        lambda lib, a, b, c: (lib.kron(a, b), a.kron(c), lib.kron(c, b), lib.kron(c, c)),
        randn(2, 3),
        randn(3, 2, 2, seed=1),
        randn(4, seed=2),
    ),
    "cross": (
        lambda lib, a, b: (lib.cross(a, b, dim=1), a.cross(b, dim=-1), lib.cross(a[:3], b[:3], 0)),
        randn(4, 3),
        randn(4, 3, seed=1),
    ),
    "cross_broadcast": (lambda lib, a, b: lib.cross(a, b, dim=1), randn(4, 3), randn(1, 3, seed=1)),
    "tensordot": (
        lambda lib, a, b: (
            lib.tensordot(a, b, dims=1),
            lib.tensordot(a, b.transpose(0, 1), dims=([1, 2], [0, 1])),
            lib.tensordot(a, a, dims=0),
            lib.tensordot(a, b, dims=([2], [0])),
        ),
        randn(2, 3, 4),
        randn(4, 3, 2, seed=1),
    ),
    "chain_matmul": (
        lambda lib, a, b, c: lib.chain_matmul(a, b, c),
        randn(2, 3),
        randn(3, 4, seed=1),
        randn(4, 2, seed=2),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.filterwarnings("ignore:torch.chain_matmul is deprecated")
def test_parity(name):
    fn, *arrays = CASES[name]
    check(fn, *arrays)


def test_parity_float32():
    a, b = randn(3, 4).astype(np.float32), randn(4, 5).astype(np.float32)
    check(
        lambda lib, x, y: (lib.addmm(x[:, :1], x, y, beta=0.5), lib.kron(x, y), x[0].dot(y[:, 0])),
        a,
        b,
        rtol=1e-5,
        atol=1e-6,
    )


def test_beta_zero_ignores_nan():
    m = nnrun.full((2, 2), float("nan"))
    assert not nnrun.isnan(nnrun.addmm(m, nnrun.eye(2), nnrun.eye(2), beta=0)).any()


GRADCHECKS = {
    "dot": (lambda a, b: a.dot(b), [(4,), (4,)]),
    "outer": (lambda a, b: nnrun.outer(a, b), [(4,), (3,)]),
    "mv": (lambda m, v: m.mv(v), [(3, 4), (4,)]),
    "addmm": (lambda m, a, b: nnrun.addmm(m, a, b, beta=0.5, alpha=2.0), [(1, 4), (3, 2), (2, 4)]),
    "addmv": (lambda v, m, w: v.addmv(m, w, beta=-1), [(3,), (3, 4), (4,)]),
    "addr": (lambda m, v, w: m.addr(v, w, alpha=2.0), [(3, 4), (3,), (4,)]),
    "baddbmm": (lambda m, p, q: m.baddbmm(p, q, beta=2.0), [(3, 4), (2, 3, 5), (2, 5, 4)]),
    "addbmm": (lambda m, p, q: m.addbmm(p, q, alpha=0.5), [(3, 4), (2, 3, 5), (2, 5, 4)]),
    "kron": (lambda a, b: a.kron(b), [(2, 3), (3, 1, 2)]),
    "cross": (lambda a, b: a.cross(b, dim=0), [(3, 2), (3, 2)]),
    "tensordot": (lambda a, b: nnrun.tensordot(a, b, ([0, 2], [2, 0])), [(2, 3, 4), (4, 5, 2)]),
    "chain_matmul": (lambda a, b, c: nnrun.chain_matmul(a, b, c), [(2, 3), (3, 4), (4, 2)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck(name):
    fn, shapes = GRADCHECKS[name]
    assert gradcheck(fn, tuple(leaf(*s) for s in shapes))


ERRORS = {
    "dot_2d": (lambda lib, a: a.dot(a), randn(2, 2)),
    "dot_lengths": (lambda lib, a, b: a.dot(b), randn(3), randn(4)),
    "dot_dtypes": (lambda lib, a, b: a.dot(b), randn(3), randn(3).astype(np.float32)),
    "outer_2d": (lambda lib, a: lib.outer(a, a), randn(2, 2)),
    "mv_shapes": (lambda lib, a: a.mv(a), randn(2, 2)),
    "addmm_shapes": (lambda lib, m, a: lib.addmm(m, a, a), randn(2, 3), randn(2, 3)),
    "cross_length": (lambda lib, a: lib.cross(a, a, dim=1), randn(3, 4)),
    "cross_ndim": (lambda lib, a, b: lib.cross(a, b, dim=0), randn(3, 4), randn(3)),
    "tensordot_negative": (lambda lib, a: lib.tensordot(a, a, dims=-1), randn(3)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    fn, *arrays = ERRORS[name]
    raises_like(fn, *arrays)
