"""The ``mpi`` fixture runs scripts under ``mpirun``; tests using it skip, with the reason, where Open MPI
or mpi4py is missing."""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

WORKER = Path(__file__).with_name("_worker.py")
# Open MPI refuses to start as root without the first two (CI containers run as root); more ranks than
# cores must be allowed on a small machine.
MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
}


class MPI:
    def __init__(self, mpirun: str) -> None:
        self.mpirun = mpirun

    def launch(self, ranks: int | None, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run the command ``args`` under ``mpirun -n ranks``, or directly when ``ranks`` is None."""
        command = [self.mpirun, "-n", str(ranks), *args] if ranks else list(args)
        env = {**os.environ, **MPI_ENV}
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)

    def worker(self, ranks: int | None, out: Path, *options: str, check: bool = True) -> Any:
        """Run ``_worker.py`` writing to ``out``; ``check``: fail the test when it fails."""
        out.mkdir(parents=True, exist_ok=True)
        result = self.launch(ranks, sys.executable, str(WORKER), str(out), *options)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result


@pytest.fixture
def mpi() -> MPI:
    mpirun = shutil.which("mpirun")
    if mpirun is None or importlib.util.find_spec("mpi4py") is None:
        pytest.skip("needs mpirun (Debian: apt-get install openmpi-bin) and mpi4py (pip install nnrun[mpi])")
    return MPI(mpirun)
