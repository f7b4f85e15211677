"""Metrics for every task (:mod:`nnrun.data.tasks`), equal to scikit-learn's on the same predictions.

``metric_from_name("f1_macro", "classification")`` builds one; ``METRICS`` holds the built-in ones by name
and those a user adds with ``@nnrun.register`` (a :class:`Metric` subclass); ``topK`` (``top5``, …) is
parsed by :func:`metric_from_name`. See docs/metrics.md."""

from __future__ import annotations

import re
from typing import Any

from nnrun.data.tasks import TASKS, Task
from nnrun.metrics.base import Metric
from nnrun.metrics.labels import (
    F1,
    Accuracy,
    ConfusionMatrix,
    ExactMatch,
    F1Macro,
    F1PerClass,
    Hamming,
    Precision,
    PrecisionMacro,
    PrecisionPerClass,
    Recall,
    RecallMacro,
    RecallPerClass,
    TopK,
)
from nnrun.metrics.ranking import AUROC
from nnrun.metrics.regression import MAE, MSE, R2, RMSE
from nnrun.registry import Registry, did_you_mean

_TOP_K = re.compile(r"top([1-9]\d*)")


def _builtins() -> dict[str, type[Metric]]:
    return {
        "accuracy": Accuracy,
        "precision": Precision,
        "recall": Recall,
        "f1": F1,
        "auroc": AUROC,
        "precision_macro": PrecisionMacro,
        "recall_macro": RecallMacro,
        "f1_macro": F1Macro,
        "precision_per_class": PrecisionPerClass,
        "recall_per_class": RecallPerClass,
        "f1_per_class": F1PerClass,
        "confusion_matrix": ConfusionMatrix,
        "exact_match": ExactMatch,
        "hamming": Hamming,
        "mse": MSE,
        "rmse": RMSE,
        "mae": MAE,
        "r2": R2,
    }


#: Metric classes by name: the built-in ones and those registered with ``@nnrun.register``.
METRICS = Registry("metric", base=Metric, builtins=_builtins)


def metric_class(name: str) -> type[Metric]:
    """The class of the metric called ``name`` (``topK`` included); ``KeyError`` with suggestions."""
    if _TOP_K.fullmatch(name):
        return TopK
    return METRICS.get(name)


def metric_names(task: Task | str) -> list[str]:
    """The metrics that apply to ``task``, by name (``topK`` as ``top5``)."""
    task = _task_name(task)
    names = [name for name, cls in METRICS.items() if not cls.tasks or task in cls.tasks]
    return [*names, "top5"] if task in TopK.tasks else names


def metric_problem(name: str, task: Task | str) -> str | None:
    """Why ``name`` is not a metric of ``task`` (unknown, with suggestions, or another task's), or None."""
    task = _task_name(task)
    try:
        cls = metric_class(name)
    except KeyError:
        shown = ", ".join(n if n != "top5" else "topK (top5, …)" for n in metric_names(task))
        suggestion = did_you_mean(name, [*METRICS.names(), "top5"])
        return f"unknown metric {name!r}{suggestion}; {task} metrics: {shown}"
    if cls.tasks and task not in cls.tasks:
        which = " or ".join(cls.tasks)
        shown = ", ".join(metric_names(task))
        return f"{name} is a metric of task {which}, not of {task}; {task} metrics: {shown}"
    return None


def metric_from_name(name: str, task: Task | str = "classification") -> Metric:
    """A fresh metric called ``name`` for ``task``; ``ValueError`` saying why when it does not apply."""
    problem = metric_problem(name, task)
    if problem is not None:
        raise ValueError(problem)
    cls = metric_class(name)
    match = _TOP_K.fullmatch(name)
    metric = TopK(_task_name(task), int(match.group(1))) if match else cls(_task_name(task))
    metric.name = name
    return metric


def _task_name(task: Any) -> str:
    name = task.name if isinstance(task, Task) else str(task)
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}")
    return name


__all__ = [
    "AUROC",
    "F1",
    "MAE",
    "METRICS",
    "MSE",
    "R2",
    "RMSE",
    "Accuracy",
    "ConfusionMatrix",
    "ExactMatch",
    "F1Macro",
    "F1PerClass",
    "Hamming",
    "Metric",
    "Precision",
    "PrecisionMacro",
    "PrecisionPerClass",
    "Recall",
    "RecallMacro",
    "RecallPerClass",
    "TopK",
    "metric_class",
    "metric_from_name",
    "metric_names",
    "metric_problem",
]
