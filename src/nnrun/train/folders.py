"""Which folders a training run may write, decided before it writes anything, and held while it runs.

A run folder (and a checkpoint folder) that already holds a run is never overwritten: training into it is
refused, unless the run continues its own checkpoint, or ``overwrite`` deletes that run's files first (only
the files nnrun wrote there). A file named like a run file that nnrun did not write (a user's own
``config.yaml``) is never replaced. Then the folders are made, and the temporary files that interrupted
writes of their own files left there are deleted; a folder this made is removed again if that fails.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: runs are not locked
    fcntl = None  # type: ignore[assignment]

from nnrun._atomic import remove_leftovers
from nnrun._folders import make_folders, remove_empty
from nnrun.train.checkpoint_folder import CheckpointFolder
from nnrun.train.errors import RunFolderError
from nnrun.train.extensions.run_folder import RunFolder


class Claim:
    """The folders a run holds: each locked (``flock``) until :meth:`release`, so that a second process
    cannot train or resume into them at the same time; a lock ends with its process, ``kill -9`` too."""

    def __init__(self) -> None:
        self.descriptors: list[int] = []

    def lock(self, path: str, kind: str) -> None:
        if fcntl is None:  # not on Windows
            return
        descriptor = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            problem = f"the {kind} folder {path} is in use: another nnrun process is training into it now"
            raise RunFolderError(problem, ("output",) if kind == "run" else ("checkpoint_dir",)) from None
        self.descriptors.append(descriptor)

    def release(self) -> None:
        for descriptor in self.descriptors:
            os.close(descriptor)  # closing the last descriptor of a lock releases it
        self.descriptors = []


def claim(
    run: RunFolder | None, checkpoints: CheckpointFolder | None, *, overwrite: bool, continuing: bool
) -> Claim:
    """Make and lock ``run`` and ``checkpoints``, make sure this run may write them (see the module),
    and clean them; return the :class:`Claim` to release when training ends. ``continuing``: the run
    resumed from a checkpoint of its own checkpoint folder."""
    held, created = Claim(), []
    try:
        for folder, kind in ((run, "run"), (checkpoints, "checkpoint")):
            if folder is not None:
                created += _make(folder.path, kind)
                held.lock(folder.path, kind)
        _check(run, checkpoints, overwrite=overwrite, continuing=continuing)
        if run is not None:
            remove_leftovers(run.path, run.owns)
        if checkpoints is not None:
            remove_leftovers(checkpoints.path, checkpoints.owns, safetensors_writes=True)
    except BaseException:
        held.release()
        remove_empty(created)  # only what this call made
        raise
    return held


def _check(
    run: RunFolder | None, checkpoints: CheckpointFolder | None, *, overwrite: bool, continuing: bool
) -> None:
    ours, foreign = run.files() if run is not None else ([], [])
    if foreign:
        listed = ", ".join(foreign)
        raise RunFolderError(
            f"{run.path} holds {listed}, which nnrun did not write and training would replace", ("output",)
        )
    saved = checkpoints.checkpoints() if checkpoints is not None else []
    if (ours or saved) and not continuing:
        if not overwrite:
            raise _holds_a_run(run, ours, checkpoints, saved)
        for folder in (run, checkpoints):
            if folder is not None:
                folder.clear()


def _make(path: str, kind: str) -> list[Path]:
    """Create the folder ``path`` (and its missing parents); return those it made, innermost first."""
    way = ("output",) if kind == "run" else ("checkpoint_dir",)
    try:
        made = make_folders(path)
    except OSError as exc:
        raise RunFolderError(f"cannot create the {kind} folder {path}: {exc.strerror or exc}", way) from None
    if not os.access(path, os.W_OK):
        remove_empty(made)
        raise RunFolderError(f"cannot write into the {kind} folder {path}: permission denied", way)
    return made


def _holds_a_run(
    run: RunFolder | None, ours: list[str], checkpoints: CheckpointFolder | None, saved: list[str]
) -> RunFolderError:
    resume = ("resume",) if "last.safetensors" in saved else ()
    count = f"{len(saved)} checkpoint{'s' * (len(saved) != 1)}"
    if run is not None and ours:
        inside = checkpoints is None or _within(checkpoints.path, run.path)
        what = ", ".join(
            [*ours, count if inside else f"and {count} in {checkpoints.path}"] if saved else ours
        )
        problem = f"{run.path} already holds a run ({what}), and nnrun never overwrites one"
        return RunFolderError(problem, (*resume, "output", "overwrite"))
    assert checkpoints is not None
    problem = (
        f"the checkpoint folder {checkpoints.path} already holds {count}, and nnrun never overwrites a run"
    )
    return RunFolderError(problem, (*resume, "checkpoint_dir", "overwrite"))


def _within(inner: str, outer: str) -> bool:
    inner, outer = os.path.realpath(inner), os.path.realpath(outer)
    return inner == outer or inner.startswith(outer + os.sep)
