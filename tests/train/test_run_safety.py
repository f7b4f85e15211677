"""No run is lost: a run folder is never clobbered, a resume is exact or refused before anything is written,
a failed write names the file and the last good checkpoint, and leftovers of interrupted writes are
cleaned."""

import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import nnrun
from nnrun import nn
from nnrun.data import DataLoader, TensorDataset
from nnrun.train import (
    Callback,
    CheckpointSettings,
    Trainer,
    TrainingInterrupted,
    TrainSettings,
    load_checkpoint,
)
from nnrun.train.errors import ResumeRefused, RunFolderError

CONFIG = """\
name: tiny
seed: 0
device: cpu
input_shape: [1, 4, 4]
model:
  module:
    Sequential: [Flatten, {{Linear: [16, 8]}}, ReLU, {{Linear: [8, 3]}}]
data:
  dataset: synthetic
  batch_size: 8
  val_split: 0.25
  transforms: [normalize: {{mean: [0.0], std: [2.0]}}]
  options: {{train_size: 48, test_size: 8, num_classes: 3, shape: [1, 4, 4]}}
optimizer: {{SGD: {{lr: 0.1, momentum: 0.9}}}}
train: {{epochs: 1, log_every: 100}}
checkpoint: {{best: val/accuracy}}
output: {output}
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(CONFIG.format(output=tmp_path / "run"))
    return path


def _snapshot(folder):
    """Every file under ``folder`` with the SHA-256 of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(Path(folder).rglob("*"))
        if path.is_file()
    }


def _cli(*args, cwd, preexec_fn=None):
    command = [sys.executable, "-c", "from nnrun_cli.app import main; main()", *map(str, args)]
    return subprocess.run(
        command, capture_output=True, text=True, cwd=cwd, timeout=120, preexec_fn=preexec_fn
    )


def test_training_again_into_a_run_folder_is_refused_and_changes_nothing(config, tmp_path):
    Trainer.from_config(config, progress=False).fit()
    before = _snapshot(tmp_path / "run")
    with pytest.raises(RunFolderError, match=r"run already holds a run \(config.yaml, .*checkpoints\)") as e:
        Trainer.from_config(config, progress=False).fit()
    assert "fit(resume='auto')" in str(e.value) and "fit(overwrite=True)" in str(e.value)
    result = _cli("train", config, cwd=tmp_path)
    assert result.returncode == 2 and "already holds a run" in result.stderr, result.stderr
    ways = "continue it with --resume auto, train into another folder with --output DIR or replace it with "
    ways += "--overwrite."
    assert ways in result.stderr and "fit(" not in result.stderr
    assert "Traceback" not in result.stderr
    assert _snapshot(tmp_path / "run") == before


def test_overwrite_replaces_only_the_runs_own_files(config, tmp_path):
    Trainer.from_config(config, progress=False, overrides=["train.epochs=2"]).fit()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    Trainer.from_config(config, progress=False).fit(overwrite=True)
    names = sorted(path.name for path in (tmp_path / "run" / "checkpoints").iterdir())
    assert names == ["best.safetensors", "epoch-0001.safetensors", "last.safetensors"]  # no epoch-0002
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


def test_a_folder_without_a_run_is_used_as_it_is(config, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "README").write_text("for the runs of this experiment")
    Trainer.from_config(config, progress=False).fit()
    assert (tmp_path / "run" / "summary.json").is_file()


def test_resuming_another_runs_checkpoint_into_a_folder_with_a_run_is_refused(config, tmp_path):
    Trainer.from_config(config, progress=False).fit()
    other = tmp_path / "other.yaml"
    other.write_text(CONFIG.format(output=tmp_path / "run2"))
    Trainer.from_config(other, progress=False).fit()
    before = _snapshot(tmp_path / "run2")
    with pytest.raises(RunFolderError, match="already holds a run"):
        Trainer.from_config(other, progress=False).fit(
            resume=tmp_path / "run" / "checkpoints" / "last.safetensors"
        )
    assert _snapshot(tmp_path / "run2") == before


REFUSED = {  # override: the line the refusal shows
    "seed=1": "seed: 0 -> 1",
    "data.batch_size=4": "data.batch_size: 8 -> 4",
    "data.val_split=0.5": "data.val_split: 0.25 -> 0.5",
    "data.options.train_size=64": "data.options.train_size: 48 -> 64",
    "data.transforms=[]": 'data.transforms: [{"normalize": {"mean": [0.0], "std": [2.0]}}] -> []',
    "data.augment=[hflip: {p: 0.5}]": 'data.augment: [] -> [{"hflip": {"p": 0.5}}]',
    "optimizer={Adam: {lr: 0.001}}": 'optimizer.Adam: (not set) -> {"lr": 0.001, "betas": [0.9, 0.999]',
    "optimizer.SGD.lr=0.01": "optimizer.SGD.lr: 0.1 -> 0.01",
    "optimizer.SGD.weight_decay=0.001": "optimizer.SGD.weight_decay: 0 -> 0.001",
    "loss={CrossEntropyLoss: {label_smoothing: 0.1}}": "loss.CrossEntropyLoss.label_smoothing: 0.0 -> 0.1",
    "train.grad_clip_norm=1.0": "train.grad_clip_norm: null -> 1.0",
    "scheduler={StepLR: {step_size: 1}}": 'scheduler: (not set) -> {"StepLR": {',
}


@pytest.mark.parametrize("override", REFUSED)
def test_a_resume_that_changes_the_run_is_refused_before_anything_is_written(config, tmp_path, override):
    Trainer.from_config(config, progress=False).fit()
    before = _snapshot(tmp_path / "run")
    result = _cli("train", config, "--resume", "auto", "--epochs", 2, "--set", override, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "cannot resume from" in result.stderr and REFUSED[override] in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert _snapshot(tmp_path / "run") == before


def test_a_changed_model_is_refused_naming_each_change(config, tmp_path):
    Trainer.from_config(config, progress=False).fit()
    wider = ["model.module.Sequential.1.Linear=[16, 12]", "model.module.Sequential.3.Linear=[12, 3]"]
    with pytest.raises(ResumeRefused) as info:
        Trainer.from_config(config, progress=False, overrides=wider).fit(resume="auto")
    assert "model.module.Sequential.1.Linear.1: 8 -> 12\n" in str(info.value)
    assert "model.module.Sequential.3.Linear.0: 8 -> 12\n" in str(info.value)


@pytest.mark.parametrize(
    "overrides",
    [
        ["train.epochs=2"],
        ["train.epochs=2", "train.log_every=1", "train.test=false"],
        ["train.epochs=2", "checkpoint.keep_last=1", "checkpoint.best=val/loss", "checkpoint.every_steps=2"],
        ["train.epochs=2", "device=cpu", "data.eval_batch_size=2", "name=renamed"],
    ],
)
def test_safe_changes_are_allowed(config, tmp_path, overrides):
    Trainer.from_config(config, progress=False).fit()
    summary = Trainer.from_config(config, progress=False, overrides=overrides).fit(resume="auto")
    assert summary["epochs"] == 2


def test_more_epochs_are_refused_when_the_schedule_depends_on_them(config, tmp_path):
    schedule = ["scheduler={CosineAnnealingLR: {T_max: epochs}}"]
    Trainer.from_config(config, progress=False, overrides=schedule).fit()
    with pytest.raises(ResumeRefused, match=r"train.epochs: 1 -> 3 \(the scheduler's arguments use epochs"):
        Trainer.from_config(config, progress=False, overrides=[*schedule, "train.epochs=3"]).fit(
            resume="auto"
        )


def test_a_corrupt_checkpoint_leaves_the_run_folder_as_it_was(config, tmp_path):
    Trainer.from_config(config, progress=False).fit()
    last = tmp_path / "run" / "checkpoints" / "last.safetensors"
    raw = bytearray(last.read_bytes())
    raw[-5] ^= 0xFF
    last.write_bytes(bytes(raw))
    before = _snapshot(tmp_path / "run")
    result = _cli("train", config, "--resume", "auto", "--epochs", 2, cwd=tmp_path)
    assert result.returncode == 2 and "checksum mismatch" in result.stderr
    assert _snapshot(tmp_path / "run") == before


def test_leftovers_of_interrupted_writes_are_removed_and_nothing_else(config, tmp_path):
    Trainer.from_config(config, progress=False).fit()
    checkpoints = tmp_path / "run" / "checkpoints"
    leftovers = [
        checkpoints / f".epoch-0002.safetensors.{'a' * 32}.tmp",
        checkpoints / f".last.safetensors.{'0123456789abcdef' * 2}.tmp",
        tmp_path / "run" / f".metrics.csv.{'f' * 32}.tmp",
        checkpoints / ".tmpCSh8j1",  # safetensors' writer makes its own, then renames it
    ]
    kept = [checkpoints / "notes.tmp", checkpoints / f".x.{'a' * 31}.tmp", tmp_path / "run" / "my.tmp"]
    kept += [
        tmp_path / "run" / ".tmpAbc123",
        checkpoints / ".tmpAbc12",
        checkpoints / f".notes.txt.{'a' * 32}.tmp",
    ]
    for path in leftovers + kept:
        path.write_bytes(b"\0" * 1000)
    Trainer.from_config(config, progress=False, overrides=["train.epochs=2"]).fit(resume="auto")
    assert not any(path.exists() for path in leftovers)
    assert all(path.exists() for path in kept)


def test_summary_names_the_last_checkpoint_not_the_best(config, tmp_path):
    summary = Trainer.from_config(config, progress=False).fit()
    assert summary["best"] is not None  # the best save came after the epoch's
    assert summary["last_checkpoint"].endswith("epoch-0001.safetensors")


@pytest.mark.parametrize("where", ["under a file", "in a read-only folder"])
def test_an_output_folder_that_cannot_be_created(config, tmp_path, where):
    (tmp_path / "file").write_text("")
    if where == "under a file":
        output = tmp_path / "file" / "run"
    else:
        if os.geteuid() == 0:
            pytest.skip("root can write into read-only folders")
        (tmp_path / "ro").mkdir(mode=0o555)
        output = tmp_path / "ro" / "run"
    result = _cli("train", config, "--output", output, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"error: cannot create the run folder {output}: " in result.stderr
    assert "cannot read" not in result.stderr and "Traceback" not in result.stderr


def _small_files():
    resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))  # a checkpoint takes ~6.6 kB


def test_a_checkpoint_write_that_fails_names_the_file_and_stops_cleanly(config, tmp_path):
    result = _cli("train", config, cwd=tmp_path, preexec_fn=_small_files)
    assert result.returncode == 1, result.stderr
    epoch = tmp_path / "run" / "checkpoints" / "epoch-0001.safetensors"
    assert f"error: cannot write checkpoint {epoch}: File too large; training stopped" in result.stderr
    assert "training stopped before any checkpoint was written" in result.stderr
    assert "Traceback" not in result.stderr and "SafetensorError" not in result.stderr
    assert [name for name in os.listdir(epoch.parent)] == []  # no partial or temporary file


def test_the_same_trainer_may_fit_again_into_its_own_run(config, tmp_path):
    trainer = Trainer.from_config(config, progress=False)
    trainer.fit()
    trainer.settings.epochs = 2
    assert trainer.fit()["epochs"] == 2


def test_writing_out_a_default_is_not_a_change(config, tmp_path):
    Trainer.from_config(config, progress=False).fit()
    same = [
        "train.epochs=2",
        "optimizer.SGD.dampening=0",
        "optimizer.SGD.nesterov=false",
        "optimizer.SGD.lr=1e-1",  # YAML 1.2's float, which PyYAML reads as text
        "data.options.noise=1.0",
        "loss={CrossEntropyLoss: {label_smoothing: 0.0}}",
    ]
    assert Trainer.from_config(config, progress=False, overrides=same).fit(resume="auto")["epochs"] == 2


def test_files_named_like_a_run_that_nnrun_did_not_write_are_never_replaced(config, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text("my: notes\n")
    (mine / "metrics.csv").write_text("date,value\n")
    before = _snapshot(mine)
    for overwrite in (False, True):
        with pytest.raises(
            RunFolderError, match=r"mine holds config.yaml, metrics.csv, which nnrun did not write"
        ):
            Trainer.from_config(config, progress=False, overrides=[f"output={mine}"]).fit(overwrite=overwrite)
    assert _snapshot(mine) == before


def test_a_run_folder_is_recognised_by_what_nnrun_wrote(config, tmp_path):
    Trainer.from_config(config, progress=False).fit()
    config_text = (tmp_path / "run" / "config.yaml").read_text()
    assert config_text.startswith("# nnrun: the resolved config of this run")
    (tmp_path / "run" / "checkpoints" / "notes.txt").write_text("kept")
    Trainer.from_config(config, progress=False).fit(overwrite=True)
    assert (tmp_path / "run" / "checkpoints" / "notes.txt").read_text() == "kept"


def test_a_shared_checkpoint_folder_is_named_in_the_refusal(config, tmp_path):
    shared = tmp_path / "shared-checkpoints"
    Trainer.from_config(config, progress=False, overrides=[f"checkpoint.dir={shared}"]).fit()
    elsewhere = [f"checkpoint.dir={shared}", f"output={tmp_path / 'run2'}"]
    with pytest.raises(RunFolderError) as info:
        Trainer.from_config(config, progress=False, overrides=elsewhere).fit()
    assert f"the checkpoint folder {shared} already holds 3 checkpoints" in str(info.value)
    assert "use another checkpoint folder" in str(info.value)
    assert not (tmp_path / "run2").exists()


def test_a_relative_checkpoint_dir_into_another_run_is_refused(config, tmp_path):
    Trainer.from_config(config, progress=False).fit()
    before = _snapshot(tmp_path / "run")
    into_it = [f"output={tmp_path / 'run2'}", "checkpoint.dir=../run/checkpoints"]
    with pytest.raises(
        RunFolderError, match=r"the checkpoint folder .*run/checkpoints already holds 3 checkpoints"
    ):
        Trainer.from_config(config, progress=False, overrides=into_it).fit()
    assert _snapshot(tmp_path / "run") == before and not (tmp_path / "run2").exists()


def _own_objects(lr):
    nnrun.manual_seed(0)
    model = nn.Linear(4, 2)
    x, y = nnrun.randn(16, 4), nnrun.randint(0, 2, (16,))
    loader = DataLoader(TensorDataset(x, y), batch_size=4, seed=0)
    optimizer = nnrun.optim.SGD(model.parameters(), lr=lr)
    return {"model": model, "optimizer": optimizer, "loss_fn": nn.CrossEntropyLoss(), "train_loader": loader}


def test_without_configs_a_changed_learning_rate_is_refused(tmp_path):
    settings = TrainSettings(
        epochs=1, output=str(tmp_path / "run"), checkpoint=CheckpointSettings(str(tmp_path / "run" / "c"))
    )
    Trainer(**_own_objects(0.1), settings=settings, progress=False).fit()
    settings.epochs = 2
    with pytest.raises(ResumeRefused, match=r"optimizer.param_groups.0.lr: 0.1 -> 0.01\n"):
        Trainer(**_own_objects(0.01), settings=settings, progress=False).fit(resume="auto")
    assert Trainer(**_own_objects(0.1), settings=settings, progress=False).fit(resume="auto")["epochs"] == 2


def test_a_metrics_write_that_fails_names_the_file_and_stops_cleanly(config, tmp_path):
    config.write_text(
        config.read_text()
        .replace("train_size: 48", "train_size: 400")
        .replace("log_every: 100", "log_every: 1")
    )
    result = _cli("train", config, cwd=tmp_path, preexec_fn=_small_files)
    assert result.returncode == 1, result.stderr
    metrics = tmp_path / "run" / "metrics.jsonl"
    assert f"error: cannot write {metrics}: File too large; training stopped before any" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_run_folder_in_use_is_refused(config, tmp_path):
    config.write_text(config.read_text().replace("train_size: 48", "train_size: 8000"))
    command = [sys.executable, "-c", "from nnrun_cli.app import main; main()", "train", str(config)]
    first = subprocess.Popen([*command, "--epochs", "1000"], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        for line in first.stdout:  # its first checkpoint is written, and training goes on
            if line.startswith("epoch 1/1000 done"):
                break
        for args in (["--resume", "auto"], ["--overwrite"]):
            second = _cli("train", config, "--epochs", 1000, *args, cwd=tmp_path)
            assert second.returncode == 2, second.stderr
            in_use = f"the run folder {tmp_path / 'run'} is in use: another nnrun process is training into it"
            assert in_use in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert first.returncode == 130
    epoch = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.safetensors")["progress"]["epoch"]
    resumed = Trainer.from_config(config, progress=False, overrides=[f"train.epochs={epoch + 1}"]).fit(
        resume="auto"
    )
    assert resumed["epochs"] == epoch + 1  # the folder is free again


def test_a_resumed_run_that_fails_leaves_the_run_folder_as_it_found_it(config, tmp_path):
    Trainer.from_config(config, progress=False).fit()
    before = _snapshot(tmp_path / "run")
    result = _cli("train", config, "--resume", "auto", "--epochs", 2, cwd=tmp_path, preexec_fn=_small_files)
    assert result.returncode == 1 and "cannot write checkpoint" in result.stderr, result.stderr
    assert _snapshot(tmp_path / "run") == before  # config.yaml and the metrics too, not only the checkpoints


def test_a_resumed_run_that_fails_keeps_the_metrics_of_its_last_checkpoint(config, tmp_path):
    class FailsAtStep9(Callback):
        def on_step_end(self, trainer, loss):
            if trainer.global_step == 9:
                raise RuntimeError("the machine broke")

    Trainer.from_config(config, progress=False).fit()
    more = ["train.epochs=3", "train.log_every=1", "checkpoint.every_steps=2"]
    with pytest.raises(RuntimeError, match="the machine broke"):
        Trainer.from_config(config, progress=False, overrides=more, callbacks=[FailsAtStep9()]).fit(
            resume="auto"
        )
    last = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.safetensors")
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert last["progress"]["global_step"] == 8 and rows == last["history"] and rows[-1]["step"] == 8


def test_ctrl_c_while_evaluating_the_test_split_stops_there(config, tmp_path):
    class CtrlCDuringTest(Callback):
        def on_evaluate_step(self, trainer, split, batch, batches):
            if split == "test":
                trainer._interrupt.requested = True  # what the first Ctrl-C does

    trainer = Trainer.from_config(
        config, progress=False, overrides=["data.eval_batch_size=2"], callbacks=[CtrlCDuringTest()]
    )
    with pytest.raises(TrainingInterrupted) as info:
        trainer.fit()
    assert info.value.checkpoint == str(tmp_path / "run" / "checkpoints" / "epoch-0001.safetensors")
    assert not (tmp_path / "run" / "summary.json").exists()
