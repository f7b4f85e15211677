"""Why training stopped early: a failure the user can act on, or an interruption that saved a checkpoint."""

from __future__ import annotations

from typing import ClassVar

from nnrun.serialization import CheckpointError


class TrainingError(RuntimeError):
    """Training cannot go on (a non-finite loss, …); the message names the epoch, step and last checkpoint."""


class RunFolderError(TrainingError):
    """The run folder cannot be used: it holds another run, or it cannot be created or written.

    ``problem`` says what is wrong; ``ways`` names how to go on (``resume``, ``output``, ``checkpoint_dir``,
    ``overwrite``), which :meth:`advice` spells in the words of the caller (the CLI names its options)."""

    PYTHON_WORDS: ClassVar[dict[str, str]] = {
        "resume": "continue it with fit(resume='auto')",
        "output": "train into another output folder",
        "checkpoint_dir": "use another checkpoint folder",
        "overwrite": "replace it with fit(overwrite=True)",
    }

    def __init__(self, problem: str, ways: tuple[str, ...] = ()) -> None:
        self.problem, self.ways = problem, ways
        super().__init__(self.advice(self.PYTHON_WORDS))

    def advice(self, words: dict[str, str]) -> str:
        """The message, with the ways on in ``words`` (``resume`` → ``continue it with --resume auto``)."""
        if not self.ways:
            return self.problem
        ways = [words[way] for way in self.ways]
        listed = ways[0] if len(ways) == 1 else ", ".join(ways[:-1]) + f" or {ways[-1]}"
        return f"{self.problem}: {listed}."


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


def stopped_at(last_checkpoint: str | None) -> str:
    """``training stopped, the last good checkpoint is …`` (or that none was written yet)."""
    if last_checkpoint is None:
        return "training stopped before any checkpoint was written"
    return f"training stopped, the last good checkpoint is {last_checkpoint}"
