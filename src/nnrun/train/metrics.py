"""Running metrics of a classifier: mean loss, accuracy and top-k accuracy, summed over batches."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from nnrun import _backend
from nnrun._tensor import Tensor


def metric_k(name: str) -> int:
    """``accuracy`` → 1, ``top5`` → 5."""
    if name == "accuracy":
        return 1
    match = re.fullmatch(r"top([1-9]\d*)", name)
    if match is None:
        raise ValueError(f"unknown metric {name!r}: use accuracy or topK (top5, …)")
    return int(match.group(1))


def correct_counts(output: Tensor, target: Tensor, ks: list[int]) -> dict[int, Any]:
    """How many rows of ``output`` (N, C) have ``target`` (N,) among their ``k`` largest scores, per k, as
    0-d arrays on the output's device (nothing is read back to the host)."""
    scores, labels = output._data, target._data
    xp = _backend.array_module(scores)
    counts = {}
    if 1 in ks:
        counts[1] = (scores.argmax(axis=1) == labels).sum()
    larger = [k for k in ks if k > 1]
    if larger:
        true_score = xp.take_along_axis(scores, labels.reshape(-1, 1).astype(np.intp, copy=False), axis=1)
        rank = (scores > true_score).sum(axis=1)  # classes scored strictly higher than the true one
        for k in larger:
            counts[k] = (rank < k).sum()
    return counts


class MetricTracker:
    """Sums a loss (weighted by batch size) and correct counts; ``compute`` gives the means by name.

    Losses given as tensors and the correct counts are summed on the tensors' device and read back only
    when the sums are read (``loss_sum``, ``correct``, ``compute``, ``state_dict``), so tracking a GPU
    step costs no device synchronisation."""

    def __init__(self, metrics: tuple[str, ...] | list[str] = ("accuracy",)) -> None:
        self.metrics = tuple(metrics)
        self.ks = sorted({metric_k(name) for name in self.metrics})
        self.reset()

    def reset(self) -> None:
        self.samples = 0
        self._loss_sum: Any = 0.0  # a float, or a 0-d array not read back yet
        self._correct: dict[int, Any] = {k: 0 for k in self.ks}

    @property
    def loss_sum(self) -> float:
        self._loss_sum = float(self._loss_sum)
        return self._loss_sum

    @loss_sum.setter
    def loss_sum(self, value: float) -> None:
        self._loss_sum = value

    @property
    def correct(self) -> dict[int, int]:
        self._correct = {k: int(count) for k, count in self._correct.items()}
        return self._correct

    @correct.setter
    def correct(self, counts: dict[int, int]) -> None:
        self._correct = dict(counts)

    def update(
        self, loss: float | Tensor, output: Tensor | None = None, target: Tensor | None = None, n: int = 0
    ) -> None:
        """Add one batch: its mean ``loss`` (a number or a 0-d tensor) and, for accuracy, the ``output``
        scores and ``target`` labels."""
        n = int(target.shape[0]) if target is not None else n
        self.samples += n
        batch_sum = loss._data.astype(np.float64) * n if isinstance(loss, Tensor) else loss * n
        self._loss_sum = self._loss_sum + batch_sum
        if self.ks and output is not None and target is not None and output.dim() == 2:
            for k, count in correct_counts(output, target, self.ks).items():
                self._correct[k] = self._correct[k] + count

    def compute(self) -> dict[str, float]:
        """``{"loss": mean loss, "accuracy": …, "top5": …}`` (empty before the first batch)."""
        if self.samples == 0:
            return {}
        values = {"loss": self.loss_sum / self.samples}
        correct = self.correct
        for name in self.metrics:
            values[name] = correct[metric_k(name)] / self.samples
        return values

    def state_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "loss_sum": self.loss_sum, "correct": dict(self.correct)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.samples = int(state["samples"])
        self.loss_sum = float(state["loss_sum"])
        self.correct = {int(k): int(v) for k, v in state["correct"].items()}
