"""Predictions on new data: ``nnrun.predict``, ``Trainer.predict`` and the prediction files equal the
in-memory model's outputs read by the task; inputs are files, folders or globs; evaluation of a checkpoint on
a labelled file or on its config's splits equals ``trainer.evaluate`` on the same data."""

import csv
import json

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.data import ArrayDataset, DataLoader, DatasetError
from nnrun.data.tasks import TASKS
from nnrun.serialization import CheckpointError
from nnrun.train import Trainer, TrainSettings
from nnrun.train.checkpoint_run import evaluation, open_checkpoint
from nnrun.train.predict import Predictions, input_files
from nnrun.train.prediction_files import check_output, write_predictions
from nnrun.train.settings import CheckpointSettings

CONFIG = """\
name: {name}
seed: 0
device: cpu
task: {task}
input_shape: [6]
model:
  module:
    Sequential: [{{Linear: [6, 16]}}, Tanh, {{Linear: [16, {width}]}}]
data:
  dataset: npz
  root: {root}
  batch_size: 16
  val_split: 0.25
  transforms: [normalize: {{mean: [0.5], std: [2.0]}}]
optimizer: {{SGD: {{lr: 0.05}}}}
train: {{epochs: 2, log_every: 100, metrics: {metrics}}}
output: {output}
"""


def _data(task, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    if task == "classification":
        return x, (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return x, np.stack([x[:, :3].sum(1), x[:, 3] - x[:, 4]], axis=1).astype(np.float32)


def _train(tmp_path, task, preprocessing=None):
    """A run trained on ``train.npz`` in ``tmp_path``: (trainer, its last checkpoint, test x, test y)."""
    for split, n, seed in (("train", 96, 0), ("test", 40, 1)):
        x, y = _data(task, n, seed)
        np.savez(tmp_path / f"{split}.npz", x=x, y=y)
    width, metrics = (3, "[accuracy]") if task == "classification" else (2, "[]")
    text = CONFIG.format(
        name=task, task=task, width=width, root=tmp_path, metrics=metrics, output=tmp_path / "run"
    )
    config = tmp_path / f"{task}.yaml"
    config.write_text(text)
    trainer = Trainer.from_config(config, progress=False, preprocessing=preprocessing)
    trainer.fit()
    x, y = _data(task, 40, 1)
    return trainer, tmp_path / "run" / "checkpoints" / "last.safetensors", x, y


def _expected(trainer, x):
    """The in-memory model's outputs on ``x`` (normalized as the config says), read by the task."""
    trainer.model.eval()
    with nnrun.no_grad():
        output = trainer.model(nnrun.tensor((x - np.float32(0.5)) / np.float32(2.0))).numpy()
    trainer.model.train()
    return trainer.config.task.interpret(output)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_predictions_equal_the_in_memory_model(tmp_path, task):
    trainer, checkpoint, x, y = _train(tmp_path, task)
    predictions, scores = _expected(trainer, x)
    before = nnrun.get_rng_state()
    found = nnrun.predict(checkpoint, tmp_path / "test.npz", batch_size=7)
    assert nnrun.get_rng_state().equal(before)  # the global generator is left as it was
    assert found.task == task and found.names == [str(i) for i in range(40)]
    np.testing.assert_array_equal(found.predictions, predictions)
    np.testing.assert_allclose(found.scores, scores.reshape(40, -1), rtol=1e-6, atol=1e-7)
    again = trainer.predict(ArrayDataset(x, y, trainer.test_loader.dataset.transform), batch_size=7)
    np.testing.assert_array_equal(again.predictions, found.predictions)
    np.testing.assert_array_equal(again.scores, found.scores)
    assert again.names == found.names and again.targets is None
    if task == "regression":
        assert found.predictions.dtype == np.float64 and found.predictions.shape == (40, 2)
        assert found.score_names == ["0", "1"]
    else:
        assert found.score_names == ["0", "1", "2"] and found.classes is None
        np.testing.assert_allclose(found.scores.sum(1), 1.0)


def test_prediction_files_read_back_equal(tmp_path):
    trainer, checkpoint, x, _ = _train(tmp_path, "classification")
    predictions, scores = _expected(trainer, x)
    found = nnrun.predict(checkpoint, tmp_path / "test.npz")
    for suffix in ("csv", "npz", "jsonl"):
        assert write_predictions(found, tmp_path / f"p.{suffix}") == str(tmp_path / f"p.{suffix}")
    with open(tmp_path / "p.csv", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["name", "prediction", "score_0", "score_1", "score_2"]
    assert [row[0] for row in table[1:]] == found.names
    assert [int(row[1]) for row in table[1:]] == predictions.tolist()
    np.testing.assert_array_equal(np.array([row[2:] for row in table[1:]], dtype=np.float64), found.scores)
    with np.load(tmp_path / "p.npz", allow_pickle=False) as archive:
        assert archive["names"].tolist() == found.names and archive["score_names"].tolist() == ["0", "1", "2"]
        np.testing.assert_array_equal(archive["predictions"], predictions)
        np.testing.assert_array_equal(archive["scores"], found.scores)
    lines = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [line["name"] for line in lines] == found.names
    assert [line["prediction"] for line in lines] == predictions.tolist()
    np.testing.assert_allclose([list(line["scores"].values()) for line in lines], scores, rtol=1e-6)


def test_class_names_from_the_checkpoint(tmp_path):
    classes = ["low", "mid", "high"]
    trainer, checkpoint, x, _ = _train(tmp_path, "classification", {"source": "npz", "classes": classes})
    assert open_checkpoint(checkpoint).preprocessing == {"source": "npz", "classes": classes}
    predictions, _ = _expected(trainer, x)
    found = nnrun.predict(checkpoint, tmp_path / "test.npz")
    assert found.classes == classes and found.score_names == classes
    assert found.labels == [classes[i] for i in predictions]
    write_predictions(found, tmp_path / "p.csv")
    write_predictions(found, tmp_path / "p.npz")
    with open(tmp_path / "p.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0])[:3] == ["name", "prediction", "index"] and "score_high" in table[0]
    assert [row["prediction"] for row in table] == found.labels
    assert [int(row["index"]) for row in table] == predictions.tolist()
    with np.load(tmp_path / "p.npz", allow_pickle=False) as archive:
        assert archive["predictions"].tolist() == found.labels
        np.testing.assert_array_equal(archive["indices"], predictions)


def test_regression_on_a_real_table_and_its_files(tmp_path):
    datasets = pytest.importorskip("sklearn.datasets")
    table = datasets.load_diabetes()  # 442 patients, 10 standardized features, one float target
    x = table.data.astype(np.float32)
    y = ((table.target - table.target.mean()) / table.target.std()).astype(np.float32)
    np.savez(tmp_path / "train.npz", x=x[:360], y=y[:360])
    np.savez(tmp_path / "test.npz", x=x[360:], y=y[360:])
    text = CONFIG.format(
        name="diabetes", task="regression", width=1, root=tmp_path, metrics="[]", output=tmp_path / "run"
    )
    text = text.replace("[6]", "[10]").replace("[6, 16]", "[10, 16]")
    config = tmp_path / "diabetes.yaml"
    config.write_text(text.replace("normalize: {mean: [0.5], std: [2.0]}", ""))  # no transform
    trainer = Trainer.from_config(config, progress=False)
    trainer.fit()
    checkpoint = tmp_path / "run" / "checkpoints" / "last.safetensors"
    found = nnrun.predict(checkpoint, tmp_path / "test.npz")
    trainer.model.eval()
    expected = trainer.model(nnrun.tensor(x[360:])).detach().numpy().astype(np.float64)
    np.testing.assert_allclose(found.predictions, expected, rtol=1e-6)
    write_predictions(found, tmp_path / "p.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    np.testing.assert_allclose([line["prediction"] for line in lines], expected[:, 0], rtol=1e-6)
    assert lines[0]["scores"] == {"0": lines[0]["prediction"]}
    evaluated = evaluation(checkpoint, data=tmp_path / "test.npz")
    loss = evaluated.metrics()["data/loss"]
    assert loss == pytest.approx(float(np.mean((expected[:, 0] - y[360:]) ** 2)), rel=1e-5)
    kept = evaluated.predictions()
    np.testing.assert_allclose(kept.targets[:, 0], y[360:], rtol=1e-6)


def test_folders_and_globs_are_read_in_sorted_order(tmp_path):
    trainer, checkpoint, x, _ = _train(tmp_path, "classification")
    inputs = tmp_path / "inputs"
    (inputs / "deeper").mkdir(parents=True)
    np.savez(inputs / "b.npz", x=x[:3])  # unlabelled: prediction needs only x
    np.savez(inputs / "a.npz", x=x[3:5])
    np.savez(inputs / "deeper" / "c.npz", x=x[5:6])
    (inputs / ".hidden.npz").write_bytes(b"not read")
    files = [str(inputs / "a.npz"), str(inputs / "b.npz"), str(inputs / "deeper" / "c.npz")]
    assert input_files(inputs) == files
    assert input_files(f"{inputs}/*.npz") == files[:2]
    assert input_files(f"{inputs}/**/*.npz") == files
    assert input_files([files[1], files[0]]) == [files[1], files[0]]
    found = nnrun.predict(checkpoint, inputs)
    order = [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 0)]
    assert found.names == [f"{files[file]}:{row}" for file, row in order]
    predictions, _ = _expected(trainer, np.concatenate([x[3:5], x[:3], x[5:6]]))
    np.testing.assert_array_equal(found.predictions, predictions)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.npz", "missing.npz: no such file or folder"),
        (lambda d: f"{d}/*.nothing", "no file matches this pattern"),
        (lambda d: (d / "empty").mkdir() or d / "empty", "the folder holds no files"),
        (lambda d: (d / "bad.npz").write_bytes(b"text") and d / "bad.npz", "not a readable .npz file"),
        (lambda d: np.savez(d / "no_x.npz", y=np.zeros(3)) or d / "no_x.npz", "expected an array 'x'"),
        (
            lambda d: np.savez(d / "wide.npz", x=np.zeros((3, 7), np.float32)) or d / "wide.npz",
            r"wide.npz: samples of shape \[7\] .* but the model takes \[6\]",
        ),
    ],
)
def test_unreadable_inputs_are_named(tmp_path, make, message):
    _, checkpoint, _, _ = _train(tmp_path, "classification")
    with pytest.raises(DatasetError, match=message):
        nnrun.predict(checkpoint, make(tmp_path))


def test_evaluation_needs_targets_of_the_task(tmp_path):
    _, checkpoint, x, _ = _train(tmp_path, "classification")
    np.savez(tmp_path / "unlabelled.npz", x=x)
    with pytest.raises(DatasetError, match=r"unlabelled.npz: expected arrays 'x' and 'y'"):
        evaluation(checkpoint, data=tmp_path / "unlabelled.npz")
    np.savez(tmp_path / "floats.npz", x=x, y=np.full(len(x), 0.5))
    with pytest.raises(DatasetError, match=r"floats.npz: y does not fit task classification: .*sample 0"):
        evaluation(checkpoint, data=tmp_path / "floats.npz")


def test_evaluation_on_a_file_and_on_splits(tmp_path):
    trainer, checkpoint, _, y = _train(tmp_path, "classification")
    on_file = evaluation(checkpoint, data=tmp_path / "test.npz")
    expected = trainer.evaluate(trainer.test_loader, "data")
    assert on_file.metrics() == pytest.approx(expected, rel=1e-9)
    kept = on_file.predictions()
    np.testing.assert_array_equal(kept.targets, y)
    assert kept.names == [str(i) for i in range(len(y))]
    assert evaluation(checkpoint, split="test").metrics() == pytest.approx(
        trainer.evaluate(trainer.test_loader, "test"), rel=1e-9
    )
    assert evaluation(checkpoint, split="val").metrics() == pytest.approx(
        trainer.evaluate(trainer.val_loader, "val"), rel=1e-9
    )
    train_rows = trainer.train_loader.dataset
    unshuffled = DataLoader(
        ArrayDataset(train_rows.x, train_rows.y, trainer.test_loader.dataset.transform), 16
    )
    assert evaluation(checkpoint, split="train").metrics() == pytest.approx(
        trainer.evaluate(unshuffled, "train"), rel=1e-9
    )
    with pytest.raises(ValueError, match="split is one of test, val, train"):
        evaluation(checkpoint, split="everything")


def test_a_checkpoint_without_a_config(tmp_path):
    model = nn.Linear(6, 3)
    x, y = _data("classification", 32, 0)
    settings = TrainSettings(checkpoint=CheckpointSettings(str(tmp_path / "ck")))
    trainer = Trainer(
        model, nnrun.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(),
        DataLoader(ArrayDataset(x, y), 16, seed=0), settings=settings, progress=False,
    )  # fmt: skip
    trainer.fit()
    np.savez(tmp_path / "new.npz", x=x)
    with pytest.raises(CheckpointError, match="saved without a config"):
        nnrun.predict(tmp_path / "ck" / "last.safetensors", tmp_path / "new.npz")
    found = trainer.predict(ArrayDataset(x, y), names=[f"row {i}" for i in range(32)])  # classification
    output = model(nnrun.tensor(x)).detach().numpy()
    np.testing.assert_array_equal(found.predictions, output.argmax(1))
    assert found.names[0] == "row 0"
    with pytest.raises(ValueError, match="2 names for 32 predictions"):
        trainer.predict(ArrayDataset(x, y), names=["a", "b"])


def test_a_dataset_that_reads_no_new_inputs(tmp_path, small_config):
    Trainer.from_config(small_config(), progress=False).fit()
    np.savez(tmp_path / "new.npz", x=np.zeros((2, 1, 28, 28), np.float32))
    with pytest.raises(DatasetError, match=r"the synthetic dataset cannot read new inputs; .* npz"):
        nnrun.predict(tmp_path / "run" / "checkpoints" / "last.safetensors", tmp_path / "new.npz")


def _predictions(task, classes=None):
    rng = np.random.default_rng(0)
    output = rng.normal(size=(4, 3 if task in ("classification", "multilabel") else 1))
    predictions, scores = TASKS[task].interpret(output)
    names = classes or [str(i) for i in range(output.shape[1])]
    score_names = ["score"] if task == "binary" else names
    return Predictions(task, list("abcd"), predictions, scores.reshape(4, -1), score_names, classes)


def test_binary_and_multilabel_files(tmp_path):
    binary = _predictions("binary", ["no", "yes"])
    binary.targets = np.array([0, 1, 1, 0])
    write_predictions(binary, tmp_path / "b.csv")
    with open(tmp_path / "b.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == ["name", "prediction", "index", "target", "score_score"]
    assert [row["prediction"] for row in table] == [["no", "yes"][i] for i in binary.predictions]
    assert [row["target"] for row in table] == ["no", "yes", "yes", "no"]
    np.testing.assert_array_equal([float(row["score_score"]) for row in table], binary.scores[:, 0])
    labels = _predictions("multilabel", ["cat", "dog", "fox"])
    write_predictions(labels, tmp_path / "m.jsonl")
    write_predictions(labels, tmp_path / "m.npz")
    lines = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    on = [[name for name, bit in zip(labels.classes, row) if bit] for row in labels.predictions]
    assert [line["prediction"] for line in lines] == on and "index" not in lines[0]
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["predictions"], labels.predictions)
        assert archive["score_names"].tolist() == ["cat", "dog", "fox"]


def test_nothing_is_written_over_a_file(tmp_path):
    found = _predictions("classification")
    path = tmp_path / "p.csv"
    path.write_text("keep")
    with pytest.raises(FileExistsError):
        write_predictions(found, path)
    assert path.read_text() == "keep"
    write_predictions(found, path, overwrite=True)
    assert path.read_text().startswith("name,prediction")
    with pytest.raises(ValueError, match=r"p.txt: unknown prediction file type '.txt'"):
        check_output(tmp_path / "p.txt")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(IsADirectoryError):
        check_output(tmp_path / "folder.csv", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "folder.csv",
        "p.csv",
    ]  # no temporary file left behind
