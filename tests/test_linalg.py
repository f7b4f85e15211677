"""nnrun.linalg (norms, inv, det, slogdet, solve, cholesky, svdvals, matrix_power, multi_dot, qr, svd, eigh,
pinv) and the torch.* spellings: float64 gradient checks, and forward and backward against torch."""

import sys
from pathlib import Path

import numpy as np
import pytest

import nnrun
from nnrun.autograd import gradcheck

sys.path.insert(0, str(Path(__file__).parent / "ops"))
from parity import check, raises_like, randn

torch = pytest.importorskip("torch")


def spd(n, batch=(), seed=0):
    """A symmetric positive-definite matrix (or batch of them)."""
    a = randn(*batch, n, n, seed=seed)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def leaf(*shape, seed=0):
    return nnrun.tensor(randn(*shape, seed=seed), requires_grad=True)


CASES = {
    "vector_norm": (
        lambda lib, x: (
            lib.linalg.vector_norm(x),
            lib.linalg.vector_norm(x, 1, dim=1),
            lib.linalg.vector_norm(x, float("inf"), dim=(0, 2), keepdim=True),
            lib.linalg.vector_norm(x, float("-inf"), dim=-1),
            lib.linalg.vector_norm(x, 3.5, dim=0),
            lib.linalg.vector_norm(x, -1.5, dim=2),
            lib.linalg.vector_norm(x, 0, dim=1),
        ),
        randn(2, 3, 4),
    ),
    "matrix_norm": (
        lambda lib, x: (
            *(
                lib.linalg.matrix_norm(x, o)
                for o in ("fro", "nuc", 2, -2, 1, -1, float("inf"), float("-inf"))
            ),
            lib.linalg.matrix_norm(x, "nuc", dim=(0, 2), keepdim=True),
            lib.linalg.matrix_norm(x, 1, (2, 1), True),
        ),
        randn(2, 3, 4),
    ),
    "norm": (
        lambda lib, x: (
            lib.linalg.norm(x),
            lib.linalg.norm(x[0], 2),
            lib.linalg.norm(x[0, 0], 3),
            lib.linalg.norm(x, dim=1),
            lib.linalg.norm(x, "fro", dim=(1, 2)),
            lib.linalg.norm(x, float("inf"), dim=(0, 1)),
        ),
        randn(2, 3, 4),
    ),
    "inv_det": (
        lambda lib, a: (
            lib.linalg.inv(a),
            lib.inverse(a[0]),
            a.inverse(),
            lib.linalg.det(a),
            a.det(),
            lib.det(a[1]),
        ),
        randn(2, 3, 3),
    ),
    "slogdet_logdet": (
        lambda lib, a, p: (*lib.linalg.slogdet(a), *a.slogdet(), lib.logdet(p), p.logdet()),
        randn(2, 3, 3),
        spd(3, (2,)),
    ),
    "solve": (
        lambda lib, a, b, v: (
            lib.linalg.solve(a, b),
            lib.linalg.solve(a, v),
            lib.linalg.solve(a[0], b),
            lib.linalg.solve(a, b[0]),
            lib.linalg.solve(a, b.transpose(-1, -2), left=False),
        ),
        randn(2, 3, 3) + 3 * np.eye(3),
        randn(2, 3, 3, seed=1),
        randn(2, 3, seed=2),
    ),
    "cholesky": (
        lambda lib, b: (
            lib.linalg.cholesky(b @ b.mT + 3 * lib.eye(3, dtype=b.dtype)),
            lib.linalg.cholesky(b[0] @ b[0].mT + lib.eye(3, dtype=b.dtype), upper=True),
        ),
        randn(2, 3, 3),
    ),
    "svdvals": (lambda lib, a: (lib.linalg.svdvals(a), lib.linalg.svdvals(a.mT)), randn(2, 3, 4)),
    "matrix_power": (
        lambda lib, a: (
            lib.linalg.matrix_power(a, 1),
            lib.linalg.matrix_power(a, 2),
            lib.linalg.matrix_power(a, 5),
            a.matrix_power(-2),
            lib.matrix_power(a[0], 3),
        ),
        randn(2, 3, 3) + 2 * np.eye(3),
    ),
    "multi_dot": (
        lambda lib, a, b, c: (lib.linalg.multi_dot([a, b, c]), lib.linalg.multi_dot([a[0], b, c[:, 0]])),
        randn(2, 3),
        randn(3, 4, seed=1),
        randn(4, 2, seed=2),
    ),
    "cross_vecdot": (
        lambda lib, a, b: (lib.linalg.cross(a, b), lib.linalg.vecdot(a, b), lib.linalg.vecdot(a, b, dim=0)),
        randn(4, 3),
        randn(4, 3, seed=1),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_parity(name):
    fn, *arrays = CASES[name]
    check(fn, *arrays, rtol=1e-9, atol=1e-10)


def test_parity_float32():
    a = (randn(3, 3) + 3 * np.eye(3)).astype(np.float32)
    check(
        lambda lib, x: (lib.linalg.inv(x), lib.linalg.det(x), lib.linalg.norm(x), lib.linalg.solve(x, x[0])),
        a,
        rtol=1e-5,
        atol=1e-5,
    )


GRADCHECKS = {
    "inv": (lambda a: nnrun.linalg.inv(a), [(2, 3, 3)]),
    "det": (lambda a: nnrun.linalg.det(a), [(2, 3, 3)]),
    "slogdet": (lambda a: nnrun.linalg.slogdet(a).logabsdet, [(3, 3)]),
    "solve": (lambda a, b: nnrun.linalg.solve(a, b), [(2, 3, 3), (3, 2)]),
    "solve_vector": (lambda a, b: nnrun.linalg.solve(a, b), [(3, 3), (3,)]),
    "cholesky": (lambda b: nnrun.linalg.cholesky(b @ b.mT + nnrun.eye(3, dtype=b.dtype) * 3), [(3, 3)]),
    "cholesky_upper": (
        lambda b: nnrun.linalg.cholesky(b @ b.mT + nnrun.eye(3, dtype=b.dtype) * 3, upper=True),
        [(3, 3)],
    ),
    "svdvals": (lambda a: nnrun.linalg.svdvals(a), [(3, 4)]),
    "matrix_norm_nuc": (lambda a: nnrun.linalg.matrix_norm(a, "nuc"), [(3, 4)]),
    "matrix_norm_1": (lambda a: nnrun.linalg.matrix_norm(a, 1), [(3, 4)]),
    "vector_norm_3": (lambda a: nnrun.linalg.vector_norm(a, 3, dim=1), [(3, 4)]),
    "matrix_power": (lambda a: nnrun.linalg.matrix_power(a, -3), [(3, 3)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck(name):
    fn, shapes = GRADCHECKS[name]
    inputs = tuple(leaf(*s, seed=i) for i, s in enumerate(shapes))
    if name.startswith(("inv", "solve", "matrix_power")):
        inputs = (nnrun.tensor(inputs[0].detach().numpy() + 3 * np.eye(3), requires_grad=True), *inputs[1:])
    assert gradcheck(fn, inputs)


def test_det_gradient_of_a_singular_matrix():
    # rank 2: the gradient is the adjugate's transpose (non-zero), checked against finite differences
    a = nnrun.tensor(
        [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, 1.0, -1.0]], dtype=nnrun.float64, requires_grad=True
    )
    assert gradcheck(nnrun.linalg.det, (a,))
    nnrun.linalg.det(a).backward()
    assert nnrun.linalg.norm(a.grad) > 1


@pytest.mark.parametrize(
    ("name", "matrix"), [("inv", np.zeros((2, 2))), ("solve", np.zeros((2, 2))), ("cholesky", -np.eye(2))]
)
def test_linalg_errors(name, matrix):
    args = (matrix, matrix) if name == "solve" else (matrix,)
    with pytest.raises(torch.linalg.LinAlgError, match=f"linalg.{name}:"):
        getattr(torch.linalg, name)(*(torch.tensor(a) for a in args))
    with pytest.raises(nnrun.linalg.LinAlgError, match=f"linalg.{name}:"):
        getattr(nnrun.linalg, name)(*(nnrun.tensor(a) for a in args))
    assert issubclass(nnrun.linalg.LinAlgError, RuntimeError)


def test_forward_only_decompositions():
    a = randn(4, 3)
    s = spd(3)
    q, r = nnrun.linalg.qr(nnrun.tensor(a))
    np.testing.assert_allclose((q @ r).numpy(), a, atol=1e-12)
    tq, tr = torch.linalg.qr(torch.tensor(a))
    np.testing.assert_allclose(np.abs(r.numpy()), np.abs(tr.numpy()), atol=1e-12)
    assert tuple(nnrun.linalg.qr(nnrun.tensor(a), mode="complete").Q.shape) == tuple(tq.shape[:1]) * 2
    u, sv, vh = nnrun.linalg.svd(nnrun.tensor(a), full_matrices=False)
    np.testing.assert_allclose(sv.numpy(), torch.linalg.svdvals(torch.tensor(a)).numpy(), atol=1e-12)
    np.testing.assert_allclose(((u * sv) @ vh).numpy(), a, atol=1e-12)
    values, vectors = nnrun.linalg.eigh(nnrun.tensor(s))
    np.testing.assert_allclose(values.numpy(), torch.linalg.eigvalsh(torch.tensor(s)).numpy(), atol=1e-12)
    np.testing.assert_allclose(
        nnrun.linalg.eigvalsh(nnrun.tensor(s), "U").numpy(), values.numpy(), atol=1e-12
    )
    np.testing.assert_allclose((vectors * values) @ vectors.mT.numpy(), s, atol=1e-10)
    np.testing.assert_allclose(
        nnrun.linalg.pinv(nnrun.tensor(a)).numpy(), torch.linalg.pinv(torch.tensor(a)).numpy(), atol=1e-12
    )
    np.testing.assert_allclose(
        nnrun.tensor(a).pinverse().numpy(), torch.tensor(a).pinverse().numpy(), atol=1e-12
    )
    for kwargs in ({"atol": 0.5}, {"rtol": 0.3}, {"atol": 0.1, "rtol": 0.2}, {"hermitian": True}):
        matrix = s if kwargs.get("hermitian") else a
        np.testing.assert_allclose(
            nnrun.linalg.pinv(nnrun.tensor(matrix), **kwargs).numpy(),
            torch.linalg.pinv(torch.tensor(matrix), **kwargs).numpy(),
            atol=1e-12,
        )
    x = nnrun.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="forward only"):
        nnrun.linalg.svd(x).S.sum().backward()


ERRORS = {
    "inv_not_square": (lambda lib, a: lib.linalg.inv(a), randn(2, 3)),
    "det_1d": (lambda lib, a: lib.linalg.det(a), randn(3)),
    "det_int": (lambda lib, a: lib.linalg.det(a), np.ones((2, 2), dtype=np.int64)),
    "solve_shapes": (lambda lib, a, b: lib.linalg.solve(a, b), randn(3, 3), randn(2, 2)),
    "matrix_norm_1d": (lambda lib, a: lib.linalg.matrix_norm(a), randn(3)),
    "norm_3d_ord": (lambda lib, a: lib.linalg.norm(a, 2), randn(2, 2, 2)),
    "matrix_power_not_square": (lambda lib, a: lib.linalg.matrix_power(a, 2), randn(2, 3)),
    "multi_dot_one": (lambda lib, a: lib.linalg.multi_dot([a]), randn(2, 2)),
    "qr_mode": (lambda lib, a: lib.linalg.qr(a, mode="full"), randn(2, 2)),
    "vector_norm_int": (lambda lib, a: lib.linalg.vector_norm(a), np.ones(3, dtype=np.int64)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    fn, *arrays = ERRORS[name]
    raises_like(fn, *arrays)
