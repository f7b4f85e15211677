"""glibc's malloc tuned for NumPy's large, short-lived arrays: freed memory stays in the process for reuse.

A train step allocates and frees hundreds of megabytes (activations, patch matrices, gradients). By default
glibc hands large freed blocks back to the kernel (``munmap``, heap trimming), so the next step's arrays
page-fault on every 4 KB page again (what that costs is measured in ``benchmarks/README.md``). Raising the
mmap and trim thresholds keeps those pages for the next step; the resident set then stays at its
high-water mark between steps instead of shrinking.

Importing nnrun changes nothing: a training run applies it where it starts (``Trainer.fit``, ``nnrun train``,
``nnrun eval``; ``Trainer(..., tune_malloc=False)`` leaves malloc alone), and anyone else calls
:func:`tune_malloc` (public as ``nnrun.utils.tune_malloc``). It acts on Linux with glibc only, and not when
the process already tunes malloc through glibc's own ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``
or ``GLIBC_TUNABLES``.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks below the mmap threshold come from the heap and are reused; free memory at the heap's top up to the
# trim threshold stays. Older glibc releases refuse mmap thresholds above 32 MiB (64-bit): then 32 MiB.
THRESHOLD_BYTES = 1 << 30
_OLD_GLIBC_MMAP_MAX = 32 << 20
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def tune_malloc() -> bool:
    """Keep the memory a train step frees for the next step: raise glibc malloc's mmap and trim thresholds
    for the whole process (module docstring). Returns whether they were set; False, changing nothing, off
    glibc or when the environment already tunes glibc malloc. Calling it again sets the same values again."""
    if not sys.platform.startswith("linux"):
        return False
    if any(name in os.environ for name in _USER_SETTINGS):
        return False
    try:
        process = ctypes.CDLL(None)
        mallopt = process.mallopt
    except (OSError, AttributeError):  # no dynamic symbols to look up, or no mallopt
        return False
    if not hasattr(process, "gnu_get_libc_version"):  # another C library (musl…): its malloc differs
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mmap_set = mallopt(_M_MMAP_THRESHOLD, THRESHOLD_BYTES) or mallopt(_M_MMAP_THRESHOLD, _OLD_GLIBC_MMAP_MAX)
    trim_set = mallopt(_M_TRIM_THRESHOLD, THRESHOLD_BYTES)
    return bool(mmap_set and trim_set)
