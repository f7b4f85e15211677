"""Progress output: a rich progress bar per epoch on a terminal (throughput, loss, ETA), plain log lines
otherwise (at least one every 30 s, so a log never looks stuck), an end-of-epoch line with the epoch's
metrics and seconds, and a final summary line."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from nnrun._launcher import is_terminal
from nnrun.train.callbacks import Callback


def format_metrics(row: dict[str, Any]) -> str:
    """``train/loss 0.3012  train/accuracy 0.9123 …`` for the metric entries of a row."""
    parts = [f"{key} {value:.4f}" for key, value in row.items() if "/" in key and isinstance(value, float)]
    return "  ".join(parts)


def plural(count: int, noun: str) -> str:
    """``1 epoch``, ``2 epochs``, ``6,000 samples``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _per_epoch(trainer: Any) -> str:
    """``120 steps per epoch``; with accumulated batches, how many batches make how many steps."""
    batches, accumulate = trainer.steps_per_epoch, trainer.settings.accumulate_batches
    if accumulate == 1:
        return f"{plural(batches, 'step')} per epoch"
    steps = trainer.settings.optimizer_steps(batches)
    return f"{batches:,} batches ({plural(steps, 'optimizer step')} of {accumulate} batches) per epoch"


class PlainProgress(Callback):
    """One line per log step and per epoch, for logs and pipes; when ``every_s`` seconds pass without a
    line (``log_every`` larger than an epoch, slow steps), a line with the step reached and its loss."""

    rank_zero_only = True

    def __init__(self, stream: TextIO | None = None, every_s: float = 30.0) -> None:
        self.stream = stream
        self.every_s = every_s
        self._last_line = time.monotonic()
        self._samples_at_last_line = 0

    def write(self, line: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(line + "\n")
        stream.flush()

    def _line(self, trainer: Any, line: str) -> None:
        self.write(line)
        self._last_line, self._samples_at_last_line = time.monotonic(), trainer.samples_seen

    def on_evaluate_step(self, trainer: Any, split: str, batch: int, batches: int) -> None:
        if time.monotonic() - self._last_line >= self.every_s:
            self._line(trainer, f"evaluating {split}: batch {batch}/{batches}")

    def on_step_end(self, trainer: Any, loss: Any) -> None:
        seconds = time.monotonic() - self._last_line
        if seconds < self.every_s:
            return
        speed = (trainer.samples_seen - self._samples_at_last_line) / max(seconds, 1e-9)
        self._line(
            trainer,
            f"epoch {trainer.epoch + 1}/{trainer.settings.epochs}  step {trainer.batch_index}/"
            f"{trainer.steps_per_epoch}  batch loss {float(loss):.4f}  {speed:,.0f} samples/s",
        )

    def on_train_start(self, trainer: Any) -> None:
        samples = len(trainer.train_loader.dataset)
        where = str(trainer.device)
        if trainer.world_size > 1:
            batch = getattr(trainer.train_loader, "batch_size", None)
            where += f" × {trainer.world_size} ranks ({trainer.comm.name})"
            if batch is not None:
                where += f", global batch {batch * trainer.world_size}"
        line = (
            f"training {trainer.settings.name} on {where}: {plural(samples, 'sample')}, "
            f"{_per_epoch(trainer)}, {plural(trainer.settings.epochs, 'epoch')}"
        )
        if trainer.resumed_from:
            where = f"epoch {trainer.epoch + 1}, step {trainer.global_step}"
            line += f" (resumed from {trainer.resumed_from} at {where})"
        self._line(trainer, line)

    def on_log(self, trainer: Any, row: dict[str, Any]) -> None:
        if row["kind"] == "val":  # train.val_every_steps
            metrics = format_metrics({k: v for k, v in row.items() if k.startswith("val/")})
            epoch = f"{row['epoch']}/{trainer.settings.epochs}"
            step = f"{row['batch']}/{trainer.steps_per_epoch}"
            self._line(trainer, f"epoch {epoch}  step {step}  {metrics}")
            return
        self._line(
            trainer,
            f"epoch {row['epoch']}/{trainer.settings.epochs}  step {row['batch']}/{trainer.steps_per_epoch}  "
            f"loss {row['train/loss']:.4f}  lr {row['lr']:.4g}  {row['samples_per_s']:,.0f} samples/s",
        )

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        epoch = f"{row['epoch']}/{trainer.settings.epochs}"
        self._line(trainer, f"epoch {epoch} done in {row['time_s']:.1f} s: {format_metrics(row)}")

    def on_train_end(self, trainer: Any, summary: dict[str, Any]) -> None:
        line = f"done in {summary['wall_time_s']:.1f} s ({summary['samples_per_s']:,.0f} samples/s)"
        final = format_metrics({k: v for k, v in summary["final"].items() if k.startswith(("test/", "val/"))})
        if final:
            line += f": {final}"
        if trainer.settings.output:
            line += f"; run folder {trainer.settings.output}"
        self.write(line)


class RichProgress(PlainProgress):
    """A rich progress bar per epoch; the epoch and summary lines as in :class:`PlainProgress`."""

    def __init__(self) -> None:
        from rich.console import Console  # rich is only needed on a terminal

        super().__init__()
        self.console = Console()
        self.bar: Any = None
        self.task: Any = None

    def write(self, line: str) -> None:
        self.console.print(line, highlight=False, markup=False)

    def on_epoch_start(self, trainer: Any) -> None:
        self._open(trainer)

    def on_train_start(self, trainer: Any) -> None:
        super().on_train_start(trainer)
        if trainer.batch_index:  # resumed mid-epoch: on_epoch_start is not called
            self._open(trainer)

    def _open(self, trainer: Any) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._close()
        self.bar = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  {task.fields[speed]} samples/s"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.bar.start()
        epoch = f"{trainer.epoch + 1}/{trainer.settings.epochs}"
        self.task = self.bar.add_task(
            "train",
            total=trainer.steps_per_epoch,
            completed=trainer.batch_index,
            epoch=epoch,
            loss="-",
            speed="-",
        )

    def on_step_end(self, trainer: Any, loss: Any) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=trainer.batch_index)

    def on_log(self, trainer: Any, row: dict[str, Any]) -> None:
        if row["kind"] == "val":
            super().on_log(trainer, row)
        elif self.bar is not None:
            speed = f"{row['samples_per_s']:,.0f}"
            self.bar.update(self.task, loss=f"{row['train/loss']:.4f}", speed=speed)

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        self._close()
        super().on_epoch_end(trainer, row)

    def on_train_end(self, trainer: Any, summary: dict[str, Any]) -> None:
        self._close()
        super().on_train_end(trainer, summary)

    def on_exception(self, trainer: Any, error: BaseException) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def default_progress() -> Callback:
    """A rich bar when standard output is a terminal (not a launcher's, see ``is_terminal``), plain lines
    otherwise."""
    return RichProgress() if is_terminal(sys.stdout) else PlainProgress()
