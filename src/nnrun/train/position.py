"""Where a run stands: one record, saved whole in every checkpoint (its ``progress`` entry) and restored on
resume."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class Position:
    """The training loop's position and clock.

    ``epoch``: epochs completed (the 0-based index of the current one); ``batch_index``: batches done in the
    current epoch; ``global_step``: optimizer steps in the whole run; ``samples_seen``: training samples of
    all ranks; ``elapsed_s``: wall time of the run (all its sessions); ``train_time_s`` and
    ``epoch_time_s``: time spent in training steps, in the run and in the current epoch."""

    epoch: int = 0
    batch_index: int = 0
    global_step: int = 0
    samples_seen: int = 0
    elapsed_s: float = 0.0
    train_time_s: float = 0.0
    epoch_time_s: float = 0.0

    def advance(self, samples: int, stepped: bool = True) -> None:
        """Count one batch of ``samples`` (over all ranks), and an optimizer step if it ``stepped`` (with
        ``train.accumulate_batches``, only the last batch of each group does)."""
        self.batch_index += 1
        self.global_step += int(stepped)
        self.samples_seen += samples

    def next_epoch(self) -> None:
        self.epoch += 1
        self.batch_index = 0

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Position:
        """The position of a checkpoint's ``progress`` entry (which also holds how the data was split)."""
        return cls(**{field.name: state[field.name] for field in fields(cls)})
