"""How the CLI reports failures: one paragraph on stderr and an exit code, a traceback only with --debug."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer

from nnrun.distributed import DistributedError
from nnrun.serialization import CheckpointError

USAGE_ERROR = 2  # the input given was wrong: a missing file, an invalid config or checkpoint, a bad option
RUN_ERROR = 1  # the input was readable but running it failed (e.g. the model rejects the input shape)


class CLIError(Exception):
    """A failure already phrased for the user; ``exit_code`` is what the command exits with."""

    def __init__(self, message: str, exit_code: int = USAGE_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def debug_requested(ctx: typer.Context, flag: bool) -> bool:
    """``--debug`` given to this command or to ``nnrun`` itself."""
    return flag or bool((ctx.find_root().obj or {}).get("debug"))


def _config_error_type() -> type[Exception] | None:
    try:
        from nnrun.config import ConfigError
    except ImportError:
        return None
    return ConfigError


def _describe(error: Exception) -> tuple[str, int]:
    config_error = _config_error_type()
    if isinstance(error, CLIError):
        return str(error), error.exit_code
    if config_error is not None and isinstance(error, config_error):
        count = len(getattr(error, "errors", ())) or 1
        return f"invalid config ({count} error{'s' if count > 1 else ''}):\n{error}", USAGE_ERROR
    if isinstance(error, DistributedError):
        return str(error), USAGE_ERROR
    if isinstance(error, CheckpointError):
        return f"invalid checkpoint: {error}", USAGE_ERROR
    if isinstance(error, (FileNotFoundError, IsADirectoryError, PermissionError)):
        return f"cannot read {error.filename}: {error.strerror}", USAGE_ERROR
    return f"{type(error).__name__}: {error}", RUN_ERROR


@contextlib.contextmanager
def reported_errors(debug: bool) -> Iterator[None]:
    """Turn an exception raised inside the block into a message on stderr and ``typer.Exit``; with
    ``debug``, let it through so Python prints the traceback."""
    try:
        yield
    except (typer.Exit, typer.Abort, typer.TyperException):  # Typer's own exits and usage errors
        raise
    except Exception as error:
        if debug:
            raise
        message, code = _describe(error)
        typer.echo(f"error: {message}", err=True)
        if code == RUN_ERROR:
            typer.echo("(run with --debug to see the traceback)", err=True)
        raise typer.Exit(code) from None
