"""The non-finite loss stop: training ends with a :class:`~nnrun.train.TrainingError` at the first NaN or
infinite loss, and no checkpoint ever holds weights that such a loss went into."""

from __future__ import annotations

import math
from typing import Any

from nnrun.train.callbacks import Callback
from nnrun.train.errors import TrainingError


class NonFiniteLoss(Callback):
    """On the CPU (``every_step``) each step's loss is read before its backward pass; on a GPU the losses
    stay on the device (reading one back every step would stall it) and their epoch sum is checked every
    ``every_n_steps`` steps (the log steps), at each epoch end and before each checkpoint."""

    def __init__(self, every_step: bool, every_n_steps: int | None) -> None:
        self.every_step = every_step
        self.every_n_steps = every_n_steps
        self.checked_step = 0  # the last step whose loss is known to be finite

    def on_train_start(self, trainer: Any) -> None:
        self.checked_step = trainer.global_step

    def on_before_backward(self, trainer: Any, loss: Any) -> None:
        if self.every_step:
            self._raise_if_non_finite(trainer, float(loss.item()), trainer.position.global_step + 1)

    def on_every_n_steps(self, trainer: Any) -> None:
        self.check(trainer)

    def on_epoch_metrics(self, trainer: Any, row: dict[str, Any]) -> None:
        self.check(trainer)

    def on_before_checkpoint(self, trainer: Any) -> None:
        self.check(trainer)

    def check(self, trainer: Any) -> None:
        """Stop if a loss since the last check was not finite (reads the epoch's loss sum back)."""
        self._raise_if_non_finite(trainer, trainer.tracker.loss_sum, self.checked_step + 1)
        self.checked_step = trainer.global_step

    def _raise_if_non_finite(self, trainer: Any, value: float, first_step: int) -> None:
        if math.isfinite(value):
            return
        position = trainer.position
        last = max(first_step, position.global_step)
        steps = f"step {last}" if first_step == last else f"one of steps {first_step}-{last}"
        batch = (
            f"batch {position.batch_index + 1}"
            if first_step > position.global_step
            else f"up to batch {position.batch_index}"
        )
        kept = trainer.checkpoints.last_saved if trainer.checkpoints else None
        raise TrainingError(
            f"non-finite loss ({value}) at epoch {position.epoch + 1}, {steps} ({batch} of "
            f"{trainer.steps_per_epoch}); training stopped. "
            + (f"The last good checkpoint is {kept}. " if kept else "No checkpoint was saved. ")
            + "Try a lower learning rate or train.grad_clip_norm."
        )
