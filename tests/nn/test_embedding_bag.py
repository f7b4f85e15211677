"""EmbeddingBag and embedding_bag: torch parity (values and gradients), gradchecks, repr, errors."""

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

FLAT = [1, 2, 4, 5, 4, 3, 2, 9]
CASES = [
    ({"input": FLAT, "offsets": [0, 4]}, {"mode": "sum"}),
    ({"input": FLAT, "offsets": [0, 4]}, {"mode": "mean"}),
    ({"input": FLAT, "offsets": [0, 4]}, {"mode": "max"}),
    ({"input": FLAT, "offsets": [0, 0, 3, 8]}, {"mode": "max"}),  # empty bags give zeros
    ({"input": FLAT, "offsets": [0, 0, 3, 8]}, {"mode": "mean"}),
    ({"input": FLAT, "offsets": [0, 2, 5, 8]}, {"mode": "sum", "include_last_offset": True}),
    ({"input": FLAT, "offsets": [0, 2, 5, 8]}, {"mode": "max", "include_last_offset": True}),
    ({"input": FLAT, "offsets": [0, 2, 5]}, {"mode": "mean", "padding_idx": 4}),
    ({"input": [4, 4, 4, 5, 4, 3, 2, 9], "offsets": [0, 2, 5]}, {"mode": "max", "padding_idx": 4}),
    ({"input": FLAT, "offsets": [0, 2, 5]}, {"mode": "sum", "padding_idx": 2}),
    ({"input": FLAT, "offsets": [0, 2, 5], "weighted": True}, {"mode": "sum"}),
    ({"input": [[1, 2, 4], [5, 4, 3]], "weighted": True}, {"mode": "sum"}),
    ({"input": [[1, 2, 4], [5, 4, 3]]}, {"mode": "max"}),
    ({"input": [[1, 2, 4], [5, 4, 3]]}, {"mode": "mean", "padding_idx": -6}),
    ({"input": [], "offsets": [0, 0]}, {"mode": "max"}),
    ({"input": [], "offsets": [0, 0]}, {"mode": "mean"}),
]


def _run(lib, functional, weight, data, options, dtype):
    w = lib.tensor(weight, dtype=dtype, requires_grad=True)
    index = lib.tensor(data["input"], dtype=lib.int64)
    offsets = lib.tensor(data["offsets"], dtype=lib.int64) if "offsets" in data else None
    samples = None
    if data.get("weighted"):
        samples = lib.tensor(np.linspace(-1, 2, index.numel()).reshape(tuple(index.shape)), dtype=dtype)
        samples.requires_grad_(True)
    out = functional.embedding_bag(index, w, offsets, per_sample_weights=samples, **options)
    upstream = np.arange(out.numel()).reshape(tuple(out.shape)) * 0.1 + 1
    out.backward(lib.tensor(upstream, dtype=dtype))
    grads = [w.grad.numpy()] + ([] if samples is None else [samples.grad.numpy()])
    return [out.detach().numpy(), *grads], out.grad_fn


@pytest.mark.parametrize(("data", "options"), CASES)
@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-5)])
def test_embedding_bag_parity(data, options, dtype, tol):
    weight = np.random.default_rng(0).standard_normal((10, 3))
    ours, node = _run(nnrun, F, weight, data, options, getattr(nnrun, dtype))
    theirs, their_node = _run(torch, TF, weight, data, options, getattr(torch, dtype))
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    assert node.name() == their_node.name() == "EmbeddingBagBackward0"
    assert [n is None for n, _ in node.next_functions] == [n is None for n, _ in their_node.next_functions]


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_scale_grad_by_freq_divides_by_the_batch_frequency(mode):
    # torch's own embedding_bag backward miscounts here (a row met once gets half its gradient), so the
    # documented meaning is checked instead: an embedding with scale_grad_by_freq, then reduced per bag
    weight = np.random.default_rng(1).standard_normal((10, 3))
    w_ours = nnrun.tensor(weight, requires_grad=True)
    F.embedding_bag(
        nnrun.tensor(FLAT), w_ours, nnrun.tensor([0, 2, 5]), mode=mode, scale_grad_by_freq=True
    ).sum(0).backward(nnrun.tensor([1.0, 2.0, 3.0], dtype=nnrun.float64))
    w_theirs = torch.tensor(weight, requires_grad=True)
    rows = TF.embedding(torch.tensor(FLAT), w_theirs, scale_grad_by_freq=True)
    bags = [rows[0:2], rows[2:5], rows[5:8]]
    out = torch.stack([b.sum(0) if mode == "sum" else b.mean(0) for b in bags])
    out.sum(0).backward(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    np.testing.assert_allclose(w_ours.grad.numpy(), w_theirs.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_gradcheck(mode):
    w = nnrun.randn(6, 3, dtype=nnrun.float64, requires_grad=True)
    index, offsets = nnrun.tensor([0, 5, 5, 2, 0, 1, 3]), nnrun.tensor([0, 3, 3])
    assert gradcheck(lambda w: F.embedding_bag(index, w, offsets, mode=mode, padding_idx=1), (w,))


def test_embedding_bag_gradcheck_per_sample_weights():
    w = nnrun.randn(6, 3, dtype=nnrun.float64, requires_grad=True)
    samples = nnrun.randn(2, 3, dtype=nnrun.float64, requires_grad=True)
    index = nnrun.tensor([[0, 5, 5], [2, 0, 1]])
    assert gradcheck(lambda w, s: F.embedding_bag(index, w, per_sample_weights=s, mode="sum"), (w, samples))


@pytest.mark.parametrize(
    "options",
    [{}, {"mode": "sum"}, {"mode": "max", "padding_idx": 0}, {"max_norm": 1.0, "norm_type": 1.0},
     {"scale_grad_by_freq": True, "include_last_offset": True, "padding_idx": -1}],
)  # fmt: skip
def test_embedding_bag_layer_matches_torch(options):
    theirs = torch.nn.EmbeddingBag(10, 4, **options)
    ours = nn.EmbeddingBag(10, 4, **options)
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    for name in ("num_embeddings", "embedding_dim", "mode", "padding_idx", "include_last_offset", "max_norm"):
        assert getattr(ours, name) == getattr(theirs, name)
    ours.load_state_dict({"weight": nnrun.tensor(theirs.weight.detach().numpy().copy())})
    index, offsets = (
        [1, 2, 0, 9, 2, 2, 5, 0, 9],
        [0, 4, 4, 9] if options.get("include_last_offset") else [0, 4, 4],
    )
    y_ours = ours(nnrun.tensor(index), nnrun.tensor(offsets))
    y_theirs = theirs(torch.tensor(index), torch.tensor(offsets))
    np.testing.assert_allclose(y_ours.detach().numpy(), y_theirs.detach().numpy(), rtol=1e-6, atol=1e-6)
    if not options.get("scale_grad_by_freq"):
        y_ours.sum().backward()
        y_theirs.sum().backward()
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-6)


def test_embedding_bag_init_registry_and_from_pretrained():
    layer = nn.EmbeddingBag(1000, 20, padding_idx=3)
    w = layer.weight.detach().numpy()
    assert (w[3] == 0).all()
    others = np.delete(w, 3, axis=0)
    assert abs(others.mean()) < 0.02 and abs(others.std() - 1) < 0.02  # N(0, 1)
    assert nn.LAYERS.get("EmbeddingBag") is nn.EmbeddingBag
    table = nnrun.arange(6.0).reshape(3, 2)
    frozen = nn.EmbeddingBag.from_pretrained(table, mode="sum")
    assert not frozen.weight.requires_grad and repr(frozen) == "EmbeddingBag(3, 2, mode='sum')"
    assert frozen(nnrun.tensor([[0, 2]])).tolist() == [[4.0, 6.0]]
    assert nn.EmbeddingBag.from_pretrained(table, freeze=False).weight.requires_grad


def _errors(lib, functional, nn_module):
    w = lib.randn(10, 3)
    ix = lib.tensor([1, 2])
    return [
        lambda: functional.embedding_bag(ix, w),
        lambda: functional.embedding_bag(lib.tensor([[1, 2]]), w, lib.tensor([0])),
        lambda: functional.embedding_bag(ix, w, lib.tensor([0]), mode="mean", per_sample_weights=lib.ones(2)),
        lambda: functional.embedding_bag(ix, w, lib.tensor([0]), mode="foo"),
        lambda: functional.embedding_bag(ix, w, lib.tensor([1])),
        lambda: functional.embedding_bag(ix, w, lib.tensor([0, 3])),
        lambda: functional.embedding_bag(lib.tensor([1, 12]), w, lib.tensor([0])),
        lambda: functional.embedding_bag(lib.tensor([1.0, 2.0]), w, lib.tensor([0])),
        lambda: functional.embedding_bag(ix, w, lib.tensor([0]), mode="sum", per_sample_weights=lib.ones(3)),
        lambda: functional.embedding_bag(ix, w, lib.tensor([[0]])),
        lambda: functional.embedding_bag(ix, w, lib.tensor([0]), padding_idx=20),
        lambda: functional.embedding_bag(ix, w, lib.tensor([0]), mode="max", scale_grad_by_freq=True),
        lambda: nn_module.EmbeddingBag(5, 2, padding_idx=7),
        lambda: nn_module.EmbeddingBag(5, 2, _weight=lib.zeros(3, 3)),
        lambda: nn_module.EmbeddingBag.from_pretrained(lib.zeros(3)),
    ]


@pytest.mark.parametrize("case", range(15))
def test_embedding_bag_errors_match_torch(case):
    with pytest.raises(Exception) as theirs:
        _errors(torch, TF, torch.nn)[case]()
    with pytest.raises(type(theirs.value)) as ours:
        _errors(nnrun, F, nn)[case]()
    message = str(theirs.value).split("\n")[0].replace("torch.", "nnrun.")
    assert str(ours.value).split("\n")[0] == message


def test_decreasing_offsets_are_refused():
    with pytest.raises(RuntimeError, match="offsets must be non-decreasing"):
        F.embedding_bag(nnrun.tensor([1, 2, 3]), nnrun.randn(5, 2), nnrun.tensor([0, 2, 1]))


def test_sparse_is_refused():
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.EmbeddingBag(5, 2, sparse=True)
