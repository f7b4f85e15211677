"""Training from a config for every task: regression (one or two targets), binary and multilabel runs on
scikit-learn's bundled datasets (exported under tmp_path), their metric rows, ``best:`` on a task metric,
non-scalar metrics in the run files, and an exact resume of a regression run."""

import csv
import json
from math import nan

import numpy as np
import pytest
from crash_at import Crash, CrashAt

import nnrun
from nnrun.train import Trainer, load_checkpoint

datasets = pytest.importorskip("sklearn.datasets")
metrics = pytest.importorskip("sklearn.metrics")

CONFIG = """\
task: {task}
seed: 1
device: cpu
output: {output}
input_shape: [{features}]
model: {{module: {{Sequential: [{{Linear: [{features}, 16]}}, Tanh, {{Linear: [16, {outputs}]}}]}}}}
data: {{dataset: npz, root: {root}, batch_size: 32, val_split: 0.2}}
optimizer: {{Adam: {{lr: 0.01}}}}
train: {{epochs: {epochs}, log_every: 4{metrics}}}
checkpoint: {{best: {best}, every_steps: 5}}
"""


def _standard(x):
    return ((x - x.mean(0)) / np.maximum(x.std(0), 1e-6)).astype(np.float32)


def _export(folder, x, y, n_test):
    folder.mkdir()
    np.savez(folder / "train.npz", x=x[:-n_test], y=y[:-n_test])
    np.savez(folder / "test.npz", x=x[-n_test:], y=y[-n_test:])
    return folder


def _data(task, tmp_path, targets=1):
    """Export the task's data set: train.npz and test.npz under ``tmp_path/data``."""
    if task == "regression":
        x, y = datasets.load_diabetes(return_X_y=True)
        y = (y - y.mean()) / y.std()
        y = np.stack([y, x[:, 2] * 20 - y], axis=1) if targets == 2 else y
        return _export(tmp_path / "data", _standard(x), y.astype(np.float32), 80)
    if task == "binary":
        x, y = datasets.load_breast_cancer(return_X_y=True)
        return _export(tmp_path / "data", _standard(x), y.astype(np.int64), 100)
    x, digit = datasets.load_digits(return_X_y=True)  # multilabel: even, above 4, drawn with a loop
    y = np.stack([digit % 2 == 0, digit > 4, np.isin(digit, [0, 6, 8, 9])], axis=1).astype(np.float32)
    return _export(tmp_path / "data", _standard(x), y, 300)


def _config(tmp_path, task, name="run", best="val/loss", epochs=3, metric_names=None, targets=1):
    """A config for ``task`` on its data under ``tmp_path/data`` (exported by the first call)."""
    root = tmp_path / "data"
    if not root.exists():
        _data(task, tmp_path, targets)
    features, outputs = _shape(root)
    listed = f", metrics: [{', '.join(metric_names)}]" if metric_names else ""
    text = CONFIG.format(
        task=task, output=tmp_path / name, features=features, outputs=outputs, root=root, epochs=epochs,
        metrics=listed, best=best,
    )  # fmt: skip
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _shape(folder):
    with np.load(folder / "train.npz") as archive:
        y = archive["y"]
        return archive["x"].shape[1], 1 if y.ndim == 1 else y.shape[1]


def _epoch_rows(trainer):
    return [row for row in trainer.history if row["kind"] == "epoch"]


@pytest.mark.parametrize("targets", [1, 2])
def test_regression_trains_with_its_metrics_and_keeps_the_best_r2(tmp_path, targets):
    trainer = Trainer.from_config(
        _config(tmp_path, "regression", best="val/r2", targets=targets), progress=False
    )
    summary = trainer.fit()
    row = _epoch_rows(trainer)[-1]
    assert [key for key in row if "/" in key] == [
        f"{split}/{name}" for split in ("train", "val") for name in ("loss", "mse", "mae", "r2")
    ]
    assert row["val/loss"] == pytest.approx(row["val/mse"], rel=1e-5)  # MSELoss is the mse
    assert summary["final"]["test/r2"] > 0.2 and summary["best"]["metric"] == "val/r2"
    best = max(_epoch_rows(trainer), key=lambda r: r["val/r2"])
    assert summary["best"]["value"] == best["val/r2"] and summary["best"]["epoch"] == best["epoch"]
    # the test metrics agree with scikit-learn on the model's predictions
    with np.load(tmp_path / "data" / "test.npz") as archive:
        x, y = archive["x"], archive["y"].reshape(len(archive["x"]), -1)
    trainer.model.eval()
    with nnrun.no_grad():
        predicted = trainer.model(nnrun.tensor(x)).numpy().astype(np.float64)
    assert summary["final"]["test/r2"] == pytest.approx(metrics.r2_score(y, predicted), rel=1e-5)
    assert summary["final"]["test/mae"] == pytest.approx(metrics.mean_absolute_error(y, predicted), rel=1e-5)
    config = (tmp_path / "run" / "config.yaml").read_text()
    assert "metrics:\n  - mse\n  - mae\n  - r2\n" in config  # the resolved config lists the task's metrics


def test_binary_run_writes_scalar_metrics_to_csv_and_the_confusion_matrix_to_jsonl(tmp_path):
    names = ["accuracy", "f1", "auroc", "confusion_matrix"]
    trainer = Trainer.from_config(
        _config(tmp_path, "binary", best="val/auroc", metric_names=names), progress=False
    )
    summary = trainer.fit()
    final = summary["final"]
    assert (
        final["test/accuracy"] > 0.9
        and final["test/auroc"] > 0.95
        and summary["best"]["metric"] == "val/auroc"
    )
    matrix = final["test/confusion_matrix"]
    assert np.asarray(matrix).shape == (2, 2) and sum(map(sum, matrix)) == 100
    assert final["test/accuracy"] == pytest.approx((matrix[0][0] + matrix[1][1]) / 100)
    with open(tmp_path / "run" / "metrics.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert "val/auroc" in header and not any("confusion" in column for column in header)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [row["val/confusion_matrix"] for row in rows if row["kind"] == "epoch"][-1] == _epoch_rows(
        trainer
    )[-1]["val/confusion_matrix"]
    assert (
        json.loads((tmp_path / "run" / "summary.json").read_text())["final"]["test/confusion_matrix"]
        == matrix
    )


def test_multilabel_run_reports_its_default_metrics(tmp_path):
    trainer = Trainer.from_config(
        _config(tmp_path, "multilabel", best="val/hamming", epochs=4), progress=False
    )
    summary = trainer.fit()
    row = _epoch_rows(trainer)[-1]
    assert [key for key in row if key.startswith("val/")] == ["val/loss", "val/exact_match", "val/hamming"]
    assert summary["final"]["test/hamming"] < 0.25 and summary["final"]["test/exact_match"] > 0.5
    best = min(_epoch_rows(trainer), key=lambda r: r["val/hamming"])  # hamming: lower is better (mode auto)
    assert summary["best"]["value"] == best["val/hamming"]


def _weights(trainer):
    return {key: value.numpy().tobytes() for key, value in trainer.model.state_dict().items()}


@pytest.mark.parametrize("crash_step", [7, 17])
def test_an_interrupted_regression_run_resumes_exactly(tmp_path, crash_step):
    """10 steps per epoch, a checkpoint every 5: the resume starts mid-epoch, its metric sums restored."""
    straight = Trainer.from_config(_config(tmp_path, "regression", "straight", best="val/r2"), progress=False)
    straight_summary = straight.fit()
    crashed_config = _config(tmp_path, "regression", "crashed", best="val/r2")
    crashed = Trainer.from_config(crashed_config, progress=False, callbacks=[CrashAt(crash_step)])
    with pytest.raises(Crash):
        crashed.fit()
    checkpoint = load_checkpoint(crashed.checkpoints.file("last"))
    assert checkpoint["progress"]["batch_index"] == 5
    tracker = checkpoint["tracker"]
    assert tracker["samples"] > 0 and set(tracker["metrics"]) == {"mse", "mae", "r2"}
    resumed = Trainer.from_config(crashed_config, progress=False)
    summary = resumed.fit(resume="auto")
    assert _weights(resumed) == _weights(straight)
    assert summary["final"] == straight_summary["final"] and summary["best"] == straight_summary["best"]
    for a, b in zip(_epoch_rows(resumed), _epoch_rows(straight), strict=True):  # epoch metrics exact too
        assert {k: v for k, v in a.items() if "/" in k} == {k: v for k, v in b.items() if "/" in k}


def test_a_nan_metric_is_never_the_best():
    """An AUROC of a validation split holding one class is NaN: it neither becomes nor blocks the best."""
    from nnrun.train.extensions import Checkpointer
    from nnrun.train.settings import CheckpointSettings

    checkpointer = Checkpointer(None, CheckpointSettings(best="val/auroc", mode="max"))
    rows = [
        {"val/auroc": value, "epoch": epoch, "step": epoch}
        for epoch, value in enumerate([nan, 0.7, nan, 0.6])
    ]
    assert [checkpointer._update_best(row) for row in rows] == [False, True, False, False]
    assert checkpointer.best == {"metric": "val/auroc", "value": 0.7, "epoch": 1, "step": 1}
    checkpointer.best = {"metric": "val/auroc", "value": nan, "epoch": 0, "step": 0}  # saved by an older run
    assert checkpointer._update_best(rows[3])
