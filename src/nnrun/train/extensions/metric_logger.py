"""Step rows: every ``log_every`` steps, the mean loss and throughput since the previous row."""

from __future__ import annotations

import time
from typing import Any

from nnrun.train.callbacks import Callback
from nnrun.train.metrics import MetricTracker


class MetricLogger(Callback):
    """Every ``every_n_steps`` steps, a ``step`` row (loss and samples/s over all ranks since the previous
    row or the epoch's start) goes into ``trainer.history`` and to every callback's ``on_log``."""

    def __init__(self, every_n_steps: int) -> None:
        self.every_n_steps = every_n_steps
        self.window = MetricTracker(())  # the loop adds every batch to it (trainer.trackers)
        self._started = time.perf_counter()

    def on_train_start(self, trainer: Any) -> None:
        if not any(tracker is self.window for tracker in trainer.trackers):
            trainer.trackers.append(self.window)
        self._restart()

    def on_epoch_start(self, trainer: Any) -> None:
        self._restart()

    def on_every_n_steps(self, trainer: Any) -> None:
        seconds = max(time.perf_counter() - self._started, 1e-9)
        loss_sum, samples = trainer.parallel.sums([self.window.loss_sum, self.window.samples])
        position = trainer.position
        row = {
            "kind": "step", "epoch": position.epoch + 1, "batch": position.batch_index,
            "step": position.global_step, "lr": trainer.lr, "train/loss": loss_sum / max(samples, 1),
            "samples_per_s": samples / seconds, "time_s": trainer.elapsed,
        }  # fmt: skip
        trainer.history.append(row)
        trainer.callbacks.call("on_log", trainer, row)
        self._restart()

    def _restart(self) -> None:
        self.window.reset()
        self._started = time.perf_counter()
