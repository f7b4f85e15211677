"""``nnrun train``: train a training config's model, with overrides, resume, progress and a run folder."""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

from nnrun.distributed import launched_rank
from nnrun_cli.errors import CLIError, debug_requested, reported_errors
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
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Build everything, run one training step, one val batch and one test batch, write nothing.",
        ),
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
            if dry_run and not print_config:
                _dry_run(run, resume)
            else:
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
    if trainer.init_report is not None and trainer.is_global_zero:
        typer.echo(str(trainer.init_report), err=True)
    try:
        trainer.fit(resume=resume, overwrite=overwrite)
    except TrainingInterrupted as stop:
        if not trainer.is_global_zero:  # every rank stopped at the same step; rank 0 tells the user
            raise typer.Exit(INTERRUPTED) from None
        where = f"saved {stop.checkpoint}" if stop.checkpoint else "no checkpoint folder"
        typer.echo(f"interrupted: {where}; continue with: {run.resume_command(trainer.world_size)}", err=True)
        raise typer.Exit(INTERRUPTED) from None


def _dry_run(run: RunOptions, resume: str | None) -> None:
    """``--dry-run``: the whole pipeline on one batch of each split, nothing written (like Lightning's
    ``fast_dev_run``); a broken config, dataset, model or loss fails here in seconds."""
    if resume is not None:
        raise CLIError("--dry-run writes nothing and resumes nothing: drop --resume")
    api = config_api()
    cfg = api.load_training(existing_file(run.config), run.overrides())
    from nnrun.train import Trainer
    from nnrun.train.build import settings_from

    settings = settings_from(cfg).for_dry_run()
    trainer = Trainer.from_config(cfg, settings=settings, progress=False, need_test=True)
    summary = trainer.fit()
    if not trainer.is_global_zero:
        return
    final = summary["final"]
    done = [f"1 training step (train/loss {final['train/loss']:.4f})"]
    for split in ("val", "test"):
        key = f"{split}/loss"
        done.append(f"1 {split} batch ({key} {final[key]:.4f})" if key in final else f"no {split} split")
    if trainer.init_report is not None:
        done.insert(0, str(trainer.init_report))
    typer.echo(f"dry run of {cfg.name} on {trainer.device}: {', '.join(done)}; nothing was written")
