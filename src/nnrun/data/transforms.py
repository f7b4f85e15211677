"""Batch transforms: ``t(batch, rng) -> batch`` on float32 images (N, C, H, W) and a NumPy ``Generator``.

``ArrayDataset`` scales uint8 images to [0, 1] before its transform runs, so ``Normalize`` takes the usual
torchvision statistics (MNIST: mean 0.1307, std 0.3081). Random transforms draw everything from ``rng``;
``DataLoader`` derives it from (seed, epoch, batch index), so a resumed run repeats its augmentations.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np

from nnrun._memory import too_large
from nnrun.registry import Registry

BatchTransform = Callable[[np.ndarray, np.random.Generator], np.ndarray]


class Transform(ABC):
    """A batch transform a config can name: subclass it, define ``__call__`` and ``@nnrun.register`` the
    class to write ``augment: [{MyTransform: {arguments}}]``."""

    @abstractmethod
    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The transformed ``batch`` (N, C, H, W); random choices come from ``rng``."""


def _check_images(batch: np.ndarray, name: str) -> None:
    if batch.ndim != 4:
        raise ValueError(f"{name} expects images (N, C, H, W), got shape {batch.shape}")


class Compose(Transform):
    """Apply ``transforms`` in order, each with the same ``rng``."""

    def __init__(self, transforms: Sequence[BatchTransform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for transform in self.transforms:
            batch = transform(batch, rng)
        return batch

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class Normalize(Transform):
    """``(x - mean[c]) / std[c]`` per channel (axis 1); one value applies to every channel."""

    def __init__(self, mean: Sequence[float] | float, std: Sequence[float] | float) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float32))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float32))
        if self.mean.ndim != 1 or self.std.ndim != 1 or len(self.mean) != len(self.std):
            raise ValueError(
                f"Normalize: mean {mean!r} and std {std!r} must be numbers or equal-length lists"
            )
        if np.any(self.std == 0):
            raise ValueError(
                f"std evaluated to zero after conversion to float32, leading to division by zero: {std!r}"
            )

    def __call__(self, batch: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        if batch.ndim < 2 and len(self.mean) > 1:
            raise ValueError(
                f"Normalize with {len(self.mean)} channels needs a channel axis, got {batch.shape}"
            )
        if len(self.mean) not in (1, batch.shape[1]):
            raise ValueError(f"Normalize has {len(self.mean)} channels, the batch {batch.shape[1]} (axis 1)")
        shape = (1, -1) + (1,) * (batch.ndim - 2) if batch.ndim >= 2 else (-1,)
        return (batch - self.mean.reshape(shape)) / self.std.reshape(shape)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomCrop(Transform):
    """Zero-pad by ``padding`` on every side, then crop a random ``size`` window from each image."""

    def __init__(self, size: int | Sequence[int], padding: int = 0) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if len(self.size) != 2 or min(self.size) <= 0:
            raise ValueError(f"RandomCrop size must be a positive int or (h, w), got {size!r}")
        if not isinstance(padding, int) or padding < 0:
            raise ValueError(f"RandomCrop padding must be a non-negative int, got {padding!r}")
        self.padding = padding
        self._fits: set[tuple[int, ...]] = set()  # batch shapes (and itemsizes) whose padded copy fits

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        _check_images(batch, "RandomCrop")
        p, (h, w) = self.padding, self.size
        key = (*batch.shape, batch.itemsize)
        if p and key not in self._fits:  # once per batch shape, not on every step
            n, c, height, width = batch.shape
            problem = too_large(n * c * (height + 2 * p) * (width + 2 * p) * batch.itemsize)
            if problem:
                raise ValueError(f"RandomCrop: padding {p} makes a batch of {n} images take {problem}")
            self._fits.add(key)
        padded = np.pad(batch, ((0, 0), (0, 0), (p, p), (p, p))) if p else batch
        n, _, height, width = padded.shape
        if h > height or w > width:
            raise ValueError(f"RandomCrop size {self.size} is larger than the padded image {(height, width)}")
        top = rng.integers(0, height - h + 1, size=n)
        left = rng.integers(0, width - w + 1, size=n)
        # one strided view of every (h, w) window, then one gather of each image's chosen window
        windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))
        return np.ascontiguousarray(windows[np.arange(n), :, top, left])

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip probability must be in [0, 1], got {p!r}")
        self.p = float(p)

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        _check_images(batch, "RandomHorizontalFlip")
        flip = rng.random(len(batch)) < self.p
        out = batch.copy()
        out[flip] = batch[flip, :, :, ::-1]
        return out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


#: Names used by training configs (``transforms: [normalize: {...}, random_crop: {...}, hflip: {...}]``).
TRANSFORMS = Registry(
    "transform",
    base=Transform,
    builtins=lambda: {"normalize": Normalize, "random_crop": RandomCrop, "hflip": RandomHorizontalFlip},
)
