"""Datasets stored as NumPy ``.npz`` files with arrays ``x`` (N, ...) and ``y`` (N,) or (N, K); never
unpickled. :func:`read_npz_inputs` reads new inputs (``x``; ``y`` when evaluating) for predict and eval."""

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
from nnrun.data.fitted import Inputs
from nnrun.data.idx import MAX_DEFLATE_RATIO
from nnrun.data.tasks import TargetError, Task
from nnrun.data.transforms import BatchTransform


def npz_path(root: str | os.PathLike[str], split: str) -> Path:
    """``root`` itself when it is a file, else ``root/<split>.npz``."""
    root = Path(root)
    return root if root.is_file() or root.suffix == ".npz" else root / f"{split}.npz"


def load_npz(
    root: str | os.PathLike[str], split: str = "train", transform: BatchTransform | None = None
) -> ArrayDataset:
    """An ``ArrayDataset`` from the arrays ``x`` (uint8 or float) and ``y`` (integer labels, or float
    targets (N,) or (N, K)) of an ``.npz`` file.

    ``root`` is the file, or a folder holding ``train.npz`` / ``test.npz``. Files are opened with
    ``allow_pickle=False``: object arrays are refused rather than unpickled.
    """
    path = npz_path(root, split)
    if not path.is_file():
        raise DatasetError(
            f"npz dataset not found: {path} does not exist. Point root at an .npz file with arrays x and y, "
            f"or at a folder holding {split}.npz."
        )
    x, y = _read_arrays(path, need_y=True)
    assert y is not None
    return _dataset(path, x, y, transform)


def read_npz_inputs(
    paths: list[str], preprocessing: dict[str, Any], task: Task, options: dict[str, Any], labelled: bool
) -> Inputs:
    """New inputs from ``.npz`` files (:data:`~nnrun.data.fitted.InputReader`): their ``x`` arrays, one
    after the other, named by their index (``"7"``; ``"file.npz:7"`` with several files); ``labelled``:
    each file's ``y`` too, in ``task``'s form (ignored when not). npz data needs no preprocessing."""
    names: list[str] = []
    xs, ys = [], []
    for file in paths:
        path = Path(file)
        x, y = _read_arrays(path, need_y=labelled)
        if xs and (x.shape[1:] != xs[0].shape[1:] or (x.dtype == np.uint8) != (xs[0].dtype == np.uint8)):
            raise DatasetError(
                f"{path}: x holds samples of shape {list(x.shape[1:])} ({x.dtype}), but {paths[0]} holds "
                f"{list(xs[0].shape[1:])} ({xs[0].dtype}); inputs read together must have one shape."
            )
        if labelled:
            try:
                y = task.targets(y)
            except TargetError as error:
                raise DatasetError(f"{path}: y does not fit task {task.name}: {error}.") from None
        else:
            y = np.zeros(len(x), dtype=np.int64)  # prediction reads only the inputs
        _dataset(path, x, y, None)  # the same checks as a training file
        xs.append(x)
        ys.append(y)
        names += [str(i) if len(paths) == 1 else f"{file}:{i}" for i in range(len(x))]
    if len(ys) > 1 and len({y.shape[1:] for y in ys}) > 1:
        raise DatasetError(
            f"{', '.join(paths)}: the files' y arrays differ in shape; evaluate them one by one."
        )
    dataset = ArrayDataset(np.concatenate(xs), np.concatenate(ys))
    return Inputs(names, dataset, labelled)


def _read_arrays(path: Path, need_y: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """The arrays ``x`` and ``y`` (None when absent and not needed) of the file at ``path``."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such .npz file.")
    if not zipfile.is_zipfile(path):
        raise DatasetError(f"{path}: not a readable .npz file (not a zip archive); write it with np.savez.")
    try:
        _check_sizes(path)
        with np.load(path, allow_pickle=False) as archive:
            needed = {"x", "y"} if need_y else {"x"}
            if not needed <= set(archive.files):
                wanted = "arrays 'x' and 'y'" if need_y else "an array 'x'"
                raise DatasetError(f"{path}: expected {wanted}, found {sorted(archive.files)}.")
            x = archive["x"]
            y = archive["y"] if "y" in archive.files else None
    except DatasetError:
        raise
    except Exception as error:  # a damaged archive fails in zipfile, zlib or numpy, each in its own way
        raise DatasetError(f"{path}: not a readable .npz file ({type(error).__name__}: {error}).") from None
    return x, y


def _dataset(path: Path, x: np.ndarray, y: np.ndarray, transform: BatchTransform | None) -> ArrayDataset:
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
