"""The run folder: ``config.yaml`` (resolved), ``metrics.jsonl`` and ``metrics.csv`` (one row per log step
and per epoch) and ``summary.json`` (final and best metrics, wall time, samples/s).

On a resume the metrics files are rewritten from the checkpoint's history, so rows logged after that
checkpoint by the stopped run do not appear twice; a resumed run that fails leaves them (and config.yaml) in
step with its last good checkpoint. Every file that is rewritten is replaced atomically.
A file of the folder counts as a run's only when nnrun wrote it (recognised by its content), so a user's own
``config.yaml`` beside it is never taken for a run, nor replaced."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from nnrun._atomic import replace_atomically, write_text_atomically
from nnrun.train.callbacks import Callback
from nnrun.train.errors import TrainingError, stopped_at

FIXED_COLUMNS = ["kind", "epoch", "batch", "step", "lr"]
TAIL_COLUMNS = ["samples_per_s", "time_s"]
RUN_FILES = ("config.yaml", "metrics.jsonl", "metrics.csv", "summary.json")
CONFIG_HEADER = "# nnrun: the resolved config of this run; nnrun train trains it again as it is\n"


class RunFolder(Callback):
    """Writes the run folder ``path``; ``config_text`` (if any) becomes ``config.yaml``."""

    rank_zero_only = True

    def __init__(self, path: str, config_text: str | None = None) -> None:
        self.path = path
        self.config_text = config_text
        self.columns: list[str] = []
        self._before: dict[str, bytes | None] | None = None
        self._kept = 0

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def files(self) -> tuple[list[str], list[str]]:
        """The run files in the folder: those nnrun wrote, and those with a run file's name it did not."""
        present = [name for name in RUN_FILES if os.path.isfile(self.file(name))]
        ours = [name for name in present if _written_by_nnrun(self.file(name), name)]
        if "config.yaml" in present and ours and "config.yaml" not in ours:  # written before the header
            ours.insert(0, "config.yaml")
        return ours, [name for name in present if name not in ours]

    def owns(self, name: str) -> bool:
        """Whether ``name`` is one of the files this folder writes."""
        return name in RUN_FILES

    def clear(self) -> None:
        """Delete the files of the run nnrun wrote here (and nothing else in the folder)."""
        for name in self.files()[0]:
            os.unlink(self.file(name))

    def on_train_start(self, trainer: Any) -> None:
        # a resumed run that fails before its next checkpoint leaves the folder as it found it
        self._before = self._contents() if trainer.resumed_from is not None else None
        self._kept = len(trainer.history)  # the rows that the last good checkpoint holds
        self.columns = FIXED_COLUMNS + trainer.metric_names() + TAIL_COLUMNS
        try:
            if self.config_text is not None:
                self._replace(trainer, "config.yaml", CONFIG_HEADER + self.config_text)
            self._write_metrics(trainer, trainer.history)
        except BaseException as error:
            self.on_exception(trainer, error)
            raise

    def on_checkpoint(self, trainer: Any, path: str) -> None:
        if os.path.basename(path) != "best.safetensors":
            self._before, self._kept = None, len(trainer.history)

    def on_exception(self, trainer: Any, error: BaseException) -> None:
        """A resumed run that fails puts the folder back in step with its last good checkpoint: as it was
        before, when it wrote none; else with the metrics rows that checkpoint holds."""
        if trainer.resumed_from is None:
            return
        with contextlib.suppress(OSError, TrainingError):  # the failure itself is what gets reported
            if self._before is None:
                self._write_metrics(trainer, trainer.history[: self._kept])
                return
            for name, content in self._before.items():
                if content is None:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.file(name))
                else:
                    replace_atomically(
                        self.file(name), lambda path, content=content: Path(path).write_bytes(content)
                    )

    def on_log(self, trainer: Any, row: dict[str, Any]) -> None:
        self._append(trainer, row)

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        self._append(trainer, row)

    def on_train_end(self, trainer: Any, summary: dict[str, Any]) -> None:
        self._replace(trainer, "summary.json", json.dumps(summary, indent=2) + "\n")

    def _contents(self) -> dict[str, bytes | None]:
        contents: dict[str, bytes | None] = {}
        for name in RUN_FILES:
            try:
                contents[name] = Path(self.file(name)).read_bytes()
            except FileNotFoundError:
                contents[name] = None
        return contents

    def _write_metrics(self, trainer: Any, rows: list[dict[str, Any]]) -> None:
        self._replace(trainer, "metrics.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
        table = io.StringIO(newline="")
        writer = self._writer(table)
        writer.writeheader()
        writer.writerows(rows)
        self._replace(trainer, "metrics.csv", table.getvalue())

    def _replace(self, trainer: Any, name: str, text: str) -> None:
        try:
            write_text_atomically(self.file(name), text)
        except OSError as exc:
            raise _write_failed(trainer, self.file(name), exc) from None

    def _append(self, trainer: Any, row: dict[str, Any]) -> None:
        name = "metrics.jsonl"
        try:
            with open(self.file(name), "a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
            name = "metrics.csv"
            with open(self.file(name), "a", encoding="utf-8", newline="") as handle:
                self._writer(handle).writerow(row)
        except OSError as exc:
            raise _write_failed(trainer, self.file(name), exc) from None

    def _writer(self, handle: Any) -> csv.DictWriter:
        return csv.DictWriter(handle, fieldnames=self.columns, restval="", extrasaction="ignore")


def _write_failed(trainer: Any, path: str, exc: OSError) -> TrainingError:
    last = trainer.checkpoints.last_saved if trainer.checkpoints is not None else None
    return TrainingError(f"cannot write {path}: {exc.strerror or exc}; {stopped_at(last)}")


def _written_by_nnrun(path: str, name: str) -> bool:
    """Whether the run file ``name`` at ``path`` has the form nnrun writes it in."""
    try:
        with open(path, encoding="utf-8") as handle:
            head = handle.read(1 << 16)
    except (OSError, UnicodeDecodeError):
        return False
    if name == "config.yaml":
        return head.startswith(CONFIG_HEADER)
    if name == "metrics.csv":
        return head.startswith(",".join(FIXED_COLUMNS))
    if name == "metrics.jsonl":
        first = head.partition("\n")[0]
        return not first or _json_object_with(first, "kind")
    return _json_object_with(head, "status", "last_checkpoint")  # summary.json


def _json_object_with(text: str, *keys: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and all(key in value for key in keys)
