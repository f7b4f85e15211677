"""``DATASETS``, the datasets configs name, and ``load_dataset``: a dataset by name, from a folder of standard
files, as an ``ArrayDataset``."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from nnrun.data.dataset import ArrayDataset
from nnrun.data.datasets.cifar10 import load_cifar10
from nnrun.data.datasets.mnist import FASHION_MNIST, MNIST, load_idx_family
from nnrun.data.datasets.npz import load_npz, read_npz_inputs
from nnrun.data.datasets.repeat_token import check_repeat_token, load_repeat_token
from nnrun.data.datasets.sample import load_mnist_sample
from nnrun.data.datasets.synthetic import (
    check_classification,
    check_first_token,
    make_classification,
    make_first_token,
)
from nnrun.data.errors import DatasetError
from nnrun.data.fitted import InputReader
from nnrun.registry import Registry


@dataclass(frozen=True)
class DatasetEntry:
    """How to load a named dataset: ``reader(root?, split, download_missing?, **options)``."""

    reader: Callable[..., ArrayDataset]
    reads_files: bool
    downloadable: bool
    check: Callable[..., None] | None = None  # checks option values without loading (raises OptionError)
    #: reads new inputs for ``nnrun predict`` / ``nnrun eval --data`` (None: this dataset cannot)
    inputs: InputReader | None = None

    def options(self) -> list[str]:
        fixed = {"root", "split", "download_missing"}
        return [name for name in inspect.signature(self.reader).parameters if name not in fixed]

    def option_defaults(self) -> dict[str, Any]:
        """Each option's default value as a config writes it (tuples as lists; ``transform`` aside)."""
        parameters = inspect.signature(self.reader).parameters
        defaults = {name: parameters[name].default for name in self.options() if name != "transform"}
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in defaults.items()
            if value is not inspect.Parameter.empty
        }

    def check_options(self, options: dict[str, Any]) -> None:
        """Raise :class:`OptionError` for the first option value that is invalid or does not fit in memory."""
        if self.check is not None:
            self.check(**options)


DATASETS = Registry(
    "dataset",
    builtins=lambda: {
        "mnist": DatasetEntry(partial(load_idx_family, MNIST), reads_files=True, downloadable=True),
        "fashion_mnist": DatasetEntry(
            partial(load_idx_family, FASHION_MNIST), reads_files=True, downloadable=True
        ),
        "cifar10": DatasetEntry(load_cifar10, reads_files=True, downloadable=True),
        "npz": DatasetEntry(load_npz, reads_files=True, downloadable=False, inputs=read_npz_inputs),
        "synthetic": DatasetEntry(
            make_classification, reads_files=False, downloadable=False, check=check_classification
        ),
        "mnist_sample": DatasetEntry(load_mnist_sample, reads_files=False, downloadable=False),
        "first_token": DatasetEntry(
            make_first_token, reads_files=False, downloadable=False, check=check_first_token
        ),
        "repeat_token": DatasetEntry(
            load_repeat_token, reads_files=False, downloadable=False, check=check_repeat_token
        ),
    },
)


def load_dataset(
    name: str,
    root: str | os.PathLike[str] | None = None,
    split: str = "train",
    download: bool = False,
    **options: Any,
) -> ArrayDataset:
    """The ``split`` ("train" or "test") of dataset ``name`` as an ``ArrayDataset``.

    ``name`` is one of mnist, fashion_mnist, cifar10, npz, synthetic, mnist_sample, first_token,
    repeat_token. File datasets read ``root``; with ``download=True`` missing files are fetched (MNIST
    family and CIFAR-10). Options go to the reader: ``transform`` for all; ``num_classes``, ``shape``,
    ``seed``… for synthetic; ``steps``, ``tokens``… for first_token; ``length``, ``vocab``… for
    repeat_token. Every problem is a ``DatasetError`` that names the file or folder.
    """
    if name not in DATASETS:
        raise DatasetError(f"Unknown dataset {name!r}: expected one of {', '.join(DATASETS)}.")
    entry = DATASETS.get(name)
    if entry.reads_files and root is None:
        raise DatasetError(
            f"Dataset {name!r} reads files: give root, the folder (or .npz file) that holds them."
        )
    if download and not entry.downloadable:
        raise DatasetError(f"Dataset {name!r} cannot be downloaded; set download: false.")
    unknown = sorted(set(options) - set(entry.options()))
    if unknown:
        raise DatasetError(
            f"Dataset {name!r} has no option {', '.join(map(repr, unknown))}; "
            f"its options are: {', '.join(entry.options())}."
        )
    if entry.downloadable:
        return entry.reader(root, split, download_missing=download, **options)
    if entry.reads_files:
        return entry.reader(root, split, **options)
    return entry.reader(split, **options)
