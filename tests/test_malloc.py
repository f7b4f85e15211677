"""``import nnrun`` keeps freed memory for reuse on glibc: a loop of large temporaries stops page-faulting."""

import ctypes
import os
import subprocess
import sys

import pytest

from nnrun import _malloc

GLIBC = sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "gnu_get_libc_version")
needs_glibc = pytest.mark.skipif(not GLIBC, reason="malloc tuning applies to Linux with glibc only")

# Four 8 MB temporaries per iteration, as a train step's activations; prints the page faults of the
# last ten iterations (the first ones fault in any case, to get the memory at all).
CHURN = """
import resource, numpy as np, nnrun
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(20):
    if i == 10:
        start = faults()
    arrays = [np.ones(2 << 20, dtype=np.float32) for _ in range(4)]
    del arrays
print(faults() - start)
"""


def _faults(**env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "NNRUN_MALLOC"))}
    result = subprocess.run(
        [sys.executable, "-c", CHURN], env={**environment, **env}, capture_output=True, text=True, check=True
    )
    return int(result.stdout)


@needs_glibc
def test_large_temporaries_reuse_memory_instead_of_faulting_it_in_again():
    assert _faults(NNRUN_MALLOC="system") > 1000  # glibc's defaults hand the arrays back and fault them in
    assert _faults() < 100


@needs_glibc
def test_tuning_is_applied_unless_the_user_chose_otherwise(monkeypatch):
    for name in ("NNRUN_MALLOC", *_malloc._USER_SETTINGS):
        monkeypatch.delenv(name, raising=False)
    assert _malloc.tune()
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert not _malloc.tune()
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.setenv("NNRUN_MALLOC", "system")
    assert not _malloc.tune()
