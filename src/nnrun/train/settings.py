"""What the trainer does besides the optimisation itself: epochs, logging, checkpoints, the run folder."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from nnrun.data.tasks import Task, get_task


@dataclass
class CheckpointSettings:
    """Checkpoints go to ``dir`` (None: none are written).

    ``every_epochs``: after every N-th epoch (0: only the last); ``every_steps``: also every N optimizer steps
    (mid-epoch); ``keep_last``: how many ``epoch-*``/``step-*`` files stay (None: all); ``best``: a metric
    such as ``val/accuracy`` whose best value so far is kept in ``best.safetensors`` (``mode``: max or min).
    """

    dir: str | None = None
    every_epochs: int = 1
    every_steps: int | None = None
    keep_last: int | None = 3
    best: str | None = None
    mode: str = "max"


@dataclass
class TrainSettings:
    """Settings of :class:`nnrun.train.Trainer` (a training config's ``train:``/``checkpoint:`` sections).

    ``task`` is what the targets are (:mod:`nnrun.data.tasks`); ``metrics`` are names of :mod:`nnrun.metrics`
    for that task (None: the task's default metrics); ``output`` is the run folder (None: no files are
    written); ``scheduler_interval`` is ``epoch`` or ``step``; ``test`` evaluates the test loader at the end.

    The loop (docs/fine_tuning.md): ``accumulate_batches`` batches' gradients are summed (each loss divided
    by it) before one optimizer step; training ends after ``epochs`` epochs or ``max_steps`` optimizer
    steps, whichever comes first; ``val_every_steps`` also validates every that many steps;
    ``limit_batches`` caps the batches of every training epoch and of every evaluation.
    """

    epochs: int = 1
    log_every: int = 50
    grad_clip_norm: float | None = None
    metrics: tuple[str, ...] | None = None
    scheduler_interval: str = "epoch"
    output: str | None = None
    checkpoint: CheckpointSettings = field(default_factory=CheckpointSettings)
    test: bool = True
    name: str = "run"
    accumulate_batches: int = 1
    max_steps: int | None = None
    val_every_steps: int | None = None
    limit_batches: int | None = None
    task: str = "classification"

    def __post_init__(self) -> None:
        for name in ("accumulate_batches", "max_steps", "val_every_steps", "limit_batches"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"TrainSettings.{name} must be a positive int, got {value!r}")
        task = get_task(self.task.name if isinstance(self.task, Task) else self.task)
        self.task = task.name
        self.metrics = tuple(task.default_metrics if self.metrics is None else self.metrics)

    def optimizer_steps(self, batches: int) -> int:
        """Optimizer steps in an epoch of ``batches`` batches: at most ``limit_batches`` of them, in groups
        of ``accumulate_batches`` (an epoch's last, incomplete group steps too)."""
        batches = min(batches, self.limit_batches or batches)
        return -(-batches // self.accumulate_batches)

    def for_dry_run(self) -> TrainSettings:
        """These settings for a dry run: one training step on one batch, one batch of each evaluation
        split, nothing written (no run folder, no checkpoints)."""
        return replace(
            self,
            epochs=1,
            max_steps=1,
            limit_batches=1,
            val_every_steps=None,
            output=None,
            checkpoint=CheckpointSettings(dir=None),
            test=True,
        )
