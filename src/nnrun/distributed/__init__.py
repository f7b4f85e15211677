"""Data-parallel training over several processes: a small communicator interface (allreduce, broadcast,
barrier, rank, world size) with three implementations, and the synchronisation the trainer does with it.

``init()`` picks the communicator for this process: :class:`SingleProcess` when no MPI launcher started
it, :class:`MPICommunicator` (mpi4py, CPU) under ``mpirun``/``mpiexec``, :class:`NCCLCommunicator` (CuPy's
NCCL, one GPU per rank) when training on CUDA under a launcher. nnrun imports without mpi4py; only a run
started by a launcher needs it (``pip install 'nnrun[mpi]'``).
"""

from __future__ import annotations

from typing import Any

from nnrun import _backend
from nnrun._launcher import launched_rank, launched_world_size, local_rank
from nnrun.distributed.communicator import Communicator, DistributedError, SingleProcess
from nnrun.distributed.mpi import MPICommunicator
from nnrun.distributed.nccl import NCCLCommunicator
from nnrun.distributed.sync import (
    GradientAverager,
    broadcast_module,
    broadcast_tensors,
    gather_bytes,
    reduce_sums,
)

BACKENDS = ("auto", "none", "mpi", "nccl")

__all__ = [
    "BACKENDS",
    "Communicator",
    "DistributedError",
    "GradientAverager",
    "MPICommunicator",
    "NCCLCommunicator",
    "SingleProcess",
    "broadcast_module",
    "broadcast_tensors",
    "gather_bytes",
    "init",
    "launched_rank",
    "launched_world_size",
    "local_rank",
    "reduce_sums",
]


def init(backend: str = "auto", device: Any = None) -> Communicator:
    """The communicator of this process.

    ``auto``: one process without a launcher; under one, NCCL when ``device`` is CUDA, else MPI. ``none``
    always gives a single process (each rank of a launch then trains alone); ``mpi`` and ``nccl`` force
    that implementation."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown distributed backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if backend == "none" or (backend == "auto" and launched_world_size() == 1):
        return SingleProcess()
    dev = _backend.as_device(device) if device is not None else None
    if backend == "auto":
        backend = "nccl" if dev is not None and dev.type == "cuda" else "mpi"
    if backend == "mpi":
        return MPICommunicator()
    if dev is not None and dev.type == "cuda" and dev.index is not None:
        index = dev.index
    else:
        index = local_rank() % max(1, _backend.cuda_device_count())
    return NCCLCommunicator(index)
