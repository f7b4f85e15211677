"""baddbmm: float64 gradchecks (broadcast input, beta and alpha), torch parity, beta=0 and errors."""

import numpy as np
import pytest
from grad_inputs import leaf

import nnrun
from nnrun.autograd import gradcheck

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("input_shape", [(2, 3, 5), (3, 5), (5,), (1, 1, 5), ()], ids=str)
@pytest.mark.parametrize(("beta", "alpha"), [(1, 1), (0.5, -2.0), (0, 3.0)])
def test_gradcheck(input_shape, beta, alpha):
    x, a, b = leaf(*input_shape), leaf(2, 3, 4), leaf(2, 4, 5)
    assert gradcheck(lambda x, a, b: nnrun.baddbmm(x, a, b, beta=beta, alpha=alpha), (x, a, b))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_matches_torch(dtype):
    tol = 1e-10 if dtype == np.float64 else 1e-5
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape).astype(dtype) for shape in ((3, 5), (2, 3, 4), (2, 4, 5))]
    ours = [nnrun.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = nnrun.baddbmm(*ours, beta=0.25, alpha=1.5)
    t_out = torch.baddbmm(*theirs, beta=0.25, alpha=1.5)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=tol, atol=tol)
    grad = rng.standard_normal((2, 3, 5)).astype(dtype)
    out.backward(nnrun.tensor(grad))
    t_out.backward(torch.tensor(grad))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol)


def test_beta_zero_ignores_nan_input_as_torch():
    x = nnrun.full((2, 3, 5), float("nan"))
    assert not nnrun.baddbmm(x, nnrun.randn(2, 3, 4), nnrun.randn(2, 4, 5), beta=0).isnan().any().item()


def test_out():
    x, a, b = nnrun.randn(2, 3, 5), nnrun.randn(2, 3, 4), nnrun.randn(2, 4, 5)
    out = nnrun.empty(2, 3, 5)
    assert nnrun.baddbmm(x, a, b, alpha=2.0, out=out) is out
    np.testing.assert_allclose(out.numpy(), (x + 2 * (a @ b)).numpy(), rtol=1e-5, atol=1e-5)


ERRORS = [
    (((2, 3, 5), (2, 3, 4), (2, 3, 5)), "first two dimensions of batch2"),
    (((4, 5), (2, 3, 4), (2, 4, 5)), "expanded size"),
    (((2, 3, 5), (3, 4), (2, 4, 5)), "3D tensor"),
]


@pytest.mark.parametrize(("shapes", "message"), ERRORS, ids=lambda x: str(x)[:30])
def test_errors_as_torch(shapes, message):
    with pytest.raises(RuntimeError):
        torch.baddbmm(*[torch.randn(*s) for s in shapes])
    with pytest.raises(RuntimeError, match=message):
        nnrun.baddbmm(*[nnrun.randn(*s) for s in shapes])


def test_dtypes_must_agree_as_torch():
    x, a, b = nnrun.randn(2, 3, 5, dtype=nnrun.float64), nnrun.randn(2, 3, 4), nnrun.randn(2, 4, 5)
    with pytest.raises(RuntimeError, match="Input dtypes must be the same"):
        nnrun.baddbmm(x, a, b)
