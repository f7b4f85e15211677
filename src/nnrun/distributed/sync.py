"""What data-parallel training does with a communicator: start every rank from rank 0's weights, average
gradients in one allreduce per step, and reduce or gather small host-side values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from nnrun import _backend
from nnrun._tensor import Tensor
from nnrun.distributed.communicator import Communicator


def _groups(tensors: Iterable[Tensor]) -> dict[tuple[Any, Any], list[Tensor]]:
    """Tensors by (dtype, device), each group in the given order."""
    groups: dict[tuple[Any, Any], list[Tensor]] = {}
    for tensor in tensors:
        key = (tensor._data.dtype, _backend.device_of(tensor._data))
        groups.setdefault(key, []).append(tensor)
    return groups


def broadcast_tensors(tensors: Iterable[Tensor], comm: Communicator, root: int = 0) -> None:
    """Overwrite every tensor, in place, with rank ``root``'s values (one broadcast per dtype and device)."""
    if comm.world_size == 1:
        return
    for (dtype, device), group in _groups(tensors).items():
        xp = _backend.module_for(device)
        flat = xp.concatenate([t._data.reshape(-1) for t in group]) if group else xp.empty(0, dtype)
        comm.broadcast(flat, root)
        offset = 0
        for tensor in group:
            size = tensor._data.size
            tensor._data[...] = flat[offset : offset + size].reshape(tensor._data.shape)
            offset += size


def broadcast_module(module: Any, comm: Communicator, root: int = 0) -> None:
    """Give every rank rank ``root``'s parameters and buffers (at the start of data-parallel training)."""
    tensors = [*module.parameters(), *(b for b in module.buffers() if b is not None)]
    broadcast_tensors(tensors, comm, root)


class GradientAverager:
    """Averages the gradients of ``parameters`` over all ranks in one allreduce per (dtype, device) group,
    normally exactly one: gradients packed in parameter order into a reused contiguous buffer, summed,
    divided by the world size, unpacked into ``.grad``. A parameter without a gradient on every rank keeps
    ``None``; one that has a gradient on some ranks only is averaged with zeros for the others. Small
    ``flags`` (e.g. "stop requested") ride along in the first buffer and come back summed."""

    def __init__(self, parameters: Iterable[Tensor], comm: Communicator) -> None:
        self.comm = comm
        self.groups = list(_groups(p for p in parameters if p.requires_grad).items())
        self._buffers: list[Any] = [None] * len(self.groups)

    def average(self, flags: Sequence[float] = ()) -> np.ndarray:
        """Average the gradients in place; returns the sum of ``flags`` over ranks (float64, on the host)."""
        summed = np.asarray(flags, dtype=np.float64)
        if self.comm.world_size == 1:
            return summed
        if not self.groups:
            return self.comm.allreduce(summed)
        for index, ((dtype, device), params) in enumerate(self.groups):
            extra = len(flags) if index == 0 else 0
            buffer = self._pack(index, dtype, device, params, flags if index == 0 else ())
            self.comm.allreduce(buffer)
            self._unpack(buffer, params)
            if index == 0:
                summed = _backend.transfer(buffer[buffer.size - extra :], _backend.CPU).astype(np.float64)
        return summed

    def _pack(self, index: int, dtype: Any, device: Any, params: list[Tensor], flags: Sequence[float]) -> Any:
        xp = _backend.module_for(device)
        numel = sum(p._data.size for p in params)
        size = numel + len(params) + len(flags)
        buffer = self._buffers[index]
        if buffer is None or buffer.size != size:
            buffer = self._buffers[index] = xp.empty(size, dtype=dtype)
        offset = 0
        for p in params:
            n = p._data.size
            if p.grad is None:
                buffer[offset : offset + n] = 0
            else:
                buffer[offset : offset + n] = p.grad._data.reshape(-1)
            offset += n
        buffer[numel : numel + len(params)] = xp.asarray([p.grad is not None for p in params], dtype=dtype)
        if flags:
            buffer[numel + len(params) :] = xp.asarray(flags, dtype=dtype)
        return buffer

    def _unpack(self, buffer: Any, params: list[Tensor]) -> None:
        numel = sum(p._data.size for p in params)
        counts = _backend.transfer(buffer[numel : numel + len(params)], _backend.CPU)
        grads = buffer[:numel]
        grads /= self.comm.world_size
        offset = 0
        for p, count in zip(params, counts):
            n = p._data.size
            if count > 0:
                values = grads[offset : offset + n].reshape(p._data.shape)
                if p.grad is None:
                    p.grad = Tensor._make(values.copy())
                else:
                    p.grad._data[...] = values
            offset += n


def reduce_sums(values: Sequence[float], comm: Communicator) -> list[float]:
    """The element-wise sums of ``values`` over all ranks (float64), bit for bit the same on every rank:
    rank 0's result is broadcast, since MPI does not promise every rank the same rounding, and ranks take
    decisions from these sums (best checkpoint, learning-rate plateaus, stopping)."""
    buffer = np.asarray(values, dtype=np.float64)
    if comm.world_size > 1:
        comm.allreduce(buffer)
        comm.broadcast(buffer)
    return buffer.tolist()


def gather_bytes(data: np.ndarray, comm: Communicator) -> list[np.ndarray]:
    """Every rank's ``data`` (1-D uint8, lengths may differ), on every rank, in rank order."""
    data = np.ascontiguousarray(data, dtype=np.uint8).reshape(-1)
    if comm.world_size == 1:
        return [data.copy()]
    lengths = np.zeros(comm.world_size, dtype=np.int64)
    lengths[comm.rank] = data.size
    comm.allreduce(lengths)
    rows = np.zeros((comm.world_size, int(lengths.max())), dtype=np.uint8)
    rows[comm.rank, : data.size] = data
    comm.allreduce(rows.reshape(-1))
    return [rows[r, : lengths[r]].copy() for r in range(comm.world_size)]
