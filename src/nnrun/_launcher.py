"""Whether this process was started by an MPI launcher (``mpirun``/``mpiexec``/``srun``), read from the
environment variables launchers set, so nothing needs mpi4py to find out; and whether an output stream is a
terminal someone watches (not under a launcher). Standard library only: any layer may ask."""

from __future__ import annotations

import os
from typing import TextIO

# (world size, rank, local rank) variables of Open MPI, MPICH/Intel MPI (Hydra, PMI) and MVAPICH2.
_LAUNCHER_VARIABLES = (
    ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK"),
    ("PMI_SIZE", "PMI_RANK", "MPI_LOCALRANKID"),
    ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_LOCAL_RANK"),
)


def _launcher() -> tuple[str, str, str] | None:
    for names in _LAUNCHER_VARIABLES:
        if names[0] in os.environ:
            return names
    return None


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value)
    except ValueError:
        return default


def launched_world_size() -> int:
    """How many ranks the launcher started (1 without a launcher)."""
    names = _launcher()
    return max(1, _int(names[0], 1)) if names else 1


def launched_rank() -> int:
    """This process's rank according to the launcher (0 without one)."""
    names = _launcher()
    return _int(names[1], 0) if names else 0


def local_rank() -> int:
    """This process's index among the ranks on its machine (picks its GPU)."""
    names = _launcher()
    return _int(names[2], 0) if names else 0


def launcher_description() -> str:
    """``OMPI_COMM_WORLD_SIZE=2`` style evidence of the launch, for error messages."""
    names = _launcher()
    return f"{names[0]}={os.environ[names[0]]}" if names else "no MPI launcher"


def under_launcher() -> bool:
    """Whether an MPI launcher started this process (``mpirun -n 1`` included)."""
    return _launcher() is not None


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal someone watches (for progress bars and colours). Under an MPI
    launcher it is not: Open MPI gives each rank a pseudo-terminal even when ``mpirun``'s own output goes
    to a file or a pipe, so escape codes would end up in the log."""
    return not under_launcher() and stream.isatty()
