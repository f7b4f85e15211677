"""``import nnrun`` changes nothing in the process beyond loading modules: no environment variable, NumPy
error mode or print options, warning filter, signal handler or recursion limit (malloc: test_malloc.py)."""

import subprocess
import sys

PROBE = """
import os, signal, sys, warnings
import numpy as np

def state():
    return (
        dict(os.environ), np.geterr(), np.get_printoptions(), list(warnings.filters),
        signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM), sys.getrecursionlimit(),
    )

before = state()
import {module}
after = state()
for name, old, new in zip(("environ", "geterr", "printoptions", "warnings", "SIGINT", "SIGTERM", "recursion"),
                          before, after):
    assert old == new, (name, old, new)
print("unchanged")
"""


def _probe(module):
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_nnrun_leaves_the_process_as_it_was():
    assert _probe("nnrun") == "unchanged"


def test_importing_the_trainer_leaves_the_process_as_it_was():
    assert _probe("nnrun.train") == "unchanged"
