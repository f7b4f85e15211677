"""Communicator over MPI through mpi4py: NumPy buffers (CuPy buffers are staged through host memory)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun import _backend
from nnrun._launcher import launched_world_size, launcher_description
from nnrun.distributed.communicator import Communicator, DistributedError


def import_mpi() -> Any:
    """``mpi4py.MPI`` (initialises MPI), or a :class:`DistributedError` saying how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise DistributedError(
            f"this run needs MPI ({launcher_description()}: {launched_world_size()} ranks) but mpi4py cannot "
            f"be imported ({exc}); install it with pip install 'nnrun[mpi]' next to an MPI library such as "
            "Open MPI (Debian: apt-get install openmpi-bin), or start nnrun without mpirun"
        ) from None
    return MPI


class MPICommunicator(Communicator):
    """All ranks of ``comm`` (default: ``MPI.COMM_WORLD``)."""

    name = "mpi"

    def __init__(self, comm: Any = None) -> None:
        self.MPI = import_mpi()
        self.comm = comm if comm is not None else self.MPI.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.world_size = self.comm.Get_size()

    def allreduce(self, buffer: Any) -> Any:
        host = _host(buffer)
        if host.dtype == np.float16:  # MPI has no half type: sum in float32
            wide = host.astype(np.float32)
            self.comm.Allreduce(self.MPI.IN_PLACE, wide, op=self.MPI.SUM)
            host[...] = wide
        else:
            self.comm.Allreduce(self.MPI.IN_PLACE, host, op=self.MPI.SUM)
        return _back(host, buffer)

    def broadcast(self, buffer: Any, root: int = 0) -> Any:
        host = _host(buffer)
        self.comm.Bcast(host.view(np.uint8), root=root)  # bytes: any dtype, float16 included
        return _back(host, buffer)

    def barrier(self) -> None:
        self.comm.Barrier()

    def abort(self, exit_code: int = 1) -> None:
        self.comm.Abort(exit_code)


def _host(buffer: Any) -> np.ndarray:
    if type(buffer) is np.ndarray:
        if not buffer.flags.c_contiguous:
            raise ValueError("communicator buffers must be contiguous")
        return buffer
    return _backend.transfer(buffer, _backend.CPU)


def _back(host: np.ndarray, buffer: Any) -> Any:
    if host is not buffer:
        buffer[...] = _backend.transfer(host, _backend.device_of(buffer))
    return buffer
