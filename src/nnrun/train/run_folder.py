"""The run folder: ``config.yaml`` (resolved), ``metrics.jsonl`` and ``metrics.csv`` (one row per log step
and per epoch) and ``summary.json`` (final and best metrics, wall time, samples/s).

On a resume the metrics files are rewritten from the checkpoint's history, so rows logged after that
checkpoint by the stopped run do not appear twice. Every file that is rewritten is replaced atomically."""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

from nnrun._atomic import remove_leftovers, write_text_atomically
from nnrun.train.callbacks import Callback
from nnrun.train.errors import RunFolderError

FIXED_COLUMNS = ["kind", "epoch", "batch", "step", "lr"]
TAIL_COLUMNS = ["samples_per_s", "time_s"]
RUN_FILES = ("config.yaml", "metrics.jsonl", "metrics.csv", "summary.json")


class RunFolder(Callback):
    """Writes the run folder ``path``; ``config_text`` (if any) becomes ``config.yaml``."""

    def __init__(self, path: str, config_text: str | None = None) -> None:
        self.path = path
        self.config_text = config_text
        self.columns: list[str] = []

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def run_files(self) -> list[str]:
        """The files of a run already in the folder."""
        return [name for name in RUN_FILES if os.path.isfile(self.file(name))]

    def prepare(self) -> None:
        """Create the folder and delete what interrupted writes left in it."""
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as exc:
            raise RunFolderError(f"cannot create the run folder {self.path}: {exc.strerror or exc}") from None
        if not os.access(self.path, os.W_OK):
            raise RunFolderError(f"cannot write into the run folder {self.path}: permission denied")
        remove_leftovers(self.path)

    def clear(self) -> None:
        """Delete the run's files (and nothing else in the folder)."""
        for name in self.run_files():
            os.unlink(self.file(name))

    def on_train_start(self, trainer: Any) -> None:
        if self.config_text is not None:
            self._replace("config.yaml", self.config_text)
        self.columns = FIXED_COLUMNS + trainer.metric_names() + TAIL_COLUMNS
        self._replace("metrics.jsonl", "".join(json.dumps(row) + "\n" for row in trainer.history))
        table = io.StringIO(newline="")
        writer = self._writer(table)
        writer.writeheader()
        writer.writerows(trainer.history)
        self._replace("metrics.csv", table.getvalue())

    def on_log(self, trainer: Any, row: dict[str, Any]) -> None:
        self._append(row)

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        self._append(row)

    def on_train_end(self, trainer: Any, summary: dict[str, Any]) -> None:
        self._replace("summary.json", json.dumps(summary, indent=2) + "\n")

    def _replace(self, name: str, text: str) -> None:
        try:
            write_text_atomically(self.file(name), text)
        except OSError as exc:
            raise RunFolderError(f"cannot write {self.file(name)}: {exc.strerror or exc}") from None

    def _append(self, row: dict[str, Any]) -> None:
        try:
            with open(self.file("metrics.jsonl"), "a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
            with open(self.file("metrics.csv"), "a", encoding="utf-8", newline="") as handle:
                self._writer(handle).writerow(row)
        except OSError as exc:
            raise RunFolderError(f"cannot write the metrics in {self.path}: {exc.strerror or exc}") from None

    def _writer(self, handle: Any) -> csv.DictWriter:
        return csv.DictWriter(handle, fieldnames=self.columns, restval="", extrasaction="ignore")
