"""``nnrun train``: train a training config's model, with overrides, resume, progress and a run folder."""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

from nnrun.distributed import launched_rank
from nnrun_cli.errors import debug_requested, reported_errors
from nnrun_cli.loading import config_api, existing_file
from nnrun_cli.options import DebugOption, DeviceOption, SetOption

INTERRUPTED = 130  # the shell's code for a process stopped by SIGINT


@dataclass
class RunOptions:
    """The options of one ``nnrun train`` call that say what to train and where."""

    config: str
    sets: list[str] = field(default_factory=list)
    device: str | None = None
    output: str | None = None
    epochs: int | None = None
    quiet: bool = False

    def overrides(self) -> list[Any]:
        return overrides_from(self.sets, self.device, self.output, self.epochs)

    def resume_command(self, world_size: int) -> str:
        """The shell command that continues this run from its last checkpoint (each value quoted)."""
        words = ["mpirun", "-n", str(world_size)] if world_size > 1 else []
        # a config named like an option (-x.yaml) is written as ./-x.yaml
        config = os.path.join(".", self.config) if self.config.startswith("-") else self.config
        words += ["nnrun", "train", config]
        for text in self.sets:
            words += ["--set", text]
        for option, value in (
            ("--output", self.output),
            ("--device", self.device),
            ("--epochs", self.epochs),
        ):
            if value is not None:
                words += [option, str(value)]
        words += ["--quiet"] if self.quiet else []
        return shlex.join([*words, "--resume", "auto"])


def overrides_from(
    sets: list[str] | None, device: str | None = None, output: str | None = None, epochs: int | None = None
) -> list[Any]:
    """The ``--set`` overrides, then those of the dedicated options (values quoted as YAML strings, errors
    labelled with the option)."""
    Override = config_api().Override
    overrides: list[Any] = [Override(text) for text in sets or []]
    if device is not None:
        overrides.append(Override(f"device={json.dumps(device)}", "--device"))
    if output is not None:
        overrides.append(Override(f"output={json.dumps(output)}", "--output"))
    if epochs is not None:
        overrides.append(Override(f"train.epochs={epochs}", "--epochs"))
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
    output: Annotated[
        str | None, typer.Option("--output", metavar="DIR", help="Run folder (default runs/NAME).")
    ] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", metavar="N", min=1, help="Number of epochs (train.epochs).")
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace the run already in the run folder (its config, metrics, checkpoints).",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Print the resolved config and exit.")
    ] = False,
    debug: DebugOption = False,
) -> None:
    """Train the model of CONFIG: progress on the terminal, metrics and checkpoints in the run folder.
    A folder that holds a run is never overwritten (use --resume auto, --output or --overwrite). Ctrl-C
    saves an 'interrupted' checkpoint (exit code 130); --resume auto continues exactly. Started by
    mpirun -n N, it trains data-parallel on N processes (README: Scaling out)."""
    run = RunOptions(config, list(set_ or []), device, output, epochs, quiet)
    try:
        with reported_errors(debug_requested(ctx, debug)):
            _train(run, resume, overwrite, print_config)
    except KeyboardInterrupt:  # a second Ctrl-C, or one before training started
        typer.echo("interrupted (no checkpoint saved at this point)", err=True)
        raise typer.Exit(INTERRUPTED) from None


def _train(run: RunOptions, resume: str | None, overwrite: bool, print_config: bool) -> None:
    cfg = config_api().load_training(existing_file(run.config), run.overrides())
    if print_config:
        if launched_rank() == 0:
            typer.echo(cfg.yaml, nl=False)
        return
    from nnrun.train import Trainer, TrainingInterrupted

    trainer = Trainer.from_config(cfg, progress=not run.quiet)
    try:
        trainer.fit(resume=resume, overwrite=overwrite)
    except TrainingInterrupted as stop:
        if not trainer.is_global_zero:  # every rank stopped at the same step; rank 0 tells the user
            raise typer.Exit(INTERRUPTED) from None
        where = f"saved {stop.checkpoint}" if stop.checkpoint else "no checkpoint folder"
        typer.echo(f"interrupted: {where}; continue with: {run.resume_command(trainer.world_size)}", err=True)
        raise typer.Exit(INTERRUPTED) from None
