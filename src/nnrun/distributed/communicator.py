"""The communicator interface data-parallel training talks to, and its one-process implementation."""

from __future__ import annotations

import sys
from typing import Any


class DistributedError(RuntimeError):
    """A data-parallel job cannot start or continue (missing library, mismatched ranks, bad settings)."""


class Communicator:
    """What data parallelism needs from a group of ``world_size`` processes, this one being ``rank``.

    Buffers are flat, contiguous NumPy or CuPy arrays, reduced or overwritten in place; every rank must make
    the same calls in the same order with buffers of the same size and dtype."""

    name = "base"
    rank = 0
    world_size = 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the rank that prints, logs and writes checkpoints."""
        return self.rank == 0

    def allreduce(self, buffer: Any) -> Any:
        """Replace ``buffer`` on every rank by its element-wise sum over all ranks; returns it."""
        raise NotImplementedError

    def broadcast(self, buffer: Any, root: int = 0) -> Any:
        """Overwrite ``buffer`` on every rank with rank ``root``'s; returns it."""
        raise NotImplementedError

    def barrier(self) -> None:
        """Return once every rank has called it."""
        raise NotImplementedError

    def abort(self, exit_code: int = 1) -> None:
        """End every process of the job now (a failed rank calls it so the others do not wait forever)."""
        sys.exit(exit_code)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, world_size={self.world_size})"


class SingleProcess(Communicator):
    """One process: every collective is the identity."""

    name = "none"

    def allreduce(self, buffer: Any) -> Any:
        return buffer

    def broadcast(self, buffer: Any, root: int = 0) -> Any:
        if root != 0:
            raise ValueError(f"broadcast root {root} out of range for 1 rank")
        return buffer

    def barrier(self) -> None:
        return None
