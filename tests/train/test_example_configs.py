"""The example configs in configs/ train, as README prints them, on real data that ships inside scikit-learn
(exported at test time by scripts/export_sklearn_data.py), to a stated quality; their checkpoints predict
on the data files what the in-memory model computes."""

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import nnrun
from nnrun.train import Trainer
from nnrun_cli.app import app

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

#: config → (metric, lowest accepted value); measured values are in the configs' comments and README.
QUALITY = {
    "diabetes_regression": ("test/r2", 0.45),
    "breast_cancer_binary": ("test/auroc", 0.98),
    "wine_classification": ("test/accuracy", 0.9),
    "digits_image_folder": ("test/accuracy", 0.95),
    "digits_multilabel": ("test/exact_match", 0.9),
}


@pytest.fixture
def trained(sklearn_data, tmp_path, monkeypatch):
    """``trained(name)``: the trainer of ``configs/<name>.yaml`` after ``fit``, run in the folder that holds
    ``data/sklearn``, its run folder under ``tmp_path``."""
    monkeypatch.chdir(sklearn_data)

    def train(name):
        trainer = Trainer.from_config(
            CONFIGS / f"{name}.yaml", overrides=[f"output={tmp_path / name}"], progress=False
        )
        trainer.summary = trainer.fit()
        return trainer

    return train


@pytest.mark.parametrize("name", QUALITY)
def test_example_config_reaches_its_quality(trained, name):
    trainer = trained(name)
    metric, lowest = QUALITY[name]
    assert trainer.summary["final"][metric] >= lowest, trainer.summary["final"]


def test_diabetes_beats_the_mean_predictor(trained):
    trainer = trained("diabetes_regression")
    mean = trainer.train_loader.dataset.y.mean()
    y = trainer.test_loader.dataset.y[:, 0].astype(np.float64)
    mean_r2 = 1 - ((y - mean) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert mean_r2 < 0.05  # predicting the training mean explains nothing of the test split
    assert trainer.summary["final"]["test/r2"] - mean_r2 > 0.4


def _all_encoded_inputs(trainer):
    loaders = (trainer.train_loader, trainer.val_loader, trainer.test_loader)
    return np.concatenate([loader.dataset.x for loader in loaders])


def test_predicting_on_the_table_encodes_rows_as_training_did(trained, sklearn_data, tmp_path):
    trainer = trained("diabetes_regression")
    checkpoint = trainer.checkpoints.last_saved
    predictions = nnrun.predict(checkpoint, sklearn_data / "data" / "sklearn" / "diabetes.csv")
    assert len(predictions.names) == 442 and predictions.names[0] == "line 2"
    assert predictions.score_names == ["progression"]
    trainer.model.eval()
    with nnrun.no_grad():
        expected = trainer.model(nnrun.tensor(_all_encoded_inputs(trainer))).numpy()[:, 0]
    # train, val and test rows together are the file's rows: the same predictions, as multisets
    np.testing.assert_allclose(np.sort(predictions.predictions[:, 0]), np.sort(expected), rtol=1e-5)


def invoke(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args], env={"NO_COLOR": "1", "TERM": "dumb"})


def test_predicting_on_an_image_folder_and_evaluating_it(trained, sklearn_data):
    trainer = trained("digits_image_folder")
    checkpoint = trainer.checkpoints.last_saved
    folder = sklearn_data / "data" / "sklearn" / "digits" / "test"
    predictions = nnrun.predict(checkpoint, folder)
    trainer.model.eval()
    with nnrun.no_grad():
        logits = trainer.model(nnrun.tensor(trainer.test_loader.dataset.x.astype(np.float32) / 255))
    expected = logits.numpy().argmax(axis=1)
    assert predictions.names[0].endswith("test/0/" + sorted(p.name for p in (folder / "0").iterdir())[0])
    assert predictions.predictions.tolist() == expected.tolist()
    assert predictions.labels == [str(label) for label in expected]  # the class folders' names
    output = sklearn_data / "digits_predictions.csv"
    result = invoke("predict", checkpoint, folder, "--output", output)
    assert result.exit_code == 0, result.output
    with output.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 449 and [row["prediction"] for row in rows] == predictions.labels
    result = invoke("eval", checkpoint, "--data", folder)
    assert result.exit_code == 0, result.output
    accuracy = trainer.summary["final"]["test/accuracy"]
    assert f"data/accuracy {accuracy:.4f}" in result.output
