"""``nnrun inspect``: the module tree and the torchinfo-style summary of a config's or checkpoint's model."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

import nnrun
from nnrun_cli import render
from nnrun_cli.errors import RUN_ERROR, CLIError, debug_requested, reported_errors
from nnrun_cli.loading import load_model, parse_shape


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


FormatOption = Annotated[OutputFormat, typer.Option("--format", help="text (a table) or json.")]


def inspect(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(metavar="CONFIG_OR_CHECKPOINT", help="A YAML config or a checkpoint.")
    ],
    input_shape: Annotated[
        str | None,
        typer.Option("--input-shape", help="Shape of one sample without the batch dimension, e.g. 1,28,28."),
    ] = None,
    depth: Annotated[
        int, typer.Option("--depth", min=0, help="Deepest module level shown (the model is 0).")
    ] = 3,
    output_format: FormatOption = OutputFormat.text,
    debug: Annotated[bool, typer.Option("--debug", help="Show the Python traceback of an error.")] = False,
) -> None:
    """Print the module tree and, given an input shape, each layer's output shape, parameters and
    multiply-adds with the totals."""
    with reported_errors(debug_requested(ctx, debug)):
        given = parse_shape(input_shape) if input_shape is not None else None
        loaded = load_model(target, given)
        shape = given or loaded.input_shape
        try:
            summary = nnrun.summary(loaded.model, shape, depth=depth)
        except (RuntimeError, ValueError, TypeError) as error:
            message = f"{target}: the model cannot run on input shape {list(shape or ())}: {error}"
            raise CLIError(message, RUN_ERROR) from error
        tree = repr(loaded.model)
        if output_format is OutputFormat.json:
            render.print_json(render.inspect_data(tree, summary if shape else None, target))
        else:
            render.print_text(tree, summary, shape_known=shape is not None)
