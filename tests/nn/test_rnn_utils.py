"""``nn.utils.rnn``: packing and padding against torch (values, indices, gradients), round trips, errors."""

import numpy as np
import pytest

import nnrun
from nnrun.nn.utils import rnn

torch = pytest.importorskip("torch")
trnn = pytest.importorskip("torch.nn.utils.rnn")


def _both(array, requires_grad=True):
    return nnrun.tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


def _same(ours, theirs):
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())


def _same_packed(ours, theirs):
    assert isinstance(ours, rnn.PackedSequence)
    _same(ours.data, theirs.data)
    assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist()
    assert ours.batch_sizes.dtype == nnrun.int64 and ours.batch_sizes.device.type == "cpu"
    for mine, other in (
        (ours.sorted_indices, theirs.sorted_indices),
        (ours.unsorted_indices, theirs.unsorted_indices),
    ):
        assert (mine is None and other is None) or mine.tolist() == other.tolist()


def _backward_same(ours_leaf, ours_out, theirs_leaf, theirs_out):
    weight = np.random.default_rng(3).standard_normal(tuple(theirs_out.shape))
    (ours_out * nnrun.tensor(weight)).sum().backward()
    (theirs_out * torch.tensor(weight)).sum().backward()
    _same(ours_leaf.grad, theirs_leaf.grad)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize(
    "lengths, enforce_sorted", [([4, 3, 1], True), ([2, 4, 4, 1], False), ([1, 3], False)]
)
def test_pack_and_pad_packed_like_torch(batch_first, lengths, enforce_sorted):
    shape = (len(lengths), 4, 2) if batch_first else (4, len(lengths), 2)
    x_ours, x_theirs = _both(np.random.default_rng(0).standard_normal(shape))
    p_ours = rnn.pack_padded_sequence(x_ours, lengths, batch_first, enforce_sorted)
    p_theirs = trnn.pack_padded_sequence(x_theirs, torch.tensor(lengths), batch_first, enforce_sorted)
    _same_packed(p_ours, p_theirs)
    for total_length in (None, 6):
        pad_ours, len_ours = rnn.pad_packed_sequence(p_ours, batch_first, -1.5, total_length)
        pad_theirs, len_theirs = trnn.pad_packed_sequence(p_theirs, batch_first, -1.5, total_length)
        _same(pad_ours, pad_theirs)
        assert len_ours.tolist() == len_theirs.tolist() and len_ours.dtype == nnrun.int64
    _backward_same(x_ours, pad_ours, x_theirs, pad_theirs)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_like_torch(batch_first, padding_side):
    rng = np.random.default_rng(0)
    pairs = [_both(rng.standard_normal((n, 2, 3))) for n in (2, 5, 1)]
    ours = rnn.pad_sequence([p[0] for p in pairs], batch_first, 0.5, padding_side)
    theirs = trnn.pad_sequence([p[1] for p in pairs], batch_first, 0.5, padding_side)
    _same(ours, theirs)
    weight = rng.standard_normal(tuple(theirs.shape))
    (ours * nnrun.tensor(weight)).sum().backward()
    (theirs * torch.tensor(weight)).sum().backward()
    for mine, other in pairs:
        _same(mine.grad, other.grad)


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_unpack_and_unpad_like_torch(enforce_sorted):
    rng = np.random.default_rng(0)
    lengths = (4, 3, 1) if enforce_sorted else (1, 4, 3)
    pairs = [_both(rng.standard_normal((n, 2))) for n in lengths]
    p_ours = rnn.pack_sequence([p[0] for p in pairs], enforce_sorted)
    p_theirs = trnn.pack_sequence([p[1] for p in pairs], enforce_sorted)
    _same_packed(p_ours, p_theirs)
    for mine, other in zip(rnn.unpack_sequence(p_ours), trnn.unpack_sequence(p_theirs)):
        _same(mine, other)
    padded = rnn.pad_sequence([p[0] for p in pairs], batch_first=True)
    for mine, (original, _) in zip(
        rnn.unpad_sequence(padded, nnrun.tensor(lengths), batch_first=True), pairs
    ):
        _same(mine, original)


def test_packed_sequence_is_a_named_tuple_like_torchs():
    packed = rnn.pack_sequence([nnrun.ones(3, 2), nnrun.ones(1, 2)])
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert rnn.PackedSequence._fields == trnn.PackedSequence._fields
    assert data is packed.data and sorted_indices is None and unsorted_indices is None
    assert batch_sizes.tolist() == [2, 1, 1]
    assert repr(packed).startswith("PackedSequence(data=tensor(") and not packed.is_cuda
    assert packed.to(nnrun.float64).data.dtype == nnrun.float64 and packed.cpu() is packed
    rebuilt = rnn.PackedSequence(packed.data, packed.batch_sizes, nnrun.tensor([1, 0]))
    assert rebuilt.unsorted_indices.tolist() == [1, 0]


ERRORS = [
    (
        lambda m, lib: m.pack_padded_sequence(lib.zeros(4, 3, 2), [2, 3, 1]),
        RuntimeError,
        "`lengths` array must be sorted in decreasing order",
    ),
    (
        lambda m, lib: m.pack_padded_sequence(lib.zeros(4, 3, 2), [3, 2, 0]),
        RuntimeError,
        "Length of all samples has to be greater than 0",
    ),
    (
        lambda m, lib: m.pack_padded_sequence(lib.zeros(4, 3, 2), [3, 2]),
        RuntimeError,
        r"Expected `len\(lengths\)` to be equal to batch_size, but got 2 \(batch_size=3\)",
    ),
    (
        lambda m, lib: m.pad_packed_sequence(m.pack_sequence([lib.ones(3), lib.ones(2)]), total_length=2),
        ValueError,
        "Expected total_length to be at least the length of the longest sequence",
    ),
    (
        lambda m, lib: m.pad_sequence([lib.ones(2, 3), lib.ones(3, 2)]),
        RuntimeError,
        r"The size of tensor a \(3\) must match the size of tensor b \(2\) at non-singleton dimension 1",
    ),
    (lambda m, lib: m.pad_sequence([]), RuntimeError, "received an empty list of sequences"),
    (
        lambda m, lib: m.pad_sequence([lib.ones(2)], padding_side="middle"),
        RuntimeError,
        "Expected padding_side to be one of left or right, but got middle.",
    ),
]


@pytest.mark.parametrize("call, error, match", ERRORS)
def test_errors_as_torch(call, error, match):
    with pytest.raises(error, match=match):
        call(trnn, torch)
    with pytest.raises(error, match=match):
        call(rnn, nnrun)


def test_lengths_beyond_the_padded_input_are_refused():
    with pytest.raises(RuntimeError, match="a sequence length 5 exceeds the 4 steps"):
        rnn.pack_padded_sequence(nnrun.zeros(4, 3, 2), [5, 2, 1])
