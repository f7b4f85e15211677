"""Fetch dataset files from their mirrors: streamed to a temporary file, verified, renamed atomically.

Only used when files are missing and the caller asked for ``download=True``. Nothing fetched is ever
unpickled: IDX, CIFAR-10 *binary* records and tar members are read as plain bytes.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnrun._folders import make_folders, remove_empty
from nnrun._launcher import is_terminal
from nnrun.data.errors import DatasetError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Resource:
    """A file to fetch: its name on the mirrors, the MD5 of the published file and, for a gzipped file,
    optionally the MD5 of its decompressed content (accepted too, for mirrors that recompress)."""

    filename: str
    md5: str
    content_md5: str | None = None


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _content_md5(path: Path) -> str | None:
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with gzip.open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                digest.update(chunk)
    except (OSError, EOFError):
        return None
    return digest.hexdigest()


def verify(path: Path, resource: Resource) -> str | None:
    """``None`` when ``path`` matches ``resource``, else the MD5 that was found."""
    found = file_md5(path)
    if found == resource.md5:
        return None
    if resource.content_md5 is not None and _content_md5(path) == resource.content_md5:
        return None
    return found


def _progress(total: int | None, label: str) -> Any:
    """A rich progress bar on a terminal; nothing otherwise."""
    if not is_terminal(sys.stderr):
        return contextlib.nullcontext(None)
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn  # terminal only

    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        transient=True,
    )
    progress.add_task(label, total=total)
    return progress


def _stream(url: str, target: Path, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as out:
        length = response.headers.get("Content-Length")
        with _progress(int(length) if length else None, target.name.split(".part")[0]) as bar:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                if bar is not None:
                    bar.advance(bar.task_ids[0], len(chunk))


def download(resource: Resource, folder: Path, mirrors: Sequence[str], timeout: float = 60.0) -> Path:
    """Fetch ``resource`` into ``folder`` from the first mirror that serves a file with the right checksum.

    The file is written to a temporary name in ``folder`` and renamed only once verified; a failed or
    mismatching download leaves nothing behind, not even the folders it created. Raises ``DatasetError``
    listing every mirror's failure and how to use local files instead.
    """
    try:
        created = make_folders(folder)
    except OSError as error:
        raise DatasetError(
            f"Download failed: cannot create the folder {folder} to download {resource.filename} into "
            f"({error.strerror or error}). Point root at a folder that can hold the files (data.root in a "
            "training config)."
        ) from None
    final = folder / resource.filename
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + resource.filename
        handle, name = tempfile.mkstemp(prefix=resource.filename + ".part", dir=folder)
        os.close(handle)
        partial = Path(name)
        try:
            _stream(url, partial, timeout)
            found = verify(partial, resource)
            if found is not None:
                failures.append(f"{url}: checksum mismatch (MD5 {found}, expected {resource.md5})")
                continue
            os.replace(partial, final)
            return final
        except (urllib.error.URLError, OSError, ValueError) as error:
            failures.append(f"{url}: {getattr(error, 'reason', None) or error}")
        finally:
            partial.unlink(missing_ok=True)
    remove_empty(created)  # only the folders this call made
    raise DatasetError(
        f"Download failed: could not fetch {resource.filename} into {folder} from any of its "
        f"{len(mirrors)} mirror{'s' * (len(mirrors) > 1)} ({'; '.join(failures)}). Without network access, "
        "fetch the files elsewhere, put them in a folder and point root at it (data.root in a training "
        "config) with download off."
    )
