"""Map-style datasets: ``Dataset``, ``TensorDataset``, ``ArrayDataset``, ``Subset`` and ``random_split``."""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nnrun import _backend, _random
from nnrun._tensor import Tensor
from nnrun.data.transforms import BatchTransform


class Dataset:
    """A map-style dataset: ``dataset[i]`` is one sample and ``len(dataset)`` the number of samples.

    A dataset may also define ``get_batch(indices, rng)`` returning a tuple of arrays with a leading batch
    axis; ``DataLoader`` then fetches whole batches with one vectorized gather instead of a Python loop.
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


class TensorDataset(Dataset):
    """Samples are the ``index``-th rows of the given tensors, which share their first dimension."""

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        sizes = [int(t.shape[0]) if t.dim() > 0 else None for t in tensors]
        if None in sizes or len(set(sizes)) != 1:
            raise ValueError(f"Size mismatch between tensors: first dimensions {sizes}")
        self.tensors = tuple(tensors)

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])

    def get_batch(self, indices: np.ndarray, rng: np.random.Generator | None = None) -> tuple[Any, ...]:
        """The rows ``indices`` of every tensor as arrays, dtypes unchanged (what stacking samples gives)."""
        return tuple(t._data[_backend.array_module(t._data).asarray(indices)] for t in self.tensors)


class ArrayDataset(Dataset):
    """In-memory inputs ``x`` (N, ...) and targets ``y`` with a vectorized batch path: integer labels (N,),
    kept as int64, or float targets (N,) or (N, K) (regression values, 0/1 labels), kept as float32.

    Images are kept as stored (uint8 (N, C, H, W) for MNIST and CIFAR-10). A batch is converted to float32
    once: uint8 inputs are scaled to [0, 1] (like torchvision's ``ToTensor``), float inputs are cast without
    scaling. ``transform`` then runs on the float32 batch: ``transform(batch, rng) -> batch``.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, transform: BatchTransform | None = None) -> None:
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim < 1 or y.ndim not in (1, 2) or len(x) != len(y):
            raise ValueError(
                f"ArrayDataset expects x (N, ...) and y (N,) or (N, K), got shapes {x.shape} and {y.shape}"
            )
        if x.dtype != np.uint8 and x.dtype.kind != "f":
            raise TypeError(f"ArrayDataset inputs must be uint8 or floating point, got {x.dtype}")
        if y.dtype.kind not in "iuf":
            raise TypeError(f"ArrayDataset targets must be integers or floating point, got {y.dtype}")
        self.x = np.ascontiguousarray(x)
        self.y = np.ascontiguousarray(y, dtype=np.int64 if y.dtype.kind in "iu" else np.float32)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.y)

    def get_batch(
        self, indices: np.ndarray, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (B, ...) as float32 after scaling and ``transform``, and targets as stored."""
        raw = self.x[indices]
        x = raw.astype(np.float32)
        if raw.dtype == np.uint8:
            x *= np.float32(1 / 255)
        if self.transform is not None:
            x = self.transform(x, np.random.default_rng() if rng is None else rng)
        return x, self.y[indices]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        x, y = self.get_batch(np.array([index], dtype=np.int64))
        return Tensor._make(x[0]), Tensor._make(y[0, ...])

    def subset(self, indices: Sequence[int] | np.ndarray) -> ArrayDataset:
        """A new ``ArrayDataset`` holding the rows ``indices`` (copied), with the same transform."""
        indices = np.asarray(indices, dtype=np.int64)
        return ArrayDataset(self.x[indices], self.y[indices], self.transform)

    def with_targets(self, y: np.ndarray) -> ArrayDataset:
        """The same inputs and transform with other targets (a task's form of them)."""
        return ArrayDataset(self.x, y, self.transform)

    @property
    def num_classes(self) -> int:
        return int(self.y.max()) + 1 if len(self.y) and self.y.dtype.kind in "iu" else 0


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``; keeps the vectorized path when the dataset has one."""

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return len(self.indices)

    def get_batch(self, indices: np.ndarray, rng: np.random.Generator | None = None) -> tuple[Any, ...]:
        if not has_batch_path(self.dataset):
            raise TypeError(f"{type(self.dataset).__name__} has no get_batch()")
        return self.dataset.get_batch(self.indices[indices], rng)


def with_transform(dataset: Dataset, transform: BatchTransform | None) -> Dataset:
    """A shallow copy of ``dataset`` whose batches go through ``transform`` (its arrays are shared)."""
    changed = copy.copy(dataset)
    changed.transform = transform  # type: ignore[attr-defined]
    return changed


def has_batch_path(dataset: Dataset) -> bool:
    """Whether ``dataset`` (or the dataset under a ``Subset``) can fetch whole batches at once."""
    if isinstance(dataset, Subset):
        return has_batch_path(dataset.dataset)
    return callable(getattr(dataset, "get_batch", None))


def random_split(
    dataset: Dataset, lengths: Sequence[int | float], generator: _random.Generator | None = None
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of given lengths (or fractions), like torch."""
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(counts)):  # the remainder goes round-robin, as torch does
            counts[i % len(counts)] += 1
    else:
        counts = [int(length) for length in lengths]
    if any(c < 0 for c in counts) or sum(counts) != n:
        raise ValueError(
            f"Sum of input lengths {list(lengths)} does not equal the length of the dataset ({n})"
        )
    order = _random.generator_or_default(generator).numpy_generator.permutation(n)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[lo:hi]) for lo, hi in itertools.pairwise(bounds)]
