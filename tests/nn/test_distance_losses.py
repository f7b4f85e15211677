"""Distances (normalize, cosine_similarity, pairwise_distance, cdist) and the losses built on them, plus
HuberLoss: torch parity of values and gradients, gradchecks, layers' printed forms, errors."""

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")


def _arrays(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in shapes]


def _signs(lib, n):
    """Targets of 1 and -1 (every third one -1)."""
    return lib.tensor(np.where(np.arange(n) % 3 == 0, -1.0, 1.0))


# (name, shapes of the differentiable inputs, call(lib, functional, *inputs))
CASES = [
    ("normalize", [(4, 5)], lambda t, f, x: f.normalize(x)),
    ("normalize_p1_dim0", [(4, 5)], lambda t, f, x: f.normalize(x, p=1.0, dim=0)),
    ("cosine_similarity", [(4, 5), (4, 5)], lambda t, f, a, b: f.cosine_similarity(a, b)),
    ("cosine_similarity_bcast", [(3, 1, 5), (4, 5)], lambda t, f, a, b: f.cosine_similarity(a, b, dim=-1)),
    ("pairwise_distance", [(4, 5), (4, 5)], lambda t, f, a, b: f.pairwise_distance(a, b)),
    (
        "pairwise_distance_p1",
        [(4, 5), (4, 5)],
        lambda t, f, a, b: f.pairwise_distance(a, b, 1.0, keepdim=True),
    ),
    ("pairwise_distance_1d", [(5,), (5,)], lambda t, f, a, b: f.pairwise_distance(a, b)),
    ("cdist", [(4, 3), (5, 3)], lambda t, f, a, b: t.cdist(a, b)),
    ("cdist_batched_p1", [(2, 4, 3), (2, 5, 3)], lambda t, f, a, b: t.cdist(a, b, p=1.0)),
    ("cdist_p3", [(4, 3), (5, 3)], lambda t, f, a, b: t.cdist(a, b, p=3.0)),
    ("huber", [(4, 5), (4, 5)], lambda t, f, a, b: f.huber_loss(a, b, delta=0.7)),
    ("huber_sum", [(4, 5), (4, 5)], lambda t, f, a, b: f.huber_loss(a, b, reduction="sum")),
    (
        "margin_ranking",
        [(6,), (6,)],
        lambda t, f, a, b: f.margin_ranking_loss(a, b, _signs(t, 6), 0.3),
    ),
    (
        "margin_ranking_none",
        [(6,), (6,)],
        lambda t, f, a, b: f.margin_ranking_loss(a, b, _signs(t, 6), reduction="none"),
    ),
    (
        "cosine_embedding",
        [(6, 4), (6, 4)],
        lambda t, f, a, b: f.cosine_embedding_loss(a, b, _signs(t, 6), margin=0.1),
    ),
    (
        "cosine_embedding_sum",
        [(6, 4), (6, 4)],
        lambda t, f, a, b: f.cosine_embedding_loss(a, b, _signs(t, 6), reduction="sum"),
    ),
    ("triplet", [(5, 4), (5, 4), (5, 4)], lambda t, f, a, p, n: f.triplet_margin_loss(a, p, n)),
    (
        "triplet_swap_p1",
        [(5, 4), (5, 4), (5, 4)],
        lambda t, f, a, p, n: f.triplet_margin_loss(a, p, n, margin=2.0, p=1, swap=True, reduction="none"),
    ),
]


def _run(lib, functional, shapes, call, dtype):
    inputs = [lib.tensor(a, dtype=dtype, requires_grad=True) for a in _arrays(shapes)]
    return call(lib, functional, *inputs), inputs


@pytest.mark.parametrize(("name", "shapes", "call"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-5)])
def test_parity_with_torch(name, shapes, call, dtype, tol):
    y_ours, ours = _run(nnrun, F, shapes, call, getattr(nnrun, dtype))
    y_theirs, theirs = _run(torch, torch.nn.functional, shapes, call, getattr(torch, dtype))
    np.testing.assert_allclose(y_ours.detach().numpy(), y_theirs.detach().numpy(), rtol=tol, atol=tol)
    upstream = np.random.default_rng(1).standard_normal(tuple(y_theirs.shape))
    y_ours.backward(nnrun.tensor(upstream, dtype=getattr(nnrun, dtype)))
    y_theirs.backward(torch.tensor(upstream, dtype=getattr(torch, dtype)))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize(("name", "shapes", "call"), CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name, shapes, call):
    inputs = [nnrun.tensor(a, requires_grad=True) for a in _arrays(shapes, seed=3)]
    assert gradcheck(lambda *xs: call(nnrun, F, *xs), tuple(inputs))


@pytest.mark.parametrize(
    "build",
    [
        lambda m: m.CosineSimilarity(),
        lambda m: m.CosineSimilarity(0, 1e-6),
        lambda m: m.PairwiseDistance(),
        lambda m: m.PairwiseDistance(1.0, 1e-5, True),
        lambda m: m.HuberLoss(),
        lambda m: m.HuberLoss("sum", 2.0),
        lambda m: m.MarginRankingLoss(0.5),
        lambda m: m.CosineEmbeddingLoss(0.2, reduction="none"),
        lambda m: m.TripletMarginLoss(2.0, 1.0, swap=True),
    ],
)
def test_layers_match_torch(build):
    ours, theirs = build(nn), build(torch.nn)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    for name in ("dim", "eps", "norm", "keepdim", "reduction", "delta", "margin", "p", "swap"):
        assert getattr(ours, name, None) == getattr(theirs, name, None)
    assert type(ours).__name__ in nn.LAYERS.entries()
    arity = 3 if "Loss" in type(theirs).__name__ and type(theirs).__name__ != "HuberLoss" else 2
    arrays = _arrays([(6, 4)] * arity, seed=5)
    if arity == 3 and type(theirs).__name__ != "TripletMarginLoss":
        arrays[2] = np.where(np.arange(6) % 2 == 0, 1.0, -1.0)
        if type(theirs).__name__ == "MarginRankingLoss":
            arrays = [arrays[0][:, 0], arrays[1][:, 0], arrays[2]]
    y_ours = ours(*[nnrun.tensor(a) for a in arrays])
    y_theirs = theirs(*[torch.tensor(a) for a in arrays])
    np.testing.assert_allclose(y_ours.numpy(), y_theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_zero_distance_has_zero_gradient_as_torch():
    x = np.ones((2, 3))
    ours = nnrun.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    nnrun.cdist(ours, ours.detach()).sum().backward()
    torch.cdist(theirs, theirs.detach()).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.parametrize(
    "call",
    [
        lambda t, f: f.huber_loss(t.ones(2), t.ones(2), delta=0.0),
        lambda t, f: f.huber_loss(t.ones(2), t.ones(2), reduction="foo"),
        lambda t, f: t.cdist(t.ones(3), t.ones(2, 3)),
        lambda t, f: t.cdist(t.ones(2, 3), t.ones(2, 4)),
        lambda t, f: t.nn.TripletMarginLoss(margin=0.0),
        lambda t, f: f.margin_ranking_loss(t.ones(2), t.ones(2, 1), t.ones(2)),
    ],
)
def test_errors_match_torch(call):
    with pytest.raises(Exception) as theirs:
        call(torch, torch.nn.functional)
    with pytest.raises(type(theirs.value)) as ours:
        call(nnrun, F)
    assert str(ours.value).split(":")[0] == str(theirs.value).split(":")[0]
