"""Predictions of a trained model on new inputs: which files an input names, how a dataset reads them, and
how the model's outputs become predictions and scores (:meth:`nnrun.data.tasks.Task.interpret`).

A classifier whose checkpoint knows its class names (``preprocessing["classes"]``) predicts class names, and
keeps the class index beside them; a regression whose preprocessing names its targets (``"target"``) names
its value columns after them.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import nnrun
from nnrun import nn
from nnrun.config import TrainingConfig
from nnrun.config.training_nodes import build_transform
from nnrun.data import DataLoader, Dataset, DatasetError
from nnrun.data.dataset import with_transform
from nnrun.data.datasets import DATASETS
from nnrun.data.fitted import Inputs
from nnrun.data.tasks import TargetError, Task

#: ``progress(done, total)``: samples predicted so far, of ``total``.
ProgressHook = Callable[[int, int], None]


@dataclass
class Predictions:
    """One row per input, in input order.

    ``names`` (N,): each input's name (a file, a row, an index); ``predictions``: what
    :meth:`~nnrun.data.tasks.Task.interpret` gives: class indices (N,), 0/1 (N,), 0/1 per label (N, L) or
    values (N, T); ``scores`` (N, K) float64: class probabilities, the sigmoid score (K = 1), label sigmoids
    or the values, one column per ``score_names``; ``classes``: the class (or label) names of a classifier,
    when known; ``targets``: the true targets in the same form as ``predictions`` (evaluation only)."""

    task: str
    names: list[str]
    predictions: np.ndarray
    scores: np.ndarray
    score_names: list[str]
    classes: list[str] | None = None
    targets: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.names)

    @property
    def labels(self) -> list[str] | None:
        """The predicted class names of a classifier (``classification``, ``binary``) with known classes."""
        return self.names_of(self.predictions)

    def names_of(self, indices: np.ndarray) -> list[str] | None:
        """Class names of class indices (or 0/1 of a binary task), when the classes are known."""
        if self.classes is None or self.task not in ("classification", "binary"):
            return None
        return [self.classes[int(i)] for i in indices]


def input_files(inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    """The files an input names: a file itself; a folder's files (all levels below it, sorted by path,
    hidden ones left out); a glob's matches (sorted; ``**`` spans folders); a list, each of these in turn.
    A :class:`~nnrun.data.DatasetError` names an input that names no file."""
    if isinstance(inputs, (list, tuple)):
        return [file for item in inputs for file in input_files(item)]
    text = os.fspath(inputs)  # type: ignore[arg-type]
    if os.path.isfile(text):
        return [text]
    if os.path.isdir(text):
        found = sorted(_files_below(text))
        if not found:
            raise DatasetError(f"{text}: the folder holds no files to read.")
        return found
    if glob.has_magic(text):
        matched = sorted(path for path in glob.glob(text, recursive=True) if os.path.isfile(path))
        if not matched:
            raise DatasetError(f"{text}: no file matches this pattern.")
        return matched
    if os.path.exists(text):
        raise DatasetError(f"{text}: not a regular file or folder.")
    raise DatasetError(f"{text}: no such file or folder.")


def _files_below(folder: str) -> list[str]:
    found = []
    for parent, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        found += [os.path.join(parent, name) for name in files if not name.startswith(".")]
    return [path for path in found if os.path.isfile(path)]


def read_inputs(
    cfg: TrainingConfig, preprocessing: dict[str, Any], files: list[str], labelled: bool
) -> Inputs:
    """``files`` read by the config's dataset (its ``inputs`` hook), encoded with ``preprocessing`` and
    given the config's evaluation transforms (``data.transforms``); ``labelled``: with targets."""
    name = cfg.data.dataset
    entry = DATASETS.get(name)
    if entry.inputs is None:
        readers = ", ".join(key for key, known in DATASETS.entries().items() if known.inputs is not None)
        raise DatasetError(
            f"the {name} dataset cannot read new inputs; predict and eval --data read those of the "
            f"datasets {readers}."
        )
    try:
        inputs = entry.inputs(files, preprocessing, cfg.task, dict(cfg.data.options), labelled)
    except TargetError as exc:
        raise DatasetError(f"{', '.join(files)}: targets do not fit task {cfg.task.name}: {exc}.") from None
    if len(inputs.names) != len(inputs.dataset):
        raise DatasetError(
            f"the {name} reader named {len(inputs.names)} inputs but read {len(inputs.dataset)}"
        )
    if len(inputs.dataset) == 0:
        raise DatasetError(f"{', '.join(files)}: no samples to read.")
    inputs.dataset = with_transform(inputs.dataset, build_transform(cfg.eval_transforms))
    _check_shape(cfg, inputs.dataset, files)
    return inputs


def _check_shape(cfg: TrainingConfig, dataset: Dataset, files: list[str]) -> None:
    """Inputs whose samples (after the transforms) are not the model's input shape, named before the model
    fails on them."""
    expected = cfg.model.input_shape
    get_batch = getattr(dataset, "get_batch", None)
    if expected is None or get_batch is None:
        return
    shape = tuple(get_batch(np.arange(1), None)[0].shape[1:])
    if shape != tuple(expected):
        where = files[0] if len(files) == 1 else f"{files[0]} and {len(files) - 1} more files"
        raise DatasetError(
            f"{where}: samples of shape {list(shape)} (after data.transforms), but the model takes "
            f"{list(expected)} (input_shape in the checkpoint's config)."
        )


def predict_batches(
    model: nn.Module,
    loader: Any,
    task: Task,
    *,
    names: list[str] | None = None,
    preprocessing: dict[str, Any] | None = None,
    with_targets: bool = False,
    progress: ProgressHook | None = None,
) -> Predictions:
    """The model's predictions on every batch of ``loader`` (in eval mode, without gradients; the model's
    training mode is restored after); ``names`` default to the sample indices; ``with_targets``: keep the
    loader's targets (of labelled data)."""
    if getattr(loader, "num_replicas", 1) > 1:
        raise ValueError("predictions read the whole loader on one process; give an unsharded loader")
    total = len(loader.dataset) if hasattr(loader, "dataset") else 0
    outputs, targets = [], []
    was_training = model.training
    model.eval()
    try:
        with nnrun.no_grad():
            done = 0
            for inputs, target in loader:
                output = model(inputs)
                outputs.append(np.asarray(output.detach().cpu().numpy(), dtype=np.float64))
                if with_targets:
                    targets.append(target.cpu().numpy())
                done += len(outputs[-1])
                if progress is not None:
                    progress(done, total)
    finally:
        model.train(was_training)
    output = np.concatenate(outputs) if outputs else np.zeros((0, 1))
    if output.ndim != 2:
        raise ValueError(
            f"the model's outputs have shape {list(output.shape)}; a {task.name} model outputs (N, K): "
            "one row of scores or values per sample"
        )
    predictions, scores = task.interpret(output)
    scores = scores.reshape(len(scores), -1)
    names = [str(i) for i in range(len(output))] if names is None else list(names)
    if len(names) != len(output):
        raise ValueError(f"{len(names)} names for {len(output)} predictions")
    preprocessing = preprocessing or {}
    classes = _names(preprocessing.get("classes"), _class_count(task, output))
    score_names = classes or [str(i) for i in range(scores.shape[1])]
    if task.name == "binary":
        score_names = ["score"]
    elif task.name == "regression":
        score_names = _names(preprocessing.get("target"), scores.shape[1]) or score_names
    kept = _in_prediction_form(np.concatenate(targets), task) if with_targets and targets else None
    return Predictions(task.name, names, predictions, scores, score_names, classes, kept)


def _class_count(task: Task, output: np.ndarray) -> int | None:
    """How many class (or label) names a task's outputs have: C classes, 2 for binary, L labels."""
    if task.name == "regression":
        return None
    return 2 if task.name == "binary" else output.shape[1]


def _names(found: Any, count: int | None) -> list[str] | None:
    """``found`` as a list of ``count`` names, or None when it is not one."""
    if count is None or not isinstance(found, list) or len(found) != count:
        return None
    return [str(name) for name in found]


def _in_prediction_form(targets: np.ndarray, task: Task) -> np.ndarray:
    """Targets in the task's form (:meth:`Task.targets`) written like its predictions: class indices and
    0/1 as int64 ((N,) for classification and binary), values as float64."""
    if task.name == "regression":
        return targets.astype(np.float64).reshape(len(targets), -1)
    if task.name == "binary":
        return targets.reshape(len(targets)).astype(np.int64)
    return targets.astype(np.int64)


def loader_for(data: Any, batch_size: int, device: Any) -> Any:
    """``data`` itself when it is a loader (anything with ``dataset`` that iterates), else a loader over the
    dataset, in order (seeded: reading it draws nothing from the global generator)."""
    if isinstance(data, Dataset):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        return DataLoader(data, batch_size, device=device, seed=0)
    return data
