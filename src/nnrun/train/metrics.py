"""Running metrics of a classifier: mean loss, accuracy and top-k accuracy, summed over batches."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from nnrun._tensor import Tensor


def metric_k(name: str) -> int:
    """``accuracy`` → 1, ``top5`` → 5."""
    if name == "accuracy":
        return 1
    match = re.fullmatch(r"top([1-9]\d*)", name)
    if match is None:
        raise ValueError(f"unknown metric {name!r}: use accuracy or topK (top5, …)")
    return int(match.group(1))


def correct_counts(output: Tensor, target: Tensor, ks: list[int]) -> dict[int, int]:
    """How many rows of ``output`` (N, C) have ``target`` (N,) among their ``k`` largest scores, per k."""
    counts = {}
    if 1 in ks:
        counts[1] = int((output.argmax(dim=1) == target).sum().item())
    larger = [k for k in ks if k > 1]
    if larger:
        scores, labels = output.detach().cpu().numpy(), target.detach().cpu().numpy()
        true_score = scores[np.arange(len(labels)), labels][:, None]
        rank = (scores > true_score).sum(axis=1)  # classes scored strictly higher than the true one
        for k in larger:
            counts[k] = int((rank < k).sum())
    return counts


class MetricTracker:
    """Sums a loss (weighted by batch size) and correct counts; ``compute`` gives the means by name."""

    def __init__(self, metrics: tuple[str, ...] | list[str] = ("accuracy",)) -> None:
        self.metrics = tuple(metrics)
        self.ks = sorted({metric_k(name) for name in self.metrics})
        self.reset()

    def reset(self) -> None:
        self.samples = 0
        self.loss_sum = 0.0
        self.correct = {k: 0 for k in self.ks}

    def update(
        self, loss: float, output: Tensor | None = None, target: Tensor | None = None, n: int = 0
    ) -> None:
        """Add one batch: its mean ``loss`` and, for accuracy, the ``output`` scores and ``target`` labels."""
        n = int(target.shape[0]) if target is not None else n
        self.samples += n
        self.loss_sum += loss * n
        if self.ks and output is not None and target is not None and output.dim() == 2:
            for k, count in correct_counts(output, target, self.ks).items():
                self.correct[k] += count

    def compute(self) -> dict[str, float]:
        """``{"loss": mean loss, "accuracy": …, "top5": …}`` (empty before the first batch)."""
        if self.samples == 0:
            return {}
        values = {"loss": self.loss_sum / self.samples}
        for name in self.metrics:
            values[name] = self.correct[metric_k(name)] / self.samples
        return values

    def state_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "loss_sum": self.loss_sum, "correct": dict(self.correct)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.samples = int(state["samples"])
        self.loss_sum = float(state["loss_sum"])
        self.correct = {int(k): int(v) for k, v in state["correct"].items()}
