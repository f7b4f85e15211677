"""``train.metrics`` and ``checkpoint.best`` for every task: defaults, errors at the list item's line, and
``mode: auto`` from the metric's direction; a user's registered Metric by name."""

import numpy as np
import pytest

import nnrun
from nnrun.config import ConfigError, load_training
from nnrun.data import ArrayDataset, DataLoader
from nnrun.metrics import METRICS, Metric, metric_from_name
from nnrun.train import Trainer, TrainSettings

CONFIG = """\
task: {task}
model: {{module: {{Linear: [4, 2]}}}}
data: {{dataset: synthetic, val_split: 0.25}}
optimizer: {{SGD: {{lr: 0.1}}}}
train:
  epochs: 1
  metrics:
    - {first}
    - {second}
checkpoint: {{best: {best}}}
"""


def _load(task="classification", first="accuracy", second="top3", best="val/accuracy", overrides=()):
    text = CONFIG.format(task=task, first=first, second=second, best=best)
    return load_training(text, list(overrides))


def _error(**kwargs):
    with pytest.raises(ConfigError) as info:
        _load(**kwargs)
    return str(info.value)


@pytest.mark.parametrize(
    ("task", "metrics"),
    [
        ("classification", ["accuracy"]),
        ("binary", ["accuracy", "f1", "auroc"]),
        ("multilabel", ["exact_match", "hamming"]),
        ("regression", ["mse", "mae", "r2"]),
    ],
)
def test_metrics_default_to_the_tasks_and_the_resolved_config_lists_them(task, metrics):
    text = CONFIG.format(task=task, first="x", second="y", best="val/loss").replace(
        "  metrics:\n    - x\n    - y\n", ""
    )
    cfg = load_training(text)
    assert cfg.train.metrics == metrics
    assert load_training(cfg.yaml).train.metrics == metrics  # written out, it loads the same


def test_the_old_classification_config_is_unchanged():
    cfg = _load()
    assert cfg.train.metrics == ["accuracy", "top3"] and cfg.best_mode == "max"
    assert _load(best="val/loss").best_mode == "min" and _load(best="train/top3").best_mode == "max"


def test_an_unknown_metric_is_reported_at_its_list_item():
    message = _error(second="f1_macr")
    assert "<string>:9:7: train.metrics.1: unknown metric 'f1_macr' (did you mean f1_macro" in message
    assert "classification metrics: accuracy, precision_macro" in message and "topK (top5, …)" in message


def test_a_metric_of_another_task_names_its_task():
    message = _error(first="r2")
    assert (
        "<string>:8:7: train.metrics.0: r2 is a metric of task regression, not of classification" in message
    )
    message = _error(task="regression", first="mse", second="accuracy", best="val/mse")
    assert "accuracy is a metric of task classification or binary, not of regression" in message
    assert "regression metrics: mse, rmse, mae, r2" in message


@pytest.mark.parametrize(
    ("task", "first", "second", "best", "mode"),
    [
        ("regression", "mse", "r2", "val/r2", "max"),
        ("regression", "mse", "r2", "val/mse", "min"),
        ("regression", "rmse", "mae", "train/mae", "min"),
        ("multilabel", "hamming", "f1_macro", "val/hamming", "min"),
        ("multilabel", "hamming", "f1_macro", "val/f1_macro", "max"),
        ("binary", "auroc", "confusion_matrix", "val/auroc", "max"),
    ],
)
def test_best_takes_any_scalar_metric_with_its_direction(task, first, second, best, mode):
    cfg = _load(task=task, first=first, second=second, best=best)
    assert cfg.best_mode == mode
    assert (
        _load(task=task, first=first, second=second, best=best, overrides=["checkpoint.mode=max"]).best_mode
        == "max"
    )


def test_best_refuses_a_non_scalar_or_untracked_metric():
    message = _error(task="binary", first="auroc", second="confusion_matrix", best="val/confusion_matrix")
    assert "checkpoint.best: unknown metric 'val/confusion_matrix'" in message and "not a number" in message
    message = _error(task="binary", first="auroc", second="confusion_matrix", best="val/f1")
    assert "f1 is not tracked: add it to train.metrics" in message
    message = _error(task="regression", first="auroc", second="r2", best="val/auroc")
    assert "not a number" not in message and "auroc" in message and "binary" in message


class MeanAbsolutePercentageError(Metric):
    """A user's metric: mean |error| / |target| (scikit-learn's mean_absolute_percentage_error)."""

    tasks = ("regression",)
    higher_is_better = False

    def update(self, output, target):
        error = np.abs(output.numpy() - target.numpy()) / np.maximum(
            np.abs(target.numpy()), np.finfo(np.float64).eps
        )
        self._add("sum", error.astype(np.float64).sum(axis=0))
        self._add("samples", len(error))

    def compute(self):
        total = self._sum("sum")
        return float("nan") if total is None else float((total / self._sum("samples")).mean())


@pytest.fixture
def mape():
    nnrun.register(MeanAbsolutePercentageError, name="mape")
    yield MeanAbsolutePercentageError
    METRICS.unregister("mape")


def test_a_registered_metric_works_by_name_in_a_config_and_the_trainer(mape):
    cfg = _load(task="regression", first="mse", second="mape", best="val/mape")
    assert cfg.best_mode == "min"
    assert "mape is a metric of task regression" in _error(first="mape")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0], np.float32) + 3).astype(np.float32)
    loader = DataLoader(ArrayDataset(x, y.reshape(-1, 1)), 16, shuffle=False)
    nnrun.manual_seed(0)
    model = nnrun.nn.Linear(4, 1)
    settings = TrainSettings(epochs=2, task="regression", metrics=("mse", "mape"), test=False)
    trainer = Trainer(
        model, nnrun.optim.SGD(model.parameters(), lr=0.05), nnrun.nn.MSELoss(), loader, settings=settings
    )
    trainer.fit()
    values = trainer.evaluate(loader, "train")
    with nnrun.no_grad():
        predicted = model(nnrun.tensor(x)).numpy()
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    expected = sklearn_metrics.mean_absolute_percentage_error(y.reshape(-1, 1), predicted)
    assert values["train/mape"] == pytest.approx(expected, rel=1e-5)
    assert isinstance(metric_from_name("mape", "regression"), MeanAbsolutePercentageError)


def test_train_settings_default_to_the_tasks_metrics():
    assert TrainSettings(task="regression").metrics == ("mse", "mae", "r2")
    assert TrainSettings().metrics == ("accuracy",) and TrainSettings(task="binary").task == "binary"
    with pytest.raises(ValueError, match="unknown task 'regresion'"):
        TrainSettings(task="regresion")
