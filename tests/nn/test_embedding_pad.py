"""Embedding, one_hot, pad, Flatten and Unflatten: torch parity, gradchecks, errors."""

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


# ----- embedding -----
@pytest.mark.parametrize(
    "options",
    [{}, {"padding_idx": 0}, {"padding_idx": -1}, {"scale_grad_by_freq": True}, {"max_norm": 1.0},
     {"max_norm": 0.5, "norm_type": 1.0}],
)  # fmt: skip
def test_embedding_parity(options):
    theirs = torch.nn.Embedding(10, 4, **options)
    ours = nn.Embedding(10, 4, **options)
    ours.load_state_dict({"weight": nnrun.tensor(theirs.weight.detach().numpy().copy())})
    assert repr(ours) == repr(theirs)
    idx = np.array([[1, 2, 0, 9], [2, 2, 5, 0], [9, 9, 9, 3]])
    y_ours, y_theirs = ours(nnrun.tensor(idx)), theirs(torch.tensor(idx))
    g = np.random.default_rng(0).standard_normal(y_theirs.shape).astype(np.float32)
    y_ours.backward(nnrun.tensor(g))
    y_theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(y_ours.detach().numpy(), y_theirs.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-6)


def test_embedding_init_and_padding_row():
    layer = nn.Embedding(1000, 20, padding_idx=3)
    w = layer.weight.detach().numpy()
    assert (w[3] == 0).all()
    others = np.delete(w, 3, axis=0)
    assert abs(others.mean()) < 0.02 and abs(others.std() - 1) < 0.02  # N(0, 1)
    assert layer.padding_idx == 3 and nn.Embedding(5, 2, padding_idx=-1).padding_idx == 4


def test_embedding_padding_idx_gets_zero_grad():
    w = nnrun.randn(5, 3, requires_grad=True)
    F.embedding(nnrun.tensor([0, 1, 1, 4]), w, padding_idx=1).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:, 0], [1, 0, 0, 0, 1])


def test_embedding_gradcheck():
    w = nnrun.randn(6, 3, dtype=nnrun.float64, requires_grad=True)
    idx = nnrun.tensor([[0, 5, 5], [2, 0, 1]])
    assert gradcheck(lambda w: F.embedding(idx, w), (w,))
    # scale_grad_by_freq deliberately departs from the true gradient; the parity test covers it
    padded = F.embedding(idx, w, padding_idx=5).detach()
    np.testing.assert_array_equal(padded.numpy(), F.embedding(idx, w).detach().numpy())


def test_embedding_from_pretrained():
    weights = nnrun.randn(4, 3)
    layer = nn.Embedding.from_pretrained(weights)
    assert not layer.weight.requires_grad and nnrun.equal(layer(nnrun.tensor([2])), weights[2:3])
    assert nn.Embedding.from_pretrained(weights, freeze=False).weight.requires_grad


def test_embedding_errors():
    w = nnrun.randn(3, 2)
    with pytest.raises(RuntimeError, match=r"Expected tensor for argument #1 'indices'.*Long, Int"):
        F.embedding(nnrun.tensor([1.0]), w)
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(nnrun.tensor([3]), w)
    with pytest.raises(ValueError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(3, 2, padding_idx=3)
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.Embedding(3, 2, sparse=True)


# ----- one_hot -----
def test_one_hot():
    idx = np.array([[0, 2], [1, 4]])
    for num_classes in (-1, 6):
        ours = F.one_hot(nnrun.tensor(idx), num_classes)
        theirs = TF.one_hot(torch.tensor(idx), num_classes)
        assert ours.dtype == nnrun.int64
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert F.one_hot(nnrun.tensor(np.zeros(0, dtype=np.int64)), 3).shape == nnrun.Size([0, 3])
    assert F.one_hot(nnrun.tensor(2), 3).numpy().tolist() == [0, 0, 1]


@pytest.mark.parametrize(
    "values, num_classes, message",
    [
        (np.array([1.0, 2.0]), -1, "one_hot is only applicable to index tensor of type LongTensor."),
        (np.array([-1, 2]), -1, "Class values must be non-negative."),
        (np.array([1, 2]), 2, "Class values must be smaller than num_classes."),
        (np.zeros(0, dtype=np.int64), -1, "Can not infer total number of classes from empty tensor."),
    ],
)
def test_one_hot_errors(values, num_classes, message):
    with pytest.raises(RuntimeError, match=message):
        F.one_hot(nnrun.tensor(values), num_classes)


# ----- pad -----
PAD_CASES = [
    ((2, 3, 5), (1, 2), "constant"),
    ((2, 3, 5), (1, 2), "reflect"),
    ((2, 3, 5), (1, 2), "replicate"),
    ((2, 3, 5), (2, 3), "circular"),
    ((3, 5), (4, 1), "reflect"),  # unbatched
    ((2, 3, 4, 5), (2, 1, -1, 3), "constant"),
    ((2, 3, 4, 5), (2, 1, -1, 3), "reflect"),
    ((2, 3, 4, 5), (3, 3, 2, 2), "replicate"),
    ((2, 3, 4, 5), (2, 1, -1, 3), "circular"),
    ((1, 2, 3, 4, 5), (1, 2, 0, 1, 2, 1), "reflect"),
    ((1, 2, 3, 4, 5), (1, 2, 0, 1, 2, 1), "replicate"),
    ((1, 2, 3, 4, 5), (1, 2, 0, 1, 2, 1), "circular"),
    ((2, 3, 5), (-2, 1), "circular"),
    ((2, 3, 5), (-2, 1, 1, 0, 0, 1), "constant"),
]


@pytest.mark.parametrize("shape, pad, mode", PAD_CASES)
def test_pad_parity(shape, pad, mode):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    yt = TF.pad(xt, pad, mode)
    g = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(g))
    xo = nnrun.tensor(x, requires_grad=True)
    yo = F.pad(xo, pad, mode)
    yo.backward(nnrun.tensor(g))
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradcheck(mode):
    x = nnrun.randn(1, 2, 3, 4, dtype=nnrun.float64, requires_grad=True)
    assert gradcheck(lambda t: F.pad(t, (2, 1, 1, 2), mode), (x,))


def test_pad_constant_value_and_dtype():
    y = F.pad(nnrun.ones(2, 2), (1, 1), value=-3.5)
    assert y.dtype == nnrun.float32
    np.testing.assert_array_equal(y.numpy()[:, 0], [-3.5, -3.5])


@pytest.mark.parametrize(
    "shape, pad, mode, value, error, message",
    [
        ((1, 1, 3), (1, 2, 3), "constant", None, RuntimeError, "Padding length must be divisible by 2"),
        ((1, 1, 3), (1,) * 8, "constant", None, RuntimeError, "Padding length should be less than or equal"),
        (
            (1, 1, 3),
            (4, 4),
            "reflect",
            None,
            RuntimeError,
            "Padding size should be less than the corresponding",
        ),
        ((1, 1, 3), (1, 1), "reflect", 1.0, RuntimeError, 'Padding mode "reflect" doesn\'t take in value'),
        ((1, 1, 3), (1, 1), "foo", None, NotImplementedError, "Unrecognised padding mode foo"),
        ((3,), (1, 1), "reflect", None, NotImplementedError, "Padding size 2 is not supported for 1D input"),
        ((1, 2, 3), (4, 4), "circular", None, RuntimeError, "wrapping around more than once"),
        ((1, 2, 3), (-2, -2), "constant", None, RuntimeError, r"narrow\(\): length must be non-negative"),
    ],
)
def test_pad_errors(shape, pad, mode, value, error, message):
    with pytest.raises(error, match=message):
        F.pad(nnrun.randn(*shape), pad, mode, value)


# ----- Flatten / Unflatten -----
def test_flatten_unflatten():
    x = nnrun.randn(2, 3, 4, 5, requires_grad=True)
    flat = nn.Flatten()
    assert flat(x).shape == nnrun.Size([2, 60])
    assert nn.Flatten(0, 2)(x).shape == nnrun.Size([24, 5])
    un = nn.Unflatten(1, (3, 20))
    y = un(flat(x))
    assert y.shape == nnrun.Size([2, 3, 20])
    y.sum().backward()
    assert x.grad.shape == x.shape
    assert repr(flat) == repr(torch.nn.Flatten())
    assert repr(nn.Flatten(0, 2)) == repr(torch.nn.Flatten(0, 2))
    assert repr(un) == repr(torch.nn.Unflatten(1, (3, 20)))
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints"):
        nn.Unflatten(1, 3)
