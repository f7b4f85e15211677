"""``auroc``: the exact area under the ROC curve of a binary classifier (``sklearn.metrics.roc_auc_score``).

It keeps every sample's logit and label (the curve needs them all), on the output's device until read;
merging ranks concatenates them. The area is the Mann–Whitney statistic with tied scores counted half,
which is exactly the trapezoidal area scikit-learn computes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nnrun import _backend
from nnrun._tensor import Tensor
from nnrun.metrics.base import Metric, host_array


class AUROC(Metric):
    """``auroc`` (binary): the probability that a random positive sample scores above a random negative one
    (ties count half). NaN while the samples seen hold only one class (scikit-learn raises there)."""

    tasks = ("binary",)

    def reset(self) -> None:
        self._chunks: list[tuple[Any, Any]] = []  # (scores, labels) per batch, on the output's device

    def update(self, output: Tensor, target: Tensor) -> None:
        scores = output._data.reshape(-1)
        xp = _backend.array_module(scores)
        self._chunks.append((scores.astype(xp.float64), target._data.reshape(-1).astype(xp.int64)))

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._chunks:
            return np.zeros(0, np.float64), np.zeros(0, np.int64)
        scores = np.concatenate([host_array(s) for s, _ in self._chunks])
        labels = np.concatenate([host_array(y) for _, y in self._chunks])
        self._chunks = [(scores, labels)]
        return scores, labels

    def compute(self) -> float:
        scores, labels = self._arrays()
        return auroc(scores, labels)

    def state_dict(self) -> dict[str, np.ndarray]:
        scores, labels = self._arrays()
        return {"labels": labels.copy(), "scores": scores.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        scores = host_array(state["scores"]).astype(np.float64).reshape(-1)
        labels = host_array(state["labels"]).astype(np.int64).reshape(-1)
        self._chunks = [(scores, labels)] if scores.size else []

    @classmethod
    def merge(cls, states: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
        """Every rank's samples, in rank order."""
        merged = {}
        for key, dtype in (("labels", np.int64), ("scores", np.float64)):
            parts = [host_array(state[key]).reshape(-1).astype(dtype) for state in states if key in state]
            merged[key] = np.concatenate(parts) if parts else np.zeros(0, dtype)
        return merged


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """The area under the ROC curve of ``scores`` for 0/1 ``labels``; NaN when either class is absent."""
    positives = int((labels == 1).sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(counts) - counts + 1  # 1-based rank of each distinct score's first sample
    ranks = (first_rank + (counts - 1) / 2.0)[inverse]  # ties share their average rank
    rank_sum = float(ranks[labels == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)
