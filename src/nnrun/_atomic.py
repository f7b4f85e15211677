"""Files replaced atomically: written to a temporary file beside the target, flushed to disk, then renamed
over it, so a reader sees the old file or the new one, never half of one.

A process killed mid-write (``kill -9``) leaves its temporary file behind; such leftovers are named
``.<target name>.<32 hex digits>.tmp`` (and safetensors' writer leaves its own ``.tmpXXXXXX``), and
:func:`remove_leftovers` deletes those of the names its caller writes, and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Callable

_LEFTOVER = re.compile(r"\.(.+)\.[0-9a-f]{32}\.tmp")
_SAFETENSORS_LEFTOVER = re.compile(r"\.tmp[A-Za-z0-9]{6}")


def temporary_beside(path: str) -> str:
    """A fresh temporary file name in ``path``'s folder (the pattern :func:`remove_leftovers` knows)."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")


def replace_atomically(path: str, write: Callable[[str], None]) -> None:
    """Call ``write(temporary)`` to fill a new file, then put it in place of ``path`` in one rename.

    The new file gets the permissions an ordinary ``open()`` would give (the umask decides). On any
    failure the temporary file is removed and ``path`` is left as it was."""
    temporary = temporary_beside(path)
    # O_EXCL: never reuse an existing file; mode 0o666 lets the umask decide, as for an ordinary open().
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    mode = os.fstat(descriptor).st_mode
    os.close(descriptor)
    try:
        write(temporary)
        os.chmod(temporary, mode)  # a writer may recreate the file with other permissions
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_text_atomically(path: str, text: str) -> None:
    """Replace the file ``path`` with ``text`` (UTF-8), atomically."""

    def write(temporary: str) -> None:
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)

    replace_atomically(path, write)


def remove_leftovers(folder: str, owned: Callable[[str], bool], safetensors_writes: bool = False) -> None:
    """Delete the temporary files that interrupted atomic writes of ``owned`` names left in ``folder``; with
    ``safetensors_writes``, also those of safetensors' own writer (``.tmp`` and six letters or digits,
    which it renames to the file asked for), in a folder where nnrun alone writes safetensors files."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        leftover = _LEFTOVER.fullmatch(name)
        if (leftover and owned(leftover.group(1))) or (
            safetensors_writes and _SAFETENSORS_LEFTOVER.fullmatch(name)
        ):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))
