"""Regression metrics over T targets per sample: ``mse``, ``rmse``, ``mae`` and ``r2``, each computed per
target and averaged over the targets with equal weight (scikit-learn's ``multioutput="uniform_average"``).
They keep float64 sums per target, which ranks add up."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun import _backend
from nnrun._tensor import Tensor
from nnrun.metrics.base import Metric


def errors(output: Tensor, target: Tensor) -> tuple[Any, Any, Any]:
    """``(xp, predictions, targets)`` as float64 (N, T) arrays on the output's device."""
    values = output._data
    xp = _backend.array_module(values)
    values = values.reshape(values.shape[0], -1).astype(xp.float64)
    return xp, values, target._data.reshape(values.shape).astype(xp.float64)


class _Regression(Metric):
    tasks = ("regression",)
    higher_is_better = False

    def _count(self, target: Tensor) -> None:
        self._add("samples", int(target.shape[0]))

    def _mean(self, key: str) -> np.ndarray | None:
        """The per-target mean of the sum ``key`` (None before the first batch)."""
        total, samples = self._sum(key), self._sum("samples")
        return None if total is None or samples is None or samples == 0 else total / samples


class MSE(_Regression):
    """``mse``: mean squared error (``sklearn.metrics.mean_squared_error``)."""

    def update(self, output: Tensor, target: Tensor) -> None:
        _, predicted, true = errors(output, target)
        self._add("squared_error", ((predicted - true) ** 2).sum(axis=0))
        self._count(target)

    def compute(self) -> float:
        mean = self._mean("squared_error")
        return float("nan") if mean is None else float(mean.mean())


class RMSE(MSE):
    """``rmse``: root mean squared error per target, averaged over targets
    (``sklearn.metrics.root_mean_squared_error``)."""

    def compute(self) -> float:
        mean = self._mean("squared_error")
        return float("nan") if mean is None else float(np.sqrt(mean).mean())


class MAE(_Regression):
    """``mae``: mean absolute error (``sklearn.metrics.mean_absolute_error``)."""

    def update(self, output: Tensor, target: Tensor) -> None:
        xp, predicted, true = errors(output, target)
        self._add("absolute_error", xp.abs(predicted - true).sum(axis=0))
        self._count(target)

    def compute(self) -> float:
        mean = self._mean("absolute_error")
        return float("nan") if mean is None else float(mean.mean())


class R2(_Regression):
    """``r2``: the coefficient of determination ``1 - SS_res / SS_tot`` per target, averaged over targets
    (``sklearn.metrics.r2_score``; a constant target scores 1 when predicted exactly, else 0)."""

    higher_is_better = True

    def update(self, output: Tensor, target: Tensor) -> None:
        _, predicted, true = errors(output, target)
        self._add("squared_error", ((predicted - true) ** 2).sum(axis=0))
        self._add("target_sum", true.sum(axis=0))
        self._add("target_squares", (true * true).sum(axis=0))
        self._count(target)

    def compute(self) -> float:
        residual, samples = self._sum("squared_error"), self._sum("samples")
        if residual is None or samples is None or samples == 0:
            return float("nan")
        total = self._sum("target_squares") - self._sum("target_sum") ** 2 / samples
        # one-pass sums leave a constant target's SS_tot a few roundings off 0: below 1e-12 of Σy² it is 0
        total = np.where(total <= 1e-12 * self._sum("target_squares"), 0.0, total)
        safe = np.where(total == 0, 1.0, total)
        scores = np.where(total == 0, np.where(residual == 0, 1.0, 0.0), 1.0 - residual / safe)
        return float(scores.mean())
