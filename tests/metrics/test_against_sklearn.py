"""Every built-in metric equals scikit-learn's on the same predictions: accumulated batch by batch, through a
state_dict round trip half-way, and merged from two "ranks"."""

import math

import numpy as np
import pytest

import nnrun
from nnrun.metrics import METRICS, metric_from_name, metric_names

metrics = pytest.importorskip("sklearn.metrics")
datasets = pytest.importorskip("sklearn.datasets")


def _classification(seed=0, n=203, classes=6):
    """Logits of 6 classes; class 3 never a target, class 5 never predicted (zero-division cases)."""
    rng = np.random.default_rng(seed)
    target = rng.choice([0, 1, 2, 4, 5], size=n)
    logits = rng.normal(size=(n, classes)).astype(np.float32)
    logits[np.arange(n), target] += rng.uniform(0, 2.5, size=n).astype(np.float32)  # better than chance
    logits[:, 5] = -10.0
    return logits, target.astype(np.int64)


def _binary(seed=1):
    """Breast-cancer labels with noisy logits, rounded so that some scores tie (AUROC ties)."""
    y = datasets.load_breast_cancer(return_X_y=True)[1].astype(np.float32)
    rng = np.random.default_rng(seed)
    logits = np.round((y - 0.5) * 2 + rng.normal(scale=1.5, size=y.shape), 1).astype(np.float32)
    return logits.reshape(-1, 1), y.reshape(-1, 1)


def _multilabel(seed=2, n=150, labels=5):
    """Label 4 is never true nor predicted; label 3 is never predicted."""
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=(n, labels)) < 0.4).astype(np.float32)
    y[:, 4] = 0
    logits = ((y - 0.5) * 2 + rng.normal(scale=1.2, size=y.shape)).astype(np.float32)
    logits[:, 3:] = -5.0
    return logits, y


def _regression(seed=3, targets=2):
    """Diabetes targets (and a second, derived one) with noisy predictions."""
    x, y = datasets.load_diabetes(return_X_y=True)
    y = np.stack([y, 40 * x[:, 2] - 0.1 * y], axis=1)[:, :targets].astype(np.float32)
    rng = np.random.default_rng(seed)
    predicted = (y * 0.8 + rng.normal(scale=20.0, size=y.shape)).astype(np.float32)
    return predicted, y


def _predicted_labels(task, output):
    if task == "classification":
        return output.argmax(axis=1)
    return (output >= 0).astype(np.int64).reshape(output.shape if task == "multilabel" else -1)


def _reference(task, name, output, target):
    """scikit-learn's value of metric ``name`` for raw ``output`` and ``target``."""
    if task == "regression":
        functions = {
            "mse": metrics.mean_squared_error,
            "rmse": metrics.root_mean_squared_error,
            "mae": metrics.mean_absolute_error,
            "r2": metrics.r2_score,
        }
        return functions[name](target, output)
    true = target.reshape(-1).astype(np.int64) if task != "multilabel" else target.astype(np.int64)
    predicted = _predicted_labels(task, output)
    classes = list(range(output.shape[1])) if task == "classification" else [0, 1]
    if name.startswith("top"):
        return metrics.top_k_accuracy_score(true, output, k=int(name[3:]), labels=classes)
    if name in ("accuracy", "exact_match"):
        return metrics.accuracy_score(true, predicted)
    if name == "hamming":
        return metrics.hamming_loss(true, predicted)
    if name == "auroc":
        return metrics.roc_auc_score(true, output.reshape(-1))
    if name == "confusion_matrix":
        return metrics.confusion_matrix(true, predicted, labels=classes).tolist()
    base, _, average = name.partition("_")
    function = {"precision": metrics.precision_score, "recall": metrics.recall_score, "f1": metrics.f1_score}
    if average == "per_class":
        labels = classes if task == "classification" else None
        return function[base](true, predicted, average=None, labels=labels, zero_division=0.0).tolist()
    if average == "macro":
        return function[base](true, predicted, average="macro", zero_division=0.0)
    return function[base](true, predicted, zero_division=0.0)


DATA = {
    "classification": _classification,
    "binary": _binary,
    "multilabel": _multilabel,
    "regression": _regression,
}
CASES = [
    (task, name)
    for task in DATA
    for name in [*metric_names(task), *(["top2"] if task == "classification" else [])]
]


def _batches(output, target, sizes):
    start = 0
    for size in sizes:
        yield nnrun.tensor(output[start : start + size]), nnrun.tensor(target[start : start + size])
        start += size
    assert start == len(output)


def _close(actual, expected):
    if isinstance(expected, list):
        assert np.allclose(
            np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64), rtol=1e-9
        )
        assert np.asarray(actual).shape == np.asarray(expected).shape
    else:
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12), (actual, expected)


@pytest.mark.parametrize(("task", "name"), CASES, ids=[f"{t}-{n}" for t, n in CASES])
def test_equals_sklearn_accumulated_resumed_and_merged(task, name):
    output, target = DATA[task]()
    expected = _reference(task, name, output.astype(np.float64), target.astype(np.float64))  # in float64
    n = len(output)
    sizes = [7, 1, 40, n - 48 - 29, 29]

    whole = metric_from_name(name, task)
    for out, tgt in _batches(output, target, sizes):
        whole.update(out, tgt)
    _close(whole.compute(), expected)

    first, second = metric_from_name(name, task), metric_from_name(name, task)
    batches = list(_batches(output, target, sizes))
    for out, tgt in batches[:2]:
        first.update(out, tgt)
    resumed = metric_from_name(name, task)
    resumed.load_state_dict(first.state_dict())  # a checkpoint half-way
    for out, tgt in batches[2:]:
        resumed.update(out, tgt)
    _close(resumed.compute(), expected)

    for out, tgt in batches[2:]:  # rank 0 saw batches 0-1, rank 1 the rest
        second.update(out, tgt)
    merged = metric_from_name(name, task)
    merged.load_state_dict(type(first).merge([first.state_dict(), second.state_dict()]))
    _close(merged.compute(), expected)
    empty = metric_from_name(name, task)  # a rank that saw no batch changes nothing
    again = metric_from_name(name, task)
    again.load_state_dict(type(first).merge([whole.state_dict(), empty.state_dict()]))
    _close(again.compute(), expected)


def test_the_zero_division_cases_are_exercised():
    logits, target = _classification()
    per_class = _reference("classification", "precision_per_class", logits, target)
    assert per_class[5] == 0.0 and _reference("classification", "recall_per_class", logits, target)[3] == 0.0
    logits, y = _multilabel()
    assert _reference("multilabel", "f1_per_class", logits, y)[3:] == [0.0, 0.0]
    none_positive = metric_from_name("precision", "binary")
    none_positive.update(
        nnrun.tensor(-np.ones((4, 1), np.float32)), nnrun.tensor(np.ones((4, 1), np.float32))
    )
    assert none_positive.compute() == 0.0 == metrics.precision_score([1] * 4, [0] * 4, zero_division=0.0)


def test_macro_averages_leave_out_classes_seen_nowhere():
    """classification: the classes neither targeted nor predicted do not count (scikit-learn's default
    labels); the per-class lists cover the model's whole output width."""
    logits = np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 3, 0, 0]], np.float32)  # classes 2, 3 appear nowhere
    target = np.array([0, 1, 0])
    metric = metric_from_name("f1_macro", "classification")
    metric.update(nnrun.tensor(logits), nnrun.tensor(target))
    assert metric.compute() == pytest.approx(metrics.f1_score(target, logits.argmax(1), average="macro"))
    per_class = metric_from_name("f1_per_class", "classification")
    per_class.update(nnrun.tensor(logits), nnrun.tensor(target))
    assert len(per_class.compute()) == 4 and per_class.compute()[2:] == [0.0, 0.0]


def test_auroc_of_one_class_is_nan_and_r2_of_a_constant_target_follows_sklearn():
    auroc = metric_from_name("auroc", "binary")
    auroc.update(
        nnrun.tensor(np.array([[0.3], [1.0]], np.float32)), nnrun.tensor(np.ones((2, 1), np.float32))
    )
    assert math.isnan(auroc.compute())
    y = np.array([[2.0, 1.0], [2.0, 2.0], [2.0, 4.0]], np.float32)
    for predicted in (y, y + np.float32(0.5)):
        r2 = metric_from_name("r2", "regression")
        r2.update(nnrun.tensor(predicted), nnrun.tensor(y))
        assert r2.compute() == pytest.approx(metrics.r2_score(y, predicted))


def test_states_are_int64_counts_and_float64_sums():
    accuracy, mse = metric_from_name("accuracy", "classification"), metric_from_name("mse", "regression")
    logits, target = _classification()
    accuracy.update(nnrun.tensor(logits), nnrun.tensor(target))
    predicted, y = _regression()
    mse.update(nnrun.tensor(predicted), nnrun.tensor(y))
    assert {key: value.dtype for key, value in accuracy.state_dict().items()} == {
        "correct": np.int64,
        "samples": np.int64,
    }
    assert mse.state_dict()["squared_error"].dtype == np.float64


def test_every_builtin_names_its_tasks_and_direction():
    for name, cls in METRICS.items():
        assert cls.tasks, name
        assert isinstance(cls.higher_is_better, bool) and isinstance(cls.scalar, bool)
    assert not METRICS["hamming"].higher_is_better and not METRICS["mse"].higher_is_better
    assert METRICS["r2"].higher_is_better and not METRICS["confusion_matrix"].scalar
