"""Checkpoints during training: every N steps, after every N-th epoch and the last, the best one so far, and
the ``interrupted`` one; also keeps track of the best value of the chosen metric."""

from __future__ import annotations

from typing import Any

from nnrun.train.callbacks import Callback
from nnrun.train.checkpoint_folder import CheckpointFolder
from nnrun.train.settings import CheckpointSettings


class Checkpointer(Callback):
    """Writes the trainer's checkpoints into ``folder`` (None: writes none, but still tracks ``best``).

    It comes last among a trainer's callbacks, so that the others have seen an epoch's row (and may have
    set ``trainer.should_stop``, which makes the epoch the last and saves it) before it is saved."""

    def __init__(self, folder: CheckpointFolder | None, settings: CheckpointSettings) -> None:
        self.folder = folder
        self.settings = settings
        self.every_n_steps = settings.every_steps if folder is not None else None
        #: the best value of ``settings.best`` so far: metric, value, epoch and step
        self.best: dict[str, Any] | None = None

    def on_every_n_steps(self, trainer: Any) -> None:
        self.save(trainer, "step", trainer.global_step)

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        improved = self._update_best(row)
        every, epoch = self.settings.every_epochs, trainer.epoch
        if (every and epoch % every == 0) or epoch == trainer.settings.epochs or trainer.should_stop:
            self.save(trainer, "epoch", epoch)
        if improved:
            self.save(trainer, "best")

    def save(self, trainer: Any, kind: str, number: int | None = None) -> str | None:
        """Write the trainer's state as a ``kind`` checkpoint (every rank takes part, rank 0 writes it);
        returns its path, or None without a folder."""
        if self.folder is None:
            return None
        trainer.callbacks.call("on_before_checkpoint", trainer)
        state = trainer.state_dict()  # collective on several ranks: every rank takes part
        path = self.folder.file(kind, number)
        if trainer.parallel.saving():
            path = self.folder.save(state, kind, number)
        trainer.parallel.barrier()  # nobody goes on (or reads it) before the file is complete
        if kind != "best":
            self.folder.last_saved = path
        trainer.callbacks.call("on_checkpoint", trainer, path)
        return path

    def _update_best(self, row: dict[str, Any]) -> bool:
        metric = self.settings.best
        if metric is None or metric not in row:
            return False
        same_metric = self.best is not None and self.best.get("metric") == metric  # it may change on resume
        value, best = row[metric], self.best["value"] if same_metric else None
        if value != value:  # NaN (an AUROC of one class): never the best, nor in the way of a later value
            return False
        unset = best is None or best != best
        better = unset or (value > best if self.settings.mode == "max" else value < best)
        if better:
            self.best = {"metric": metric, "value": value, "epoch": row["epoch"], "step": row["step"]}
        return better
