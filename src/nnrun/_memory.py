"""How much memory is available, checked before a large allocation, so that a file whose header lies or a
config that asks for 10^12 samples or a 10^10-parameter layer is refused with a message instead of
exhausting the machine. Standard library only: any layer may ask."""

from __future__ import annotations

import contextlib
import os

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]


def available_memory() -> int | None:
    """Bytes this process can still allocate: the memory available now (Linux's ``MemAvailable``, else the
    free physical memory), capped by an address-space limit (``ulimit -v``); None when unknown."""
    limits = []
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo", encoding="ascii") as handle:
        limits += [int(line.split()[1]) * 1024 for line in handle if line.startswith("MemAvailable:")]
    if not limits:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            limits.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    if resource is not None:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            limits.append(soft)
    return min(limits) if limits else None


def too_large(nbytes: int) -> str | None:
    """Why ``nbytes`` cannot be allocated (``"…, more than the 7.5 GB of memory available"``), or None."""
    limit = available_memory()
    if limit is None or nbytes <= limit:
        return None
    return f"{format_bytes(nbytes)}, more than the {format_bytes(limit)} of memory available"


def format_bytes(nbytes: int) -> str:
    """``1536`` → ``1.5 kB``: powers of 1000, as memory and disk sizes are usually quoted."""
    if nbytes >= 10**18:  # what a lying header announces; too large for a float, too
        return f"about 10^{len(str(nbytes)) - 1} bytes"
    size, unit = float(nbytes), "bytes"
    for larger in ("kB", "MB", "GB", "TB", "PB"):
        if size < 1000:
            break
        size, unit = size / 1000, larger
    return f"{nbytes} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
