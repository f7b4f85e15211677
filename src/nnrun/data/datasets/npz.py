"""Datasets stored as NumPy ``.npz`` files with arrays ``x`` (N, ...) and ``y`` (N,); never unpickled."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from nnrun.data.dataset import ArrayDataset
from nnrun.data.errors import DatasetError
from nnrun.data.transforms import BatchTransform


def npz_path(root: str | os.PathLike[str], split: str) -> Path:
    """``root`` itself when it is a file, else ``root/<split>.npz``."""
    root = Path(root)
    return root if root.is_file() or root.suffix == ".npz" else root / f"{split}.npz"


def load_npz(
    root: str | os.PathLike[str], split: str = "train", transform: BatchTransform | None = None
) -> ArrayDataset:
    """An ``ArrayDataset`` from the arrays ``x`` (uint8 or float) and ``y`` (integers) of an ``.npz`` file.

    ``root`` is the file, or a folder holding ``train.npz`` / ``test.npz``. Files are opened with
    ``allow_pickle=False``: object arrays are refused rather than unpickled.
    """
    path = npz_path(root, split)
    if not path.is_file():
        raise DatasetError(
            f"npz dataset not found: {path} does not exist. Point root at an .npz file with arrays x and y, "
            f"or at a folder holding {split}.npz."
        )
    if not zipfile.is_zipfile(path):
        raise DatasetError(f"{path}: not a readable .npz file (not a zip archive); write it with np.savez.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not {"x", "y"} <= set(archive.files):
                raise DatasetError(f"{path}: expected arrays 'x' and 'y', found {sorted(archive.files)}.")
            x, y = archive["x"], archive["y"]
    except DatasetError:
        raise
    except ValueError as error:
        raise DatasetError(
            f"{path}: cannot be read without unpickling ({error}); store plain numeric arrays."
        ) from error
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise DatasetError(f"{path}: not a readable .npz file ({error}).") from error
    try:
        return ArrayDataset(x, y, transform)
    except (TypeError, ValueError) as error:
        raise DatasetError(f"{path}: {error}.") from error
