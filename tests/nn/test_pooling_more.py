"""LPPool1d/2d, MaxUnpool1d/2d and LocalResponseNorm: torch parity (values, gradients, node names),
gradchecks, printed forms, errors."""

import numpy as np
import pytest
from close_to_torch import assert_close_to_torch

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _unpool2d(f, x):
    lib = torch if f is TF else nnrun
    with torch.no_grad() if lib is torch else nnrun.no_grad():
        _, indices = f.max_pool2d(x.detach(), 2, return_indices=True)
    pooled = f.avg_pool2d(x, 2) * 2  # differentiable values, placed at the maxima
    return f.max_unpool2d(pooled, indices, 2)


def _unpool2d_sized(f, x):
    with torch.no_grad() if f is TF else nnrun.no_grad():
        _, indices = f.max_pool2d(x.detach(), 3, stride=2, padding=1, return_indices=True)
    pooled = f.avg_pool2d(x, 3, stride=2, padding=1)
    return f.max_unpool2d(pooled, indices, 3, stride=2, padding=1, output_size=(2, 3, 7, 6))


def _unpool1d(f, x):
    with torch.no_grad() if f is TF else nnrun.no_grad():
        _, indices = f.max_pool1d(x.detach(), 3, stride=2, return_indices=True)
    pooled = f.avg_pool1d(x, 3, stride=2)
    return f.max_unpool1d(pooled, indices, 3, stride=2, output_size=[8])


def _unpool1d_disjoint(f, x):
    with torch.no_grad() if f is TF else nnrun.no_grad():
        _, indices = f.max_pool1d(x.detach(), 2, return_indices=True)
    return f.max_unpool1d(f.avg_pool1d(x, 2), indices, 2)


# (name, input shape, call(functional, x), torch's node name or None)
CASES = [
    ("lp_pool2d", (2, 3, 6, 6), lambda f, x: f.lp_pool2d(x, 2, 2), "PowBackward0"),
    (
        "lp_pool2d_p3_stride",
        (2, 3, 7, 6),
        lambda f, x: f.lp_pool2d(x.abs() + 0.1, 3.0, (3, 2), stride=2),
        None,
    ),
    ("lp_pool2d_ceil", (1, 2, 7, 7), lambda f, x: f.lp_pool2d(x, 2, 3, 2, ceil_mode=True), None),
    ("lp_pool1d", (2, 3, 9), lambda f, x: f.lp_pool1d(x, 2, 3), "PowBackward0"),
    ("lp_pool1d_p1_5", (2, 3, 9), lambda f, x: f.lp_pool1d(x.abs() + 0.1, 1.5, 2, 1), None),
    ("max_unpool2d", (2, 3, 6, 8), _unpool2d, "MaxUnpool2DBackward0"),
    ("max_unpool2d_sized", (2, 3, 7, 6), _unpool2d_sized, "MaxUnpool2DBackward0"),
    ("max_unpool1d", (2, 3, 8), _unpool1d, "SqueezeBackward1"),
    ("max_unpool1d_disjoint", (2, 3, 8), _unpool1d_disjoint, "SqueezeBackward1"),
    ("local_response_norm", (2, 6, 4, 5), lambda f, x: f.local_response_norm(x, 3), "DivBackward0"),
    (
        "local_response_norm_3d_even",
        (2, 7, 5),
        lambda f, x: f.local_response_norm(x, 4, alpha=0.1, beta=0.5, k=2.0),
        "DivBackward0",
    ),
    ("local_response_norm_5d", (1, 5, 2, 3, 2), lambda f, x: f.local_response_norm(x, 2, alpha=0.5), None),
]


@pytest.mark.parametrize(("name", "shape", "call", "node"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-5)])
def test_parity_with_torch(name, shape, call, node, dtype, tol):
    x = np.random.default_rng(0).standard_normal(shape)
    ours = nnrun.tensor(x, dtype=getattr(nnrun, dtype), requires_grad=True)
    theirs = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    y_ours, y_theirs = call(F, ours), call(TF, theirs)
    assert y_ours.shape == tuple(y_theirs.shape)
    assert_close_to_torch(y_ours, y_theirs, tol)
    if node is not None:
        assert y_ours.grad_fn.name() == y_theirs.grad_fn.name() == node
    upstream = np.random.default_rng(9).standard_normal(tuple(y_theirs.shape))
    y_ours.backward(nnrun.tensor(upstream, dtype=getattr(nnrun, dtype)))
    y_theirs.backward(torch.tensor(upstream, dtype=getattr(torch, dtype)))
    assert_close_to_torch(ours.grad, theirs.grad, tol)


# overlapping windows can pick one maximum twice, and unpooling writes it once (as torch does): not a
# differentiable function there, so only disjoint windows are gradchecked
SMOOTH = [c for c in CASES if c[0] not in ("max_unpool2d_sized", "max_unpool1d")]


@pytest.mark.parametrize(("name", "shape", "call", "node"), SMOOTH, ids=[c[0] for c in SMOOTH])
def test_gradcheck(name, shape, call, node):
    x = np.random.default_rng(3).standard_normal(shape)
    if name.startswith("lp_pool"):
        x = np.abs(x) + 0.2  # away from 0, where the root's slope is unbounded
    assert gradcheck(lambda t: call(F, t), [nnrun.tensor(x, requires_grad=True)])


def test_unpool_inverts_pool_at_the_maxima():
    x = np.random.default_rng(4).standard_normal((2, 3, 6, 6))
    pooled, indices = F.max_pool2d(nnrun.tensor(x), 2, return_indices=True)
    restored = nn.MaxUnpool2d(2)(pooled, indices).numpy()
    expected = TF.max_unpool2d(*TF.max_pool2d(torch.tensor(x), 2, return_indices=True), 2).numpy()
    np.testing.assert_array_equal(restored, expected)
    assert (restored != 0).sum() == pooled.numel()


@pytest.mark.parametrize(
    ("layer", "args"),
    [
        ("LPPool2d", (2, 3)),
        ("LPPool2d", (1.5, (2, 3), 2, True)),
        ("LPPool1d", (1.5, 2, 1)),
        ("MaxUnpool2d", (2,)),
        ("MaxUnpool2d", ((2, 3), 1, (0, 1))),
        ("MaxUnpool1d", (3, 2, 1)),
        ("LocalResponseNorm", (3,)),
        ("LocalResponseNorm", (2, 0.01, 0.5, 2.0)),
    ],
)
def test_layers_print_like_torch(layer, args):
    ours, theirs = getattr(nn, layer)(*args), getattr(torch.nn, layer)(*args)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    assert layer in nn.LAYERS


@pytest.mark.parametrize(
    ("layer", "args", "shape"),
    [
        ("LPPool2d", (2, 2), (2, 3, 4, 4)),
        ("LPPool1d", (3, 2), (2, 3, 6)),
        ("LocalResponseNorm", (3,), (2, 5, 3)),
    ],
)
def test_layers_compute_like_torch(layer, args, shape):
    x = np.abs(np.random.default_rng(5).standard_normal(shape))  # an odd power of a negative mean is NaN
    assert_close_to_torch(
        getattr(nn, layer)(*args)(nnrun.tensor(x)), getattr(torch.nn, layer)(*args)(torch.tensor(x)), 1e-12
    )


def _raises_like_torch(ours, theirs, exact=True):
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value)) as got:
        ours()
    if exact:
        assert str(got.value) == str(expected.value)


def _pooled(lib):
    x = lib.tensor(np.random.default_rng(6).standard_normal((2, 3, 6, 6)))
    return (TF if lib is torch else F).max_pool2d(x, 2, return_indices=True)


ERRORS = [
    ("output_size", lambda t, f: f.max_unpool2d(*_pooled(t), 2, output_size=(9, 9))),
    ("output_size_length", lambda t, f: f.max_unpool2d(*_pooled(t), 2, output_size=(9, 9, 9))),
    ("indices_shape", lambda t, f: f.max_unpool2d(_pooled(t)[0], _pooled(t)[1][:, :2], 2)),
]


@pytest.mark.parametrize(("name", "call"), ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(name, call):
    _raises_like_torch(lambda: call(nnrun, F), lambda: call(torch, TF))


def test_invalid_index_error_like_torch():
    # which invalid index torch names depends on its threads; the type and the wording match
    call = lambda t, f: f.max_unpool2d(_pooled(t)[0], _pooled(t)[1] * 10, 2)  # noqa: E731
    _raises_like_torch(lambda: call(nnrun, F), lambda: call(torch, TF), exact=False)
    with pytest.raises(
        RuntimeError, match=r"Found an invalid max index: \d+ \(output volumes are of size 6x6\)"
    ):
        call(nnrun, F)


def test_local_response_norm_needs_three_dims():
    # torch's message has a run of spaces inside it; the type and the gist match
    _raises_like_torch(
        lambda: F.local_response_norm(nnrun.zeros(2, 3), 2),
        lambda: TF.local_response_norm(torch.zeros(2, 3), 2),
        exact=False,
    )
    with pytest.raises(ValueError, match="Expected 3D or higher dimensionality input"):
        F.local_response_norm(nnrun.zeros(2, 3), 2)
