"""How the CLI reports failures: one paragraph on stderr and an exit code, a traceback only with --debug."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import typer

from nnrun.data import DatasetError
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


#: How the CLI words the ways on from a run folder it cannot use.
RUN_FOLDER_WAYS = {
    "resume": "continue it with --resume auto",
    "output": "train into another folder with --output DIR",
    "checkpoint_dir": "use another checkpoint folder with --set checkpoint.dir=DIR",
    "overwrite": "replace it with --overwrite",
}


def _describe(error: Exception) -> tuple[str, int]:
    """The message and exit code of a failure: what went wrong and with which file, option or setting."""
    # Imported only once something failed: the command has imported them already, or has no need to.
    from nnrun.config import ConfigError
    from nnrun.train.errors import CheckpointWriteError, ResumeRefused, RunFolderError, TrainingError

    if isinstance(error, CLIError):
        return str(error), error.exit_code
    if isinstance(error, ConfigError):
        count = len(error.errors) or 1
        return f"invalid config ({count} error{'s' if count > 1 else ''}):\n{error}", USAGE_ERROR
    if isinstance(error, RunFolderError):
        return error.advice(RUN_FOLDER_WAYS), USAGE_ERROR
    if isinstance(error, (DistributedError, DatasetError, ResumeRefused, ImportError)):
        return str(error), USAGE_ERROR
    if isinstance(error, (CheckpointWriteError, TrainingError)):
        return str(error), RUN_ERROR
    if isinstance(error, CheckpointError):
        return f"invalid checkpoint: {error}", USAGE_ERROR
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}", USAGE_ERROR
    if isinstance(error, MemoryError):
        return f"not enough memory ({str(error) or 'an allocation failed'})", RUN_ERROR
    return f"{type(error).__name__}: {error}", RUN_ERROR


@contextlib.contextmanager
def reported_errors(debug: bool) -> Iterator[None]:
    """Turn an exception raised inside the block into a message on stderr and ``typer.Exit``; with
    ``debug``, let it through so Python prints the traceback."""
    try:
        yield
    except (typer.Exit, typer.Abort, typer.TyperException):  # Typer's own exits and usage errors
        raise
    except BrokenPipeError:  # the reader of the output went away (nnrun predict … | head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        raise typer.Exit(0) from None
    except Exception as error:
        if debug:
            raise
        message, code = _describe(error)
        typer.echo(f"error: {message}", err=True)
        if code == RUN_ERROR:
            typer.echo("(run with --debug to see the traceback)", err=True)
        raise typer.Exit(code) from None
