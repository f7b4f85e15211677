"""Metric values as text for ``nnrun eval``: numbers on one line, a confusion matrix as a small table and
per-class values as ``class value`` lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def scalar_line(metrics: dict[str, Any]) -> str:
    """``test/loss 0.3012  test/accuracy 0.9123 …`` for the metrics whose values are numbers."""
    return "  ".join(f"{key} {value:.4f}" for key, value in metrics.items() if isinstance(value, float))


def other_blocks(metrics: dict[str, Any], classes: Sequence[str] | None = None) -> list[str]:
    """One text block per metric whose value is a list: a confusion matrix (rows true, columns
    predicted) or per-class values, labelled with ``classes`` (the class names) when given."""
    blocks = []
    for key, value in metrics.items():
        if not isinstance(value, list):
            continue
        if value and isinstance(value[0], list):
            blocks.append(f"{key} (rows: true class, columns: predicted)\n{confusion_table(value, classes)}")
        else:
            names = _names(len(value), classes)
            width = max((len(name) for name in names), default=0)
            lines = [f"  {name:<{width}}  {item:.4f}" for name, item in zip(names, value)]
            blocks.append("\n".join([key, *lines]))
    return blocks


def confusion_table(matrix: list[list[int]], classes: Sequence[str] | None = None) -> str:
    """The counts of ``matrix`` as aligned columns, headed by the class names (or indices)."""
    names = _names(len(matrix), classes)
    cells = [[str(count) for count in row] for row in matrix]
    width = max([len(name) for name in names] + [len(cell) for row in cells for cell in row])
    label = max(len(name) for name in names)
    header = " " * (label + 2) + "".join(f"  {name:>{width}}" for name in names)
    rows = [
        f"  {name:<{label}}" + "".join(f"  {cell:>{width}}" for cell in row)
        for name, row in zip(names, cells)
    ]
    return "\n".join([header, *rows])


def _names(count: int, classes: Sequence[str] | None) -> list[str]:
    if classes is not None and len(classes) == count:
        return [str(name) for name in classes]
    return [str(index) for index in range(count)]
