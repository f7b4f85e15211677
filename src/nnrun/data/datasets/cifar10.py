"""CIFAR-10 from its *binary* version (``cifar-10-batches-bin``): 1 label byte + 3072 pixel bytes per record.

The Python version of CIFAR-10 stores pickles; nnrun never reads it, because unpickling a downloaded file
can run arbitrary code. Download fetches ``cifar-10-binary.tar.gz`` and extracts only the known record files.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

import numpy as np

from nnrun._memory import too_large
from nnrun.data.dataset import ArrayDataset
from nnrun.data.datasets.download import Resource, download
from nnrun.data.errors import DatasetError
from nnrun.data.transforms import BatchTransform

FOLDER = "cifar-10-batches-bin"
ARCHIVE = Resource("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530")
MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
FILES = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_RECORD = 1 + 3 * 32 * 32


def read_cifar_binary(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 (N, 3, 32, 32) and labels int64 (N,) of one CIFAR-10 binary batch file."""
    try:
        size = os.path.getsize(path)
        if size == 0 or size % _RECORD:
            raise DatasetError(
                f"{path}: not a CIFAR-10 binary batch ({size} bytes, not a multiple of {_RECORD})"
            )
        problem = too_large(size)
        if problem:
            raise DatasetError(f"{path}: the file takes {problem}")
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise DatasetError(f"{path}: cannot read it ({error.strerror or error})") from None
    records = raw.reshape(-1, _RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() >= len(CLASSES):
        raise DatasetError(
            f"{path}: label {labels.max()} out of range 0..9; is this a CIFAR-10 binary batch?"
        )
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def _folder(root: Path) -> Path:
    """``root/cifar-10-batches-bin`` when it exists, else ``root`` itself."""
    nested = root / FOLDER
    return nested if nested.is_dir() else root


def _extract(archive: Path, root: Path) -> None:
    """Unpack the record files of ``archive`` into ``root/cifar-10-batches-bin`` (members chosen by name)."""
    wanted = {f"{FOLDER}/{name}" for names in FILES.values() for name in names}
    target = root / FOLDER
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.name in wanted and member.isfile():
                source = tar.extractfile(member)
                assert source is not None
                with source, open(target / Path(member.name).name, "wb") as out:
                    shutil.copyfileobj(source, out)


def load_cifar10(
    root: str | os.PathLike[str],
    split: str = "train",
    download_missing: bool = False,
    transform: BatchTransform | None = None,
) -> ArrayDataset:
    """Images uint8 (N, 3, 32, 32) and labels int64 (N,) of ``split`` ("train": 50,000, "test": 10,000)."""
    if split not in FILES:
        raise DatasetError(f"Unknown split {split!r}: expected 'train' or 'test'.")
    root = Path(root)
    missing = [name for name in FILES[split] if not (_folder(root) / name).is_file()]
    if missing and download_missing:
        archive = download(ARCHIVE, root, MIRRORS)
        _extract(archive, root)
        missing = [name for name in FILES[split] if not (_folder(root) / name).is_file()]
    if missing:
        raise DatasetError(
            f"CIFAR-10 (binary version) not found in {root} or {root / FOLDER}: "
            f"missing {', '.join(missing)}. "
            "Set download: true (download=True) to fetch cifar-10-binary.tar.gz, or point root at the "
            "folder with the .bin files (the Python/pickle version is not supported)."
        )
    parts = [read_cifar_binary(_folder(root) / name) for name in FILES[split]]
    return ArrayDataset(
        np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), transform
    )
