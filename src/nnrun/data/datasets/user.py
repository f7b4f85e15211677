"""Datasets users write: a :class:`~nnrun.data.Dataset` subclass registered with ``@nnrun.register``, named
in a config as ``data: {dataset: MyData, options: {…}}``.

Its constructor's parameters are the dataset's options, except ``root`` (taken from ``data.root``: a class
with a ``root`` parameter reads files, and a config must give ``root``) and ``split`` (``"train"`` or
``"test"``; a class without it has a training split only). The dataset is read once, sample by sample, into
memory: each ``dataset[i]`` is an ``(x, y)`` pair of arrays, tensors or numbers of one shape, and they are
stacked into an :class:`~nnrun.data.ArrayDataset` (uint8 inputs kept, other inputs as float32; integer
targets as int64, others as float32), so that ``val_split``, tasks and exact resume work as for built-in data.
A dataset that would not fit in the memory available is refused before it is read. A constructor that
returns an ``ArrayDataset`` (or a :class:`~nnrun.data.fitted.FittedSource`) subclass is used as it is.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from nnrun._memory import too_large
from nnrun._tensor import Tensor
from nnrun.data.dataset import ArrayDataset, Dataset
from nnrun.data.errors import DatasetError
from nnrun.data.fitted import FittedSource


def user_reader(cls: type[Dataset]) -> tuple[Callable[..., Dataset], bool]:
    """``(reader, reads_files)`` for a registered class: ``reader(root, split, **options)`` (or
    ``reader(split, **options)`` when the class takes no ``root``) constructs and materialises it; the
    reader's signature lists the class's options."""
    parameters = [
        parameter
        for parameter in inspect.signature(cls).parameters.values()
        if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    ]
    names = {parameter.name for parameter in parameters}
    takes_root, takes_split = "root" in names, "split" in names
    where = _origin(cls)

    def read(*fixed: Any, **options: Any) -> Dataset:
        root, split = fixed if takes_root else (None, fixed[0])
        arguments = dict(options)
        if takes_root:
            arguments["root"] = root
        if takes_split:
            arguments["split"] = split
        elif split != "train":
            raise DatasetError(
                f"{where} takes no split argument, so it has no {split} split; give its constructor a "
                "split parameter (called with 'train' or 'test'), or set train.test: false."
            )
        try:
            dataset = cls(**arguments)
        except DatasetError:
            raise
        except Exception as error:
            shown = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
            message = f"{where}: {cls.__name__}({shown}) failed: {type(error).__name__}: {error}"
            raise DatasetError(message) from None
        return materialise(dataset, where)

    fixed = [inspect.Parameter("root", inspect.Parameter.POSITIONAL_OR_KEYWORD)] if takes_root else []
    fixed.append(inspect.Parameter("split", inspect.Parameter.POSITIONAL_OR_KEYWORD))
    options = [
        parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for parameter in parameters
        if parameter.name not in ("root", "split")
    ]
    read.__signature__ = inspect.Signature([*fixed, *options])  # type: ignore[attr-defined]
    return read, takes_root


def materialise(dataset: Dataset, where: str) -> Dataset:
    """``dataset``'s ``(x, y)`` samples stacked into an :class:`ArrayDataset` (see the module)."""
    if isinstance(dataset, (ArrayDataset, FittedSource)):
        return dataset
    try:
        count = len(dataset)
    except TypeError:
        raise DatasetError(f"{where}: a registered dataset must be map-style: define __len__") from None
    if count == 0:
        raise DatasetError(f"{where}: the dataset is empty (len() is 0).")
    x0, y0 = _sample(dataset, 0, where)
    x_dtype = np.uint8 if x0.dtype == np.uint8 else np.float32
    y_dtype = np.int64 if y0.dtype.kind in "biu" else np.float32
    nbytes = count * (x0.size * np.dtype(x_dtype).itemsize + max(y0.size, 1) * np.dtype(y_dtype).itemsize)
    problem = too_large(nbytes)
    if problem:
        raise DatasetError(
            f"{where}: its {count} samples (inputs of shape {list(x0.shape)}) would take {problem}; a "
            "registered dataset is held in memory, so give it fewer samples or smaller ones."
        )
    x = np.empty((count, *x0.shape), dtype=x_dtype)
    y = np.empty((count, *y0.shape), dtype=y_dtype)
    for i in range(count):
        xi, yi = (x0, y0) if i == 0 else _sample(dataset, i, where)
        if xi.shape != x0.shape or yi.shape != y0.shape:
            raise DatasetError(
                f"{where}: sample {i} has shapes {list(xi.shape)} and {list(yi.shape)}, but sample 0 has "
                f"{list(x0.shape)} and {list(y0.shape)}; every sample must have one shape."
            )
        x[i], y[i] = xi, yi
    if y.ndim > 2:
        raise DatasetError(f"{where}: targets must be a number or a vector per sample, got {list(y0.shape)}")
    return ArrayDataset(x, y)


def _sample(dataset: Dataset, index: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        item = dataset[index]
    except Exception as error:
        raise DatasetError(f"{where}: dataset[{index}] failed: {type(error).__name__}: {error}") from None
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise DatasetError(
            f"{where}: dataset[{index}] must be a pair (x, y), got {type(item).__name__}"
            + (f" of length {len(item)}" if isinstance(item, (tuple, list)) else "")
        )
    arrays = tuple(part.numpy() if isinstance(part, Tensor) else np.asarray(part) for part in item)
    for name, array in zip(("x", "y"), arrays):
        if array.dtype.kind not in "biuf":
            raise DatasetError(f"{where}: dataset[{index}]'s {name} must hold numbers, got {array.dtype}")
    return arrays[0], arrays[1]


def _origin(cls: type) -> str:
    """``MyData (my_data.py)``: the class and the file it is written in."""
    try:
        file = inspect.getsourcefile(cls)
    except (TypeError, OSError):  # a class defined in a string or at the prompt
        file = None
    return f"{cls.__name__} ({file or cls.__module__})"
