"""Float64 finite-difference gradient checks for indexing, gather, scatter, index_select, masked_fill."""

import pytest
from grad_inputs import leaf

import nnrun
from nnrun.autograd import gradcheck


def index(values):
    return nnrun.tensor(values, dtype=nnrun.int64)


MASK = nnrun.tensor([[True, False, True, False], [False, False, True, True], [True, True, False, False]])
ROW_MASK = nnrun.tensor([True, False, True])

# (name, key); all applied to a (3, 4, 5) input
KEYS = [
    ("int", 1),
    ("negative_int", -1),
    ("int_pair", (2, -3)),
    ("slice", slice(1, 3)),
    ("slice_step", (slice(None), slice(None, None, 2))),
    ("slice_step_start", (slice(None), slice(1, None, 2), slice(0, 5, 3))),
    ("slice_open_end", (slice(None, -1), 2)),
    ("none", (None, 1)),
    ("none_middle", (slice(None), None, slice(0, 2))),
    ("ellipsis", (Ellipsis, 0)),
    ("ellipsis_middle", (1, Ellipsis, slice(1, 4))),
    ("ellipsis_none", (Ellipsis, None)),
    ("bool_mask", MASK),
    ("bool_mask_rows", ROW_MASK),
    ("bool_mask_then_slice", (ROW_MASK, slice(0, 2))),
    ("index_tensor_repeated", index([0, 2, 0, 0])),
    ("index_tensor_2d_repeated", index([[1, 1], [2, 1]])),
    ("index_tensor_negative", index([-1, 0, -1])),
    ("index_list_repeated", [1, 1, 2]),
    ("two_index_tensors", (index([0, 2, 2]), index([1, 3, 1]))),
    ("index_tensors_broadcast", (index([[0], [2]]), index([1, 1, 3]))),
    ("slice_then_index_tensor", (slice(None), index([3, 0, 3]))),
    ("int_then_index_tensor", (1, slice(None), index([4, 4, 0]))),
    ("ellipsis_index_tensor", (Ellipsis, index([2, 2]))),
    ("zero_dim_index_tensor", index(2)),
]


@pytest.mark.parametrize(("name", "key"), KEYS, ids=[row[0] for row in KEYS])
def test_getitem(name, key):
    assert gradcheck(lambda x: x[key], (leaf(3, 4, 5),))


@pytest.mark.parametrize(("name", "key"), KEYS, ids=[row[0] for row in KEYS])
def test_getitem_non_contiguous(name, key):
    x = leaf(5, 4, 3).detach().permute(2, 1, 0).requires_grad_()  # (3, 4, 5), not contiguous
    assert not x.is_contiguous()
    assert gradcheck(lambda t: t[key] * t[key], (x,))


def test_repeated_index_accumulates_exactly():
    x = leaf(4)
    x[index([1, 1, 1, 3])].sum().backward()
    assert x.grad.tolist() == [0.0, 3.0, 0.0, 1.0]


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_repeated(dim):
    x = leaf(3, 4)
    idx = index([[0, 0, 2], [1, 0, 0]]) if dim == 0 else index([[3, 3], [0, 3], [1, 1]])
    assert gradcheck(lambda t: nnrun.gather(t, dim, idx), (x,))
    assert gradcheck(lambda t: t.gather(dim, idx) ** 2, (x,))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter(dim):
    x, src = leaf(3, 4), leaf(3, 4)
    # distinct targets per output position: scatter with duplicate targets is order-dependent
    idx = index([[2, 0, 1, 2], [0, 1, 2, 0]]) if dim == 0 else index([[3, 0], [1, 2], [0, 3]])
    assert gradcheck(lambda a, b: nnrun.scatter(a, dim, idx, b), (x, src))
    assert gradcheck(lambda a: a.scatter(dim, idx, value=0.5), (x,))
    assert gradcheck(lambda b: x.detach().scatter(dim, idx, b), (src,))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_select_repeated(dim):
    x = leaf(3, 4)
    idx = index([2, 0, 2, 2])
    if dim != 0:
        idx = index([3, 3, 1])
    assert gradcheck(lambda t: nnrun.index_select(t, dim, idx), (x,))
    assert gradcheck(lambda t: t.index_select(dim, idx).exp(), (x,))


def test_index_select_zero_dim_index():
    assert gradcheck(lambda t: t.index_select(1, index(2)), (leaf(3, 4),))


@pytest.mark.parametrize(
    "mask",
    [MASK, nnrun.tensor([True, False, False, True]), nnrun.tensor(True)],
    ids=["full", "broadcast_row", "scalar"],
)
def test_masked_fill(mask):
    x = leaf(3, 4)
    assert gradcheck(lambda t: t.masked_fill(mask, 0.5), (x,))
    assert gradcheck(lambda t: nnrun.masked_fill(t * t, mask, -2), (x,))


def test_masked_fill_tensor_value_gets_gradient():
    x, value = leaf(3, 4), leaf()
    assert gradcheck(lambda t, v: t.masked_fill(MASK, v), (x, value))


WHERE_SHAPES = [
    ((3, 4), (3, 4), (3, 4)),
    ((3, 1, 4), (2, 4), (3, 1, 1)),
    ((2, 4), (), (3, 1, 4)),
    ((4,), (3, 4), ()),
]


@pytest.mark.parametrize(("cond_shape", "a_shape", "b_shape"), WHERE_SHAPES, ids=str)
def test_where_broadcasting(cond_shape, a_shape, b_shape):
    condition = nnrun.rand(*cond_shape) > 0.5
    a, b = leaf(*a_shape), leaf(*b_shape)
    assert gradcheck(lambda x, y: nnrun.where(condition, x, y), (a, b))
    assert gradcheck(lambda x, y: x.where(condition, y), (a, b))


def test_where_with_python_scalar():
    condition = MASK
    x = leaf(3, 4)
    assert gradcheck(lambda t: nnrun.where(condition, t, 0.0), (x,))
    assert gradcheck(lambda t: nnrun.where(condition, 1.5, t * t), (x,))


def test_where_selects_by_value():
    # the classic safe-log pattern: both branches see every element, the gradient only the chosen one
    x = leaf(6)
    assert gradcheck(lambda t: nnrun.where(t > 0, (t.abs() + 1).log(), t * 2), (x,))
