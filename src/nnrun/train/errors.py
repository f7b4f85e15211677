"""Why training stopped early: a failure the user can act on, or an interruption that saved a checkpoint."""

from __future__ import annotations


class TrainingError(RuntimeError):
    """Training cannot go on (a non-finite loss, …); the message names the epoch, step and last checkpoint."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped training at a step boundary; ``checkpoint`` is the checkpoint saved there."""

    def __init__(self, checkpoint: str | None) -> None:
        where = f"saved {checkpoint}" if checkpoint else "no checkpoint folder, nothing saved"
        super().__init__(f"training interrupted; {where}")
        self.checkpoint = checkpoint
