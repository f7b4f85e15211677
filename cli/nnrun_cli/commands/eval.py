"""``nnrun eval``: loss and metrics of a checkpoint's model on a labelled file or one of its config's splits,
and optionally its per-sample predictions."""

from __future__ import annotations

from typing import Annotated

import typer

from nnrun.utils import tune_malloc
from nnrun_cli.commands.predict import (
    OutputOption,
    OverwriteOption,
    checked_output,
    checkpoint_file,
    write,
)
from nnrun_cli.commands.train import overrides_from
from nnrun_cli.errors import CLIError, debug_requested, reported_errors
from nnrun_cli.loading import existing_file
from nnrun_cli.metric_tables import other_blocks, scalar_line
from nnrun_cli.options import DebugOption, DeviceOption, ImportOption, SetOption

SPLITS = ("test", "val", "train")


def evaluate(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            metavar="CHECKPOINT",
            help="A checkpoint written by nnrun train (or a training config, with --checkpoint).",
        ),
    ],
    checkpoint: Annotated[
        str | None,
        typer.Option("--checkpoint", "-c", help="The checkpoint, when the argument is its training config."),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", metavar="PATH", help="A labelled file, folder or quoted glob to evaluate on."),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option("--split", help="test (default), val or train: a split of the data."),
    ] = None,
    output: OutputOption = None,
    overwrite: OverwriteOption = False,
    set_: SetOption = None,
    device: DeviceOption = None,
    imports: ImportOption = None,
    debug: DebugOption = False,
) -> None:
    """Report the loss and metrics of CHECKPOINT's model on a labelled file (--data) or on a split of the
    data it was trained on (--split; the test split by default), encoded with the checkpoint's saved
    preprocessing; the config saved in the checkpoint says how (change it with --set). --output writes
    every sample's prediction and target."""
    with reported_errors(debug_requested(ctx, debug)):
        if data is not None and split is not None:
            raise CLIError("give --data or --split, not both")
        if split is not None and split not in SPLITS:
            raise CLIError(f"--split is test, val or train, got {split!r}")
        config = None
        if checkpoint is None:  # nnrun eval CHECKPOINT: the config comes from the checkpoint
            checkpoint_file(target, "nnrun eval CHECKPOINT (or CONFIG --checkpoint CHECKPOINT)")
            checkpoint, device = target, device or "auto"
        else:
            config = existing_file(target)
        existing_file(checkpoint)
        destination = checked_output(output, overwrite)
        from nnrun.train.checkpoint_run import evaluation

        chosen = evaluation(
            checkpoint,
            data=data,
            split=split or "test",
            overrides=overrides_from(set_, device),
            config=config,
            imports=imports or (),
        )
        if destination is not None and chosen.trainer.world_size > 1:
            raise CLIError("eval --output runs on one process; leave out --output under mpirun")
        tune_malloc()  # an evaluation run, like a training run (Trainer.fit tunes for nnrun train)
        metrics = chosen.metrics()
        values = scalar_line(metrics)
        samples = len(chosen.loader.dataset)
        where = data if data is not None else chosen.split
        if chosen.trainer.is_global_zero:  # under mpirun every rank evaluated its shard; rank 0 reports
            typer.echo(f"{checkpoint} ({chosen.run.position}) on {where}, {samples:,} samples: {values}")
            for block in other_blocks(metrics, chosen.trainer.preprocessing.get("classes")):
                typer.echo(block)
        if destination is not None:
            write(chosen.predictions(), destination, overwrite)
