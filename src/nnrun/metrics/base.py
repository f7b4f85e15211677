"""``Metric``: a running measure of a model's outputs against its targets, summed batch by batch.

A metric keeps running sums (int64 counts, float64 sums) in ``self._sums``, on the device of the outputs it
was given (read back to the host only by ``compute``, ``state_dict`` or ``merge``), so tracking a GPU step
costs no device synchronisation. Its state is exact: ``state_dict`` / ``load_state_dict`` round-trip it bit
for bit, and ``merge`` combines the states of several ranks (element-wise sums by default)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from nnrun import _backend
from nnrun._tensor import Tensor


def host_array(value: Any) -> np.ndarray:
    """A host NumPy array of a state value (a NumPy/CuPy array, a Tensor, a number or a list)."""
    if isinstance(value, Tensor):
        value = value._data
    if not isinstance(value, np.ndarray) and _backend.array_module(value) is not np:
        value = _backend.transfer(value, _backend.CPU)
    return np.asarray(value)


class Metric:
    """Base class of metrics (built-in ones and those a user adds with ``@nnrun.register``).

    Class attributes: ``tasks`` (the tasks it applies to; empty: all), ``higher_is_better`` (for
    ``checkpoint.best`` with ``mode: auto``), ``scalar`` (``compute`` gives a float; otherwise a list such
    as a confusion matrix or per-class values, kept out of ``metrics.csv``).

    A subclass implements ``update(output, target)`` and ``compute()``; ``output`` is the model's raw
    output (logits or values, a Tensor on any device) and ``target`` the batch's targets in the task's
    form (:mod:`nnrun.data.tasks`). Summed state goes through ``self._add(key, array)`` and is read with
    ``self._sum(key)``; a metric whose state is not a set of sums overrides ``reset``, ``state_dict``,
    ``load_state_dict`` and ``merge``.
    """

    tasks: ClassVar[tuple[str, ...]] = ()
    higher_is_better: ClassVar[bool] = True
    scalar: ClassVar[bool] = True

    def __init__(self, task: str = "classification") -> None:
        self.task = task
        self.name = type(self).__name__
        self.reset()

    def update(self, output: Tensor, target: Tensor) -> None:
        """Add one batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement update(output, target)")

    def compute(self) -> float | list[Any]:
        """The value over every batch added since the last ``reset`` (NaN before the first)."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute()")

    def reset(self) -> None:
        self._sums: dict[str, Any] = {}

    # ----- summed state -----
    def _add(self, key: str, value: Any) -> None:
        """Add ``value`` (an array on the output's device, or a number) to the running sum ``key``."""
        current = self._sums.get(key)
        if current is None:
            self._sums[key] = value
            return
        xp = _backend.array_module(value)
        if xp is not np and _backend.array_module(current) is np:  # restored on the host, updated on a GPU
            current = xp.asarray(current)
        self._sums[key] = current + value

    def _sum(self, key: str) -> np.ndarray | None:
        """The running sum ``key`` as a host array (None before the first batch)."""
        value = self._sums.get(key)
        if value is None:
            return None
        host = host_array(value)
        self._sums[key] = host
        return host

    def state_dict(self) -> dict[str, np.ndarray]:
        """The running state: host arrays (int64 counts, float64 sums) by name."""
        return {key: np.array(self._sum(key)) for key in sorted(self._sums)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._sums = {str(key): host_array(value).copy() for key, value in state.items()}

    @classmethod
    def merge(cls, states: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
        """One state of several ranks' states: each sum added up, in rank order (a rank that saw no
        batch has no entry)."""
        merged: dict[str, np.ndarray] = {}
        for state in states:
            for key, value in state.items():
                array = host_array(value)
                merged[key] = array.copy() if key not in merged else merged[key] + array
        return merged

    def __repr__(self) -> str:
        return f"{type(self).__name__}(task={self.task!r})"


def ratio(numerator: Any, denominator: Any) -> np.ndarray:
    """``numerator / denominator`` element-wise as float64, 0 where the denominator is 0 (scikit-learn's
    default for an undefined precision, recall or F1)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def int_sum(xp: Any, values: Any) -> Any:
    """The int64 count of true ``values`` (0-d, on their device)."""
    return values.sum(dtype=xp.int64)
