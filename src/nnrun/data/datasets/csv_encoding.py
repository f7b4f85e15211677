"""How a CSV table's rows become numbers: the preprocessing fitted on the training rows, and the encoding.

Inputs, in the order of the features: a numeric column standardised, ``(x - mean) / std`` with the mean and
(population) standard deviation of the training rows (a constant column keeps std 1); a ``onehot`` column
as one 0/1 column per category (categories sorted; a category the training rows lack is all zeros); an
``index`` column as the category's position in the sorted list (one the training rows lack is an error).

Targets, in the task's form: ``classification`` class indices into ``classes``, the sorted distinct values
of the training file's target column (by number when all are whole numbers); ``binary`` 0/1 from the
numbers 0 and 1, or from two values of which the second in that order is the positive one; ``multilabel``
0/1 columns (the class names are the column names); ``regression`` floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnrun.data.dataset import ArrayDataset
from nnrun.data.errors import DatasetError
from nnrun.data.fitted import FittedSource
from nnrun.data.tasks import TargetError, Task
from nnrun.data.transforms import BatchTransform

#: How a declared categorical column is encoded.
ENCODINGS = ("onehot", "index")


@dataclass(frozen=True)
class Columns:
    """The columns the options pick: targets, features (in input order), categorical encodings, id."""

    target: list[str]
    features: list[str]
    categorical: dict[str, str]
    id: str | None


@dataclass(frozen=True)
class ParsedRows:
    """Rows of a CSV file, parsed: ``lines`` (N,), numeric features as float64 (N,), categorical features,
    target cells and ids as strings (empty ``targets`` when the targets were not read)."""

    path: Path
    lines: np.ndarray
    numbers: dict[str, np.ndarray]
    strings: dict[str, list[str]]
    targets: dict[str, list[str]]
    ids: list[str] | None

    def take(self, rows: np.ndarray) -> ParsedRows:
        """The rows at positions ``rows``."""
        return ParsedRows(
            self.path,
            self.lines[rows],
            {name: values[rows] for name, values in self.numbers.items()},
            {name: [cells[row] for row in rows] for name, cells in self.strings.items()},
            {name: [cells[row] for row in rows] for name, cells in self.targets.items()},
            [self.ids[row] for row in rows] if self.ids is not None else None,
        )


class CsvSource(FittedSource):
    """One split of a CSV table, parsed but not yet encoded (see the module docstring for the encoding).

    ``every_target``: the target cells of the whole training file, from which the class names come (so that
    a class only some held-out rows have still gets its index)."""

    def __init__(
        self,
        parsed: ParsedRows,
        every_target: ParsedRows,
        columns: Columns,
        delimiter: str,
        transform: BatchTransform | None = None,
    ) -> None:
        self.parsed, self.every_target, self.columns = parsed, every_target, columns
        self.delimiter, self.transform = delimiter, transform

    def __len__(self) -> int:
        return len(self.parsed.lines)

    def fit(self, rows: np.ndarray, task: Task) -> dict[str, Any]:
        """Standardisation statistics and category lists of ``rows``, and the class names of the file."""
        fitted = self.parsed.take(rows)
        features: list[dict[str, Any]] = []
        for name in self.columns.features:
            kind = self.columns.categorical.get(name, "numeric")
            if kind == "numeric":
                values = fitted.numbers[name]
                std = float(values.std()) if len(values) else 0.0
                mean = float(values.mean()) if len(values) else 0.0
                features.append({"name": name, "kind": kind, "mean": mean, "std": std if std > 0 else 1.0})
            else:
                categories = sorted(set(fitted.strings[name]))
                features.append({"name": name, "kind": kind, "categories": categories})
        preprocessing: dict[str, Any] = {
            "source": "csv",
            "delimiter": self.delimiter,
            "target": list(self.columns.target),
            "id": self.columns.id,
            "features": features,
        }
        classes = class_names(self.every_target, task)
        if classes is not None:
            preprocessing["classes"] = classes
        return preprocessing

    def prepare(
        self,
        rows: np.ndarray,
        preprocessing: dict[str, Any],
        task: Task,
        transform: BatchTransform | None = None,
    ) -> ArrayDataset:
        """``rows`` encoded with ``preprocessing``: float32 inputs (N, width), targets in ``task``'s form."""
        chosen = self.parsed.take(rows)
        x = encode_inputs(chosen, preprocessing)
        y = encode_targets(chosen, preprocessing, task)
        return ArrayDataset(x, y, transform if transform is not None else self.transform)


def class_names(rows: ParsedRows, task: Task) -> list[str] | None:
    """The class names of ``task`` from the target cells of ``rows`` (None for regression); a
    :class:`TargetError` names the line whose target does not fit."""
    columns = list(rows.targets)
    if task.name == "regression":
        return None
    if task.name == "multilabel":
        return columns
    if len(columns) != 1:
        raise TargetError(
            f"task {task.name} takes one target column, got {len(columns)} ({', '.join(columns)}); for "
            "several 0/1 columns use task: multilabel, for several numbers task: regression"
        )
    cells = rows.targets[columns[0]]
    values = _whole_numbers(cells)
    if values is not None:
        if task.name == "binary" and set(values.tolist()) <= {0, 1}:
            return ["0", "1"]
        names = [str(value) for value in sorted(set(values.tolist()))]
    else:
        names = sorted(set(cells))
    if task.name == "binary" and len(names) > 2:
        labels = _labels(cells, names)
        line = rows.lines[labels.index(names[2])]
        raise TargetError(
            f"{rows.path}:{line}: column {columns[0]!r} has a third value {names[2]!r} besides "
            f"{names[0]!r} and {names[1]!r}; binary targets have two values (or use task: classification)"
        )
    if task.name == "binary" and len(names) < 2:
        raise TargetError(
            f"{rows.path}: column {columns[0]!r} has the one value {names[0]!r}; binary targets need two "
            "(or the numbers 0 and 1)"
        )
    return names


def encode_inputs(rows: ParsedRows, preprocessing: dict[str, Any]) -> np.ndarray:
    """The float32 inputs (N, width) of ``rows`` with the fitted ``preprocessing``."""
    blocks = []
    for feature in preprocessing["features"]:
        name, kind = feature["name"], feature["kind"]
        if kind == "numeric":
            values = rows.numbers[name]
            blocks.append(((values - feature["mean"]) / feature["std"])[:, None])
            continue
        categories = feature["categories"]
        position = {category: index for index, category in enumerate(categories)}
        found = np.array([position.get(cell, -1) for cell in rows.strings[name]], dtype=np.int64)
        if kind == "onehot":
            blocks.append((found[:, None] == np.arange(len(categories))).astype(np.float64))
            continue
        if (found < 0).any():
            row = int(np.argmax(found < 0))
            raise DatasetError(
                f"{rows.path}:{rows.lines[row]}: column {name!r} holds {rows.strings[name][row]!r}, "
                f"a category the training rows do not have (index encoding knows {_shown(categories)}); "
                "use onehot, which encodes an unseen category as all zeros"
            )
        blocks.append(found[:, None].astype(np.float64))
    return np.concatenate(blocks, axis=1).astype(np.float32)


def encode_targets(rows: ParsedRows, preprocessing: dict[str, Any], task: Task) -> np.ndarray:
    """The targets of ``rows`` in ``task``'s form, classes numbered as in ``preprocessing["classes"]``."""
    columns = preprocessing["target"]
    if task.name in ("regression", "multilabel"):
        values = np.stack([_target_numbers(rows, name) for name in columns], axis=1)
        if task.name == "multilabel":
            bad = (values != 0) & (values != 1)
            if bad.any():
                row, column = (int(i) for i in np.argwhere(bad)[0])
                raise TargetError(
                    f"{rows.path}:{rows.lines[row]}: column {columns[column]!r} holds "
                    f"{rows.targets[columns[column]][row]!r}; multilabel targets are 0 or 1"
                )
        return values.astype(np.float32)
    classes = preprocessing["classes"]
    if len(columns) != 1:
        raise TargetError(f"task {task.name} takes one target column, got {len(columns)}")
    cells = rows.targets[columns[0]]
    names = _labels(cells, classes)
    index = {name: position for position, name in enumerate(classes)}
    labels = np.array([index.get(name, -1) for name in names], dtype=np.int64)
    if (labels < 0).any():
        row = int(np.argmax(labels < 0))
        raise TargetError(
            f"{rows.path}:{rows.lines[row]}: column {columns[0]!r} holds {cells[row]!r}, not one of the "
            f"training file's classes {_shown(classes)}"
        )
    return labels if task.name == "classification" else labels[:, None].astype(np.float32)


def unlabelled_targets(count: int, preprocessing: dict[str, Any], task: Task) -> np.ndarray:
    """Zeros in ``task``'s form for ``count`` rows read without their targets."""
    if task.name == "classification":
        return np.zeros(count, dtype=np.int64)
    return np.zeros((count, len(preprocessing["target"])), dtype=np.float32)


def _whole_numbers(cells: list[str]) -> np.ndarray | None:
    """The cells as int64 when every one is a whole number (``3``, ``3.0``), else None."""
    try:
        values = np.array([float(cell) for cell in cells], dtype=np.float64)
    except ValueError:
        return None
    if not (np.isfinite(values).all() and (values == np.round(values)).all()):
        return None
    return values.astype(np.int64)


def _labels(cells: list[str], classes: list[str]) -> list[str]:
    """Each cell as a class name: when the classes are whole numbers, the number it holds written plainly
    (``3.0`` → ``3``), else the cell itself."""
    if not all(_plain_int(name) for name in classes):
        return list(cells)
    names = []
    for cell in cells:
        try:
            value = float(cell)
        except ValueError:
            names.append(cell)
            continue
        names.append(str(int(value)) if np.isfinite(value) and value == round(value) else cell)
    return names


def _plain_int(text: str) -> bool:
    try:
        return str(int(text)) == text
    except ValueError:
        return False


def _target_numbers(rows: ParsedRows, name: str) -> np.ndarray:
    values = np.empty(len(rows.lines), dtype=np.float64)
    for row, cell in enumerate(rows.targets[name]):
        try:
            values[row] = float(cell)
        except ValueError:
            values[row] = np.nan
        if not np.isfinite(values[row]):
            raise TargetError(f"{rows.path}:{rows.lines[row]}: column {name!r} holds {cell!r}, not a number")
    return values


def _shown(names: list[str]) -> str:
    return "[" + ", ".join(map(repr, names[:8])) + (", …]" if len(names) > 8 else "]")
