"""``DataLoader``: batches of a dataset as nnrun tensors, in a reproducible, resumable order."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from nnrun import _backend, _random
from nnrun._tensor import Tensor
from nnrun.data.collate import default_collate
from nnrun.data.dataset import Dataset, has_batch_path

# Streams derived from (seed, epoch): one for the sample order, one per batch for augmentations.
_ORDER_STREAM = 0
_AUGMENT_STREAM = 1


def _check_worker_options(
    num_workers: Any, timeout: Any, context: Any, prefetch_factor: Any, persistent_workers: Any
) -> None:
    """torch's checks of the multiprocess-loading options, with its messages."""
    if num_workers < 0:
        raise ValueError(
            "num_workers option should be non-negative; use num_workers=0 to disable multiprocessing."
        )
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError(
            "prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 to enable "
            "multiprocessing, otherwise set prefetch_factor to None."
        )
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    if context is not None:
        if num_workers == 0:
            raise ValueError(
                "multiprocessing_context can only be used with multi-process loading (num_workers > 0), but "
                f"got num_workers={num_workers}"
            )
        methods = ["fork", "spawn", "forkserver"]
        if isinstance(context, str) and context not in methods:
            raise ValueError(
                f"multiprocessing_context option should specify a valid start method in {methods}, but got "
                f"multiprocessing_context={context!r}"
            )


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``, as tensors on ``device``.

    Order. With ``seed`` given, epoch ``e``'s order and augmentations are a pure function of ``(seed, e)``:
    call ``set_epoch(e)`` before iterating (as with torch's ``DistributedSampler``; the epoch does not
    advance by itself), and ``iter_from(k)`` to start that epoch at batch ``k`` for an exact mid-epoch
    resume. Without ``seed``, each ``iter()`` draws one number from ``generator`` (an ``nnrun.Generator``)
    or from the global generator, like torch, and derives the order and augmentations from it.

    Batches. A dataset with ``get_batch`` (``ArrayDataset``, ``TensorDataset``, a ``Subset`` of them) is
    gathered with one vectorized index per batch; other datasets are read sample by sample and merged by
    ``collate_fn`` (``default_collate`` by default, which stacks samples into tensors). A given
    ``collate_fn`` always takes the per-sample path.

    Shards. With ``num_replicas`` N > 1 (data-parallel training, like torch's ``DistributedSampler``), this
    loader yields only rank ``rank``'s shard of each epoch's order: samples ``rank, rank + N, rank + 2N, …``
    of it. With ``even_shards`` (training) the last ``len(dataset) % N`` samples of the order are left out so
    every rank gets as many samples and batches; without it (evaluation) every sample is in exactly one
    shard. Batch ``k`` of all ranks together is then batch ``k`` of a single loader with ``batch_size × N``.

    Workers. torch's ``num_workers``, ``pin_memory``, ``persistent_workers``, ``prefetch_factor``,
    ``worker_init_fn``, ``timeout``, ``multiprocessing_context``, ``pin_memory_device`` and ``in_order`` are
    accepted and checked as torch checks them, and change nothing: batches are always made in this process,
    exactly as with ``num_workers=0`` (``worker_init_fn`` is never called). Worker processes would pay off
    where Python decodes each sample (images from files); nnrun's datasets gather a whole batch with one
    vectorized NumPy index, which is faster in-process than pickling batches between processes, and an
    in-process order is what makes ``seed``/``iter_from`` resume exactly. Page-locked memory
    (``pin_memory``) is not used; copies to the GPU go through CuPy.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: _random.Generator | None = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        *,
        device: Any = None,
        seed: int | None = None,
        num_replicas: int = 1,
        rank: int = 0,
        even_shards: bool = True,
        num_workers: int = 0,
        pin_memory: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        _check_worker_options(
            num_workers, timeout, multiprocessing_context, prefetch_factor, persistent_workers
        )
        # torch's multiprocess-loading options, kept for reading back; batches are made in-process (see above)
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = 2 if prefetch_factor is None and num_workers > 0 else prefetch_factor
        self.persistent_workers = persistent_workers
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if seed is not None and (not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn
        self.device = _backend.as_device(device)
        self.seed = seed
        self.epoch = 0
        self.set_shard(rank, num_replicas, even_shards)

    def set_shard(self, rank: int, num_replicas: int, even_shards: bool | None = None) -> None:
        """Read only shard ``rank`` of ``num_replicas`` from now on (see the class docs)."""
        if not isinstance(num_replicas, int) or isinstance(num_replicas, bool) or num_replicas < 1:
            raise ValueError(f"num_replicas must be a positive integer, got {num_replicas!r}")
        if not isinstance(rank, int) or isinstance(rank, bool) or not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be an integer in [0, {num_replicas - 1}], got {rank!r}")
        if num_replicas > 1 and self.shuffle and self.seed is None:
            raise ValueError(
                f"a shuffled loader split over {num_replicas} ranks needs a seed (DataLoader(seed=…)): every "
                "rank must draw the same order of each epoch to read disjoint shards of it"
            )
        self.num_replicas, self.rank = num_replicas, rank
        if even_shards is not None:
            self.even_shards = bool(even_shards)

    @property
    def num_samples(self) -> int:
        """Samples per epoch in this rank's shard (the whole dataset on one process)."""
        n, replicas = len(self.dataset), self.num_replicas
        if replicas == 1:
            return n
        return n // replicas if self.even_shards else len(range(self.rank, n, replicas))

    def __len__(self) -> int:
        """Number of batches per epoch (of this rank's shard)."""
        n = self.num_samples
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order (with ``seed``) the next iteration follows."""
        if not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative integer, got {epoch!r}")
        self.epoch = epoch

    def __iter__(self) -> Iterator[Any]:
        return self.iter_from(0)

    def iter_from(self, batch_index: int) -> Iterator[Any]:
        """The batches of the current epoch from ``batch_index`` on (exactly those a full pass yields)."""
        if not 0 <= batch_index <= len(self):
            raise IndexError(f"batch_index {batch_index} out of range for {len(self)} batches")
        return self._batches(self._epoch_seed(), batch_index)

    def _epoch_seed(self) -> np.random.SeedSequence:
        if self.seed is not None:
            return np.random.SeedSequence(self.seed, spawn_key=(self.epoch,))
        drawn = _random.generator_or_default(self.generator).numpy_generator.integers(0, 2**63 - 1)
        return np.random.SeedSequence(int(drawn))

    def _order(self, epoch_seed: np.random.SeedSequence) -> np.ndarray:
        """This rank's samples of the epoch, in order."""
        n = len(self.dataset)
        if not self.shuffle:
            order = np.arange(n, dtype=np.int64)
        else:
            rng = np.random.default_rng(_child(epoch_seed, _ORDER_STREAM))
            order = rng.permutation(n).astype(np.int64, copy=False)
        if self.num_replicas == 1:
            return order
        return order[self.rank :: self.num_replicas][: self.num_samples]

    def _batches(self, epoch_seed: np.random.SeedSequence, start: int) -> Iterator[Any]:
        order = self._order(epoch_seed)
        vectorized = self.collate_fn is None and has_batch_path(self.dataset)
        for b in range(start, len(self)):
            indices = order[b * self.batch_size : (b + 1) * self.batch_size]
            if vectorized:
                rng = np.random.default_rng(_child(epoch_seed, _AUGMENT_STREAM, *self._augment_key(b)))
                yield tuple(
                    self._to_device(Tensor._make(array)) for array in self.dataset.get_batch(indices, rng)
                )
            else:
                collate = self.collate_fn or default_collate
                yield self._to_device(collate([self.dataset[int(i)] for i in indices]))

    def _augment_key(self, batch_index: int) -> tuple[int, ...]:
        """Each rank's batch draws its own augmentations (one process keeps its historical key)."""
        return (batch_index,) if self.num_replicas == 1 else (batch_index, self.rank)

    def _to_device(self, batch: Any) -> Any:
        """``batch`` with every tensor moved to the loader's device (containers rebuilt, others unchanged)."""
        if isinstance(batch, Tensor):
            if _backend.device_of(batch._data) == self.device:
                return batch
            return Tensor._make(_backend.transfer(batch._data, self.device))
        if isinstance(batch, dict):
            return {key: self._to_device(value) for key, value in batch.items()}
        if isinstance(batch, tuple) and hasattr(batch, "_fields"):
            return type(batch)(*(self._to_device(value) for value in batch))
        if isinstance(batch, (list, tuple)):
            return type(batch)(self._to_device(value) for value in batch)
        return batch


def _child(parent: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """An independent stream below ``parent`` named by ``key`` (what ``SeedSequence.spawn`` would build)."""
    return np.random.SeedSequence(parent.entropy, spawn_key=(*parent.spawn_key, *key))
