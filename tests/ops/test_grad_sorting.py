"""Float64 gradient checks for sort, topk, tril, triu, diag and cumsum, and their argument errors."""

import numpy as np
import pytest
from grad_inputs import leaf

import nnrun
from nnrun.autograd import gradcheck


def distinct(*shape):
    """A float64 leaf of values at least 0.1 apart (no ties), in random order."""
    count = 1
    for size in shape:
        count *= size
    steps = nnrun.randperm(count).to(nnrun.float64) - count // 2
    return (steps * 0.1 + 0.03).reshape(shape).requires_grad_()


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort(dim, descending):
    assert gradcheck(lambda x: x.sort(dim=dim, descending=descending).values, (distinct(3, 4, 2),))


@pytest.mark.parametrize(("k", "dim", "largest"), [(2, -1, True), (1, 0, False), (3, 1, True), (4, 2, False)])
def test_topk(k, dim, largest):
    assert gradcheck(lambda x: nnrun.topk(x, k, dim=dim, largest=largest).values, (distinct(3, 4, 4),))


@pytest.mark.parametrize("diagonal", [-2, -1, 0, 1, 3])
def test_tril_triu(diagonal):
    assert gradcheck(lambda x: x.tril(diagonal), (leaf(2, 3, 4),))
    assert gradcheck(lambda x: nnrun.triu(x, diagonal=diagonal), (leaf(3, 4),))


@pytest.mark.parametrize("diagonal", [-2, 0, 1])
def test_diag(diagonal):
    assert gradcheck(lambda x: nnrun.diag(x, diagonal), (leaf(3),))
    assert gradcheck(lambda x: x.diag(diagonal), (leaf(3, 4),))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum(dim):
    assert gradcheck(lambda x: x.cumsum(dim), (leaf(3, 4, 2),))
    assert gradcheck(lambda x: nnrun.cumsum(x, dim=dim, dtype=nnrun.float64), (leaf(3, 4, 2),))


def test_scalar_inputs():
    x = nnrun.tensor(2.0, dtype=nnrun.float64, requires_grad=True)
    assert gradcheck(lambda x: x.sort().values + x.topk(1).values * 2 + x.cumsum(0), (x,))


def test_indices_are_int64_and_named():
    x = nnrun.tensor([[3.0, 1.0, 2.0]])
    _values, indices = x.topk(2)
    assert indices.dtype == nnrun.int64 and indices.tolist() == [[0, 2]]
    assert x.sort().indices.tolist() == [[1, 2, 0]]
    assert x.argsort(descending=True).tolist() == [[0, 2, 1]]
    assert nnrun.zeros(4).argsort(stable=True).tolist() == [0, 1, 2, 3]
    assert nnrun.zeros(4).argsort(descending=True, stable=True).tolist() == [0, 1, 2, 3]
    assert repr(x.topk(1)).startswith("topk(values=")
    assert repr(x.sort()).startswith("sort(values=")
    assert nnrun.tensor([1, 2, 3], dtype=nnrun.int32).cumsum(0).dtype == nnrun.int64
    assert nnrun.tensor([True, True]).cumsum(0).tolist() == [1, 2]


def test_errors():
    x = nnrun.randn(3, 4)
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        x.topk(5)
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        x.topk(-1)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.topk(2, dim=3)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.sort(dim=2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.cumsum(5)
    with pytest.raises(RuntimeError, match=r"diag\(\): Supports 1D or 2D tensors. Got 3D"):
        nnrun.diag(nnrun.zeros(2, 2, 2))
    with pytest.raises(RuntimeError, match="tril: input tensor must have at least 2 dimensions"):
        nnrun.tril(nnrun.zeros(3))
    with pytest.raises(RuntimeError, match="triu: input tensor must have at least 2 dimensions"):
        nnrun.zeros(3).triu()


# ----- float64 parity with torch: values, indices and input gradients -----
PARITY = {
    "sort": lambda lib, x: x.sort(dim=1),
    "sort_descending_stable": lambda lib, x: lib.sort(x, dim=0, descending=True, stable=True),
    "argsort": lambda lib, x: (x.argsort(dim=-1, descending=True),),
    "topk": lambda lib, x: x.topk(3, dim=1),
    "topk_smallest": lambda lib, x: lib.topk(x, 2, dim=0, largest=False),
    "tril_triu": lambda lib, x: (x.tril(-1), lib.triu(x, 2)),
    "diag": lambda lib, x: (lib.diag(x, 1), lib.diag(x[0], -1)),
    "cumsum": lambda lib, x: (x.cumsum(0), lib.cumsum(x, dim=1)),
}


@pytest.mark.parametrize("name", sorted(PARITY))
def test_float64_parity_with_torch(name):
    torch = pytest.importorskip("torch")
    array = distinct(4, 5).detach().numpy()
    results = []
    for lib in (nnrun, torch):
        x = lib.from_numpy(array.copy()).requires_grad_()
        outputs = [o for o in PARITY[name](lib, x)]
        rng = np.random.default_rng(1)
        loss = sum(
            (o * lib.from_numpy(rng.standard_normal(tuple(o.shape)))).sum()
            for o in outputs
            if o.requires_grad
        )
        if not isinstance(loss, int):
            loss.backward()
        grad = None if x.grad is None else x.grad.numpy()
        results.append(
            ([o.detach().numpy() for o in outputs], [str(o.dtype).split(".")[1] for o in outputs], grad)
        )
    (got, got_dtypes, got_grad), (want, want_dtypes, want_grad) = results
    assert got_dtypes == want_dtypes
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    assert (got_grad is None) == (want_grad is None)
    if got_grad is not None:
        np.testing.assert_allclose(got_grad, want_grad, rtol=1e-12, atol=1e-12)
