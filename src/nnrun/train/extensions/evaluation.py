"""Evaluation during training: the validation split after every epoch, the test split at the end."""

from __future__ import annotations

from typing import Any

from nnrun.train.callbacks import Callback


class Evaluation(Callback):
    """Adds ``val/…`` metrics to each epoch's row (when the trainer has a validation loader) and, with
    ``test``, ``test/…`` metrics to the final ones (when it has a test loader)."""

    def __init__(self, test: bool = True) -> None:
        self.test = test

    def on_epoch_metrics(self, trainer: Any, row: dict[str, Any]) -> None:
        if trainer.val_loader is not None:
            row.update(trainer.evaluate(trainer.val_loader, "val"))

    def on_final_metrics(self, trainer: Any, final: dict[str, Any]) -> None:
        if self.test and trainer.test_loader is not None:
            final.update(trainer.evaluate(trainer.test_loader, "test"))
