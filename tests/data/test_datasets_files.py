"""Readers on tiny files written here (IDX, CIFAR-10 binary, npz), synthetic data and real MNIST."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from nnrun.data import ArrayDataset, DatasetError, load_dataset
from nnrun.data.datasets import read_cifar_binary
from nnrun.data.transforms import Normalize

MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"


def write_idx(path, array, compress):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with (gzip.open if compress else open)(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


def fake_idx_folder(folder, split="train", n=7, compress=True):
    prefix = "train" if split == "train" else "t10k"
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (n, 28, 28)), rng.integers(0, 10, n)
    suffix = ".gz" if compress else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, compress)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress)
    return images, labels


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("split", ["train", "test"])
def test_idx_family(tmp_path, name, compress, split):
    images, labels = fake_idx_folder(tmp_path, split, compress=compress)
    dataset = load_dataset(name, tmp_path, split)
    assert isinstance(dataset, ArrayDataset)
    assert dataset.x.shape == (7, 1, 28, 28) and dataset.x.dtype == np.uint8
    np.testing.assert_array_equal(dataset.x[:, 0], images)
    assert dataset.y.dtype == np.int64 and dataset.y.tolist() == labels.tolist()


def test_missing_idx_files_name_the_folder(tmp_path):
    fake_idx_folder(tmp_path, "train")
    with pytest.raises(
        DatasetError, match=r"MNIST not found in .*: expected t10k-images-idx3-ubyte\(\.gz\)"
    ) as info:
        load_dataset("mnist", tmp_path, "test")
    assert str(tmp_path) in str(info.value) and "download" in str(info.value)


def test_mismatched_idx_files(tmp_path):
    fake_idx_folder(tmp_path, "train")
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(3), compress=True)
    with pytest.raises(DatasetError, match=r"do not match"):
        load_dataset("mnist", tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(DatasetError, match=r"unreadable"):
        load_dataset("mnist", tmp_path)


def write_cifar_batch(path, n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    pixels = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    path.write_bytes(np.concatenate([labels[:, None], pixels], axis=1).tobytes())
    return pixels.reshape(n, 3, 32, 32), labels


@pytest.mark.parametrize("nested", [True, False])
def test_cifar10_binary(tmp_path, nested):
    folder = tmp_path / "cifar-10-batches-bin" if nested else tmp_path
    folder.mkdir(exist_ok=True)
    parts = [write_cifar_batch(folder / f"data_batch_{i}.bin", 2, i) for i in range(1, 6)]
    test_pixels, test_labels = write_cifar_batch(folder / "test_batch.bin", 3, 9)
    train = load_dataset("cifar10", tmp_path, "train")
    assert train.x.shape == (10, 3, 32, 32) and train.x.dtype == np.uint8
    np.testing.assert_array_equal(train.x, np.concatenate([p[0] for p in parts]))
    assert train.y.tolist() == np.concatenate([p[1] for p in parts]).tolist()
    test = load_dataset("cifar10", tmp_path, "test")
    np.testing.assert_array_equal(test.x, test_pixels)
    assert test.y.tolist() == test_labels.tolist()


def test_cifar10_errors(tmp_path):
    with pytest.raises(
        DatasetError, match=r"CIFAR-10 \(binary version\) not found .* missing data_batch_1\.bin"
    ):
        load_dataset("cifar10", tmp_path)
    (tmp_path / "bad.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(DatasetError, match=r"bad\.bin: not a CIFAR-10 binary batch"):
        read_cifar_binary(tmp_path / "bad.bin")


def test_npz_file_and_folder(tmp_path):
    x, y = np.arange(12, dtype=np.float32).reshape(4, 3), np.array([0, 1, 1, 0])
    np.savez(tmp_path / "train.npz", x=x, y=y)
    for root in (tmp_path, tmp_path / "train.npz"):
        dataset = load_dataset("npz", root, "train", transform=Normalize(1.0, 2.0))
        np.testing.assert_array_equal(dataset.x, x)
        batch, labels = dataset.get_batch(np.arange(4))
        np.testing.assert_allclose(batch, (x - 1) / 2)
        assert labels.dtype == np.int64
    with pytest.raises(DatasetError, match=r"test\.npz does not exist"):
        load_dataset("npz", tmp_path, "test")


def test_npz_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, x=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DatasetError, match=r"evil\.npz: cannot be read without unpickling"):
        load_dataset("npz", path)


def test_npz_needs_x_and_y(tmp_path):
    np.savez(tmp_path / "train.npz", images=np.zeros((2, 2)))
    with pytest.raises(DatasetError, match=r"expected arrays 'x' and 'y', found \['images'\]"):
        load_dataset("npz", tmp_path)
    (tmp_path / "train.npz").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match=r"not a readable \.npz"):
        load_dataset("npz", tmp_path)


def test_synthetic_is_seeded_balanced_and_separable():
    train = load_dataset("synthetic", split="train", num_classes=4, shape=(2, 3), train_size=400, seed=1)
    again = load_dataset("synthetic", split="train", num_classes=4, shape=(2, 3), train_size=400, seed=1)
    test = load_dataset("synthetic", split="test", num_classes=4, shape=(2, 3), test_size=100, seed=1)
    assert train.x.shape == (400, 2, 3) and train.x.dtype == np.float32 and test.x.shape == (100, 2, 3)
    np.testing.assert_array_equal(train.x, again.x)
    assert np.bincount(train.y).tolist() == [100] * 4
    assert not np.array_equal(train.x[:100], test.x)
    # nearest class mean from train classifies test well: the clusters are shared between splits
    means = np.stack([train.x[train.y == c].reshape(-1, 6).mean(0) for c in range(4)])
    predicted = np.argmin(((test.x.reshape(-1, 1, 6) - means) ** 2).sum(-1), axis=1)
    assert (predicted == test.y).mean() > 0.9


def test_registry_errors(tmp_path):
    with pytest.raises(
        DatasetError, match="Unknown dataset 'imagenet': expected one of mnist, fashion_mnist"
    ):
        load_dataset("imagenet", tmp_path)
    with pytest.raises(DatasetError, match="reads files: give root"):
        load_dataset("mnist")
    with pytest.raises(DatasetError, match="cannot be downloaded"):
        load_dataset("synthetic", download=True)
    with pytest.raises(DatasetError, match="has no option 'colour'"):
        load_dataset("synthetic", colour=1)
    with pytest.raises(DatasetError, match="Unknown split 'val'"):
        load_dataset("mnist", tmp_path, "val")


@pytest.mark.skipif(not MNIST.is_dir(), reason=f"real MNIST not found at {MNIST}")
def test_real_mnist():
    test = load_dataset("mnist", MNIST, "test")
    assert test.x.shape == (10000, 1, 28, 28) and test.y[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(test.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
