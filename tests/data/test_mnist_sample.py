"""The embedded MNIST sample: shapes, dtypes, class balance, provenance and reproducible bytes."""

import hashlib
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from nnrun.data import load_dataset
from nnrun.data.idx import read_idx

ROOT = Path(__file__).resolve().parents[2]
MNIST = ROOT.parent / "shared" / "data" / "mnist"
SAMPLE = resources.files("nnrun.data").joinpath("_embedded", "mnist_sample.npz")


@pytest.mark.parametrize(("split", "n"), [("train", 6000), ("test", 1000)])
def test_sample_shapes_dtypes_and_balance(split, n):
    dataset = load_dataset("mnist_sample", split=split)
    assert dataset.x.shape == (n, 1, 28, 28) and dataset.x.dtype == np.uint8
    assert dataset.y.dtype == np.int64 and dataset.y.min() == 0 and dataset.y.max() == 9
    assert np.bincount(dataset.y).tolist() == [n // 10] * 10
    assert dataset.x.max() == 255 and dataset.x.mean() > 20  # real digits, not blank images


def test_sample_ships_with_attribution():
    readme = SAMPLE.parent.joinpath("README.md").read_text(encoding="utf-8")
    assert "Yann LeCun, Corinna Cortes and Christopher J.C. Burges" in readme and "CC BY-SA 3.0" in readme
    assert Path(str(SAMPLE)).stat().st_size <= 2 * 1024 * 1024


@pytest.mark.skipif(not MNIST.is_dir(), reason=f"real MNIST not found at {MNIST}")
def test_sample_images_are_the_real_ones_at_their_indices():
    with np.load(str(SAMPLE), allow_pickle=False) as archive:
        index, images, labels = archive["index_test"], archive["x_test"], archive["y_test"]
    np.testing.assert_array_equal(images, read_idx(MNIST / "t10k-images-idx3-ubyte.gz")[index])
    np.testing.assert_array_equal(labels, read_idx(MNIST / "t10k-labels-idx1-ubyte.gz")[index])


@pytest.mark.skipif(not MNIST.is_dir(), reason=f"real MNIST not found at {MNIST}")
def test_script_rebuilds_the_same_bytes(tmp_path):
    out = tmp_path / "sample.npz"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "make_mnist_sample.py"),
            "--mnist",
            str(MNIST),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
