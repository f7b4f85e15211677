"""``nnrun`` command: parses arguments, calls the library, formats results; no numerics here."""

from __future__ import annotations

import os

import typer

import nnrun
from nnrun._launcher import under_launcher
from nnrun_cli.commands.eval import evaluate
from nnrun_cli.commands.inspect import inspect
from nnrun_cli.commands.predict import predict
from nnrun_cli.commands.train import train
from nnrun_cli.commands.validate import validate
from nnrun_cli.options import Command, Group

app = typer.Typer(
    name="nnrun",
    cls=Group,
    help="Train and inspect neural networks described in YAML, on NumPy (CPU) or CuPy (GPU).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"nnrun {nnrun.__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show Python tracebacks of errors (any command)."),
) -> None:
    """nnrun: PyTorch-shaped neural networks on NumPy/CuPy."""
    ctx.obj = {"debug": debug}


@app.command(cls=Command)
def info() -> None:
    """Show the nnrun version and the compute devices it can use."""
    typer.echo(f"nnrun {nnrun.__version__}")
    count = nnrun.cuda.device_count()
    typer.echo("devices: cpu" + "".join(f", cuda:{i}" for i in range(count)))


app.command(cls=Command)(inspect)
app.command(cls=Command)(validate)
app.command(cls=Command)(train)
app.command(cls=Command, name="eval")(evaluate)
app.command(cls=Command)(predict)


def main() -> None:
    if under_launcher():  # a rank's output reaches mpirun's log through a pseudo-terminal: no escape codes
        os.environ["NO_COLOR"] = "1"
        os.environ["TERM"] = "dumb"
    app()
