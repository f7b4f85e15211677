"""The MNIST sample shipped inside nnrun: 6,000 training and 1,000 test images, class-balanced.

Built by ``scripts/make_mnist_sample.py``; see ``nnrun/data/_embedded/README.md`` for its source and
attribution. It lets a fresh install train without data files or a network.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from nnrun.data.dataset import ArrayDataset
from nnrun.data.errors import DatasetError
from nnrun.data.transforms import BatchTransform

FILENAME = "mnist_sample.npz"


def load_mnist_sample(split: str = "train", transform: BatchTransform | None = None) -> ArrayDataset:
    """Images uint8 (N, 1, 28, 28) and labels int64 (N,): N = 6,000 for "train", 1,000 for "test"."""
    if split not in ("train", "test"):
        raise DatasetError(f"Unknown split {split!r}: expected 'train' or 'test'.")
    source = resources.files("nnrun.data").joinpath("_embedded", FILENAME)
    try:
        with source.open("rb") as stream, np.load(stream, allow_pickle=False) as archive:
            images, labels = archive[f"x_{split}"], archive[f"y_{split}"]
    except (OSError, KeyError, ValueError) as error:
        raise DatasetError(
            f"The embedded MNIST sample ({source}) is missing or damaged ({error}); reinstall nnrun, or "
            "rebuild it with scripts/make_mnist_sample.py."
        ) from error
    return ArrayDataset(images[:, None], labels.astype(np.int64), transform)
