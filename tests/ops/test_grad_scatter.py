"""scatter_add, scatter_reduce, index_add/copy/fill, masked_scatter/select, take, put, fill_diagonal_,
nonzero: float64 gradient checks, and forward and backward against torch."""

import numpy as np
import pytest
from grad_inputs import leaf

import nnrun
from nnrun.autograd import gradcheck
from parity import check, ints, raises_like, randn

torch = pytest.importorskip("torch")


def index(values):
    return nnrun.tensor(values, dtype=nnrun.int64)


ROWS = ints([[0, 1, 0, 2], [2, 0, 0, 1]])  # repeats: several sources meet in one place


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradcheck(reduce, include_self):
    idx = index(ROWS.tolist())
    assert gradcheck(
        lambda x, s: x.scatter_reduce(0, idx, s, reduce, include_self=include_self), (leaf(3, 4), leaf(2, 5))
    )


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_parity(reduce, include_self):
    check(
        lambda lib, x, s, i: x.scatter_reduce(1, i, s, reduce, include_self=include_self),
        randn(3, 4),
        randn(2, 3, seed=1),
        ints([[0, 3, 0], [1, 1, 1]]),
    )


def test_scatter_reduce_ties_and_zeros_parity():
    x = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 3.0]])
    s = np.array([[1.0, 0.0, 2.0], [3.0, 0.0, 3.0]])
    i = ints([[0, 0, 0], [1, 0, 1]])
    for reduce in ("prod", "amax", "amin"):
        check(lambda lib, a, b, k, r=reduce: a.scatter_reduce(0, k, b, r), x, s, i)
        check(lambda lib, a, b, k, r=reduce: lib.scatter_reduce(a, 1, k, b, r, include_self=False), x, s, i)


def test_scatter_reduce_integer_mean_parity():
    check(
        lambda lib, x, s, i: x.scatter_reduce(0, i, s, "mean"),
        ints([[1, 1], [1, 1]]),
        ints([[3, 4]]),
        ints([[0, 0]]),
    )


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_add_and_legacy_reduce_parity():
    args = randn(3, 4), randn(2, 4, seed=1), ROWS
    check(lambda lib, x, s, i: lib.scatter_add(x, 0, i, s), *args)
    check(
        lambda lib, x, s, i: (x.scatter(0, i, s, reduce="add"), x.scatter(0, i, s, reduce="multiply")),
        *args,
        grad=False,
    )
    check(lambda lib, x, s, i: lib.scatter(x, 0, i, 2.0, reduce="multiply"), *args, grad=False)
    # torch has no derivative for the legacy reduce; neither has nnrun
    raises_like(
        lambda lib, x, s, i: x.requires_grad_().scatter(0, i, s, reduce="add").sum().backward(), *args
    )
    assert gradcheck(
        lambda x, s: x.scatter_add(1, index([[1, 1], [0, 2], [3, 3]]), s), (leaf(3, 4), leaf(3, 2))
    )


def test_scatter_inplace_parity():
    def fn(lib, x, s, i):
        y = x * 1.0
        y.scatter_(0, i, s)
        z = x * 2.0
        z.scatter_add_(0, i, s)
        w = x * 3.0
        w.scatter_reduce_(0, i, s, "amax", include_self=False)
        v = x + 0.0
        v.scatter_(1, i[:, :2], 0.5)
        return y, z, w, v

    check(fn, randn(3, 4), randn(2, 4, seed=1), ints([[0, 1, 2, 2], [1, 0, 0, 1]]))


def test_index_add_copy_fill_parity():
    idx = ints([0, 2, 0])
    check(
        lambda lib, x, s, i: (x.index_add(0, i, s), lib.index_add(x, 0, i, s, alpha=-2.5)),
        randn(4, 3),
        randn(3, 3, seed=1),
        idx,
    )
    check(lambda lib, x, s, i: x.index_add(1, i, s), randn(2, 4), randn(2, 3, seed=1), idx)
    check(lambda lib, x, s, i: lib.index_copy(x, 1, i, s), randn(2, 4), randn(2, 3, seed=1), ints([3, 0, 1]))
    check(
        lambda lib, x, v, i: (x.index_fill(1, i, -1.0), x.index_fill(0, i[:1], v)),
        randn(3, 4),
        np.array(2.0),
        idx,
    )


def test_index_ops_inplace_parity():
    def fn(lib, x, s, i):
        a, b, c = x * 1.0, x * 2.0, x * 3.0
        a.index_add_(0, i, s, alpha=2)
        b.index_copy_(0, i[1:], s[1:])
        c.index_fill_(1, i, 7.0)
        return a, b, c

    check(fn, randn(3, 3), randn(2, 3, seed=1), ints([2, 0]))


def test_index_ops_gradcheck():
    i = index([0, 2, 0])
    assert gradcheck(lambda x, s: x.index_add(0, i, s, alpha=0.5), (leaf(4, 3), leaf(3, 3)))
    assert gradcheck(lambda x, s: x.index_copy(1, index([2, 0, 1]), s), (leaf(2, 4), leaf(2, 3)))
    assert gradcheck(lambda x, v: x.index_fill(0, i, v), (leaf(4, 3), leaf()))


MASK = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])


def test_masked_select_scatter_parity():
    check(lambda lib, x, m: (x.masked_select(m), lib.masked_select(x[0], m)), randn(3, 4), MASK)
    check(lambda lib, x, s, m: x.masked_scatter(m, s), randn(3, 4), randn(2, 5, seed=1), MASK)

    def inplace(lib, x, s, m):
        y = x * 1.0
        y.masked_scatter_(m[0], s)
        return y

    check(inplace, randn(3, 4), randn(9, seed=1), MASK)
    assert gradcheck(lambda x, s: x.masked_scatter(nnrun.tensor(MASK), s), (leaf(3, 4), leaf(7)))
    assert gradcheck(lambda x: x.masked_select(nnrun.tensor(MASK[1])), (leaf(3, 4),))


def test_take_put_parity():
    i = ints([[0, 11, 3], [-1, 3, 5]])
    check(lambda lib, x, k: (x.take(k), lib.take(x.t(), k)), randn(3, 4), i)
    check(
        lambda lib, x, k: (lib.take_along_dim(x, k), x.take_along_dim(k.reshape(-1)[:3].reshape(1, 3), 1)),
        randn(3, 4),
        ints([[0, 3, 2], [1, 0, 0]]),
    )
    check(lambda lib, x, k: lib.take_along_dim(x, k, dim=0), randn(3, 4), ints([[0], [2]]))
    check(lambda lib, x, s, k: (x.put(k, s), x.put(k, s, accumulate=True)), randn(3, 4), randn(2, 3), i)

    def inplace(lib, x, s, k):
        y = x * 1.0
        y.put_(k, s, accumulate=True)
        z = x * 1.0
        z.put_(k[:, :2], s[:, :2])
        return y, z

    check(inplace, randn(3, 4), randn(2, 3), i)
    assert gradcheck(
        lambda x, s: x.put(index([[0, 4], [4, 5]]), s, accumulate=True), (leaf(2, 3), leaf(2, 2))
    )
    assert gradcheck(lambda x: nnrun.take_along_dim(x, index([[2], [0]]), 1), (leaf(2, 3),))


@pytest.mark.parametrize("shape", [(3, 3), (3, 5), (7, 3), (3, 3, 3)])
@pytest.mark.parametrize("wrap", [False, True])
def test_fill_diagonal_parity(shape, wrap):
    def fn(lib, x):
        y = x * 1.0
        y.fill_diagonal_(-4.0, wrap=wrap)
        return y

    check(fn, randn(*shape))


def test_nonzero_argwhere_parity():
    data = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    check(
        lambda lib, x: (lib.nonzero(x), *x.nonzero(as_tuple=True), lib.argwhere(x), x.argwhere()),
        data,
        grad=False,
    )
    check(lambda lib, x: (x.nonzero(), *x.nonzero(as_tuple=True)), np.array(3.0), grad=False)
    check(lambda lib, x: x.nonzero(), np.array([True, False, True]), grad=False)


ERRORS = {
    "masked_scatter_short_source": (lambda lib, x, s: x.masked_scatter(x > -9, s), randn(3, 4), randn(5)),
    "masked_scatter_float_mask": (lambda lib, x, s: x.masked_scatter(x, s), randn(3, 4), randn(15)),
    "masked_select_float_mask": (lambda lib, x: x.masked_select(x), randn(3, 4)),
    "take_out_of_range": (lambda lib, x, i: x.take(i), randn(3, 4), ints([100])),
    "index_add_dtype": (
        lambda lib, x, s, i: x.index_add(0, i, s),
        randn(3, 4),
        randn(1, 4).astype(np.float32),
        ints([0]),
    ),
    "index_add_float_index": (
        lambda lib, x, s, i: x.index_add(0, i, s),
        randn(3, 4),
        randn(1, 4),
        np.zeros(1),
    ),
    "index_add_matrix_index": (
        lambda lib, x, s, i: x.index_add(0, i, s),
        randn(3, 4),
        randn(1, 4),
        ints([[0]]),
    ),
    "index_add_count": (lambda lib, x, s, i: x.index_add(0, i, s), randn(3, 4), randn(2, 4), ints([0])),
    "index_copy_count": (lambda lib, x, s, i: x.index_copy(0, i, s), randn(3, 4), randn(2, 4), ints([0])),
    "index_fill_matrix": (lambda lib, x, i: x.index_fill(0, i, 1.0), randn(3, 4), ints([[0]])),
    "index_fill_vector_value": (lambda lib, x, v, i: x.index_fill(0, i, v), randn(3, 4), randn(1), ints([0])),
    "scatter_add_dtype": (
        lambda lib, x, s, i: x.scatter_add(0, i, s),
        randn(3, 4),
        randn(1, 1).astype(np.float32),
        ints([[0]]),
    ),
    "scatter_reduce_name": (
        lambda lib, x, s, i: x.scatter_reduce(0, i, s, "avg"),
        randn(3, 4),
        randn(1, 1),
        ints([[0]]),
    ),
    "scatter_legacy_reduce": (
        lambda lib, x, s, i: x.scatter(0, i, s, reduce="max"),
        randn(3, 4),
        randn(1, 1),
        ints([[0]]),
    ),
    "put_count": (lambda lib, x, s, i: x.put(i, s), randn(3, 4), randn(3), ints([0, 1])),
    "fill_diagonal_1d": (lambda lib, x: x.fill_diagonal_(1.0), randn(3)),
    "fill_diagonal_unequal": (lambda lib, x: x.fill_diagonal_(1.0), randn(3, 4, 3)),
    "take_along_dim_ndim": (lambda lib, x, i: lib.take_along_dim(x, i, 0), randn(3, 4), ints([0])),
}


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    fn, *arrays = ERRORS[name]
    raises_like(fn, *arrays)


def test_names_exist_as_functions_and_methods():
    for name in (
        "scatter_add",
        "scatter_reduce",
        "index_add",
        "index_copy",
        "index_fill",
        "masked_select",
        "masked_scatter",
        "take",
        "take_along_dim",
        "nonzero",
        "argwhere",
        "put",
    ):
        assert callable(getattr(nnrun, name)) and callable(getattr(nnrun.Tensor, name)), name
    for name in (
        "scatter_",
        "scatter_add_",
        "scatter_reduce_",
        "index_add_",
        "index_copy_",
        "index_fill_",
        "masked_scatter_",
        "put_",
        "fill_diagonal_",
    ):
        assert callable(getattr(nnrun.Tensor, name)), name
