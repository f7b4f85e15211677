"""``nnrun predict`` and ``nnrun eval CHECKPOINT``: prediction files that equal the in-memory model's outputs,
a short table without --output, evaluation on a labelled file or a split, and every refusal as one
paragraph with exit code 2 and no traceback."""

import contextlib
import csv
import json

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.data import ArrayDataset, DataLoader
from nnrun.train import Trainer, TrainSettings, load_checkpoint, save_checkpoint
from nnrun.train.settings import CheckpointSettings

CONFIG = """\
name: tiny
seed: 0
device: cpu
task: {task}
input_shape: [5]
model:
  module:
    Sequential: [{{Linear: [5, 12]}}, ReLU, {{Linear: [12, {width}]}}]
data:
  dataset: npz
  root: {root}
  batch_size: 8
  val_split: 0.25
  transforms: [normalize: {{mean: [1.0], std: [3.0]}}]
optimizer: {{SGD: {{lr: 0.05}}}}
train: {{epochs: 2, log_every: 100, metrics: {metrics}}}
output: {output}
"""


def _arrays(task, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    if task == "classification":
        return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    return x, (x[:, :2].sum(1) - x[:, 4]).astype(np.float32)  # one float target (N,)


@pytest.fixture(params=["classification", "regression"])
def trained(request, tmp_path):
    """(trainer, checkpoint, config path, new inputs x) of a run trained on npz files in tmp_path."""
    task = request.param
    for split, n, seed in (("train", 64, 0), ("test", 24, 1), ("new", 20, 2)):
        x, y = _arrays(task, n, seed)
        np.savez(tmp_path / f"{split}.npz", x=x, y=y)
    width, metrics = (3, "[accuracy]") if task == "classification" else (1, "[]")
    config = tmp_path / "tiny.yaml"
    output = tmp_path / "run"
    config.write_text(CONFIG.format(task=task, width=width, root=tmp_path, metrics=metrics, output=output))
    trainer = Trainer.from_config(config, progress=False)
    trainer.fit()
    return trainer, output / "checkpoints" / "last.safetensors", config, _arrays(task, 20, 2)[0]


def _in_memory(trainer, x):
    trainer.model.eval()
    with nnrun.no_grad():
        output = trainer.model(nnrun.tensor((x - np.float32(1.0)) / np.float32(3.0))).numpy()
    return trainer.config.task.interpret(output)


def _no_traceback(result):
    assert "Traceback" not in result.output


def test_predict_writes_each_format(invoke, trained, tmp_path):
    trainer, checkpoint, _, x = trained
    predictions, scores = _in_memory(trainer, x)
    scores = scores.reshape(len(x), -1)
    names = [str(i) for i in range(len(x))]
    for suffix in ("csv", "npz", "jsonl"):
        result = invoke("predict", checkpoint, tmp_path / "new.npz", "--output", tmp_path / f"p.{suffix}")
        assert result.exit_code == 0, result.output
        assert result.stdout == f"wrote 20 predictions to {tmp_path / f'p.{suffix}'}\n"
    with open(tmp_path / "p.csv", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0][:2] == ["name", "prediction"] and [row[0] for row in table[1:]] == names
    assert len(table[0]) == 2 + scores.shape[1]
    np.testing.assert_allclose(np.array([row[2:] for row in table[1:]], dtype=float), scores, rtol=1e-6)
    with np.load(tmp_path / "p.npz", allow_pickle=False) as archive:
        assert archive["names"].tolist() == names
        np.testing.assert_allclose(archive["predictions"], predictions, rtol=1e-6)
        np.testing.assert_allclose(archive["scores"], scores, rtol=1e-6)
    lines = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [line["name"] for line in lines] == names
    if trainer.config.task.name == "classification":
        assert [int(row[1]) for row in table[1:]] == predictions.tolist()
        assert [line["prediction"] for line in lines] == predictions.tolist()
    else:
        np.testing.assert_allclose([float(row[1]) for row in table[1:]], predictions[:, 0], rtol=1e-6)
        np.testing.assert_allclose([line["prediction"] for line in lines], predictions[:, 0], rtol=1e-6)
    library = nnrun.predict(checkpoint, tmp_path / "new.npz")  # the same numbers as the files
    with np.load(tmp_path / "p.npz", allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["scores"], library.scores)


def test_predict_prints_a_short_table(invoke, trained, tmp_path):
    _, checkpoint, _, _ = trained
    result = invoke("predict", checkpoint, tmp_path / "new.npz", "--batch-size", 3, "--device", "cpu")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["name", "prediction"]
    assert [line.split()[0] for line in lines[1:11]] == [str(i) for i in range(10)]
    assert lines[11].startswith("(10 of 20 predictions shown; write them all with --output")
    assert len(lines) == 12


def test_predict_reads_folders_and_globs(invoke, trained, tmp_path):
    trainer, checkpoint, _, x = trained
    folder = tmp_path / "incoming"
    folder.mkdir()
    np.savez(folder / "2.npz", x=x[:4])
    np.savez(folder / "1.npz", x=x[4:6])
    for given in (folder, f"{folder}/*.npz"):
        out = tmp_path / "out.jsonl"
        result = invoke("predict", checkpoint, given, "--output", out, "--overwrite")
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        first, second = folder / "1.npz", folder / "2.npz"
        assert [line["name"] for line in lines] == [f"{first}:0", f"{first}:1"] + [
            f"{second}:{i}" for i in range(4)
        ]
        scores = _in_memory(trainer, np.concatenate([x[4:6], x[:4]]))[1].reshape(6, -1)
        np.testing.assert_allclose([list(line["scores"].values()) for line in lines], scores, rtol=1e-6)


def test_predict_refusals(invoke, trained, tmp_path):
    _, checkpoint, config, _ = trained
    existing = tmp_path / "p.csv"
    existing.write_text("keep")
    cases = [
        (("--output", existing), f"{existing} exists already; use --overwrite to replace it"),
        (
            ("--output", tmp_path / "p.xlsx"),
            "unknown prediction file type '.xlsx'; write .csv, .npz or .jsonl",
        ),
    ]
    for options, message in cases:
        result = invoke("predict", checkpoint, tmp_path / "new.npz", *options)
        assert result.exit_code == 2 and message in result.stderr, result.output
        _no_traceback(result)
    assert existing.read_text() == "keep"
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    for given, message in (
        (tmp_path / "nothing.npz", "nothing.npz: no such file or folder"),
        (tmp_path / "broken.npz", "broken.npz: not a readable .npz file"),
        (f"{tmp_path}/*.none", "no file matches this pattern"),
    ):
        result = invoke("predict", checkpoint, given)
        assert result.exit_code == 2 and message in result.stderr, result.output
        _no_traceback(result)
    result = invoke("predict", config, tmp_path / "new.npz")
    assert result.exit_code == 2 and "tiny.yaml is not a checkpoint" in result.stderr
    assert "--help" not in result.stderr
    assert invoke("predict", checkpoint, tmp_path / "new.npz", "--batch-size", 0).exit_code == 2


def test_predict_with_a_checkpoint_without_a_config(invoke, tmp_path):
    x, y = _arrays("classification", 16, 0)
    np.savez(tmp_path / "new.npz", x=x)
    model = nn.Linear(5, 3)
    settings = TrainSettings(checkpoint=CheckpointSettings(str(tmp_path / "ck")))
    Trainer(
        model, nnrun.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(),
        DataLoader(ArrayDataset(x, y), 8, seed=0), settings=settings, progress=False,
    ).fit()  # fmt: skip
    for command in ("predict", "eval"):
        args = [tmp_path / "ck" / "last.safetensors"] + (
            [tmp_path / "new.npz"] if command == "predict" else []
        )
        result = invoke(command, *args)
        assert result.exit_code == 2 and "saved without a config" in result.stderr, result.output
        _no_traceback(result)


def test_eval_on_a_labelled_file_and_on_splits(invoke, trained, tmp_path):
    trainer, checkpoint, config, _ = trained
    metrics = trainer.evaluate(DataLoader(_labelled(trainer, tmp_path / "new.npz"), 8), "data")
    result = invoke("eval", checkpoint, "--data", tmp_path / "new.npz", "--output", tmp_path / "e.csv")
    assert result.exit_code == 0, result.output
    first, wrote = result.stdout.splitlines()
    assert first.startswith(f"{checkpoint} (epoch 2, step 12) on {tmp_path / 'new.npz'}, 20 samples: ")
    assert first.endswith("  ".join(f"{key} {value:.4f}" for key, value in metrics.items()))
    assert wrote == f"wrote 20 predictions to {tmp_path / 'e.csv'}"
    with open(tmp_path / "e.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    targets = np.load(tmp_path / "new.npz")["y"]
    assert list(table[0])[:3] == ["name", "prediction", "target"]
    np.testing.assert_allclose([float(row["target"]) for row in table], targets, rtol=1e-6)
    for split, samples in (("test", 24), ("val", 16), ("train", 48)):
        result = invoke("eval", checkpoint, "--split", split)
        assert result.exit_code == 0, result.output
        assert f"on {split}, {samples} samples: {split}/loss " in result.stdout
    old = invoke("eval", config, "--checkpoint", checkpoint, "--split", "train")  # the old form
    assert old.exit_code == 0 and "on train, 48 samples: train/loss " in old.stdout, old.output
    for args, message in (
        (("--split", "all"), "--split is test, val or train, got 'all'"),
        (("--split", "val", "--data", tmp_path / "new.npz"), "give --data or --split, not both"),
        (("--data", tmp_path / "new.npz", "--output", tmp_path / "e.csv"), "e.csv exists already"),
    ):
        result = invoke("eval", checkpoint, *args)
        assert result.exit_code == 2 and message in result.stderr, result.output
        _no_traceback(result)
    np.savez(tmp_path / "unlabelled.npz", x=np.load(tmp_path / "new.npz")["x"])
    result = invoke("eval", checkpoint, "--data", tmp_path / "unlabelled.npz")
    assert result.exit_code == 2 and "expected arrays 'x' and 'y'" in result.stderr


def _labelled(trainer, path):
    with np.load(path) as archive:
        x, y = archive["x"], trainer.config.task.targets(archive["y"])
    return ArrayDataset(x, y, trainer.test_loader.dataset.transform)


def test_eval_overrides_the_stored_config(invoke, trained, tmp_path):
    _, checkpoint, _, _ = trained
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    x, y = _arrays("classification", 7, 5)
    np.savez(elsewhere / "test.npz", x=x, y=y.astype(np.float32))
    result = invoke("eval", checkpoint, "--set", f"data.root={elsewhere}")
    assert result.exit_code == 0, result.output
    assert "on test, 7 samples: test/loss" in result.stdout
    result = invoke("eval", checkpoint, "--set", "data.batch_size=zero")
    assert result.exit_code == 2 and "--set" in result.stderr and "data.batch_size" in result.stderr


def test_a_forged_checkpoint_runs_no_code(invoke, tmp_path, small_config):
    Trainer.from_config(small_config(), progress=False).fit()
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.safetensors")
    (tmp_path / "evil.py").write_text(f"open({str(tmp_path / 'MARKER')!r}, 'w').write('ran')\n")
    state["config"] = state["config"].replace("model:\n", f"model:\n  imports: [{tmp_path / 'evil.py'}]\n", 1)
    for key in ("format", "nnrun_version"):
        state.pop(key)
    save_checkpoint(state, tmp_path / "forged.safetensors")
    np.savez(tmp_path / "new.npz", x=np.zeros((2, 1, 8, 8), np.float32))
    forged = tmp_path / "forged.safetensors"
    for args in (
        ("predict", forged, tmp_path / "new.npz"),
        ("eval", forged),
        ("eval", forged, "--split", "val"),
    ):
        result = invoke(*args)
        assert result.exit_code == 2 and "is not imported" in result.stderr, result.output
        _no_traceback(result)
    assert not (tmp_path / "MARKER").exists()


def test_a_progress_bar_on_a_terminal(invoke, trained, tmp_path, monkeypatch):
    from nnrun_cli.commands import predict as command

    seen = []
    real = command.progress_bar

    def recording_bar():
        with real() as progress:
            assert progress is not None  # a terminal: the rich bar's hook

            def hook(done, total):
                seen.append((done, total))
                progress(done, total)

            yield hook

    monkeypatch.setattr(command, "is_terminal", lambda stream: True)
    monkeypatch.setattr(command, "progress_bar", contextlib.contextmanager(recording_bar))
    _, checkpoint, _, _ = trained
    result = invoke("predict", checkpoint, tmp_path / "new.npz", "--batch-size", 8, "-o", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    assert seen == [(8, 20), (16, 20), (20, 20)]
    assert "predict" in invoke("--help").stdout and "--overwrite" in invoke("predict", "--help").stdout
