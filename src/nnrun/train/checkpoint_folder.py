"""The checkpoints folder of a run: file names, ``last``, ``best``, ``interrupted`` and ``keep_last`` pruning.

Files: ``epoch-0003.safetensors`` (after epoch 3), ``step-000450.safetensors`` (after optimizer step 450),
``best.safetensors``, ``interrupted.safetensors``, and ``last.safetensors``: the newest checkpoint of any
kind, which ``--resume auto`` continues from. Every file is written atomically.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from typing import Any

from nnrun._atomic import temporary_beside
from nnrun.serialization import CheckpointError
from nnrun.train.checkpoint import save_checkpoint
from nnrun.train.errors import CheckpointWriteError, stopped_at

SUFFIX = ".safetensors"
_NUMBERED = re.compile(r"(epoch|step)-(\d+)\.safetensors")
_NAMED = ("last", "best", "interrupted")


class CheckpointFolder:
    """Writes the checkpoints of one run into ``path``; ``keep_last`` numbered files are kept (None: all)."""

    def __init__(self, path: str, keep_last: int | None = 3) -> None:
        self.path = path
        self.keep_last = keep_last
        self.last_saved: str | None = None

    def file(self, kind: str, number: int | None = None) -> str:
        """``epoch``/``step`` files are numbered; ``last``, ``best`` and ``interrupted`` are not."""
        if kind == "epoch":
            return os.path.join(self.path, f"epoch-{number:04d}{SUFFIX}")
        if kind == "step":
            return os.path.join(self.path, f"step-{number:06d}{SUFFIX}")
        return os.path.join(self.path, f"{kind}{SUFFIX}")

    def save(self, state: dict[str, Any], kind: str, number: int | None = None) -> str:
        """Write ``state`` as the ``kind`` checkpoint, make it ``last`` (not ``best``); return its path.

        Raises :class:`CheckpointError` naming the file and the last good checkpoint when the write fails."""
        path = self.file(kind, number)
        try:
            os.makedirs(self.path, exist_ok=True)
            save_checkpoint(state, path)
            if kind != "best":
                _replace_with_link(path, self.file("last"))
        except OSError as exc:
            message = f"cannot write checkpoint {path}: {exc.strerror or exc}; {stopped_at(self.last_saved)}"
            raise CheckpointWriteError(message) from exc
        if kind != "best":
            self.last_saved = path
        self.prune()
        return path

    def checkpoints(self) -> list[str]:
        """The checkpoint files of this folder (by this class's names), sorted."""
        if not os.path.isdir(self.path):
            return []
        return sorted(name for name in os.listdir(self.path) if self.owns(name))

    def owns(self, name: str) -> bool:
        """Whether ``name`` is one of the files this folder writes."""
        return bool(_NUMBERED.fullmatch(name)) or name in {f"{kind}{SUFFIX}" for kind in _NAMED}

    def clear(self) -> None:
        """Delete this folder's checkpoint files (and nothing else)."""
        for name in self.checkpoints():
            os.unlink(os.path.join(self.path, name))

    def prune(self) -> None:
        """Delete all but the newest ``keep_last`` numbered checkpoints of each kind."""
        if self.keep_last is None or not os.path.isdir(self.path):
            return
        for kind in ("epoch", "step"):
            numbered = sorted(
                (int(m.group(2)), name)
                for name in os.listdir(self.path)
                if (m := _NUMBERED.fullmatch(name)) and m.group(1) == kind
            )
            for _, name in numbered[: -self.keep_last]:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.path, name))

    def resume_path(self, resume: str) -> str:
        """The file ``--resume`` names: ``auto`` is ``last.safetensors`` of this folder."""
        if resume != "auto":
            return resume
        last = self.file("last")
        if not os.path.isfile(last):
            raise CheckpointError(f"--resume auto: no checkpoint to resume from in {self.path} (no {last})")
        return last


def _replace_with_link(source: str, target: str) -> None:
    """Make ``target`` the same file as ``source``: a hard link (or a copy), swapped in atomically."""
    temporary = temporary_beside(target)
    try:
        try:
            os.link(source, temporary)
        except OSError:
            shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
