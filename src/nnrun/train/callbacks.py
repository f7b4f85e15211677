"""Callbacks: hooks the trainer calls at fixed points; subclass :class:`Callback` and override any of them.

Every hook receives the trainer, whose ``epoch`` (0-based), ``global_step``, ``batch_index``, ``model``,
``optimizer`` and ``history`` describe where training stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class Callback:
    """Base class; every hook does nothing."""

    def on_train_start(self, trainer: Any) -> None:
        """Before the first step (after a resume has restored the state)."""

    def on_epoch_start(self, trainer: Any) -> None:
        """Before the first batch of ``trainer.epoch`` (not called when resuming mid-epoch)."""

    def on_step_end(self, trainer: Any, loss: Any) -> None:
        """After each optimizer step, with that batch's loss: a detached 0-d tensor on the training device
        (``float(loss)`` reads it; on a GPU that waits for the step to finish)."""

    def on_log(self, trainer: Any, row: dict[str, Any]) -> None:
        """Every ``log_every`` steps, with the row written to the metrics files."""

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        """After an epoch and its validation, with the epoch's metrics row."""

    def on_evaluate_step(self, trainer: Any, split: str, batch: int, batches: int) -> None:
        """After each batch of an evaluation (``split``: ``val`` or ``test``), ``batch`` of ``batches``."""

    def on_checkpoint(self, trainer: Any, path: str) -> None:
        """After a checkpoint file was written."""

    def on_train_end(self, trainer: Any, summary: dict[str, Any]) -> None:
        """After training completed, with the summary (final and best metrics, time, throughput)."""

    def on_exception(self, trainer: Any, error: BaseException) -> None:
        """When training stops with an exception (an interruption, a non-finite loss, …)."""


class CallbackList(Callback):
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks: Iterable[Callback]) -> None:
        self.callbacks = list(callbacks)

    def on_train_start(self, trainer: Any) -> None:
        for callback in self.callbacks:
            callback.on_train_start(trainer)

    def on_epoch_start(self, trainer: Any) -> None:
        for callback in self.callbacks:
            callback.on_epoch_start(trainer)

    def on_step_end(self, trainer: Any, loss: Any) -> None:
        for callback in self.callbacks:
            callback.on_step_end(trainer, loss)

    def on_log(self, trainer: Any, row: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.on_log(trainer, row)

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(trainer, row)

    def on_evaluate_step(self, trainer: Any, split: str, batch: int, batches: int) -> None:
        for callback in self.callbacks:
            callback.on_evaluate_step(trainer, split, batch, batches)

    def on_checkpoint(self, trainer: Any, path: str) -> None:
        for callback in self.callbacks:
            callback.on_checkpoint(trainer, path)

    def on_train_end(self, trainer: Any, summary: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.on_train_end(trainer, summary)

    def on_exception(self, trainer: Any, error: BaseException) -> None:
        for callback in self.callbacks:
            callback.on_exception(trainer, error)
