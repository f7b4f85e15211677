"""Folders made so that a failure can take them back: :func:`make_folders` says which it made, and
:func:`remove_empty` removes those that are still empty, so a failed download or a refused run leaves no
empty folder behind. Standard library only: any layer may use it."""

from __future__ import annotations

import contextlib
from pathlib import Path


def make_folders(path: str | Path) -> list[Path]:
    """Create the folder ``path`` and its missing parents; return those it made, innermost first. If that
    fails, it removes what it made and raises the ``OSError``."""
    folder = Path(path)
    missing = [parent for parent in (folder, *folder.parents) if not parent.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        remove_empty(missing)
        raise
    return missing


def remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (innermost first) that are still empty."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()
