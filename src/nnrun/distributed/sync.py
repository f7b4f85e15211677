"""What data-parallel training does with a communicator: start every rank from rank 0's weights, average
gradients in one allreduce per step, and reduce or gather small host-side values."""

from __future__ import annotations

import itertools
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
        trained = _groups(p for p in parameters if p.requires_grad)
        self.groups = [_Bucket(dtype, device, params) for (dtype, device), params in trained.items()]

    def average(self, flags: Sequence[float] = ()) -> np.ndarray:
        """Average the gradients in place; returns the sum of ``flags`` over ranks (float64, on the host)."""
        summed = np.asarray(flags, dtype=np.float64)
        if self.comm.world_size == 1:
            return summed
        if not self.groups:
            return self.comm.allreduce(summed)
        for index, bucket in enumerate(self.groups):
            carried = flags if index == 0 else ()
            buffer = bucket.pack(carried)
            self.comm.allreduce(buffer)
            bucket.unpack(self.comm.world_size)
            if carried:
                summed = _backend.transfer(buffer[bucket.flags_start :], _backend.CPU).astype(np.float64)
        return summed


class _Bucket:
    """One (dtype, device) group's reused buffer: every gradient (zeros for a missing one) in parameter
    order, then one has-a-gradient count per parameter, then the flags."""

    def __init__(self, dtype: Any, device: Any, params: list[Tensor]) -> None:
        self.xp = _backend.module_for(device)
        self.dtype, self.params = dtype, params
        bounds = np.cumsum([0] + [p._data.size for p in params]).tolist()
        self.slices = [slice(start, stop) for start, stop in itertools.pairwise(bounds)]
        self.numel = bounds[-1]
        self.flags_start = self.numel + len(params)
        self.buffer: Any = None

    def pack(self, flags: Sequence[float]) -> Any:
        size = self.flags_start + len(flags)
        if self.buffer is None or self.buffer.size != size:
            self.buffer = self.xp.empty(size, dtype=self.dtype)
        buffer = self.buffer
        for p, part in zip(self.params, self.slices):
            if p.grad is None:
                buffer[part] = 0
            else:
                buffer[part] = p.grad._data.reshape(-1)
        has_grad = [p.grad is not None for p in self.params]
        buffer[self.numel : self.flags_start] = self.xp.asarray(has_grad, dtype=self.dtype)
        if flags:
            buffer[self.flags_start :] = self.xp.asarray(flags, dtype=self.dtype)
        return buffer

    def unpack(self, world_size: int) -> None:
        buffer = self.buffer
        counts = _backend.transfer(buffer[self.numel : self.flags_start], _backend.CPU)
        grads = buffer[: self.numel]
        grads /= world_size
        for p, part, count in zip(self.params, self.slices, counts):
            if count > 0:
                values = grads[part].reshape(p._data.shape)
                if p.grad is None:
                    p.grad = Tensor._make(values.copy())
                else:
                    p.grad._data[...] = values


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
