"""Tasks: what a model's targets are, and how its outputs read as predictions.

- ``classification``: integer labels (N,) of C classes; the model outputs C scores (logits); the prediction is
  the argmax, the scores are the softmax. Default loss ``CrossEntropyLoss``.
- ``binary``: labels 0/1, kept as float targets (N, 1); the model outputs one logit; the prediction is
  ``sigmoid(logit) >= 0.5``, the score the sigmoid. Default loss ``BCEWithLogitsLoss``.
- ``multilabel``: L labels of 0/1 per sample, float targets (N, L); the model outputs L logits, each read like
  a binary one. Default loss ``BCEWithLogitsLoss``.
- ``regression``: T float targets per sample, (N, T) (a single column (N,) becomes (N, 1)); the model outputs
  T values, which are the predictions. Default loss ``MSELoss``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Losses whose targets are class indices.
CLASS_INDEX_LOSSES = ("CrossEntropyLoss", "NLLLoss", "MultiMarginLoss")


class TargetError(ValueError):
    """Targets that do not fit the task; the message says which sample and why."""


@dataclass(frozen=True)
class Task:
    """One kind of supervised problem: its targets, default loss and default metrics."""

    name: str
    default_loss: str
    default_metrics: tuple[str, ...]
    description: str

    def targets(self, y: np.ndarray) -> np.ndarray:
        """``y`` as this task trains on it (int64 labels, or float32 (N, K) targets); a :class:`TargetError`
        names the first sample that does not fit."""
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise TargetError(f"{self.name} targets must be numbers, got {y.dtype}")
        if self.name == "classification":
            return _class_labels(y)
        if self.name == "regression":
            return _floats(y.reshape(len(y), -1) if y.ndim != 2 else y)
        if self.name == "binary" and ((y.ndim == 2 and y.shape[1] != 1) or y.ndim > 2):
            raise TargetError(f"binary targets are one 0/1 value per sample, got shape {list(y.shape[1:])}")
        if self.name == "multilabel" and y.ndim != 2:
            raise TargetError(f"multilabel targets are (N, labels) of 0/1, got shape {list(y.shape)}")
        _zeros_and_ones(y)
        return _floats(y.reshape(len(y), -1))

    def output_width(self, targets: np.ndarray) -> int | None:
        """How many values per sample the model must output for these (prepared) targets; None for
        classification, whose width is checked against the labels (at least max label + 1)."""
        return None if self.name == "classification" else int(targets.shape[1])

    def interpret(self, output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(predictions, scores)`` of a batch of raw outputs (host arrays): class index and softmax;
        0/1 and sigmoid; per-label 0/1 and sigmoids; the values themselves."""
        output = np.asarray(output, dtype=np.float64)
        if self.name == "classification":
            shifted = np.exp(output - output.max(axis=1, keepdims=True))
            return output.argmax(axis=1), shifted / shifted.sum(axis=1, keepdims=True)
        if self.name == "regression":
            return output, output
        scores = 1 / (1 + np.exp(-output))
        predictions = (scores >= 0.5).astype(np.int64)
        return (predictions[:, 0], scores[:, 0]) if self.name == "binary" else (predictions, scores)


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task("classification", "CrossEntropyLoss", ("accuracy",), "one of C classes per sample"),
        Task("binary", "BCEWithLogitsLoss", ("accuracy", "f1", "auroc"), "yes or no per sample"),
        Task("multilabel", "BCEWithLogitsLoss", ("exact_match", "hamming"), "any of L labels per sample"),
        Task("regression", "MSELoss", ("mse", "mae", "r2"), "one or more numbers per sample"),
    )
}


def get_task(name: str) -> Task:
    """The task called ``name``; ``ValueError`` listing the tasks otherwise."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}")
    return TASKS[name]


def _class_labels(y: np.ndarray) -> np.ndarray:
    if y.ndim != 1:
        raise TargetError(
            f"classification targets are one class index per sample, got shape {list(y.shape)}; "
            "for several 0/1 labels per sample use task: multilabel, for numbers task: regression"
        )
    if y.dtype.kind == "f":
        whole = np.isfinite(y) & (y == np.round(y))
        if not whole.all():
            row = int(np.argmin(whole))
            raise TargetError(
                f"classification targets are class indices, but sample {row} has {y[row].item()!r}; "
                "for numbers use task: regression"
            )
    if len(y) and y.min() < 0:
        row = int(np.argmin(y))
        raise TargetError(f"class indices start at 0, but sample {row} has {y[row].item()!r}")
    return y.astype(np.int64)


def _zeros_and_ones(y: np.ndarray) -> None:
    bad = (y != 0) & (y != 1)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise TargetError(f"targets must be 0 or 1, but sample {row} has {y[row].tolist()!r}")


def _floats(y: np.ndarray) -> np.ndarray:
    if not np.isfinite(y).all():
        row = int(np.argwhere(~np.isfinite(y))[0][0])
        raise TargetError(f"sample {row} has a non-finite target {y[row].tolist()!r}")
    return np.ascontiguousarray(y, dtype=np.float32)
