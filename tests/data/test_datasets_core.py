"""Dataset, TensorDataset, ArrayDataset, Subset, random_split and default_collate (torch as the oracle)."""

from collections import namedtuple

import numpy as np
import pytest

import nnrun
from nnrun.data import ArrayDataset, TensorDataset, default_collate, random_split


def test_tensor_dataset_indexes_every_tensor():
    x, y = nnrun.arange(6).reshape(3, 2), nnrun.tensor([7, 8, 9])
    dataset = TensorDataset(x, y)
    assert len(dataset) == 3
    row, label = dataset[1]
    assert row.numpy().tolist() == [2, 3] and label.item() == 8


def test_tensor_dataset_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(nnrun.zeros(3, 2), nnrun.zeros(4))


def test_array_dataset_sample_is_scaled_float32_and_int64_label():
    x = np.array([[[[0, 255]]], [[[51, 102]]]], dtype=np.uint8)
    dataset = ArrayDataset(x, np.array([1, 0], dtype=np.uint8))
    image, label = dataset[1]
    assert image.dtype == nnrun.float32 and image.shape == (1, 1, 2)
    np.testing.assert_allclose(image.numpy(), [[[0.2, 0.4]]], rtol=1e-6)
    assert label.dtype == nnrun.int64 and label.item() == 0
    assert dataset.num_classes == 2


def test_array_dataset_keeps_floats_unscaled():
    x, _ = ArrayDataset(np.array([[2.5], [4.0]]), np.array([0, 1])).get_batch(np.array([1]))
    assert x.dtype == np.float32 and x.tolist() == [[4.0]]


@pytest.mark.parametrize(
    ("x", "y", "error", "match"),
    [
        (np.zeros((3, 2)), np.zeros(2, dtype=int), ValueError, "expects x"),
        (np.zeros((3, 2), dtype=np.int32), np.zeros(3, dtype=int), TypeError, "uint8 or floating"),
        (np.zeros((3, 2)), np.array(["a", "b", "c"]), TypeError, "targets must be integers or floating"),
        (np.zeros((3, 2)), np.zeros((3, 1, 1)), ValueError, "expects x"),
    ],
)
def test_array_dataset_validation(x, y, error, match):
    with pytest.raises(error, match=match):
        ArrayDataset(x, y)


def test_array_dataset_keeps_float_targets_as_float32():
    dataset = ArrayDataset(np.zeros((3, 2)), np.array([[1.5, 2.0], [0.0, -1.0], [3.0, 4.0]]))
    _, y = dataset.get_batch(np.array([2, 0]))
    assert y.dtype == np.float32 and y.tolist() == [[3.0, 4.0], [1.5, 2.0]]
    assert dataset.num_classes == 0
    labels = dataset.with_targets(np.array([0, 1, 1]))
    assert labels.y.dtype == np.int64 and labels.x is dataset.x


def test_random_split_fractions_and_lengths():
    dataset = ArrayDataset(np.zeros((10, 1)), np.arange(10))
    train, val = random_split(dataset, [0.75, 0.25], generator=nnrun.Generator().manual_seed(0))
    assert (len(train), len(val)) == (8, 2)  # 7 + 2 + the remainder round-robin, as torch does
    assert sorted(np.concatenate([train.indices, val.indices]).tolist()) == list(range(10))
    again = random_split(dataset, [8, 2], generator=nnrun.Generator().manual_seed(0))
    assert again[0].indices.tolist() == train.indices.tolist()
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(dataset, [3, 3])


def test_array_dataset_subset_copies_rows():
    dataset = ArrayDataset(np.arange(5, dtype=np.float32)[:, None], np.arange(5))
    part = dataset.subset([4, 0])
    assert isinstance(part, ArrayDataset) and part.y.tolist() == [4, 0]


Point = namedtuple("Point", ["x", "y"])


@pytest.mark.parametrize(
    "samples",
    [
        [(np.ones(3, dtype=np.float32), 1), (np.zeros(3, dtype=np.float32), 2)],
        [{"a": 1.5, "b": True}, {"a": 2.0, "b": False}],
        [[1, 2], [3, 4]],
        [Point(np.int64(1), 0.5), Point(np.int64(2), 1.5)],
        [("cat", 1), ("dog", 2)],
    ],
)
def test_default_collate_matches_torch(samples):
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    def compare(ours, theirs):
        if isinstance(theirs, torch.Tensor):
            assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        elif isinstance(theirs, dict):
            assert ours.keys() == theirs.keys()
            for key in theirs:
                compare(ours[key], theirs[key])
        elif isinstance(theirs, (tuple, list)) and not isinstance(theirs[0], str):
            assert type(ours) is type(theirs) and len(ours) == len(theirs)
            for a, b in zip(ours, theirs):
                compare(a, b)
        else:
            assert ours == theirs

    compare(default_collate(samples), torch_collate(samples))


def test_default_collate_stacks_tensors_and_rejects_unknown_types():
    stacked = default_collate([nnrun.tensor([1.0, 2.0]), nnrun.tensor([3.0, 4.0])])
    assert stacked.shape == (2, 2)
    with pytest.raises(TypeError, match="found object"):
        default_collate([object()])
    with pytest.raises(ValueError, match="empty"):
        default_collate([])
