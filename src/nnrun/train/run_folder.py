"""The run folder: ``config.yaml`` (resolved), ``metrics.jsonl`` and ``metrics.csv`` (one row per log step
and per epoch) and ``summary.json`` (final and best metrics, wall time, samples/s).

On a resume the metrics files are rewritten from the checkpoint's history, so rows logged after that
checkpoint by the stopped run do not appear twice."""

from __future__ import annotations

import csv
import json
import os
from typing import Any

from nnrun.train.callbacks import Callback

FIXED_COLUMNS = ["kind", "epoch", "batch", "step", "lr"]
TAIL_COLUMNS = ["samples_per_s", "time_s"]


class RunFolder(Callback):
    """Writes the run folder ``path``; ``config_text`` (if any) becomes ``config.yaml``."""

    def __init__(self, path: str, config_text: str | None = None) -> None:
        self.path = path
        self.config_text = config_text
        self.columns: list[str] = []

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def on_train_start(self, trainer: Any) -> None:
        os.makedirs(self.path, exist_ok=True)
        if self.config_text is not None:
            with open(self.file("config.yaml"), "w", encoding="utf-8") as handle:
                handle.write(self.config_text)
        self.columns = FIXED_COLUMNS + trainer.metric_names() + TAIL_COLUMNS
        with open(self.file("metrics.jsonl"), "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in trainer.history)
        with open(self.file("metrics.csv"), "w", encoding="utf-8", newline="") as handle:
            writer = self._writer(handle)
            writer.writeheader()
            writer.writerows(trainer.history)

    def on_log(self, trainer: Any, row: dict[str, Any]) -> None:
        self._append(row)

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        self._append(row)

    def on_train_end(self, trainer: Any, summary: dict[str, Any]) -> None:
        with open(self.file("summary.json"), "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=2)
            handle.write("\n")

    def _append(self, row: dict[str, Any]) -> None:
        with open(self.file("metrics.jsonl"), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        with open(self.file("metrics.csv"), "a", encoding="utf-8", newline="") as handle:
            self._writer(handle).writerow(row)

    def _writer(self, handle: Any) -> csv.DictWriter:
        return csv.DictWriter(handle, fieldnames=self.columns, restval="", extrasaction="ignore")
