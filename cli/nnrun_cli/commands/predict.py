"""``nnrun predict``: a checkpoint's predictions on new inputs, as a short table or written to a file."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from nnrun._launcher import is_terminal
from nnrun_cli.errors import CLIError, debug_requested, reported_errors
from nnrun_cli.loading import existing_file, is_checkpoint
from nnrun_cli.options import DebugOption, ImportOption

SHOWN_ROWS = 10  # rows printed without --output
SHOWN_SCORES = 5  # score columns printed without --output

OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output", "-o", metavar="PATH", help="Write every prediction to PATH: .csv, .npz or .jsonl."
    ),
]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Replace the --output file if it exists.")]


def predict(
    ctx: typer.Context,
    checkpoint: Annotated[
        str, typer.Argument(metavar="CHECKPOINT", help="A checkpoint written by nnrun train.")
    ],
    inputs: Annotated[
        str, typer.Argument(metavar="INPUT", help="A file, a folder (its files, sorted) or a quoted glob.")
    ],
    output: OutputOption = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", metavar="N", min=1, help="Inputs per batch.")
    ] = 256,
    device: Annotated[
        str, typer.Option("--device", metavar="DEVICE", help="cpu, cuda, cuda:N or auto.")
    ] = "auto",
    overwrite: OverwriteOption = False,
    imports: ImportOption = None,
    debug: DebugOption = False,
) -> None:
    """Predict with CHECKPOINT's model on INPUT, read like its training data (its saved preprocessing and
    class names applied): one row per input with its name, the prediction and the scores. Prints the first
    rows, or writes them all with --output (never over an existing file without --overwrite)."""
    with reported_errors(debug_requested(ctx, debug)):
        checkpoint_file(checkpoint, "nnrun predict CHECKPOINT INPUT")
        target = checked_output(output, overwrite)
        import nnrun

        with progress_bar() as progress:
            predictions = nnrun.predict(
                checkpoint,
                inputs,
                batch_size=batch_size,
                device=device,
                progress=progress,
                imports=imports or (),
            )
        if target is not None:
            write(predictions, target, overwrite)
        else:
            print_table(predictions)


def checkpoint_file(target: str, usage: str) -> None:
    """Refuse a ``target`` that is missing or not a checkpoint (a config given by mistake)."""
    if not is_checkpoint(existing_file(target)):
        raise CLIError(f"{target} is not a checkpoint; {usage} takes one written by nnrun train")


def checked_output(output: str | None, overwrite: bool) -> str | None:
    """``output`` once it has a known suffix and, without ``--overwrite``, is not there yet (checked before
    any work, so a long run does not end in a refusal)."""
    if output is None:
        return None
    from nnrun.train.prediction_files import check_output

    try:
        return check_output(output, overwrite)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    except FileExistsError:
        raise CLIError(f"{output} exists already; use --overwrite to replace it") from None
    except IsADirectoryError:
        raise CLIError(f"{output} is a folder; --output names a .csv, .npz or .jsonl file") from None


def write(predictions: Any, output: str, overwrite: bool) -> None:
    from nnrun.train.prediction_files import write_predictions

    write_predictions(predictions, output, overwrite=overwrite)
    typer.echo(f"wrote {len(predictions):,} prediction{'s' * (len(predictions) != 1)} to {output}")


@contextlib.contextmanager
def progress_bar() -> Iterator[Any]:
    """A ``progress(done, total)`` hook that draws a rich bar on a terminal (stderr); None otherwise."""
    if not is_terminal(sys.stderr):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "predicting",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("predict", total=None)

    def progress(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total or None)

    with bar:
        yield progress


def print_table(predictions: Any) -> None:
    """The first rows (name, prediction, the first scores) and how many there are."""
    from rich.console import Console
    from rich.table import Table

    from nnrun.train.prediction_files import rows

    table_rows = rows(predictions)[:SHOWN_ROWS]
    names = predictions.score_names[:SHOWN_SCORES]
    head = ["name", "prediction", *names]
    more = len(predictions.score_names) - len(names)
    lines = [
        [row["name"], _shown(row["prediction"]), *(f"{row['scores'][name]:.4f}" for name in names)]
        for row in table_rows
    ]
    console = Console()
    if console.is_terminal:
        table = Table()
        for i, heading in enumerate(head):
            table.add_column(heading, justify="left" if i < 2 else "right")
        for line in lines:
            table.add_row(*line)
        console.print(table)
    else:
        widths = [max(len(str(cell)) for cell in column) for column in zip(head, *lines)]
        for line in [head, *lines]:
            typer.echo("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())
    shown = f"{len(table_rows)} of {len(predictions):,} predictions shown"
    hidden = f", {more} more score columns" if more > 0 else ""
    typer.echo(f"({shown}{hidden}; write them all with --output preds.csv|.npz|.jsonl)")


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ";".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)
