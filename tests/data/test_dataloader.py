"""DataLoader: batch counts, drop_last, seeded order per epoch, exact resume, generator-driven shuffling."""

import numpy as np
import pytest

import nnrun
from nnrun.data import ArrayDataset, DataLoader, Dataset, Subset, TensorDataset, transforms


def images(n=10, seed=0):
    rng = np.random.default_rng(seed)
    return ArrayDataset(rng.integers(0, 256, (n, 1, 4, 4), dtype=np.uint8), np.arange(n) % 3)


def flat(lists):
    return [item for inner in lists for item in inner]


def labels_of(loader):
    return [batch[1].numpy().tolist() for batch in loader]


@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last", "sizes"),
    [
        (10, 3, False, [3, 3, 3, 1]),
        (10, 3, True, [3, 3, 3]),
        (9, 3, False, [3, 3, 3]),
        (2, 5, True, []),
        (0, 4, False, []),
    ],
)
def test_batch_count_and_sizes(n, batch_size, drop_last, sizes):
    loader = DataLoader(images(n), batch_size, drop_last=drop_last)
    assert len(loader) == len(sizes)
    assert [len(y) for _, y in loader] == sizes


def test_batches_are_float32_scaled_images_and_int64_labels():
    data = images(5)
    x, y = next(iter(DataLoader(data, batch_size=5)))
    assert x.dtype == nnrun.float32 and y.dtype == nnrun.int64 and x.device == nnrun.device("cpu")
    np.testing.assert_allclose(x.numpy(), data.x / np.float32(255), rtol=1e-6)
    np.testing.assert_array_equal(y.numpy(), data.y)


def test_unshuffled_order_is_the_dataset_order():
    assert flat(labels_of(DataLoader(images(7), 2))) == [0, 1, 2, 0, 1, 2, 0]


def test_seeded_order_is_a_function_of_seed_and_epoch():
    data = ArrayDataset(np.zeros((20, 1)), np.arange(20))
    first, again, other_seed = (DataLoader(data, 4, shuffle=True, seed=s) for s in (7, 7, 8))
    order = labels_of(first)
    assert sorted(flat(order)) == list(range(20)) and flat(order) != list(range(20))
    assert labels_of(again) == order  # same seed, same epoch
    assert labels_of(first) == order  # the epoch does not advance by itself
    assert labels_of(other_seed) != order
    first.set_epoch(1)
    epoch1 = labels_of(first)
    assert epoch1 != order
    again.set_epoch(1)
    assert labels_of(again) == epoch1
    first.set_epoch(0)
    assert labels_of(first) == order


def test_iter_from_resumes_the_same_batches_and_augmentations():
    data = images(23)
    data.transform = transforms.Compose(
        [transforms.RandomCrop(4, padding=1), transforms.RandomHorizontalFlip()]
    )
    loader = DataLoader(data, 5, shuffle=True, seed=3)
    loader.set_epoch(2)
    full = [(x.numpy(), y.numpy()) for x, y in loader]
    resumed_loader = DataLoader(data, 5, shuffle=True, seed=3)
    resumed_loader.set_epoch(2)
    resumed = [(x.numpy(), y.numpy()) for x, y in resumed_loader.iter_from(3)]
    assert len(resumed) == len(full) - 3
    for (x_full, y_full), (x_res, y_res) in zip(full[3:], resumed):
        np.testing.assert_array_equal(x_full, x_res)
        np.testing.assert_array_equal(y_full, y_res)
    assert list(loader.iter_from(len(loader))) == []
    with pytest.raises(IndexError, match="out of range"):
        loader.iter_from(len(loader) + 1)


def test_unseeded_shuffle_follows_the_generator():
    data = ArrayDataset(np.zeros((16, 1)), np.arange(16))
    run = lambda g: labels_of(DataLoader(data, 4, shuffle=True, generator=g))  # noqa: E731
    assert run(nnrun.Generator().manual_seed(1)) == run(nnrun.Generator().manual_seed(1))
    assert run(nnrun.Generator().manual_seed(1)) != run(nnrun.Generator().manual_seed(2))
    generator = nnrun.Generator().manual_seed(1)
    loader = DataLoader(data, 4, shuffle=True, generator=generator)
    assert labels_of(loader) != labels_of(loader)  # each epoch draws from the generator, like torch


def test_unseeded_shuffle_follows_the_global_seed():
    data = ArrayDataset(np.zeros((16, 1)), np.arange(16))
    nnrun.manual_seed(5)
    first = labels_of(DataLoader(data, 4, shuffle=True))
    nnrun.manual_seed(5)
    assert labels_of(DataLoader(data, 4, shuffle=True)) == first


class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float32), "y": i * i}


def test_generic_dataset_goes_through_collate():
    batches = list(DataLoader(Squares(), batch_size=2))
    assert [b["y"].numpy().tolist() for b in batches] == [[0, 1], [4, 9], [16]]
    assert batches[0]["x"].shape == (2, 2) and batches[0]["y"].dtype == nnrun.int64
    custom = list(DataLoader(Squares(), batch_size=3, collate_fn=lambda samples: len(samples)))
    assert custom == [3, 2]


def test_tensor_dataset_is_batched_like_stacked_samples():
    x = nnrun.arange(12, dtype=nnrun.float64).reshape(6, 2)
    y = nnrun.tensor([0, 1, 0, 1, 0, 1])
    dataset = TensorDataset(x, y)
    fast = list(DataLoader(dataset, 4, shuffle=True, seed=0))
    slow = list(DataLoader(dataset, 4, shuffle=True, seed=0, collate_fn=nnrun.data.default_collate))
    for (xf, yf), (xs, ys) in zip(fast, slow):
        assert xf.dtype == xs.dtype == nnrun.float64 and yf.dtype == ys.dtype == nnrun.int64
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())


def test_subset_keeps_the_vectorized_path():
    subset = Subset(images(10), [9, 3, 4])
    x, y = next(iter(DataLoader(subset, 3)))
    assert y.numpy().tolist() == [0, 0, 1] and x.shape == (3, 1, 4, 4)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(images(), batch_size)


def test_bad_seed_and_epoch():
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        DataLoader(images(), 2, seed=-1)
    with pytest.raises(ValueError, match="epoch must be a non-negative integer"):
        DataLoader(images(), 2).set_epoch(-3)


@pytest.mark.gpu
def test_batches_on_cuda():
    if not nnrun.cuda.is_available():
        pytest.skip("no CUDA device")
    x, y = next(iter(DataLoader(images(4), 4, device="cuda")))
    assert x.device.type == "cuda" and y.device.type == "cuda"
