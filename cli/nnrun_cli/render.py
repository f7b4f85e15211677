"""Output of ``nnrun inspect``: a rich table on a terminal, plain text otherwise, or JSON."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from nnrun.summary import ModelSummary


def inspect_data(tree: str, summary: ModelSummary | None, source: str) -> dict[str, Any]:
    """What ``--format json`` prints: the module tree and the summary's data (null without an input shape)."""
    return {"source": source, "module_tree": tree, "summary": summary.to_dict() if summary else None}


def print_json(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2))


def print_text(tree: str, summary: ModelSummary, shape_known: bool) -> None:
    """The module tree, then the summary table (or the parameter totals without an input shape)."""
    console = Console()
    if not console.is_terminal:
        typer.echo(tree)
        typer.echo("")
        typer.echo(str(summary) if shape_known else _totals_without_shape(summary))
        return
    console.print(tree, highlight=False, markup=False)
    console.print()
    if shape_known:
        console.print(_rich_table(summary))
        console.print("\n".join(summary.totals_lines()), highlight=False, markup=False)
    else:
        console.print(_totals_without_shape(summary), highlight=False, markup=False)


def _totals_without_shape(summary: ModelSummary) -> str:
    lines = summary.totals_lines()[:3]
    hint = "(no input shape: give --input-shape C,H,W or input_shape in the config for the layer table)"
    return "\n".join([*lines, hint])


def _rich_table(summary: ModelSummary) -> Table:
    table = Table(title=f"{summary.model_name} summary")
    for i, heading in enumerate(summary.header):
        table.add_column(heading, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for row in summary.rows():
        table.add_row(*row)
    return table
