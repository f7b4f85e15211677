"""Metrics of predicted labels: accuracy, top-k, precision / recall / F1 (binary, macro, per class), the
confusion matrix, and for multilabel targets exact match and Hamming loss.

Predictions: the argmax of a classifier's logits; a binary or multilabel logit counts as 1 when it is >= 0
(``sigmoid >= 0.5``, as :meth:`nnrun.data.tasks.Task.interpret` reads it). The values equal
scikit-learn's on the same predictions; an undefined precision, recall or F1 (no predicted, no true
samples) is 0, scikit-learn's ``zero_division`` default."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun import _backend
from nnrun._tensor import Tensor
from nnrun.metrics.base import Metric, int_sum, ratio


def class_labels(task: str, output: Tensor, target: Tensor) -> tuple[Any, Any, Any, int]:
    """``(xp, true labels, predicted labels, classes)`` of a classification or binary batch (int64, on the
    output's device)."""
    scores, labels = output._data, target._data
    xp = _backend.array_module(scores)
    if task == "binary":
        return xp, labels.reshape(-1).astype(xp.int64), (scores.reshape(-1) >= 0).astype(xp.int64), 2
    return xp, labels.astype(xp.int64, copy=False), scores.argmax(axis=1).astype(xp.int64), scores.shape[1]


def label_indicators(output: Tensor, target: Tensor) -> tuple[Any, Any, Any]:
    """``(xp, true, predicted)`` 0/1 indicator arrays (N, L) of a multilabel batch."""
    scores = output._data
    xp = _backend.array_module(scores)
    return xp, target._data.reshape(scores.shape) != 0, scores >= 0


class Accuracy(Metric):
    """The fraction of samples whose predicted class is the target (``sklearn.metrics.accuracy_score``)."""

    tasks = ("classification", "binary")

    def update(self, output: Tensor, target: Tensor) -> None:
        xp, true, predicted, _ = class_labels(self.task, output, target)
        self._add("correct", int_sum(xp, predicted == true))
        self._add("samples", int(true.shape[0]))

    def compute(self) -> float:
        samples = self._sum("samples")
        return float("nan") if samples is None or samples == 0 else float(self._sum("correct") / samples)


class TopK(Accuracy):
    """``topK``: the fraction of samples whose target is among the K highest scores
    (``sklearn.metrics.top_k_accuracy_score``; ties count for the target)."""

    tasks = ("classification",)

    def __init__(self, task: str = "classification", k: int = 5) -> None:
        self.k = int(k)
        super().__init__(task)
        self.name = f"top{self.k}"

    def update(self, output: Tensor, target: Tensor) -> None:
        scores, labels = output._data, target._data
        xp = _backend.array_module(scores)
        true_score = xp.take_along_axis(scores, labels.reshape(-1, 1).astype(np.intp, copy=False), axis=1)
        rank = (scores > true_score).sum(axis=1)  # classes scored strictly higher than the true one
        self._add("correct", int_sum(xp, rank < self.k))
        self._add("samples", int(labels.shape[0]))


class ClassCounts(Metric):
    """Per class (or label): true positives, predicted and actual counts; the base of precision, recall
    and F1. Classification counts over the model's output width."""

    tasks = ("classification", "multilabel")

    def update(self, output: Tensor, target: Tensor) -> None:
        if self.task == "multilabel":
            xp, true, predicted = label_indicators(output, target)
            self._add("tp", (true & predicted).sum(axis=0, dtype=xp.int64))
            self._add("predicted", predicted.sum(axis=0, dtype=xp.int64))
            self._add("actual", true.sum(axis=0, dtype=xp.int64))
            return
        xp, true, predicted, classes = class_labels(self.task, output, target)
        hits = xp.where(predicted == true, true, classes)  # a miss goes to the spare bin `classes`
        self._add("tp", xp.bincount(hits, minlength=classes + 1)[:classes].astype(xp.int64))
        self._add("predicted", xp.bincount(predicted, minlength=classes)[:classes].astype(xp.int64))
        self._add("actual", xp.bincount(true, minlength=classes)[:classes].astype(xp.int64))

    def per_class(self) -> np.ndarray:
        """This metric's value for every class (label)."""
        raise NotImplementedError

    def counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._sum("tp"), self._sum("predicted"), self._sum("actual")  # type: ignore[return-value]

    def compute(self) -> float | list[Any]:
        if self._sum("tp") is None:
            return float("nan")
        values = self.per_class()
        if not self.scalar:
            return [float(v) for v in values]
        if self.task == "binary":
            return float(values[1])  # the positive class
        if self.task == "classification":  # scikit-learn's default labels: those seen in y_true or y_pred
            _, predicted, actual = self.counts()
            values = values[(predicted + actual) > 0]
        return float(values.mean()) if values.size else float("nan")


class Precision(ClassCounts):
    """``precision``: of the samples predicted positive, the fraction that are (binary)."""

    tasks = ("binary",)

    def per_class(self) -> np.ndarray:
        tp, predicted, _ = self.counts()
        return ratio(tp, predicted)


class Recall(ClassCounts):
    """``recall``: of the positive samples, the fraction predicted positive (binary)."""

    tasks = ("binary",)

    def per_class(self) -> np.ndarray:
        tp, _, actual = self.counts()
        return ratio(tp, actual)


class F1(ClassCounts):
    """``f1``: the harmonic mean of precision and recall, ``2 tp / (predicted + actual)`` (binary)."""

    tasks = ("binary",)

    def per_class(self) -> np.ndarray:
        tp, predicted, actual = self.counts()
        return ratio(2 * tp, predicted + actual)


class PrecisionMacro(Precision):
    """``precision_macro``: the precision of each class (label), averaged with equal weight."""

    tasks = ("classification", "multilabel")


class RecallMacro(Recall):
    """``recall_macro``: the recall of each class (label), averaged with equal weight."""

    tasks = ("classification", "multilabel")


class F1Macro(F1):
    """``f1_macro``: the F1 of each class (label), averaged with equal weight."""

    tasks = ("classification", "multilabel")


class PrecisionPerClass(PrecisionMacro):
    """``precision_per_class``: the precision of each class (label), a list in class order."""

    scalar = False


class RecallPerClass(RecallMacro):
    """``recall_per_class``: the recall of each class (label), a list in class order."""

    scalar = False


class F1PerClass(F1Macro):
    """``f1_per_class``: the F1 of each class (label), a list in class order."""

    scalar = False


class ConfusionMatrix(Metric):
    """``confusion_matrix``: counts (C, C), row = true class, column = predicted class
    (``sklearn.metrics.confusion_matrix`` with ``labels=range(C)``; binary: ``[[tn, fp], [fn, tp]]``)."""

    tasks = ("classification", "binary")
    scalar = False

    def update(self, output: Tensor, target: Tensor) -> None:
        xp, true, predicted, classes = class_labels(self.task, output, target)
        cells = xp.bincount(true * classes + predicted, minlength=classes * classes)[: classes * classes]
        self._add("matrix", cells.astype(xp.int64).reshape(classes, classes))

    def compute(self) -> list[Any]:
        matrix = self._sum("matrix")
        return [] if matrix is None else matrix.tolist()


class ExactMatch(Metric):
    """``exact_match``: the fraction of samples with every label right (``sklearn.metrics.accuracy_score``
    on indicator arrays)."""

    tasks = ("multilabel",)

    def update(self, output: Tensor, target: Tensor) -> None:
        xp, true, predicted = label_indicators(output, target)
        self._add("correct", int_sum(xp, (true == predicted).all(axis=1)))
        self._add("samples", int(true.shape[0]))

    def compute(self) -> float:
        samples = self._sum("samples")
        return float("nan") if samples is None or samples == 0 else float(self._sum("correct") / samples)


class Hamming(Metric):
    """``hamming``: the fraction of wrong labels over all samples and labels
    (``sklearn.metrics.hamming_loss``; lower is better)."""

    tasks = ("multilabel",)
    higher_is_better = False

    def update(self, output: Tensor, target: Tensor) -> None:
        xp, true, predicted = label_indicators(output, target)
        self._add("wrong", int_sum(xp, true != predicted))
        self._add("labels", int(true.size))

    def compute(self) -> float:
        labels = self._sum("labels")
        return float("nan") if labels is None or labels == 0 else float(self._sum("wrong") / labels)
