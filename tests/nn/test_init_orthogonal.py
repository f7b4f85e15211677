"""init.orthogonal_: orthogonality, shapes, gain, the sign correction, and statistics against torch's."""

import numpy as np
import pytest

import nnrun
from nnrun.nn import init


@pytest.mark.parametrize("shape", [(4, 4), (3, 7), (7, 3), (6, 2, 3), (2, 3, 2, 2), (1, 5), (5, 1)])
@pytest.mark.parametrize("dtype", [nnrun.float32, nnrun.float64])
def test_orthogonal_rows_or_columns_are_orthonormal(shape, dtype):
    w = nnrun.empty(*shape, dtype=dtype)
    assert init.orthogonal_(w, gain=2.5) is w
    assert w.dtype == dtype and tuple(w.shape) == shape
    m = w.numpy().reshape(shape[0], -1) / 2.5
    small = min(m.shape)
    gram = m @ m.T if m.shape[0] == small else m.T @ m
    tol = 1e-5 if dtype == nnrun.float32 else 1e-12
    np.testing.assert_allclose(gram, np.eye(small), atol=tol)


def test_orthogonal_is_q_of_a_normal_draw_with_r_diagonal_positive():
    for rows, cols in [(5, 3), (3, 5)]:
        nnrun.manual_seed(7)
        draw = nnrun.randn(rows, cols, dtype=nnrun.float64).numpy()
        nnrun.manual_seed(7)
        w = init.orthogonal_(nnrun.empty(rows, cols, dtype=nnrun.float64))
        a = draw if rows >= cols else draw.T
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        np.testing.assert_allclose(w.numpy(), q if rows >= cols else q.T, atol=1e-12)


def test_orthogonal_special_cases():
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        init.orthogonal_(nnrun.empty(3))
    empty = nnrun.empty(0, 3)
    assert init.orthogonal_(empty) is empty
    w = nnrun.empty(3, 3, requires_grad=True)
    init.orthogonal_(w)
    assert w.grad_fn is None


def test_orthogonal_statistics_match_torch():
    """The random streams differ, so compare distributions: Haar-like entries (mean 0, variance 1/n) and
    a first column that is the normalised draw (so its entries are symmetric about 0)."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    nnrun.manual_seed(0)
    n, samples = 4, 3000
    ours = np.stack(
        [init.orthogonal_(nnrun.empty(n, n, dtype=nnrun.float64)).numpy() for _ in range(samples)]
    )
    theirs = np.stack(
        [torch.nn.init.orthogonal_(torch.empty(n, n, dtype=torch.float64)).numpy() for _ in range(samples)]
    )
    for stack in (ours, theirs):
        assert abs(stack.mean()) < 0.02
        np.testing.assert_allclose(stack.var(), 1 / n, rtol=0.02)
        assert abs(stack[:, 0, 0].mean()) < 0.05  # no sign bias
    np.testing.assert_allclose(np.abs(ours).mean(axis=0), np.abs(theirs).mean(axis=0), atol=0.03)
    np.testing.assert_allclose(ours[:, 0, 0].std(), theirs[:, 0, 0].std(), rtol=0.05)
    np.testing.assert_allclose(np.linalg.det(ours).mean(), np.linalg.det(theirs).mean(), atol=0.1)
