"""Prediction files: one row per input, written as CSV, NPZ or JSON Lines (chosen by the file's suffix).

- CSV: a header ``name, prediction[, index][, target], score_<name>…`` and one line per input. The
  prediction is the class name (with ``index``, the class index, when class names are known), 0/1, the
  label names predicted on (joined by ``;``) or the value (values joined by ``;`` for several targets).
- NPZ: arrays ``names`` (unicode), ``predictions`` (class names as unicode, or the numbers), ``indices``
  (with class names), ``scores`` (N, K), ``score_names`` and ``targets`` (evaluation); no object arrays, so
  ``np.load(path, allow_pickle=False)`` reads it.
- JSONL: one object per line: ``name``, ``prediction`` (a name, number or list), ``index`` (with class
  names), ``target`` (evaluation) and ``scores`` (score name → value).

Nothing is written over an existing file unless asked to (``overwrite``); a file is written whole or not at
all (written beside it, then renamed).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from nnrun._atomic import replace_atomically
from nnrun.train.predict import Predictions

FORMATS = (".csv", ".npz", ".jsonl")


def check_output(path: str | os.PathLike[str], overwrite: bool = False) -> str:
    """``path`` as text once its suffix is a known format and, without ``overwrite``, nothing is there:
    otherwise ``ValueError`` (the suffix) or ``FileExistsError`` (naming the file)."""
    text = os.fspath(path)
    suffix = os.path.splitext(text)[1].lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"{text}: unknown prediction file type {suffix or '(no suffix)'!r}; write .csv, .npz or .jsonl"
        )
    if os.path.isdir(text):
        raise IsADirectoryError(21, "is a folder, not a file to write predictions to", text)
    if os.path.exists(text) and not overwrite:
        raise FileExistsError(17, "exists already; nothing is written over it unless asked to", text)
    return text


def write_predictions(
    predictions: Predictions, path: str | os.PathLike[str], *, overwrite: bool = False
) -> str:
    """Write ``predictions`` to ``path`` in the format its suffix names (``.csv``, ``.npz``, ``.jsonl``);
    returns the path. See :func:`check_output` for what is refused."""
    text = check_output(path, overwrite)
    writer: Callable[[Predictions, Any], None] = {".csv": _csv, ".npz": _npz, ".jsonl": _jsonl}[
        os.path.splitext(text)[1].lower()
    ]
    binary = text.lower().endswith(".npz")

    def write(temporary: str) -> None:
        if binary:
            with open(temporary, "wb") as handle:
                writer(predictions, handle)
        else:
            with open(temporary, "w", encoding="utf-8", newline="") as handle:
                writer(predictions, handle)

    replace_atomically(text, write)
    return text


def rows(predictions: Predictions) -> list[dict[str, Any]]:
    """The rows as JSON values: name, prediction, index (with class names), target (when known), scores."""
    labels = predictions.labels
    targets = predictions.targets
    target_labels = predictions.names_of(targets) if targets is not None else None
    found = []
    for i, name in enumerate(predictions.names):
        row: dict[str, Any] = {"name": name, "prediction": _value(predictions, predictions.predictions[i])}
        if labels is not None:
            row["prediction"], row["index"] = labels[i], int(predictions.predictions[i])
        if targets is not None:
            row["target"] = target_labels[i] if target_labels else _value(predictions, targets[i])
        row["scores"] = dict(zip(predictions.score_names, map(float, predictions.scores[i])))
        found.append(row)
    return found


def _value(predictions: Predictions, value: Any) -> Any:
    """One prediction (or target) as JSON: a number, the names of the labels on, or a list of values."""
    if predictions.task == "multilabel":
        names = predictions.classes or predictions.score_names
        return [names[j] for j, on in enumerate(value) if on]
    if predictions.task == "regression":
        values = [float(v) for v in np.atleast_1d(value)]
        return values[0] if len(values) == 1 else values
    return int(value)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ";".join(map(str, value))
    return str(value)


def _csv(predictions: Predictions, handle: Any) -> None:
    table = rows(predictions)
    writer = csv.writer(handle, lineterminator="\n")
    head = ["name", "prediction"]
    head += ["index"] if predictions.labels is not None else []
    head += ["target"] if predictions.targets is not None else []
    writer.writerow(head + [f"score_{name}" for name in predictions.score_names])
    for row in table:
        cells = [_cell(row[key]) for key in head]
        writer.writerow(cells + [repr(value) for value in row["scores"].values()])


def _jsonl(predictions: Predictions, handle: Any) -> None:
    for row in rows(predictions):
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _npz(predictions: Predictions, handle: Any) -> None:
    arrays: dict[str, np.ndarray] = {
        "names": np.array(predictions.names, dtype=str),
        "predictions": np.asarray(predictions.predictions),
        "scores": np.asarray(predictions.scores, dtype=np.float64),
        "score_names": np.array(predictions.score_names, dtype=str),
    }
    labels = predictions.labels
    if labels is not None:
        arrays["indices"], arrays["predictions"] = arrays["predictions"], np.array(labels, dtype=str)
    if predictions.targets is not None:
        arrays["targets"] = np.asarray(predictions.targets)
    np.savez(handle, **arrays)
