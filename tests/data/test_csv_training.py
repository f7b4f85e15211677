"""Training on a CSV table end to end: scikit-learn's diabetes table (exported under tmp_path) trains to beat
the mean predictor, resumes exactly, keeps its fitted preprocessing in every checkpoint, and a bad option is
reported at its config line."""

import re

import numpy as np
import pytest
from csv_tables import export

import nnrun
from nnrun.config import ConfigError
from nnrun.data.datasets.csv_encoding import CsvSource
from nnrun.train import Callback, Trainer, load_checkpoint
from nnrun.train.errors import ResumeRefused

metrics = pytest.importorskip("sklearn.metrics")

CONFIG = """\
seed: 0
device: cpu
task: regression
input_shape: [10]
model: {{module: {{Sequential: [{{Linear: [10, 32]}}, ReLU, {{Linear: [32, 1]}}]}}}}
data:
  dataset: csv
  root: {root}
  batch_size: 32
  val_split: 0.1
  options:
    target: {target}
    test_split: 0.2
optimizer: {{Adam: {{lr: 0.05}}}}
train: {{epochs: {epochs}, log_every: 4, metrics: []}}
output: {output}
"""


class Crash(Exception):
    pass


class CrashAt(Callback):
    """Dies at the end of global step ``step``, like a killed process."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, trainer, loss):
        if trainer.global_step == self.step:
            raise Crash


@pytest.fixture
def diabetes(tmp_path):
    """``diabetes(name, epochs=3, target="target")``: a regression config on the diabetes CSV, run folder
    ``tmp_path/name``: 442 rows, 88 held out for test, 35 for validation, 319 to train (10 steps/epoch)."""
    export("diabetes", tmp_path / "diabetes.csv")

    def write(name, epochs=3, target="target"):
        text = CONFIG.format(
            root=tmp_path / "diabetes.csv", target=target, epochs=epochs, output=tmp_path / name
        )
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def _weights(trainer):
    return {key: value.numpy().copy() for key, value in trainer.model.state_dict().items()}


def _predict(trainer, dataset):
    trainer.model.eval()
    with nnrun.no_grad():
        return trainer.model(nnrun.tensor(dataset.x)).numpy()


def test_diabetes_regression_beats_the_mean_predictor(diabetes):
    trainer = Trainer.from_config(diabetes("run", epochs=30), progress=False)
    trainer.fit()
    test, train = trainer.test_loader.dataset, trainer.train_loader.dataset
    assert len(test) == 88 and len(train) == 319 and len(trainer.val_loader.dataset) == 35
    r2 = metrics.r2_score(test.y, _predict(trainer, test))
    mean_r2 = metrics.r2_score(test.y, np.full_like(test.y, train.y.mean()))
    # measured: R² 0.516 against the training mean's -0.012
    assert r2 > mean_r2 + 0.4, (r2, mean_r2)
    residual = ((test.y - _predict(trainer, test)) ** 2).sum()
    assert r2 == pytest.approx(1 - residual / ((test.y - test.y.mean()) ** 2).sum(), rel=1e-5)


@pytest.mark.parametrize("crash_step", [6, 14])
def test_an_interrupted_csv_regression_resumes_exactly(diabetes, crash_step):
    straight = Trainer.from_config(diabetes("straight"), progress=False)
    straight.fit()
    overrides = ["checkpoint.every_steps=4"]
    crashed = Trainer.from_config(
        diabetes("crashed"), progress=False, overrides=overrides, callbacks=[CrashAt(crash_step)]
    )
    with pytest.raises(Crash):
        crashed.fit()
    resumed = Trainer.from_config(diabetes("crashed"), progress=False, overrides=overrides)
    resumed.fit(resume="auto")
    assert resumed.resumed_from.endswith("last.safetensors")
    assert resumed.global_step == straight.global_step == 30
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys() and all(a[key].tobytes() == b[key].tobytes() for key in a)


def test_checkpoints_hold_the_preprocessing_and_evaluation_and_resume_reuse_it(diabetes, monkeypatch):
    trainer = Trainer.from_config(diabetes("run"), progress=False)
    summary = trainer.fit()
    saved = load_checkpoint(trainer.checkpoints.file("last"))["preprocessing"]
    assert saved == trainer.preprocessing and saved["source"] == "csv"
    assert [f["name"] for f in saved["features"]] == [
        "age",
        "sex",
        "bmi",
        "bp",
        "s1",
        "s2",
        "s3",
        "s4",
        "s5",
        "s6",
    ]
    train_x = trainer.train_loader.dataset.x  # the fitted means are those of the 319 training rows
    assert abs(train_x.mean(axis=0)).max() < 1e-6

    def refit(self, rows, task):
        raise AssertionError("refitted")

    monkeypatch.setattr(CsvSource, "fit", refit)
    evaluator = Trainer.from_config(diabetes("run"), progress=False, need_train=False, preprocessing=saved)
    evaluator.load_weights(trainer.checkpoints.file("last"))
    assert evaluator.evaluate()["test/loss"] == pytest.approx(summary["final"]["test/loss"], rel=1e-6)
    np.testing.assert_array_equal(evaluator.test_loader.dataset.x, trainer.test_loader.dataset.x)
    again = Trainer.from_config(diabetes("run", epochs=4), progress=False, preprocessing=saved)
    again.fit(resume=trainer.checkpoints.file("last"))
    assert again.global_step == 40 and again.preprocessing == saved


def test_resume_refuses_a_training_file_that_changed(diabetes, tmp_path):
    trainer = Trainer.from_config(diabetes("run"), progress=False)
    trainer.fit()
    table = tmp_path / "diabetes.csv"
    lines = table.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(",")
    cells[0] = "0.5"  # one edited cell: the same rows, other statistics
    table.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n", encoding="utf-8")
    changed = Trainer.from_config(diabetes("run", epochs=4), progress=False)
    with pytest.raises(ResumeRefused, match="encoded differently"):
        changed.fit(resume="auto")


def test_an_unknown_column_is_a_config_error_at_its_line(diabetes):
    path = diabetes("typo", target="targte")
    with pytest.raises(ConfigError) as info:
        Trainer.from_config(path, progress=False)
    message = str(info.value)
    assert f"{path}:12:" in message and "data.options.target" in message
    assert "no column 'targte' (did you mean target" in message


def test_a_target_that_does_not_fit_the_task_names_the_csv_line(diabetes, tmp_path):
    path = diabetes("binary")
    path.write_text(path.read_text(encoding="utf-8").replace("task: regression", "task: binary"))
    with pytest.raises(ConfigError) as info:
        Trainer.from_config(path, progress=False)
    message = str(info.value)
    assert f"{path}:3:" in message and "task" in message
    found = re.search(
        r"diabetes\.csv:(\d+): column 'target' has a third value '37' besides '25' and '31'", message
    )
    line = (tmp_path / "diabetes.csv").read_text(encoding="utf-8").splitlines()[int(found[1]) - 1]
    assert line.endswith(",37.0")  # the targets, sorted by value: 25, 31, 37, …


def test_nnrun_train_reports_a_bad_column_without_a_traceback(diabetes):
    from typer.testing import CliRunner

    from nnrun_cli.app import app

    path = diabetes("cli", target="price")
    result = CliRunner().invoke(app, ["train", str(path)], env={"NO_COLOR": "1", "TERM": "dumb"})
    assert result.exit_code == 2
    assert f"{path}:12:" in result.output and "no column 'price'" in result.output
    assert "Traceback" not in result.output


def test_nnrun_validate_reports_bad_csv_options_and_a_missing_file_at_their_lines(tmp_path):
    from typer.testing import CliRunner

    from nnrun_cli.app import app

    path = tmp_path / "bad.yaml"
    path.write_text(
        CONFIG.format(root=tmp_path / "none.csv", target="[]", epochs=1, output=tmp_path / "run"),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["validate", str(path)], env={"NO_COLOR": "1", "TERM": "dumb"})
    assert result.exit_code == 2
    assert f"{path}:12:13: data.options.target: csv: target is a column name or a list" in result.output
    assert f"{path}:8:9: data.root: no such file or folder {tmp_path / 'none.csv'}" in result.output
