"""Tasks: the targets' form, the default loss, reading outputs; data fitted on the training rows only."""

import numpy as np
import pytest

from nnrun.config import load_training
from nnrun.data import ArrayDataset
from nnrun.data.datasets import DATASETS
from nnrun.data.datasets.registry import DatasetEntry
from nnrun.data.fitted import FittedSource
from nnrun.data.tasks import TASKS, TargetError, get_task
from nnrun.train import Trainer


@pytest.mark.parametrize(
    ("task", "y", "expected", "dtype"),
    [
        ("classification", np.array([2, 0, 1]), [2, 0, 1], np.int64),
        ("classification", np.array([2.0, 0.0]), [2, 0], np.int64),
        ("binary", np.array([1, 0]), [[1.0], [0.0]], np.float32),
        ("binary", np.array([[0.0], [1.0]]), [[0.0], [1.0]], np.float32),
        ("multilabel", np.array([[1, 0, 1], [0, 0, 0]]), [[1, 0, 1], [0, 0, 0]], np.float32),
        ("regression", np.array([1.5, -2.0]), [[1.5], [-2.0]], np.float32),
        ("regression", np.array([[1.5, 3.0]]), [[1.5, 3.0]], np.float32),
    ],
)
def test_targets_take_the_tasks_form(task, y, expected, dtype):
    targets = get_task(task).targets(y)
    assert targets.dtype == dtype and targets.tolist() == expected


@pytest.mark.parametrize(
    ("task", "y", "message"),
    [
        ("classification", np.array([0, 1.5]), "sample 1 has 1.5; for numbers use task: regression"),
        ("classification", np.array([[0, 1]]), "for several 0/1 labels per sample use task: multilabel"),
        ("classification", np.array([0, -1]), "class indices start at 0, but sample 1 has -1"),
        ("binary", np.array([0, 1, 2]), "targets must be 0 or 1, but sample 2 has 2"),
        ("binary", np.array([[0, 1]]), "one 0/1 value per sample, got shape [2]"),
        ("multilabel", np.array([0, 1]), "multilabel targets are (N, labels) of 0/1"),
        ("regression", np.array([1.0, np.nan]), "sample 1 has a non-finite target [nan]"),
        ("regression", np.array(["a"]), "regression targets must be numbers"),
    ],
)
def test_targets_that_do_not_fit_name_the_sample(task, y, message):
    with pytest.raises(TargetError) as info:
        get_task(task).targets(y)
    assert message in str(info.value)


def test_outputs_read_as_predictions_and_scores():
    logits = np.array([[1.0, 3.0, 2.0], [0.0, 0.0, -1.0]])
    predictions, scores = TASKS["classification"].interpret(logits)
    assert predictions.tolist() == [1, 0]
    np.testing.assert_allclose(scores.sum(axis=1), 1)
    np.testing.assert_allclose(scores[0], np.exp(logits[0]) / np.exp(logits[0]).sum())
    predictions, scores = TASKS["binary"].interpret(np.array([[2.0], [-0.5], [0.0]]))
    assert predictions.tolist() == [1, 0, 1]  # sigmoid(0) = 0.5 counts as positive
    np.testing.assert_allclose(scores, 1 / (1 + np.exp(-np.array([2.0, -0.5, 0.0]))))
    predictions, scores = TASKS["multilabel"].interpret(np.array([[2.0, -1.0]]))
    assert predictions.tolist() == [[1, 0]] and scores.shape == (1, 2)
    values = np.array([[1.5, -2.0]])
    assert TASKS["regression"].interpret(values)[0].tolist() == values.tolist()
    with pytest.raises(ValueError, match="unknown task 'ranking'; tasks: classification, binary"):
        get_task("ranking")


def test_the_task_picks_the_default_loss_and_the_resolved_config_says_so():
    text = "model: {Linear: [4, 1]}\ndata: {dataset: synthetic}\noptimizer: SGD\ntask: regression\n"
    cfg = load_training(text)
    assert cfg.task.name == "regression" and cfg.loss_node[0] == "MSELoss"
    assert "task: regression" in cfg.yaml and "loss: MSELoss" in cfg.yaml
    assert load_training(text.replace("regression", "binary")).loss_node[0] == "BCEWithLogitsLoss"
    assert load_training(text.replace("task: regression\n", "")).loss_node[0] == "CrossEntropyLoss"


def test_regression_on_float_targets_trains(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.1
    np.savez(tmp_path / "train.npz", x=x, y=y.astype(np.float64))
    np.savez(tmp_path / "test.npz", x=x[:16], y=y[:16])
    config = tmp_path / "reg.yaml"
    config.write_text(
        f"task: regression\nmodel: {{Linear: [3, 1]}}\noutput: {tmp_path / 'run'}\n"
        f"data: {{dataset: npz, root: {tmp_path}, batch_size: 16}}\noptimizer: {{SGD: {{lr: 0.1}}}}\n"
        "train: {epochs: 30, metrics: []}\n"
    )
    trainer = Trainer.from_config(config, progress=False)
    trainer.fit()
    targets = trainer.test_loader.dataset.y
    assert targets.dtype == np.float32 and targets.shape == (16, 1)
    assert trainer.evaluate()["test/loss"] < 1e-3


class _Centred(FittedSource):
    """A fitted source for the tests: inputs centred with the mean of the training rows."""

    fits = 0

    def __init__(self, split):
        rng = np.random.default_rng(1 if split == "train" else 2)
        self.x = rng.normal(5.0, 1.0, size=(40 if split == "train" else 10, 2)).astype(np.float32)
        self.y = (self.x[:, 0] > 5.0).astype(np.int64)

    def __len__(self):
        return len(self.x)

    def fit(self, rows, task):
        type(self).fits += 1
        return {"source": "centred", "mean": self.x[rows].mean(axis=0).tolist(), "classes": ["low", "high"]}

    def prepare(self, rows, preprocessing, task, transform=None):
        x = self.x[rows] - np.array(preprocessing["mean"], dtype=np.float32)
        return ArrayDataset(x, task.targets(self.y[rows]), transform)


@pytest.fixture
def centred():
    DATASETS.register(DatasetEntry(_Centred, reads_files=False, downloadable=False), name="centred")
    _Centred.fits = 0
    yield
    DATASETS.unregister("centred")


def _centred_config(tmp_path, width=2):
    return (
        f"model: {{Linear: [2, {width}]}}\noutput: {tmp_path / 'run'}\nseed: 3\n"
        "data: {dataset: centred, val_split: 0.25, batch_size: 10}\noptimizer: {SGD: {lr: 0.1}}\n"
    )


def test_fitted_data_is_fitted_on_the_training_rows_and_saved_in_checkpoints(centred, tmp_path):
    trainer = Trainer.from_config(_centred_config(tmp_path), progress=False)
    order = np.random.default_rng(3).permutation(40)  # the val rows the trainer draws from the seed
    train_rows = _Centred("train").x[order[10:]]
    np.testing.assert_allclose(trainer.preprocessing["mean"], train_rows.mean(axis=0), rtol=1e-6)
    assert len(trainer.train_loader.dataset) == 30 and len(trainer.val_loader.dataset) == 10
    np.testing.assert_allclose(trainer.train_loader.dataset.x.mean(axis=0), 0, atol=1e-5)
    trainer.fit()
    assert trainer.state_dict()["preprocessing"] == trainer.preprocessing
    assert _Centred.fits == 1
    again = Trainer.from_config(
        _centred_config(tmp_path), progress=False, need_train=False, preprocessing=trainer.preprocessing
    )
    assert _Centred.fits == 1  # evaluation encodes with the checkpoint's preprocessing, never refits
    np.testing.assert_array_equal(again.test_loader.dataset.x, trainer.test_loader.dataset.x)


def test_fitted_data_cannot_be_evaluated_without_its_preprocessing(centred, tmp_path):
    with pytest.raises(Exception, match="evaluate with a checkpoint, which holds it"):
        Trainer.from_config(_centred_config(tmp_path), progress=False, need_train=False)


def test_a_classifier_outputs_one_score_per_named_class(centred, tmp_path):
    with pytest.raises(Exception, match=r"the data has 2 classes \(low, high\), but the model outputs 3"):
        Trainer.from_config(_centred_config(tmp_path, width=3), progress=False)
