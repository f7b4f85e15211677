"""MNIST and Fashion-MNIST from their IDX files (``train-images-idx3-ubyte`` etc., gzipped or not)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnrun.data.dataset import ArrayDataset
from nnrun.data.datasets.download import Resource, download
from nnrun.data.errors import DatasetError
from nnrun.data.idx import read_idx
from nnrun.data.transforms import BatchTransform


@dataclass(frozen=True)
class IdxFamily:
    """A dataset published as the four MNIST-style IDX files, with its mirrors and checksums."""

    title: str
    mirrors: tuple[str, ...]
    resources: dict[str, Resource]  # keyed by the uncompressed file name


MNIST = IdxFamily(
    title="MNIST",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    # MD5 of the published .gz files (torchvision's) and of their content (the original IDX files)
    resources={
        "train-images-idx3-ubyte": Resource(
            "train-images-idx3-ubyte.gz",
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "6bbc9ace898e44ae57da46a324031adb",
        ),
        "train-labels-idx1-ubyte": Resource(
            "train-labels-idx1-ubyte.gz",
            "d53e105ee54ea40749a09fcbcd1e9432",
            "a25bea736e30d166cdddb491f175f624",
        ),
        "t10k-images-idx3-ubyte": Resource(
            "t10k-images-idx3-ubyte.gz",
            "9fb629c4189551a2d022fa330f9573f3",
            "2646ac647ad5339dbf082846283269ea",
        ),
        "t10k-labels-idx1-ubyte": Resource(
            "t10k-labels-idx1-ubyte.gz",
            "ec29112dd5afa0611ce80d1b7f02629c",
            "27ae3e4e09519cfbb04c329615203637",
        ),
    },
)

FASHION_MNIST = IdxFamily(
    title="Fashion-MNIST",
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    resources={
        "train-images-idx3-ubyte": Resource(
            "train-images-idx3-ubyte.gz",
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        ),
        "train-labels-idx1-ubyte": Resource(
            "train-labels-idx1-ubyte.gz",
            "25c81989df183df01b3e8a0aad5dffbe",
            "9018921c3c673c538a1fc5bad174d6f9",
        ),
        "t10k-images-idx3-ubyte": Resource(
            "t10k-images-idx3-ubyte.gz",
            "bef4ecab320f06d8554ea6380940ec79",
            "8181f5470baa50b63fa0f6fddb340f0a",
        ),
        "t10k-labels-idx1-ubyte": Resource(
            "t10k-labels-idx1-ubyte.gz",
            "bb300cfdad3c16e7a12a480ee83cd310",
            "15d484375f8d13e6eb1aabb0c3f46965",
        ),
    },
)

_PREFIX = {"train": "train", "test": "t10k"}


def split_files(split: str) -> tuple[str, str]:
    """The (images, labels) IDX file names of ``split`` ("train" or "test"), without ``.gz``."""
    if split not in _PREFIX:
        raise DatasetError(f"Unknown split {split!r}: expected 'train' or 'test'.")
    return f"{_PREFIX[split]}-images-idx3-ubyte", f"{_PREFIX[split]}-labels-idx1-ubyte"


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def load_idx_family(
    family: IdxFamily,
    root: str | os.PathLike[str],
    split: str = "train",
    download_missing: bool = False,
    transform: BatchTransform | None = None,
) -> ArrayDataset:
    """Images uint8 (N, 1, 28, 28) and labels int64 (N,) of ``split`` from the IDX files in ``root``."""
    folder = Path(root)
    names = split_files(split)
    paths = {name: _find(folder, name) for name in names}
    missing = [name for name, path in paths.items() if path is None]
    if missing and download_missing:
        for name in missing:
            paths[name] = download(family.resources[name], folder, family.mirrors)
    elif missing:
        raise DatasetError(
            f"{family.title} not found in {folder}: expected "
            + ", ".join(f"{name}(.gz)" for name in names)
            + f" (missing: {', '.join(missing)}). Set download: true (download=True) to fetch them, "
            "or point root at the folder that holds the files."
        )
    try:
        images, labels = (read_idx(paths[name]) for name in names)
    except ValueError as error:
        raise DatasetError(f"{family.title} in {folder} is unreadable: {error}") from error
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(
            f"{family.title} in {folder}: images {images.shape} and labels {labels.shape} do not match "
            "(expected (N, H, W) and (N,))."
        )
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        found = f"{labels.min()}..{labels.max()}"
        raise DatasetError(f"{paths[names[1]]}: {family.title} labels are 0-9, this file holds {found}")
    return ArrayDataset(images[:, None], labels.astype(np.int64), transform)
