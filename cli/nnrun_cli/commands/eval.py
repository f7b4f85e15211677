"""``nnrun eval``: loss and metrics of a checkpoint's model on the test (or validation) split of a config."""

from __future__ import annotations

from typing import Annotated

import typer

from nnrun.utils import tune_malloc
from nnrun_cli.commands.train import overrides_from
from nnrun_cli.errors import CLIError, debug_requested, reported_errors
from nnrun_cli.loading import config_api, existing_file
from nnrun_cli.metric_tables import other_blocks, scalar_line
from nnrun_cli.options import DebugOption, DeviceOption, SetOption


def evaluate(
    ctx: typer.Context,
    config: Annotated[str, typer.Argument(metavar="CONFIG", help="The training config of the checkpoint.")],
    checkpoint: Annotated[
        str, typer.Option("--checkpoint", "-c", help="A checkpoint written by nnrun train.")
    ],
    split: Annotated[str, typer.Option("--split", help="test or val.")] = "test",
    set_: SetOption = None,
    device: DeviceOption = None,
    debug: DebugOption = False,
) -> None:
    """Report the loss and metrics of CHECKPOINT's model on the test split of CONFIG's dataset."""
    with reported_errors(debug_requested(ctx, debug)):
        if split not in ("test", "val"):
            raise CLIError(f"--split is test or val, got {split!r}")
        cfg = config_api().load_training(existing_file(config), overrides_from(set_, device))
        existing_file(checkpoint)
        from nnrun.train import Trainer

        trainer = Trainer.from_config(
            cfg, progress=False, need_test=split == "test", need_train=split == "val"
        )
        loader = trainer.test_loader if split == "test" else trainer.val_loader
        if loader is None:
            raise CLIError(f"{config} has no validation split (set data.val_split)")
        position = trainer.load_weights(checkpoint)
        tune_malloc()  # an evaluation run, like a training run (Trainer.fit tunes for nnrun train)
        metrics = trainer.evaluate(loader, split)
        values = scalar_line(metrics)
        samples = len(loader.dataset)
        if trainer.is_global_zero:  # under mpirun every rank evaluated its shard; rank 0 reports
            typer.echo(f"{checkpoint} ({position}) on {split}, {samples:,} samples: {values}")
            for block in other_blocks(metrics, trainer.preprocessing.get("classes")):
                typer.echo(block)
