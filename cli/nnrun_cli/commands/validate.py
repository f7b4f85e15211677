"""``nnrun validate``: check a config and say ``ok`` with a one-line summary, or list every error."""

from __future__ import annotations

from typing import Annotated

import typer

import nnrun
from nnrun.summary import format_shape
from nnrun_cli.errors import CLIError, debug_requested, reported_errors
from nnrun_cli.loading import config_api, config_input_shape, existing_file


def validate(
    ctx: typer.Context,
    config: Annotated[str, typer.Argument(metavar="CONFIG", help="A YAML config.")],
    debug: Annotated[bool, typer.Option("--debug", help="Show the Python traceback of an error.")] = False,
) -> None:
    """Check CONFIG: it parses, every layer and argument is valid, the model builds and, when the config
    gives input_shape, runs on it; a training config's data, loss, optimizer, scheduler, checkpoint
    settings and callbacks are checked too. Exit code 0 when valid, 2 otherwise."""
    with reported_errors(debug_requested(ctx, debug)):
        api = config_api()
        path = existing_file(config)
        training = api.is_training_document(api.parse_file(str(path))[0])
        training_cfg = api.load_training(path) if training else None
        if training_cfg is not None and training_cfg.document.get("callbacks"):
            from nnrun.train.config_callbacks import callbacks_from_config  # their registry is nnrun.train's

            callbacks_from_config(training_cfg)
        cfg = training_cfg.model if training_cfg else api.load(path)
        model = api.build_model(cfg)
        shape = config_input_shape(cfg)
        try:
            summary = nnrun.summary(model, shape)
        except (RuntimeError, ValueError, TypeError) as error:
            message = f"{config}: the model cannot run on its input_shape {list(shape or ())}: {error}"
            raise CLIError(message) from error
        line = f"ok: {config}: model {type(model).__name__}, {summary.total_params:,} parameters"
        if shape is not None:
            output = format_shape(summary.layers[0].output_shape)
            line += f", input {format_shape(summary.input_shapes[0])} -> output {output}"
        if training_cfg is not None:
            optimizer, epochs = training_cfg.optimizer.name, training_cfg.train.epochs
            line += f"; training {training_cfg.data.dataset}, {optimizer}, {epochs} epoch{'s' * (epochs > 1)}"
        typer.echo(line)
