"""Soft margin, multi-label soft margin, multi-margin, multi-label margin, hinge embedding, Poisson and
Gaussian NLL, triplet margin with distance: torch parity (values and gradients, every reduction), gradchecks,
layers' printed forms and state, errors."""

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")

N, C = 5, 4
RNG = np.random.default_rng(0)
SIGNS = np.where(RNG.random((N, C)) < 0.4, -1.0, 1.0)
BINARY = (RNG.random((N, C)) < 0.5).astype(float)
CLASSES = np.array([0, 3, 1, 1, 2])
MULTILABEL = np.array([[0, 2, -1, 1], [3, -1, -1, -1], [1, 0, 2, 3], [-1, 0, 1, 2], [2, 2, -1, 0]])
COUNTS = RNG.integers(0, 6, (N, C)).astype(float)
CLASS_WEIGHT = np.array([0.5, 1.5, 2.0, 0.25])


def _const(lib, array, dtype=None):
    return lib.tensor(array) if dtype is None else lib.tensor(array, dtype=dtype)


# (name, shapes of the differentiable inputs, call(lib, functional, dtype, *inputs))
CASES = [
    ("soft_margin", [(N, C)], lambda t, f, d, x: f.soft_margin_loss(x, _const(t, SIGNS, d))),
    (
        "multilabel_soft_margin",
        [(N, C)],
        lambda t, f, d, x: f.multilabel_soft_margin_loss(x, _const(t, BINARY, d)),
    ),
    (
        "multilabel_soft_margin_weight",
        [(N, C)],
        lambda t, f, d, x: f.multilabel_soft_margin_loss(x, _const(t, BINARY, d), _const(t, CLASS_WEIGHT, d)),
    ),
    ("multi_margin", [(N, C)], lambda t, f, d, x: f.multi_margin_loss(x, _const(t, CLASSES))),
    (
        "multi_margin_p2_weight",
        [(N, C)],
        lambda t, f, d, x: f.multi_margin_loss(x, _const(t, CLASSES), 2, 0.7, _const(t, CLASS_WEIGHT, d)),
    ),
    ("multi_margin_1d", [(C,)], lambda t, f, d, x: f.multi_margin_loss(x, _const(t, np.array(2)))),
    ("multilabel_margin", [(N, C)], lambda t, f, d, x: f.multilabel_margin_loss(x, _const(t, MULTILABEL))),
    (
        "multilabel_margin_1d",
        [(C,)],
        lambda t, f, d, x: f.multilabel_margin_loss(x, _const(t, MULTILABEL[0])),
    ),
    ("hinge_embedding", [(N, C)], lambda t, f, d, x: f.hinge_embedding_loss(x, _const(t, SIGNS, d))),
    (
        "hinge_embedding_margin",
        [(N, C)],
        lambda t, f, d, x: f.hinge_embedding_loss(x, _const(t, SIGNS, d), margin=0.3),
    ),
    ("poisson_nll", [(N, C)], lambda t, f, d, x: f.poisson_nll_loss(x, _const(t, COUNTS, d))),
    (
        "poisson_nll_full",
        [(N, C)],
        lambda t, f, d, x: f.poisson_nll_loss(x, _const(t, COUNTS, d), full=True),
    ),
    (
        "poisson_nll_rate",
        [(N, C)],
        lambda t, f, d, x: f.poisson_nll_loss(
            x.abs() + 0.1, _const(t, COUNTS, d), log_input=False, full=True
        ),
    ),
    (
        "gaussian_nll",
        [(N, C), (N, C), (N, C)],
        lambda t, f, d, x, y, v: f.gaussian_nll_loss(x, y, v.abs() + 0.05),
    ),
    (
        "gaussian_nll_homoscedastic_full",
        [(N, C), (N, C), (N,)],
        lambda t, f, d, x, y, v: f.gaussian_nll_loss(x, y, v * v + 0.05, full=True),
    ),
    (
        "gaussian_nll_one_dim",
        [(N, C), (N, C), (N, 1)],
        lambda t, f, d, x, y, v: f.gaussian_nll_loss(x, y, v * v + 0.05),
    ),
    (
        "gaussian_nll_eps",
        [(N, C), (N, C), (N, C)],
        lambda t, f, d, x, y, v: f.gaussian_nll_loss(x, y, v.abs(), eps=0.3),
    ),
    (
        "triplet_with_distance",
        [(N, C), (N, C), (N, C)],
        lambda t, f, d, a, p, n: f.triplet_margin_with_distance_loss(a, p, n, margin=2.0),
    ),
    (
        "triplet_with_distance_swap_cosine",
        [(N, C), (N, C), (N, C)],
        lambda t, f, d, a, p, n: f.triplet_margin_with_distance_loss(
            a, p, n, distance_function=lambda u, v: 1 - f.cosine_similarity(u, v), margin=0.5, swap=True
        ),
    ),
]


@pytest.mark.parametrize(("name", "shapes", "call"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-5)])
def test_parity_with_torch(name, shapes, call, reduction, dtype, tol):
    arrays = [np.random.default_rng(i + 1).standard_normal(s) for i, s in enumerate(shapes)]
    ours = [nnrun.tensor(a, dtype=getattr(nnrun, dtype), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
    od, td = getattr(nnrun, dtype), getattr(torch, dtype)
    y_ours = _with_reduction(call, nnrun, F, od, ours, reduction)
    y_theirs = _with_reduction(call, torch, torch.nn.functional, td, theirs, reduction)
    expected = y_theirs.detach().numpy()
    assert y_ours.shape == tuple(expected.shape)
    np.testing.assert_allclose(
        y_ours.detach().numpy(), expected, rtol=tol, atol=tol * max(1, np.abs(expected).max())
    )
    upstream = np.random.default_rng(9).standard_normal(expected.shape)
    y_ours.backward(nnrun.tensor(upstream, dtype=od))
    y_theirs.backward(torch.tensor(upstream, dtype=td))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol * 10)


def _with_reduction(call, lib, f, dtype, inputs, reduction):
    """``call`` with ``reduction`` passed to the loss (each functional takes it as a keyword)."""

    class Reducing:
        def __getattr__(self, name):
            function = getattr(f, name)
            if not name.endswith("_loss"):
                return function
            return lambda *args, **kwargs: function(*args, **kwargs, reduction=reduction)

    return call(lib, Reducing(), dtype, *inputs)


# gaussian_nll_eps clamps var under no_grad, as torch does: its gradient passes the clamp, so it is not
# the derivative of the clamped function, and only the parity test above covers it
SMOOTH = [c for c in CASES if c[0] != "gaussian_nll_eps"]


@pytest.mark.parametrize(("name", "shapes", "call"), SMOOTH, ids=[c[0] for c in SMOOTH])
def test_gradcheck(name, shapes, call):
    arrays = [np.random.default_rng(i + 5).standard_normal(s) for i, s in enumerate(shapes)]
    inputs = [nnrun.tensor(a, requires_grad=True) for a in arrays]
    assert gradcheck(lambda *xs: call(nnrun, F, nnrun.float64, *xs), inputs)


LAYERS = [
    ("SoftMarginLoss", (), {}),
    ("SoftMarginLoss", (), {"reduction": "sum"}),
    ("MultiLabelSoftMarginLoss", (), {"weight": CLASS_WEIGHT}),
    ("MultiMarginLoss", (), {"p": 2, "margin": 0.5, "weight": CLASS_WEIGHT}),
    ("MultiMarginLoss", (), {}),
    ("MultiLabelMarginLoss", (), {"reduction": "none"}),
    ("HingeEmbeddingLoss", (), {"margin": 0.2}),
    ("PoissonNLLLoss", (), {"log_input": False, "full": True, "eps": 1e-6}),
    ("GaussianNLLLoss", (), {"full": True, "eps": 1e-3}),
    ("TripletMarginWithDistanceLoss", (), {"margin": 0.5, "swap": True}),
]


@pytest.mark.parametrize(("layer", "args", "kwargs"), LAYERS)
def test_layers_match_torch(layer, args, kwargs):
    def build(lib, module):
        made = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        return getattr(module, layer)(*args, **made)

    ours, theirs = build(nnrun, nn), build(torch, torch.nn)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert layer in nn.LAYERS
    x = np.abs(RNG.standard_normal((N, C))) + 0.1
    extra = {
        "SoftMarginLoss": [SIGNS],
        "MultiLabelSoftMarginLoss": [BINARY],
        "MultiMarginLoss": [CLASSES],
        "MultiLabelMarginLoss": [MULTILABEL],
        "HingeEmbeddingLoss": [SIGNS],
        "PoissonNLLLoss": [COUNTS],
        "GaussianNLLLoss": [COUNTS, np.abs(SIGNS) * 0.5],
        "TripletMarginWithDistanceLoss": [BINARY, COUNTS],
    }[layer]
    y_ours = ours(nnrun.tensor(x), *[nnrun.tensor(e) for e in extra])
    y_theirs = theirs(torch.tensor(x), *[torch.tensor(e) for e in extra])
    np.testing.assert_allclose(y_ours.numpy(), y_theirs.numpy(), rtol=1e-12)


def test_gaussian_nll_float_variance():
    x, y = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))
    ours = F.gaussian_nll_loss(nnrun.tensor(x), nnrun.tensor(y), 0.5)
    theirs = torch.nn.functional.gaussian_nll_loss(torch.tensor(x), torch.tensor(y), 0.5)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def _raises_like_torch(ours, theirs):
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value)) as got:
        ours()
    assert str(got.value) == str(expected.value)


ERRORS = [
    ("reduction", lambda t, f: f.soft_margin_loss(t.zeros(2), t.ones(2), reduction="avg")),
    ("p", lambda t, f: f.multi_margin_loss(t.zeros(2, 3), t.tensor([0, 1]), p=3)),
    ("weight_dim", lambda t, f: f.multi_margin_loss(t.zeros(2, 3), t.tensor([0, 1]), weight=t.ones(3, 1))),
    ("target_size", lambda t, f: f.multi_margin_loss(t.zeros(3, 4), t.tensor([0, 1]))),
    ("target_range", lambda t, f: f.multi_margin_loss(t.zeros(3, 4), t.tensor([0, 1, 7]))),
    ("3d", lambda t, f: f.multi_margin_loss(t.zeros(2, 3, 4), t.tensor([0, 1]))),
    ("multilabel_size", lambda t, f: f.multilabel_margin_loss(t.zeros(3, 4), t.tensor([0, 1, 2]))),
    ("multilabel_range", lambda t, f: f.multilabel_margin_loss(t.zeros(1, 4), t.tensor([[0, 1, 2, 9]]))),
    ("var_negative", lambda t, f: f.gaussian_nll_loss(t.zeros(2, 3), t.zeros(2, 3), -t.ones(2, 3))),
    ("var_size", lambda t, f: f.gaussian_nll_loss(t.zeros(2, 3), t.zeros(2, 3), t.ones(3, 2))),
    (
        "gaussian_reduction",
        lambda t, f: f.gaussian_nll_loss(t.zeros(2), t.zeros(2), t.ones(2), reduction="x"),
    ),
    (
        "triplet_margin",
        lambda t, f: f.triplet_margin_with_distance_loss(t.zeros(2), t.zeros(2), t.zeros(2), margin=0),
    ),
    ("triplet_dims", lambda t, f: f.triplet_margin_with_distance_loss(t.zeros(2, 2), t.zeros(2), t.zeros(2))),
    ("layer_margin", lambda t, f: t.nn.TripletMarginWithDistanceLoss(margin=-1.0)),
    ("layer_p", lambda t, f: t.nn.MultiMarginLoss(p=3)),
    ("layer_weight", lambda t, f: t.nn.MultiMarginLoss(weight=t.ones(2, 2))),
]


@pytest.mark.parametrize(("name", "call"), ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(name, call):
    _raises_like_torch(lambda: call(nnrun, F), lambda: call(torch, torch.nn.functional))
