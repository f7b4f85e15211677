"""Float64 finite-difference gradient checks for reductions, over dims given as int, tuple and negative."""

import pytest
from grad_inputs import uniform

import nnrun
from nnrun.autograd import gradcheck


def distinct(shape):
    """A float64 leaf of values at least 0.1 apart (no ties for max/min), in random order."""
    count = 1
    for size in shape:
        count *= size
    steps = nnrun.randperm(count).to(nnrun.float64) - count // 2
    return (steps * 0.1 + 0.03).reshape(shape).requires_grad_()


SHAPE = (2, 3, 4)
# (dim, keepdim) combinations shared by the reductions that accept a tuple of dims
DIMS = [
    (None, False),
    (0, False),
    (1, True),
    (-1, False),
    (-2, True),
    ((0, 2), False),
    ((0, 2), True),
    ((-1, 0), False),
    ((2, -2, 0), True),
]
DIM_IDS = [f"dim={dim}-keepdim={keepdim}" for dim, keepdim in DIMS]
SINGLE_DIMS = [(dim, keepdim) for dim, keepdim in DIMS if not isinstance(dim, tuple)]
SINGLE_IDS = [f"dim={dim}-keepdim={keepdim}" for dim, keepdim in SINGLE_DIMS]


def _reduce(method, dim, keepdim, **kwargs):
    if dim is None:
        return lambda x: getattr(x, method)(**kwargs)
    return lambda x: getattr(x, method)(dim=dim, keepdim=keepdim, **kwargs)


# (name, method, extra kwargs, input values)
TUPLE_REDUCTIONS = [
    ("sum", "sum", {}, uniform),
    ("mean", "mean", {}, uniform),
    ("amax", "amax", {}, distinct),
    ("amin", "amin", {}, distinct),
    ("var", "var", {}, uniform),
    ("var_biased", "var", {"unbiased": False}, uniform),
    ("var_correction_2", "var", {"correction": 2}, uniform),
    ("std", "std", {}, uniform),
    ("std_biased", "std", {"unbiased": False}, uniform),
    ("std_correction_0", "std", {"correction": 0}, uniform),
    ("logsumexp", "logsumexp", {}, uniform),
    ("norm", "norm", {}, uniform),
    ("norm_fro", "norm", {"p": "fro"}, uniform),
    ("norm_1", "norm", {"p": 1}, distinct),
    ("norm_3", "norm", {"p": 3}, uniform),
    ("norm_inf", "norm", {"p": float("inf")}, distinct),
]


@pytest.mark.parametrize(("dim", "keepdim"), DIMS, ids=DIM_IDS)
@pytest.mark.parametrize(
    ("name", "method", "kwargs", "make"), TUPLE_REDUCTIONS, ids=[row[0] for row in TUPLE_REDUCTIONS]
)
def test_reduction_over_dims(name, method, kwargs, make, dim, keepdim):
    if method == "logsumexp" and dim is None:
        dim = (0, 1, 2)  # logsumexp requires dim
    if kwargs.get("correction") == 2 and dim in (0, -3):
        dim = 1  # 2 elements less a correction of 2 leaves no degrees of freedom (see the test below)
    assert gradcheck(_reduce(method, dim, keepdim, **kwargs), (make(SHAPE),))


@pytest.mark.parametrize(("dim", "keepdim"), SINGLE_DIMS, ids=SINGLE_IDS)
@pytest.mark.parametrize("values", ["uniform", "one_zero", "two_zeros"])
def test_prod(dim, keepdim, values):
    x = uniform(SHAPE, 0.5, 1.5)
    if values != "uniform":
        x = x.detach()
        x[1, 2, 3] = 0.0  # the only nonzero gradient along every dim is the product of the others
        if values == "two_zeros":
            x[1, 0, 3] = 0.0
        x.requires_grad_()
    assert gradcheck(_reduce("prod", dim, keepdim), (x,))


@pytest.mark.parametrize(("dim", "keepdim"), SINGLE_DIMS, ids=SINGLE_IDS)
@pytest.mark.parametrize("method", ["max", "min"])
def test_max_min(method, dim, keepdim):
    x = distinct(SHAPE)
    if dim is None:
        assert gradcheck(lambda t: getattr(t, method)(), (x,))
        return
    # values and indices come back; gradcheck checks the floating output (values)
    assert gradcheck(lambda t: getattr(t, method)(dim, keepdim=keepdim), (x,))
    assert gradcheck(lambda t: getattr(nnrun, method)(t, dim, keepdim).values, (x,))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: nnrun.sum(x),
        lambda x: nnrun.mean(x, dim=-1),
        lambda x: nnrun.prod(x, 0),
        lambda x: nnrun.amax(x, (0, 1)),
        lambda x: nnrun.amin(x, -1, keepdim=True),
        lambda x: nnrun.var(x, 1),
        lambda x: nnrun.std(x, (0,), keepdim=True),
        lambda x: nnrun.logsumexp(x, -1),
        lambda x: nnrun.norm(x, dim=(0, 1)),
        lambda x: nnrun.max(x),
        lambda x: nnrun.min(x, dim=0)[0],
    ],
    ids=["sum", "mean", "prod", "amax", "amin", "var", "std", "logsumexp", "norm", "max", "min"],
)
def test_functional_forms(fn):
    assert gradcheck(fn, (distinct((3, 4)),))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.sum(),
        lambda x: x.mean(),
        lambda x: x.prod(),
        lambda x: x.amax(),
        lambda x: x.max(),
        lambda x: x.norm(),
        lambda x: x.logsumexp(0),
        lambda x: x.sum(0),
        lambda x: x.max(0)[0],
    ],
    ids=["sum", "mean", "prod", "amax", "max", "norm", "logsumexp", "sum_dim", "max_dim"],
)
def test_zero_dim_input(fn):
    assert gradcheck(fn, (uniform((), 0.5, 1.5),))


@pytest.mark.parametrize("dim", [None, 1, (0, 1)], ids=str)
def test_mean_sum_non_contiguous(dim):
    x = uniform((4, 6)).detach().t()[:, ::2].requires_grad_()
    assert not x.is_contiguous()
    assert gradcheck(lambda t: t.sum(dim) if dim is not None else t.sum(), (x,))
    assert gradcheck(lambda t: t.mean(dim) if dim is not None else t.mean(), (x,))
    assert gradcheck(lambda t: t.var(dim) if dim is not None else t.var(), (x,))


def test_logsumexp_large_values_stay_finite():
    x = uniform((2, 5), 500.0, 510.0)
    assert gradcheck(lambda t: t.logsumexp(-1), (x,))


def test_amax_two_way_tie_splits_gradient():
    # a central difference at a two-way tie sees half the slope: the even split matches it
    x = nnrun.tensor([[0.5, 0.9, 0.9], [0.1, -0.3, 0.2]], dtype=nnrun.float64, requires_grad=True)
    assert gradcheck(lambda t: t.amax(-1), (x,))
    assert gradcheck(lambda t: t.max(), (x,))


def test_var_without_degrees_of_freedom_matches_torch():
    # N - correction <= 0: torch divides by zero (inf, or nan for a zero sum) in forward and backward
    x = nnrun.tensor([[0.5, 1.0], [1.5, 1.0]], dtype=nnrun.float64, requires_grad=True)
    y = x.var(0, correction=2)
    assert y.isinf().tolist() == [True, False] and y.isnan().tolist() == [False, True]
    y.sum().backward()
    assert x.grad.tolist()[0][0] == float("-inf") and x.grad.tolist()[1][0] == float("inf")
    assert x.grad.isnan()[:, 1].all()


def test_max_with_dim_of_zero_dim_tensor():
    x = uniform(())
    values, indices = x.max(0)
    assert indices.item() == 0 and not indices.requires_grad
    values.backward()
    assert x.grad.item() == 1.0
