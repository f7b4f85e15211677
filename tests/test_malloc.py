"""glibc malloc tuned where a training run starts, not at ``import nnrun``: once tuned, a loop of large
temporaries keeps its memory for reuse instead of page-faulting it in again."""

import ctypes
import os
import subprocess
import sys

import pytest

from nnrun import _malloc
from nnrun.train import Trainer

GLIBC = sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "gnu_get_libc_version")
needs_glibc = pytest.mark.skipif(not GLIBC, reason="malloc tuning applies to Linux with glibc only")

# After SETUP, four 8 MB temporaries per iteration, as a train step's activations; prints the page faults of
# the last ten iterations (the first ones fault in any case, to get the memory at all) on the last line.
CHURN = """
import resource, numpy as np, nnrun
{setup}
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(20):
    if i == 10:
        start = faults()
    arrays = [np.ones(2 << 20, dtype=np.float32) for _ in range(4)]
    del arrays
print(faults() - start)
"""
# ``nnrun eval`` in the process, as the command line runs it (SETUP above)
EVAL = """
import sys
from nnrun_cli.app import main
sys.argv = {args!r}
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
"""
UNTUNED, TUNED = 1000, 100  # more faults than this: glibc's defaults; fewer: tuned


def _faults(setup="", **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    result = subprocess.run(
        [sys.executable, "-c", CHURN.format(setup=setup)],
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.split()[-1])


@needs_glibc
def test_import_nnrun_leaves_malloc_alone_and_tune_malloc_keeps_freed_memory():
    assert _faults() > UNTUNED  # glibc's defaults hand the arrays back and fault them in again
    assert _faults("nnrun.utils.tune_malloc()") < TUNED
    assert _faults("nnrun.utils.tune_malloc()", MALLOC_TRIM_THRESHOLD_="131072") > UNTUNED


@needs_glibc
def test_tune_malloc_can_be_called_again_and_yields_to_the_users_settings(monkeypatch):
    for name in _malloc._USER_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    assert _malloc.tune_malloc() and _malloc.tune_malloc()
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert not _malloc.tune_malloc()


@needs_glibc
@pytest.mark.parametrize(("keyword", "tuned"), [("", True), ("tune_malloc=False", False)])
def test_trainer_fit_tunes_malloc_unless_told_not_to(small_config, keyword, tuned):
    setup = (
        "from nnrun.train import Trainer\n"
        f"Trainer.from_config({str(small_config())!r}, progress=False, {keyword}).fit()"
    )
    faults = _faults(setup)
    assert faults < TUNED if tuned else faults > UNTUNED


@needs_glibc
def test_nnrun_eval_tunes_malloc(small_config, tmp_path):
    config = small_config()
    Trainer.from_config(config, progress=False, tune_malloc=False).fit()
    checkpoint = tmp_path / "run" / "checkpoints" / "last.safetensors"
    args = ["nnrun", "eval", str(config), "--checkpoint", str(checkpoint)]
    setup = EVAL.format(args=args)
    assert _faults(setup) < TUNED
