"""What the trainer does differently on several ranks (one process per rank, see :mod:`nnrun.distributed`).

Each rank trains on its own shard of every batch (``DataLoader(num_replicas=N, rank=r)``, batches of all
ranks together forming the global batch ``batch_size × N``); gradients are averaged over ranks after every
backward, so every rank applies the same update and the weights stay identical. BatchNorm normalises each
rank's batch with that rank's batch statistics; its running statistics (all buffers) are rank 0's, copied to
every rank after each step (what torch's DistributedDataParallel does with ``broadcast_buffers``), so
evaluation on any rank uses the statistics the checkpoint holds. Metrics are summed over ranks before they
are logged. Rank 0 alone prints, writes the run folder and writes checkpoints; every rank waits for a
checkpoint to be written before it goes on. A failing rank ends the whole job.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

import nnrun
from nnrun.config import ConfigError
from nnrun.data import DatasetError
from nnrun.distributed import (
    Communicator,
    GradientAverager,
    broadcast_module,
    broadcast_tensors,
    gather_bytes,
    reduce_sums,
)
from nnrun.serialization import CheckpointError
from nnrun.train.errors import CheckpointWriteError, ResumeRefused, RunFolderError, TrainingInterrupted
from nnrun.train.metrics import MetricTracker, host_state
from nnrun.train.state_bytes import pack_state, unpack_state


def seed_for_rank(seed: int, rank: int) -> None:
    """Seed the global generator with a stream of its own for ``rank``, derived from ``seed``."""
    nnrun.manual_seed(int(np.random.SeedSequence(seed, spawn_key=(rank,)).generate_state(1)[0]))


class DataParallel:
    """The multi-rank side of one :class:`~nnrun.train.Trainer` (a no-op on a single process)."""

    def __init__(self, comm: Communicator) -> None:
        self.comm = comm
        self.size, self.rank = comm.world_size, comm.rank
        self.active = self.size > 1
        self._averager: GradientAverager | None = None
        self._buffers: list[Any] = []
        self._stop_agreed = False

    def shard_loaders(self, train_loader: Any, eval_loaders: list[Any]) -> None:
        """Make each loader read this rank's shard (training: equal shards; evaluation: every sample once)."""
        if not self.active:
            return
        for loader, even in [(train_loader, True)] + [(loader, False) for loader in eval_loaders]:
            if loader is None:
                continue
            if not hasattr(loader, "set_shard"):
                raise TypeError(
                    f"training on {self.size} ranks needs nnrun DataLoaders (they read one shard per rank); "
                    f"got {type(loader).__name__}"
                )
            if loader.num_replicas == 1:
                loader.set_shard(self.rank, self.size, even)
            elif (loader.num_replicas, loader.rank) != (self.size, self.rank):
                raise ValueError(
                    f"a loader is sharded for rank {loader.rank} of {loader.num_replicas}, but this "
                    f"process is rank {self.rank} of {self.size}"
                )

    def start(self, model: Any) -> None:
        """Copy rank 0's parameters and buffers to every rank."""
        if self.active:
            broadcast_module(model, self.comm)
            self._averager = GradientAverager(model.parameters(), self.comm)
            self._buffers = [b for b in model.buffers() if b is not None]

    def share_buffers(self) -> None:
        """Give every rank rank 0's buffers (BatchNorm running statistics) after a step."""
        if self._buffers:
            broadcast_tensors(self._buffers, self.comm)

    def average_gradients(self, stop_requested: bool) -> None:
        """Average the gradients over ranks, and agree on whether any rank asked to stop."""
        if self._averager is not None:
            self._stop_agreed = bool(self._averager.average([float(stop_requested)])[0] > 0)

    def should_stop(self, stop_requested: bool) -> bool:
        """After a step: one process stops on a request made until now; several ranks stop on what they
        agreed in the step's gradient allreduce (so all stop at the same step)."""
        return self._stop_agreed if self.active else stop_requested

    def any_rank(self, flag: bool) -> bool:
        """Whether ``flag`` is set on any rank."""
        return bool(reduce_sums([float(flag)], self.comm)[0] > 0) if self.active else flag

    def sums(self, values: list[float]) -> list[float]:
        return reduce_sums(values, self.comm) if self.active else values

    def global_tracker(self, tracker: MetricTracker) -> MetricTracker:
        """The tracker of all ranks together: every rank's state gathered, then merged in rank order (the
        same on every rank)."""
        if not self.active:
            return tracker
        blobs = gather_bytes(pack_state(host_state(tracker.state_dict())), self.comm)
        return tracker.merge([unpack_state(blob) for blob in blobs])

    def rng_states(self) -> list[Any]:
        """Every rank's global generator state, in rank order."""
        states = gather_bytes(nnrun.get_rng_state().numpy(), self.comm)
        return [nnrun.tensor(state) for state in states]

    def restore_rng(self, rng: dict[str, Any]) -> None:
        """Take this rank's generator state from a checkpoint's ``rng`` (one rank: the ``global`` state).

        With a different number of ranks than the checkpoint's, each rank's stream (dropout) starts anew
        from rank 0's saved state and the rank number."""
        ranks = rng.get("ranks")
        if ranks is not None and len(ranks) == self.size:
            nnrun.set_rng_state(ranks[self.rank])
            return
        nnrun.set_rng_state(rng["global"])
        if self.rank > 0:
            seed_for_rank(int(nnrun.default_generator.numpy_generator.integers(0, 2**62)), self.rank)

    def check_resume(self, path: str, progress: dict[str, Any], loader: Any) -> None:
        """Refuse a checkpoint whose data was split differently: another global batch, or another number of
        samples per epoch (a changed dataset, or equal shards of N ranks leaving out another ``len % N``)."""
        saved_size = int(progress.get("world_size", 1))
        if "global_batch" not in progress:
            if self.size == 1:
                return
            raise ResumeRefused(
                f"{path}: written by an nnrun without data-parallel training, which did not record how "
                f"its data was batched; resume it on one process, not {self.size} ranks"
            )
        batch, samples = getattr(loader, "batch_size", None), getattr(loader, "num_samples", None)
        if batch is None or samples is None:
            return
        saved_batch, saved_samples = progress["global_batch"], progress["epoch_samples"]
        ranks = (
            f"{self.size} ranks × batch {batch} = {batch * self.size}" if self.active else f"batch {batch}"
        )
        if saved_batch != batch * self.size:
            advice = f"data.batch_size: {saved_batch // self.size}"
            if self.active:
                advice += f" (per rank), or data.batch_size: {saved_batch} with data.batch_scope: global"
            if saved_batch % self.size:
                advice = f"a number of ranks that divides {saved_batch}"
            raise ResumeRefused(
                f"cannot resume from {path}: it was trained by {saved_size} rank(s) with a global batch of "
                f"{saved_batch}, but this run has {ranks}: resuming would change the data order and the "
                f"updates. Keep the global batch: {advice}"
            )
        if saved_samples != samples * self.size:
            advice = (
                "the training set differs (data files, data.options or data.val_split)"
                if saved_size == self.size
                else f"resume with {saved_size} rank(s), or a number of ranks that leaves out as many samples"
            )
            raise ResumeRefused(
                f"cannot resume from {path}: it trained on {saved_samples} samples per epoch, but this run "
                f"has {samples * self.size}: resuming would change the data; {advice}"
            )

    def saving(self) -> bool:
        """Whether this rank writes files (rank 0)."""
        return self.comm.is_main

    def barrier(self) -> None:
        if self.active:
            self.comm.barrier()

    @contextlib.contextmanager
    def failure_ends_job(self) -> Iterator[None]:
        """On several ranks, an exception in the block (other than an agreed stop) ends every rank."""
        try:
            yield
        except TrainingInterrupted:
            raise
        except BaseException as error:
            self.fail(error)
            raise

    def fail(self, error: BaseException) -> None:
        """Report ``error`` and end every rank of the job (the others would wait forever)."""
        if not self.active:
            return
        message = str(error) or type(error).__name__
        sys.stderr.write(f"error on rank {self.rank} of {self.size} (aborting all ranks): {message}\n")
        sys.stderr.flush()
        self.comm.abort(2 if _is_usage_error(error) else 1)  # the codes nnrun exits with on one process


def _is_usage_error(error: BaseException) -> bool:
    """A config, dataset, checkpoint or run folder that cannot be used (rather than a run that failed)."""
    usage = (ConfigError, DatasetError, CheckpointError, RunFolderError)
    return isinstance(error, usage) and not isinstance(error, CheckpointWriteError)
