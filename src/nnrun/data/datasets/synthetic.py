"""A seeded synthetic classification set: Gaussian clusters, one per class, for smoke tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnrun.data.dataset import ArrayDataset
from nnrun.data.errors import DatasetError
from nnrun.data.transforms import BatchTransform

_SPLIT_STREAM = {"train": 1, "test": 2}


def make_classification(
    split: str = "train",
    *,
    num_samples: int | None = None,
    num_classes: int = 10,
    shape: Sequence[int] = (1, 8, 8),
    train_size: int = 2048,
    test_size: int = 512,
    separation: float = 2.0,
    noise: float = 1.0,
    seed: int = 0,
    transform: BatchTransform | None = None,
) -> ArrayDataset:
    """Float32 inputs (N, *shape) drawn around one centre per class, and balanced int64 labels (N,).

    Every split shares the class centres (drawn from ``seed``) and draws its own samples, so a model fitted
    on "train" generalises to "test". ``num_samples`` overrides the split's size.
    """
    if split not in _SPLIT_STREAM:
        raise DatasetError(f"Unknown split {split!r}: expected 'train' or 'test'.")
    n = num_samples if num_samples is not None else (train_size if split == "train" else test_size)
    shape = tuple(int(d) for d in shape)
    if n < 0 or num_classes < 1 or not shape or min(shape) < 1:
        raise DatasetError(
            f"synthetic: need num_samples >= 0, num_classes >= 1 and a non-empty positive shape "
            f"(got {n}, {num_classes}, {shape})."
        )
    features = int(np.prod(shape))
    centres = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    centres = separation * centres.standard_normal((num_classes, features))
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SPLIT_STREAM[split],)))
    labels = rng.permutation(np.arange(n) % num_classes).astype(np.int64)
    x = centres[labels] + noise * rng.standard_normal((n, features))
    return ArrayDataset(x.astype(np.float32).reshape(n, *shape), labels, transform)
