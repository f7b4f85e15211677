"""``MetricTracker``: the running loss and metrics (:mod:`nnrun.metrics`) of one epoch or evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nnrun._creation import from_numpy
from nnrun._tensor import Tensor
from nnrun.data.tasks import Task
from nnrun.metrics import Metric, metric_from_name
from nnrun.metrics.base import host_array


class MetricTracker:
    """Sums a loss (weighted by batch size) and updates the ``metrics`` of ``task`` (names, see
    :func:`nnrun.metrics.metric_from_name`) batch by batch; ``compute`` gives their values by name.

    Losses given as tensors and the metrics' sums stay on the tensors' device until read (``loss_sum``,
    ``compute``, ``state_dict``), so tracking a GPU step costs no device synchronisation."""

    def __init__(self, metrics: Sequence[str] = ("accuracy",), task: Task | str = "classification") -> None:
        self.task = task.name if isinstance(task, Task) else str(task)
        self.metrics = tuple(metrics)
        self.objects: dict[str, Metric] = {name: metric_from_name(name, self.task) for name in self.metrics}
        self.reset()

    def reset(self) -> None:
        self.samples = 0
        self._loss_sum: Any = 0.0  # a float, or a 0-d array not read back yet
        for metric in self.objects.values():
            metric.reset()

    @property
    def loss_sum(self) -> float:
        self._loss_sum = float(self._loss_sum)
        return self._loss_sum

    @loss_sum.setter
    def loss_sum(self, value: float) -> None:
        self._loss_sum = value

    def update(
        self, loss: float | Tensor, output: Tensor | None = None, target: Tensor | None = None, n: int = 0
    ) -> None:
        """Add one batch: its mean ``loss`` (a number or a 0-d tensor) and, for the metrics, the model's raw
        ``output`` (N, K) and the ``target`` (in the task's form)."""
        n = int(target.shape[0]) if target is not None else n
        self.samples += n
        batch_sum = loss._data.astype(np.float64) * n if isinstance(loss, Tensor) else loss * n
        self._loss_sum = self._loss_sum + batch_sum
        if self.objects and output is not None and target is not None and output.dim() == 2:
            for metric in self.objects.values():
                metric.update(output, target)

    def compute(self) -> dict[str, Any]:
        """``{"loss": mean loss, name: value, …}`` (empty before the first batch); a scalar metric's value
        is a float, another's a list (a confusion matrix, per-class values)."""
        if self.samples == 0:
            return {}
        values: dict[str, Any] = {"loss": self.loss_sum / self.samples}
        for name, metric in self.objects.items():
            values[name] = metric.compute()
        return values

    def scalar_names(self) -> list[str]:
        """The metrics whose values are numbers (the columns of ``metrics.csv``)."""
        return [name for name, metric in self.objects.items() if metric.scalar]

    # ----- state -----
    def state_dict(self) -> dict[str, Any]:
        """``samples``, ``loss_sum`` and each metric's state (host tensors), for checkpoints."""
        metrics = {
            name: {key: from_numpy(np.array(value, order="C")) for key, value in metric.state_dict().items()}
            for name, metric in self.objects.items()
        }
        return {"samples": self.samples, "loss_sum": self.loss_sum, "metrics": metrics}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`, or the layout of checkpoints written before metrics were objects
        (``correct``: counts of accuracy and topK by k)."""
        self.reset()
        self.samples = int(state["samples"])
        self.loss_sum = float(state["loss_sum"])
        if "correct" in state:
            correct = {int(k): int(v) for k, v in state["correct"].items()}
            for name, metric in self.objects.items():
                k = 1 if name == "accuracy" else getattr(metric, "k", None)
                if k in correct:
                    counts = {"correct": np.int64(correct[k]), "samples": np.int64(self.samples)}
                    metric.load_state_dict(counts)
            return
        saved = state.get("metrics", {})
        for name, metric in self.objects.items():
            if name in saved:
                metric.load_state_dict(saved[name])

    def merge(self, states: Sequence[dict[str, Any]]) -> MetricTracker:
        """A tracker of the same metrics holding the sum of several :meth:`state_dict` states (one per rank,
        in rank order): sums added up, the metrics merged by their classes' ``merge``."""
        merged = MetricTracker(self.metrics, self.task)
        merged.samples = sum(int(state["samples"]) for state in states)
        loss_sum = 0.0
        for state in states:
            loss_sum += float(state["loss_sum"])
        merged.loss_sum = loss_sum
        for name, metric in merged.objects.items():
            parts = [state.get("metrics", {}).get(name, {}) for state in states]
            metric.load_state_dict(type(metric).merge([part for part in parts if part]))
        return merged


def host_state(state: dict[str, Any]) -> dict[str, Any]:
    """A tracker state with host NumPy arrays in place of tensors (for sending between ranks)."""
    metrics = {
        name: {key: host_array(value) for key, value in values.items()}
        for name, values in state["metrics"].items()
    }
    return {"samples": state["samples"], "loss_sum": state["loss_sum"], "metrics": metrics}
