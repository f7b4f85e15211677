"""``nnrun train``: train a training config's model, with overrides, resume, progress and a run folder."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from nnrun.distributed import launched_rank
from nnrun_cli.errors import RUN_ERROR, CLIError, debug_requested, reported_errors
from nnrun_cli.loading import config_api, existing_file

INTERRUPTED = 130  # the shell's code for a process stopped by SIGINT

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", metavar="KEY.PATH=VALUE", help="Override a config value (repeatable), e.g. train.epochs=5."
    ),
]
DeviceOption = Annotated[
    str | None, typer.Option("--device", help="cpu, cuda, cuda:N or auto (overrides device).")
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show the Python traceback of an error.")]


def overrides_from(
    sets: list[str] | None, device: str | None = None, output: str | None = None, epochs: int | None = None
) -> list[str]:
    """The ``--set`` overrides, then those of the dedicated options (values quoted as YAML strings)."""
    overrides = list(sets or [])
    if device is not None:
        overrides.append(f"device={json.dumps(device)}")
    if output is not None:
        overrides.append(f"output={json.dumps(output)}")
    if epochs is not None:
        overrides.append(f"train.epochs={epochs}")
    return overrides


def train(
    ctx: typer.Context,
    config: Annotated[str, typer.Argument(metavar="CONFIG", help="A training config (YAML).")],
    set_: SetOption = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume", metavar="PATH|auto", help="Continue from a checkpoint; auto: the run's last."
        ),
    ] = None,
    device: DeviceOption = None,
    output: Annotated[str | None, typer.Option("--output", help="Run folder (default runs/NAME).")] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", min=1, help="Number of epochs (train.epochs).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Print the resolved config and exit.")
    ] = False,
    debug: DebugOption = False,
) -> None:
    """Train the model of CONFIG: progress on the terminal, metrics and checkpoints in the run folder.
    Ctrl-C saves an 'interrupted' checkpoint (exit code 130); --resume auto continues exactly. Started by
    mpirun -n N, it trains data-parallel on N processes (README: Scaling out)."""
    try:
        with reported_errors(debug_requested(ctx, debug)):
            _train(config, overrides_from(set_, device, output, epochs), resume, quiet, print_config)
    except KeyboardInterrupt:  # a second Ctrl-C, or one before training started
        typer.echo("interrupted (no checkpoint saved at this point)", err=True)
        raise typer.Exit(INTERRUPTED) from None


def _train(config: str, overrides: list[str], resume: str | None, quiet: bool, print_config: bool) -> None:
    cfg = config_api().load_training(existing_file(config), overrides)
    if print_config:
        if launched_rank() == 0:
            typer.echo(cfg.yaml, nl=False)
        return
    from nnrun.train import Trainer, TrainingError, TrainingInterrupted

    trainer = Trainer(cfg, progress=not quiet)
    try:
        trainer.fit(resume=resume)
    except TrainingInterrupted as stop:
        if not trainer.is_global_zero:  # every rank stopped at the same step; rank 0 tells the user
            raise typer.Exit(INTERRUPTED) from None
        where = f"saved {stop.checkpoint}" if stop.checkpoint else "no checkpoint folder"
        launcher = f"mpirun -n {trainer.world_size} " if trainer.world_size > 1 else ""
        again = f"{launcher}nnrun train {config} --resume auto"
        typer.echo(f"interrupted: {where}; continue with: {again}", err=True)
        raise typer.Exit(INTERRUPTED) from None
    except TrainingError as error:
        raise CLIError(str(error), RUN_ERROR) from error
