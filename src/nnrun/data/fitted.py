"""Data whose encoding is fitted on the training rows: the protocol between a dataset reader and the trainer.

A reader may return a :class:`FittedSource` instead of a ready dataset: raw rows (a table's cells, an image
folder's files) that become numbers only with a *preprocessing* fitted on the training rows alone
(standardisation statistics, category lists, class names). The trainer splits off the validation rows first,
fits on the rest, prepares every split with the same preprocessing, and saves it in each checkpoint, so that
evaluation and prediction on new data encode their inputs exactly as training did.

A preprocessing is a plain dict (strings, numbers, lists, dicts) with at least ``source``, the dataset name
of the reader that made it, and, for classifiers, ``classes``: the class names in label order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnrun.data.dataset import ArrayDataset, Dataset
from nnrun.data.tasks import Task
from nnrun.data.transforms import BatchTransform


class FittedSource(Dataset):
    """Raw rows of one split; ``len()`` is the number of samples."""

    def fit(self, rows: np.ndarray, task: Task) -> dict[str, Any]:
        """The preprocessing of this split's ``rows`` (indices) for ``task``, to prepare every split with."""
        raise NotImplementedError(f"{type(self).__name__} must implement fit")

    def prepare(
        self,
        rows: np.ndarray,
        preprocessing: dict[str, Any],
        task: Task,
        transform: BatchTransform | None = None,
    ) -> Dataset:
        """The dataset of ``rows`` encoded with ``preprocessing``: inputs, and targets in ``task``'s form
        (``dataset.y``); a :class:`~nnrun.data.DatasetError` names the file, row and column that do not
        fit."""
        raise NotImplementedError(f"{type(self).__name__} must implement prepare")


@dataclass
class Inputs:
    """New inputs read for prediction or evaluation: one name per sample (a file name, a CSV row's id or
    line) and the dataset, encoded like training data; ``labelled``: ``dataset.y`` holds the targets in the
    task's form (else it holds zeros and only the inputs count)."""

    names: list[str]
    dataset: Dataset
    labelled: bool


#: How a dataset reads new inputs: ``reader(paths, preprocessing, task, options, labelled) -> Inputs``;
#: ``paths`` are files (expanded from a folder or glob by the caller where the reader takes files),
#: ``preprocessing`` the checkpoint's, ``options`` the config's ``data.options``, ``labelled`` whether the
#: targets are required (evaluation) or ignored when present (prediction).
InputReader = Callable[[list[str], dict[str, Any], Task, dict[str, Any], bool], Inputs]


def in_task_form(split: Dataset, task: Task) -> Dataset:
    """A loaded split with its targets in ``task``'s form (a :class:`~nnrun.data.tasks.TargetError` names the
    first sample that does not fit); a :class:`FittedSource` prepares its targets itself."""
    if isinstance(split, FittedSource):
        return split
    if not isinstance(split, ArrayDataset):
        raise TypeError(f"a dataset reader returned a {type(split).__name__}, not an ArrayDataset")
    return split.with_targets(task.targets(split.y))


def fit_preprocessing(split: Dataset, rows: np.ndarray, task: Task) -> dict[str, Any]:
    """The preprocessing fitted on ``rows`` of ``split`` (none, ``{}``, for data that is numbers already)."""
    return split.fit(rows, task) if isinstance(split, FittedSource) else {}


def prepare_split(
    split: Dataset,
    rows: np.ndarray | None,
    preprocessing: dict[str, Any],
    task: Task,
    transform: BatchTransform | None = None,
) -> Dataset:
    """``rows`` (None: all) of a split :func:`in_task_form` ready to train or evaluate on, with
    ``transform``: encoded with ``preprocessing`` (a :class:`FittedSource`), or taken as they are."""
    if isinstance(split, FittedSource):
        return split.prepare(np.arange(len(split)) if rows is None else rows, preprocessing, task, transform)
    assert isinstance(split, ArrayDataset)
    chosen = split if rows is None else split.subset(rows)
    return ArrayDataset(chosen.x, chosen.y, transform)
