"""Datasets stored as NumPy ``.npz`` files with arrays ``x`` (N, ...) and ``y`` (N,); never unpickled."""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nnrun._memory import format_bytes, too_large
from nnrun.data.dataset import ArrayDataset
from nnrun.data.errors import DatasetError
from nnrun.data.idx import MAX_DEFLATE_RATIO
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
        _check_sizes(path)
        with np.load(path, allow_pickle=False) as archive:
            if not {"x", "y"} <= set(archive.files):
                raise DatasetError(f"{path}: expected arrays 'x' and 'y', found {sorted(archive.files)}.")
            x, y = archive["x"], archive["y"]
    except DatasetError:
        raise
    except Exception as error:  # a damaged archive fails in zipfile, zlib or numpy, each in its own way
        raise DatasetError(f"{path}: not a readable .npz file ({type(error).__name__}: {error}).") from None
    try:
        return ArrayDataset(x, y, transform)
    except (TypeError, ValueError) as error:
        raise DatasetError(f"{path}: {error}.") from error


def _check_sizes(path: Path) -> None:
    """Refuse arrays whose ``.npy`` headers announce more data than their members hold, or more than the
    memory available, before numpy allocates them."""
    total = 0
    with zipfile.ZipFile(path) as archive:
        for name in ("x.npy", "y.npy"):
            try:
                info = archive.getinfo(name)
            except KeyError:
                continue  # reported with the list of arrays found
            with archive.open(info) as member:
                try:
                    shape, dtype, header_bytes = _npy_header(member)
                except ValueError as error:
                    message = f"{path}: {name} is not a plain .npy array ({error})."
                    raise DatasetError(message) from None
            if dtype.hasobject:
                raise DatasetError(
                    f"{path}: cannot be read without unpickling ({name} holds Python objects, and nnrun "
                    "never unpickles); store plain numeric arrays."
                )
            data_bytes = info.file_size - header_bytes
            announced = math.prod(shape) * dtype.itemsize
            if announced != data_bytes or info.file_size > info.compress_size * MAX_DEFLATE_RATIO + 1024:
                raise DatasetError(
                    f"{path}: {name} announces shape {list(shape)} of {dtype} ({format_bytes(announced)}), "
                    f"but holds {format_bytes(max(data_bytes, 0))} ({format_bytes(info.compress_size)} "
                    "compressed)."
                )
            total += announced
    problem = too_large(total)
    if problem:
        raise DatasetError(f"{path}: its arrays take {problem}.")


def _npy_header(member: Any) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and header length of the ``.npy`` file open in ``member``."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise ValueError(f".npy format {version[0]}.{version[1]}")
    return shape, dtype, member.tell()
