"""Communicator over NCCL through CuPy: GPU buffers, one GPU per rank; MPI starts the ranks, hands out the
NCCL id and provides the barrier and abort."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun import _backend
from nnrun.distributed.communicator import Communicator, DistributedError
from nnrun.distributed.mpi import MPICommunicator

_NCCL_ID_BYTES = 128


class NCCLCommunicator(Communicator):
    """All ranks of ``bootstrap`` (an :class:`MPICommunicator`, default: the world), each on CUDA device
    ``device_index``; NumPy buffers are staged through the GPU."""

    name = "nccl"

    def __init__(self, device_index: int, bootstrap: MPICommunicator | None = None) -> None:
        try:
            self.nccl = _backend.nccl_module()
        except RuntimeError as exc:
            raise DistributedError(
                f"the nccl backend needs CuPy with NCCL on a CUDA machine: {exc}"
            ) from None
        self.cupy = _backend.require_cupy()
        self.bootstrap = bootstrap or MPICommunicator()
        self.rank, self.world_size = self.bootstrap.rank, self.bootstrap.world_size
        self.device = self.cupy.cuda.Device(device_index)
        unique_id = np.zeros(_NCCL_ID_BYTES, dtype=np.int16)  # chars: signed or not by platform
        if self.rank == 0:
            unique_id[:] = self.nccl.get_unique_id()
        self.bootstrap.broadcast(unique_id)
        with self.device:
            self.comm = self.nccl.NcclCommunicator(
                self.world_size, tuple(int(b) for b in unique_id), self.rank
            )
        self._types = {
            np.dtype(np.float16): self.nccl.NCCL_FLOAT16, np.dtype(np.float32): self.nccl.NCCL_FLOAT32,
            np.dtype(np.float64): self.nccl.NCCL_FLOAT64, np.dtype(np.int32): self.nccl.NCCL_INT32,
            np.dtype(np.int64): self.nccl.NCCL_INT64, np.dtype(np.uint8): self.nccl.NCCL_UINT8,
            np.dtype(np.int8): self.nccl.NCCL_INT8,
        }  # fmt: skip

    def allreduce(self, buffer: Any) -> Any:
        array = self._on_device(buffer)
        with self.device:
            stream = self.cupy.cuda.get_current_stream()
            self.comm.allReduce(
                array.data.ptr, array.data.ptr, array.size, self._type(array), self.nccl.NCCL_SUM, stream.ptr
            )
        return self._back(array, buffer)

    def broadcast(self, buffer: Any, root: int = 0) -> Any:
        array = self._on_device(buffer)
        with self.device:
            stream = self.cupy.cuda.get_current_stream()
            self.comm.bcast(array.data.ptr, array.size, self._type(array), root, stream.ptr)
        return self._back(array, buffer)

    def barrier(self) -> None:
        with self.device:
            self.cupy.cuda.get_current_stream().synchronize()
        self.bootstrap.barrier()

    def abort(self, exit_code: int = 1) -> None:
        self.bootstrap.abort(exit_code)

    def _type(self, array: Any) -> int:
        try:
            return self._types[np.dtype(array.dtype)]
        except KeyError:
            raise TypeError(f"NCCL cannot reduce {array.dtype} buffers") from None

    def _on_device(self, buffer: Any) -> Any:
        if type(buffer) is np.ndarray:
            with self.device:
                return self.cupy.asarray(buffer)
        if not buffer.flags.c_contiguous:
            raise ValueError("communicator buffers must be contiguous")
        return buffer

    def _back(self, array: Any, buffer: Any) -> Any:
        if array is not buffer:
            buffer[...] = array.get()
        return buffer
