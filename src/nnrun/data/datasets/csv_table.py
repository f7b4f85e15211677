"""``dataset: csv``: a table in a CSV or TSV file, one sample per row, columns picked by name.

``root`` is the file (its ``test`` split: the ``test_split`` hold-out of its rows) or a folder holding
``train.csv`` and ``test.csv`` (or ``.tsv``). The reader returns a :class:`~nnrun.data.fitted.FittedSource`
(:mod:`~nnrun.data.datasets.csv_encoding`): numeric features are standardised and categories listed on the
training rows only. Read with the standard ``csv`` module; every problem names the file, line and column.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnrun._memory import too_large
from nnrun.data.dataset import ArrayDataset
from nnrun.data.datasets.csv_encoding import (
    ENCODINGS,
    Columns,
    CsvSource,
    ParsedRows,
    encode_inputs,
    encode_targets,
    unlabelled_targets,
)
from nnrun.data.errors import DatasetError, OptionError
from nnrun.data.fitted import Inputs
from nnrun.data.tasks import Task
from nnrun.data.transforms import BatchTransform
from nnrun.registry import did_you_mean

#: The delimiters ``delimiter: auto`` chooses from (the one seen most often in the header line).
DELIMITERS = (",", "\t", ";", "|")
#: Cells read as missing values (compared lower-cased), refused wherever a used column holds one.
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
_TEST_STREAM = 0x7E57  # the random stream of the test_split hold-out, apart from val_split's


@dataclass(frozen=True)
class Table:
    """A CSV file as read: its header, one list of (stripped) cells per record, and the line each
    record starts on (1-based, as an editor shows it)."""

    path: Path
    header: list[str]
    cells: list[list[str]]
    lines: np.ndarray


def load_csv(
    root: str | os.PathLike[str],
    split: str = "train",
    *,
    target: str | list[str] | None = None,
    features: list[str] | dict[str, list[str]] | None = None,
    categorical: dict[str, str] | None = None,
    test_split: float | None = None,
    delimiter: str = "auto",
    id: str | None = None,
    transform: BatchTransform | None = None,
    run_seed: int = 0,
) -> CsvSource:
    """The ``split`` ("train" or "test") of a CSV table, to be fitted and encoded (:class:`CsvSource`).

    ``target``: the column (or columns) to predict; ``features``: the input columns (default: all but the
    targets and ``id``; ``{all_except: [...]}`` leaves more out); ``categorical``: string columns and how
    to encode them (``onehot`` or ``index``); ``test_split``: the fraction of a single file's rows held
    out, drawn from ``run_seed``, as the test split; ``delimiter``: ``auto``, ``tab`` or one character;
    ``id``: the column that names each row. ``transform`` runs on each encoded batch.
    """
    check_csv(
        target=target, features=features, categorical=categorical, test_split=test_split,
        delimiter=delimiter, id=id,
    )  # fmt: skip
    if split not in ("train", "test"):
        raise DatasetError(f"Unknown split {split!r}: expected 'train' or 'test'.")
    path = _split_file(Path(root), split, test_split)
    table = read_table(path, delimiter)
    columns = select_columns(table, target, features, categorical or {}, id)
    rows = np.arange(len(table.cells))
    if test_split is not None and Path(root).is_file():
        held_out = _held_out(len(rows), test_split, run_seed, path)
        rows = held_out if split == "test" else np.setdiff1d(rows, held_out)
    parsed = parse_rows(table, rows, columns, with_targets=True)
    every_target = parse_rows(table, np.arange(len(table.cells)), _targets_only(columns), with_targets=True)
    return CsvSource(parsed, every_target, columns, delimiter, transform)


def check_csv(**options: Any) -> None:
    """Check the csv options' types before any file is read; :class:`OptionError` names the first bad one."""
    target = options.get("target")
    if target is None:
        raise OptionError("target", "csv needs target: the column (or list of columns) to predict")
    if not _names(target, single_ok=True):
        raise OptionError("target", f"csv: target is a column name or a list of them, got {target!r}")
    features = options.get("features")
    if features is not None and not _names(features):
        left_out = features.get("all_except") if isinstance(features, dict) and len(features) == 1 else None
        if left_out is None or not _names(left_out):
            raise OptionError(
                "features",
                f"csv: features is a list of column names or {{all_except: [names]}}, got {features!r}",
            )
    categorical = options.get("categorical") or {}
    if not isinstance(categorical, dict) or not all(
        isinstance(name, str) and kind in ENCODINGS for name, kind in categorical.items()
    ):
        raise OptionError(
            "categorical",
            f"csv: categorical maps column names to {' or '.join(ENCODINGS)} "
            f"(e.g. {{city: onehot}}), got {categorical!r}",
        )
    fraction = options.get("test_split")
    if fraction is not None and (
        isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1
    ):
        raise OptionError("test_split", f"csv: test_split is a fraction between 0 and 1, got {fraction!r}")
    delimiter = options.get("delimiter", "auto")
    if not isinstance(delimiter, str) or not (delimiter in ("auto", "tab") or len(delimiter) == 1):
        raise OptionError(
            "delimiter", f"csv: delimiter is auto, tab or one character (e.g. ';'), got {delimiter!r}"
        )
    column = options.get("id")
    if column is not None and not isinstance(column, str):
        raise OptionError("id", f"csv: id is a column name, got {column!r}")


def read_table(path: Path, delimiter: str = "auto") -> Table:
    """The records of the CSV file ``path`` (blank lines skipped), split at ``delimiter`` (``auto``: by the
    file's suffix, else the most frequent of , tab ; | in the header line)."""
    problem = too_large(path.stat().st_size * 8)  # cells as Python strings take several times the bytes
    if problem:
        raise DatasetError(f"{path}: this table would take {problem}.")
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            text = file.read()
    except UnicodeDecodeError as error:
        line = text_line(path, error.start)
        raise DatasetError(
            f"{path}:{line}: not UTF-8 text ({error.reason}); save the table as UTF-8."
        ) from None
    separator = resolve_delimiter(path, delimiter, text.split("\n", 1)[0])
    reader = csv.reader(text.splitlines(keepends=True), delimiter=separator, strict=True)
    records: list[list[str]] = []
    lines: list[int] = []
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise DatasetError(f"{path}:{reader.line_num}: not valid CSV ({error}).") from None
        if any(cell.strip() for cell in record):
            records.append([cell.strip() for cell in record])
            lines.append(start)
    if not records:
        raise DatasetError(f"{path}: the file is empty; a table needs a header line and rows.")
    header, cells, header_line, lines = records[0], records[1:], lines[0], lines[1:]
    _check_header(path, header, header_line)
    for record, line in zip(cells, lines):
        if len(record) != len(header):
            raise DatasetError(
                f"{path}:{line}: {len(record)} cells, but the header has {len(header)} columns "
                f"(delimiter {_shown(separator)}; set data.options.delimiter if it is another)."
            )
    if not cells:
        raise DatasetError(f"{path}: the table has a header but no rows.")
    return Table(path, header, cells, np.asarray(lines, dtype=np.int64))


def resolve_delimiter(path: Path, option: str, header_line: str) -> str:
    """The delimiter ``option`` means for ``path``: ``tab``, one character, or ``auto`` (tab for .tsv and
    .tab files, else the most frequent of , tab ; | in the header line, ``,`` when none is there)."""
    if option == "tab":
        return "\t"
    if option != "auto":
        return option
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    counts = [header_line.count(candidate) for candidate in DELIMITERS]
    return DELIMITERS[int(np.argmax(counts))] if max(counts) else ","


def text_line(path: Path, offset: int) -> int:
    """The line of byte ``offset`` in ``path``."""
    with open(path, "rb") as file:
        return file.read(offset).count(b"\n") + 1


def select_columns(
    table: Table,
    target: str | list[str],
    features: list[str] | dict[str, list[str]] | None,
    categorical: dict[str, str],
    id: str | None,
) -> Columns:
    """The columns the options name, each checked against the header (:class:`OptionError` at the option,
    with a did-you-mean); features default to every column but the targets and the id."""
    targets = [target] if isinstance(target, str) else list(target)
    for option, names in (("target", targets), ("id", [id] if id else [])):
        _known(table, option, names)
    for option, names in (("target", targets), ("features", features if isinstance(features, list) else [])):
        repeated = [name for i, name in enumerate(names) if name in names[:i]]
        if repeated:
            raise OptionError(option, f"csv: column {repeated[0]!r} is named twice in {option}")
    leave_out = {*targets, *([id] if id else [])}
    if isinstance(features, dict):
        _known(table, "features", features["all_except"])
        leave_out |= set(features["all_except"])
        chosen = [name for name in table.header if name not in leave_out]
    elif features is None:
        chosen = [name for name in table.header if name not in leave_out]
    else:
        _known(table, "features", features)
        chosen = list(features)
        clash = [name for name in chosen if name in targets or name == id]
        if clash:
            raise OptionError("features", f"csv: {clash[0]!r} is a target or the id, not a feature")
    if not chosen:
        raise OptionError("features", f"csv: no feature columns are left in {table.path}")
    _known(table, "categorical", list(categorical))
    stray = [name for name in categorical if name not in chosen]
    if stray:
        raise OptionError(
            "categorical",
            f"csv: categorical column {stray[0]!r} is not a feature"
            + (" (a target's classes are found by the task)" if stray[0] in targets else ""),
        )
    return Columns(targets, chosen, dict(categorical), id)


def parse_rows(table: Table, rows: np.ndarray, columns: Columns, with_targets: bool) -> ParsedRows:
    """``rows`` of ``table`` parsed: numeric features as float64, categorical ones, targets and the id as
    strings; a missing value, or text in a numeric column, is a :class:`DatasetError` at its line."""
    index = {name: position for position, name in enumerate(table.header)}
    lines = table.lines[rows]
    records = [table.cells[row] for row in rows]
    wanted = [
        *columns.features,
        *(columns.target if with_targets else []),
        *([columns.id] if columns.id else []),
    ]
    positions = [index[name] for name in wanted]
    for record, line in zip(records, lines):  # row by row: the first line that has one is named
        for name, column in zip(wanted, positions):
            if record[column].lower() in MISSING:
                raise DatasetError(
                    f"{table.path}:{line}: column {name!r} has a missing value ({record[column]!r}); "
                    "fill it in or drop the row (missing values are refused)."
                )
    numbers = {}
    strings = {}
    for name in columns.features:
        cells = [record[index[name]] for record in records]
        if name in columns.categorical:
            strings[name] = cells
        else:
            numbers[name] = _numbers(table.path, name, cells, lines)
    targets = (
        {name: [record[index[name]] for record in records] for name in columns.target} if with_targets else {}
    )
    ids = [record[index[columns.id]] for record in records] if columns.id else None
    return ParsedRows(table.path, lines, numbers, strings, targets, ids)


def read_inputs(
    paths: list[str], preprocessing: dict[str, Any], task: Task, options: dict[str, Any], labelled: bool
) -> Inputs:
    """New rows from CSV files, encoded with a checkpoint's ``preprocessing``: named by the id column's
    values, else ``line N`` (``file line N`` for several files); with ``labelled`` the target columns are
    required, else they are ignored when present."""
    if preprocessing.get("source") != "csv":
        source = preprocessing.get("source", "data that needs no fitting")
        raise DatasetError(f"csv: the checkpoint's model was trained on {source}, not on a csv table")
    features = [feature["name"] for feature in preprocessing["features"]]
    categorical = {f["name"]: f["kind"] for f in preprocessing["features"] if f["kind"] in ENCODINGS}
    delimiter = options.get("delimiter", preprocessing.get("delimiter", "auto"))
    names: list[str] = []
    inputs, targets = [], []
    for text in paths:
        table = read_table(Path(text), delimiter)
        missing = [
            name
            for name in features + (preprocessing["target"] if labelled else [])
            if name not in table.header
        ]
        if missing:
            raise DatasetError(
                f"{text}: no column {missing[0]!r}{did_you_mean(missing[0], table.header)}; the model "
                f"reads {', '.join(features)}"
                + (f" and targets {', '.join(preprocessing['target'])}" if labelled else "")
            )
        id_column = preprocessing.get("id") if preprocessing.get("id") in table.header else None
        columns = Columns(preprocessing["target"], features, categorical, id_column)
        parsed = parse_rows(table, np.arange(len(table.cells)), columns, with_targets=labelled)
        inputs.append(encode_inputs(parsed, preprocessing))
        targets.append(
            encode_targets(parsed, preprocessing, task)
            if labelled
            else unlabelled_targets(len(parsed.lines), preprocessing, task)
        )
        prefix = f"{Path(text).name} " if len(paths) > 1 else ""
        names += parsed.ids if parsed.ids is not None else [f"{prefix}line {line}" for line in parsed.lines]
    return Inputs(names, ArrayDataset(np.concatenate(inputs), np.concatenate(targets)), labelled)


def _split_file(root: Path, split: str, test_split: float | None) -> Path:
    if root.is_dir():
        if test_split is not None:
            raise OptionError(
                "test_split",
                f"csv: {root} is a folder with its own test file; test_split holds rows out of a single file",
            )
        found = [root / f"{split}{suffix}" for suffix in _SUFFIXES if (root / f"{split}{suffix}").is_file()]
        if not found:
            raise DatasetError(
                f"csv: {root} holds no {split}.csv (or {split}.tsv); a folder root holds train.csv "
                "and test.csv."
            )
        return found[0]
    if not root.is_file():
        raise DatasetError(f"csv: {root} does not exist; point root at a CSV file or a folder of them.")
    if split == "test" and test_split is None:
        raise DatasetError(
            f"csv: {root} has no test split: set data.options.test_split (e.g. 0.2) to hold rows out, point "
            "root at a folder holding train.csv and test.csv, or set train.test: false."
        )
    return root


def _held_out(count: int, fraction: float, seed: int, path: Path) -> np.ndarray:
    """The rows of the test hold-out (sorted), drawn from the run's seed on a stream of their own."""
    n_test = max(1, round(count * fraction))
    if n_test >= count:
        raise OptionError(
            "test_split", f"csv: test_split {fraction} leaves no training rows of the {count} in {path}"
        )
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_TEST_STREAM,)))
    return np.sort(rng.permutation(count)[:n_test])


def _targets_only(columns: Columns) -> Columns:
    return Columns(columns.target, [], {}, None)


def _numbers(path: Path, name: str, cells: list[str], lines: np.ndarray) -> np.ndarray:
    values = np.empty(len(cells), dtype=np.float64)
    for position, cell in enumerate(cells):
        try:
            values[position] = float(cell)
        except ValueError:
            raise DatasetError(
                f"{path}:{lines[position]}: column {name!r} holds {cell!r}, not a number; if it is a "
                f"category, declare it: data.options.categorical: {{{name}: onehot}} (or index)."
            ) from None
        if not np.isfinite(values[position]):
            raise DatasetError(
                f"{path}:{lines[position]}: column {name!r} holds {cell!r}, not a finite number."
            )
    return values


def _known(table: Table, option: str, names: list[str]) -> None:
    for name in names:
        if name not in table.header:
            raise OptionError(
                option,
                f"csv: {table.path} has no column {name!r}{did_you_mean(name, table.header)}; "
                f"its columns: {', '.join(table.header)}",
            )


def _check_header(path: Path, header: list[str], line: int) -> None:
    seen: set[str] = set()
    for position, name in enumerate(header):
        if not name:
            raise DatasetError(f"{path}:{line}: header column {position + 1} has no name.")
        if name in seen:
            raise DatasetError(f"{path}:{line}: header names column {name!r} twice.")
        seen.add(name)


def _names(value: Any, single_ok: bool = False) -> bool:
    if single_ok and isinstance(value, str):
        return bool(value)
    return isinstance(value, list) and bool(value) and all(isinstance(name, str) and name for name in value)


def _shown(separator: str) -> str:
    return "tab" if separator == "\t" else repr(separator)
