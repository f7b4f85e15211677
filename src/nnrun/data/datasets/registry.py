"""``DATASETS``, the datasets configs name, and ``load_dataset``: a dataset by name, from a folder of standard
files, as an ``ArrayDataset``."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from nnrun.data.dataset import Dataset
from nnrun.data.datasets.cifar10 import load_cifar10
from nnrun.data.datasets.csv_table import check_csv, load_csv, read_inputs
from nnrun.data.datasets.image_folder import check_image_folder, load_image_folder, read_image_inputs
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
from nnrun.data.datasets.user import user_reader
from nnrun.data.errors import DatasetError
from nnrun.data.fitted import InputReader
from nnrun.registry import Registry


@dataclass(frozen=True)
class DatasetEntry:
    """How to load a named dataset: ``reader(root?, split, download_missing?, **options)``."""

    reader: Callable[..., Dataset]
    reads_files: bool
    downloadable: bool
    check: Callable[..., None] | None = None  # checks option values without loading (raises OptionError)
    #: reads new inputs for ``nnrun predict`` / ``nnrun eval --data`` (None: this dataset cannot)
    inputs: InputReader | None = None
    #: the user's ``Dataset`` subclass this entry constructs (None for built-in datasets)
    dataset_class: type | None = None

    def options(self) -> list[str]:
        fixed = {"root", "split", "download_missing", "run_seed"}  # run_seed: given by the run, not an option
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


class DatasetRegistry(Registry):
    """Datasets by name, each a :class:`DatasetEntry`: the built-in ones, and ``Dataset`` subclasses users
    register (``@nnrun.register``), each listed as the entry that constructs and materialises it
    (:mod:`nnrun.data.datasets.user`)."""

    def register(self, obj: Any = None, *, name: str | None = None) -> Any:
        """Add a ``Dataset`` subclass (or a ready :class:`DatasetEntry`) under ``name`` (default: the
        class's name); ``ValueError`` when the name belongs to another dataset."""

        def add(target: Any) -> Any:
            if isinstance(target, DatasetEntry):
                entry = target
            elif isinstance(target, type) and issubclass(target, Dataset):
                reader, reads_files = user_reader(target)
                entry = DatasetEntry(reader, reads_files, downloadable=False, dataset_class=target)
            else:
                raise TypeError(f"a dataset must be a Dataset subclass, got {target!r}")
            key = name or getattr(target, "__name__", None)
            if not isinstance(key, str) or not key:
                raise ValueError("a dataset needs a name; pass name=...")
            taken = self.entries().get(key)
            if taken is not None and taken is not target and taken.dataset_class is not target:
                owner = taken.dataset_class or taken.reader
                raise ValueError(f"dataset name {key!r} is already registered for {owner!r}")
            self._registered[key] = entry
            return target

        return add if obj is None else add(obj)


DATASETS = DatasetRegistry(
    "dataset",
    base=Dataset,
    builtins=lambda: {
        "mnist": DatasetEntry(partial(load_idx_family, MNIST), reads_files=True, downloadable=True),
        "fashion_mnist": DatasetEntry(
            partial(load_idx_family, FASHION_MNIST), reads_files=True, downloadable=True
        ),
        "cifar10": DatasetEntry(load_cifar10, reads_files=True, downloadable=True),
        "npz": DatasetEntry(load_npz, reads_files=True, downloadable=False, inputs=read_npz_inputs),
        "image_folder": DatasetEntry(
            load_image_folder,
            reads_files=True,
            downloadable=False,
            check=check_image_folder,
            inputs=read_image_inputs,
        ),
        "csv": DatasetEntry(
            load_csv, reads_files=True, downloadable=False, check=check_csv, inputs=read_inputs
        ),
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
    *,
    run_seed: int = 0,
    **options: Any,
) -> Dataset:
    """The ``split`` ("train" or "test") of dataset ``name`` as an ``ArrayDataset`` (or a source to fit).

    ``name`` is one of mnist, fashion_mnist, cifar10, npz, image_folder, synthetic, mnist_sample,
    first_token, repeat_token, csv, or a registered ``Dataset`` subclass. File datasets read ``root``; with
    ``download=True`` missing files are fetched (MNIST family and CIFAR-10). Options go to the reader:
    ``transform`` for all; ``num_classes``, ``shape``, ``seed``… for synthetic; ``steps``, ``tokens``… for
    first_token; ``length``, ``vocab``… for repeat_token; ``size``, ``cache``… for image_folder and
    ``target``, ``features``… for csv (both return a :class:`~nnrun.data.fitted.FittedSource` to fit and
    encode). ``run_seed``: the run's seed, for readers that draw from it (csv's ``test_split``). Every
    problem is a ``DatasetError`` that names the file or folder.
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
    if "run_seed" in inspect.signature(entry.reader).parameters:
        options["run_seed"] = run_seed
    if entry.downloadable:
        return entry.reader(root, split, download_missing=download, **options)
    if entry.reads_files:
        return entry.reader(root, split, **options)
    return entry.reader(split, **options)
