"""Why training stopped early: a failure the user can act on, or an interruption that saved a checkpoint."""

from __future__ import annotations

from nnrun.serialization import CheckpointError


class TrainingError(RuntimeError):
    """Training cannot go on (a non-finite loss, …); the message names the epoch, step and last checkpoint."""


class RunFolderError(TrainingError):
    """The run folder cannot be used: it holds another run, or it cannot be created or written."""


class ResumeRefused(CheckpointError):
    """A checkpoint is valid, but resuming it with this run's config or ranks would not continue the same
    run exactly; nothing was written."""


class CheckpointWriteError(CheckpointError):
    """A checkpoint could not be written (disk full, file too large, permissions); the message names the
    file and the last good checkpoint, which is left as it was."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped training at a step boundary; ``checkpoint`` is the checkpoint saved there."""

    def __init__(self, checkpoint: str | None) -> None:
        where = f"saved {checkpoint}" if checkpoint else "no checkpoint folder, nothing saved"
        super().__init__(f"training interrupted; {where}")
        self.checkpoint = checkpoint
