"""The trainer: run folder files, callbacks, non-finite loss, the library API with your own objects."""

import csv
import json

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.config import load_training
from nnrun.data import ArrayDataset, DataLoader
from nnrun.serialization import CheckpointError
from nnrun.train import Callback, Trainer, TrainingError, TrainSettings, load_checkpoint
from nnrun.train.settings import CheckpointSettings


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_start(self, trainer):
        self.calls.append("train_start")

    def on_epoch_start(self, trainer):
        self.calls.append(f"epoch_start {trainer.epoch}")

    def on_step_end(self, trainer, loss):
        self.calls.append("step")

    def on_epoch_end(self, trainer, row):
        self.calls.append(f"epoch_end {row['epoch']}")

    def on_checkpoint(self, trainer, path):
        self.calls.append("checkpoint " + path.rsplit("/", 1)[-1])

    def on_train_end(self, trainer, summary):
        self.calls.append("train_end")


def test_run_folder_and_callbacks(tiny_config, tmp_path):
    recorder = Recorder()
    trainer = Trainer.from_config(tiny_config(), progress=False, callbacks=[recorder])
    summary = trainer.fit()
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoints", "config.yaml", "metrics.csv", "metrics.jsonl", "summary.json",
    ]  # fmt: skip
    assert load_training(run / "config.yaml").yaml == trainer.config.yaml  # the resolved config loads again
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows if row["kind"] == "step"] == [4, 8, 12, 16, 20, 24]
    epochs = [row for row in rows if row["kind"] == "epoch"]
    assert [row["epoch"] for row in epochs] == [1, 2]
    assert {"train/loss", "train/accuracy", "train/top3", "val/loss", "val/accuracy", "val/top3"} <= set(
        epochs[0]
    )
    with open(run / "metrics.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == len(rows) and table[0]["kind"] == "step" and "val/top3" in table[0]
    saved = json.loads((run / "summary.json").read_text())
    assert saved == json.loads(json.dumps(summary))
    assert {"wall_time_s", "samples_per_s", "final", "best", "last_checkpoint"} <= set(saved)
    assert {"test/loss", "test/accuracy", "val/accuracy"} <= set(saved["final"])
    assert saved["best"]["metric"] == "val/accuracy" and saved["epochs"] == 2 and saved["steps"] == 24
    assert recorder.calls[:2] == ["train_start", "epoch_start 0"]
    assert recorder.calls.count("step") == 24 and recorder.calls[-1] == "train_end"
    assert "checkpoint epoch-0001.safetensors" in recorder.calls and "epoch_end 2" in recorder.calls


def test_plain_progress_lines(tiny_config, capsys):
    Trainer.from_config(tiny_config(), progress=True).fit()
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("training tiny on cpu: 192 samples, 12 steps per epoch, 2 epochs")
    assert any(line.startswith("epoch 1/2  step 4/12  loss ") and "samples/s" in line for line in out)
    assert any(line.startswith("epoch 2/2 done in ") and "val/accuracy" in line for line in out)
    assert out[-1].startswith("done in ") and "test/accuracy" in out[-1]


def test_the_first_line_counts_optimizer_steps_of_accumulated_batches(tiny_config, capsys):
    Trainer.from_config(tiny_config(), progress=True, overrides=["train.accumulate_batches=5"]).fit()
    first = capsys.readouterr().out.splitlines()[0]
    assert "192 samples, 12 batches (3 optimizer steps of 5 batches) per epoch, 2 epochs" in first


def _parts(n=96, batch=16):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    loader = DataLoader(ArrayDataset(x, y), batch, shuffle=True, seed=1)
    nnrun.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    return model, nnrun.optim.SGD(model.parameters(), lr=0.1), loader


def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(tmp_path, nan_loss_after):
    model, optimizer, loader = _parts()
    settings = TrainSettings(epochs=3, checkpoint=CheckpointSettings(str(tmp_path / "ck")), test=False)
    loss_fn = nan_loss_after(8)
    trainer = Trainer(
        model=model, optimizer=optimizer, loss_fn=loss_fn, train_loader=loader, settings=settings
    )
    with pytest.raises(TrainingError) as info:
        trainer.fit()
    message = str(info.value)
    assert "non-finite loss (nan) at epoch 2, step 9 (batch 3 of 6)" in message
    assert str(tmp_path / "ck" / "epoch-0001.safetensors") in message
    assert load_checkpoint(tmp_path / "ck" / "last.safetensors")["progress"]["global_step"] == 6


def test_library_api_with_own_objects(tmp_path):
    model, optimizer, loader = _parts()
    scheduler = nnrun.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    settings = TrainSettings(epochs=2, log_every=3, output=str(tmp_path / "run"))
    parts = {"model": model, "optimizer": optimizer, "train_loader": loader, "test_loader": loader}
    trainer = Trainer(
        **parts, loss_fn=nn.CrossEntropyLoss(), scheduler=scheduler, settings=settings, progress=False
    )
    summary = trainer.fit()
    assert 0 <= summary["final"]["test/accuracy"] <= 1 and summary["steps"] == 12
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.025)
    assert not (tmp_path / "run" / "config.yaml").exists() and (tmp_path / "run" / "metrics.csv").exists()
    assert trainer.evaluate(loader, "train").keys() == {"train/loss", "train/accuracy"}


def test_trainer_arguments_are_checked(tiny_config):
    path = tiny_config()
    for config in (path, str(path), path.read_text(), load_training(path)):  # a path, YAML text, a config
        with pytest.raises(TypeError, match=r"^Trainer takes a model, .*use Trainer\.from_config\(config\)$"):
            Trainer(config, progress=False)
    model, optimizer, _ = _parts()
    with pytest.raises(TypeError, match="needs a model, optimizer and loss_fn"):
        Trainer(model=model, optimizer=optimizer)


def test_resume_auto_without_checkpoints_is_a_clear_error(tiny_config):
    with pytest.raises(CheckpointError, match="no checkpoint to resume from"):
        Trainer.from_config(tiny_config(), progress=False).fit(resume="auto")


def test_resume_into_another_model_is_a_clear_error(tiny_config, tmp_path):
    Trainer.from_config(tiny_config(), progress=False, overrides=["train.epochs=1"]).fit()
    wider = ["model.module.Sequential.1.Linear=[64, 48]", "model.module.Sequential.4.Linear=[48, 10]"]
    with pytest.raises(CheckpointError, match=r"model.module.Sequential.1.Linear.1: 32 -> 48\n"):
        Trainer.from_config(tiny_config(), progress=False, overrides=wider).fit(resume="auto")


def test_step_scheduler_symbols_are_resolved(tiny_config):
    trainer = Trainer.from_config(tiny_config(), progress=False)
    assert trainer.scheduler.T_max == 24  # steps = epochs × steps_per_epoch = 2 × 12
