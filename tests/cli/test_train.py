"""``nnrun train`` and ``nnrun eval``: a run, overrides, --print-config, resume, Ctrl-C, and bad configs
reported as one clear message with exit code 2 and no traceback."""

import json
import os
import signal
import subprocess
import sys

import pytest

import nnrun

BASE = """\
name: tiny
seed: 0
device: cpu
input_shape: [1, 8, 8]
model:
  module:
    Sequential: [Flatten, {Linear: [64, 16]}, ReLU, {Linear: [16, 10]}]
data:
  dataset: synthetic
  batch_size: 32
  val_split: 0.25
  transforms: [normalize: {mean: [0.0], std: [2.0]}]
  options: {train_size: 128, test_size: 64}
loss: CrossEntropyLoss
optimizer: {SGD: {lr: 0.1, momentum: 0.9}}
scheduler: {CosineAnnealingLR: {T_max: epochs}}
train: {epochs: 2, log_every: 2, metrics: [accuracy]}
checkpoint: {best: val/accuracy}
"""


@pytest.fixture
def tiny(write_config, tmp_path):
    """``tiny(replace={old: new})`` writes the base config (edited) with its run folder under tmp_path."""

    def write(replace=None, name="tiny.yaml"):
        text = BASE + f"output: {tmp_path / 'run'}\n"
        for old, new in (replace or {}).items():
            assert old in text, old
            text = text.replace(old, new)
        return write_config(text, name)

    return write


def _no_traceback(result):
    assert "Traceback" not in result.output


def test_train_writes_the_run_folder(invoke, tiny, tmp_path):
    result = invoke("train", tiny())
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("training tiny on cpu: 96 samples, 3 steps per epoch, 2 epochs")
    assert "epoch 2/2 done in" in result.stdout and "test/accuracy" in result.stdout.splitlines()[-1]
    run = tmp_path / "run"
    assert {"config.yaml", "metrics.csv", "metrics.jsonl", "summary.json"} <= {p.name for p in run.iterdir()}
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == [
        "best.safetensors",
        "epoch-0001.safetensors",
        "epoch-0002.safetensors",
        "last.safetensors",
    ]


def test_quiet_and_overrides(invoke, tiny, tmp_path):
    out = tmp_path / "elsewhere"
    result = invoke(
        "train", tiny(), "--quiet", "--epochs", 1, "--output", out, "--set", "optimizer.SGD.lr=0.01"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 1
    assert "lr: 0.01" in (out / "config.yaml").read_text()


def test_print_config(invoke, tiny, tmp_path):
    result = invoke("train", tiny(), "--print-config", "--set", "train.epochs=7", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "epochs: 7" in result.stdout and "device: cpu" in result.stdout
    assert "batch_size: 32" in result.stdout and "keep_last: 3" in result.stdout  # defaults filled in
    assert not (tmp_path / "run").exists()
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(result.stdout)
    again = invoke("train", resolved, "--print-config")
    assert again.stdout == result.stdout


def test_resume_and_eval(invoke, tiny, tmp_path):
    config = tiny({"T_max: epochs": "T_max: 2"})  # a schedule that does not depend on train.epochs
    assert invoke("train", config, "--quiet", "--epochs", 1).exit_code == 0
    result = invoke("train", config, "--resume", "auto")
    assert result.exit_code == 0, result.output
    assert "(resumed from " in result.stdout and "at epoch 2, step 3)" in result.stdout
    checkpoint = tmp_path / "run" / "checkpoints" / "best.safetensors"
    result = invoke("eval", config, "--checkpoint", checkpoint)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{checkpoint} (epoch ")
    assert "on test, 64 samples: test/loss " in result.stdout and "test/accuracy " in result.stdout
    result = invoke("eval", config, "--checkpoint", checkpoint, "--split", "val")
    assert "on val, 32 samples: val/loss" in result.stdout


def test_eval_of_a_corrupt_checkpoint(invoke, tiny, tmp_path):
    config = tiny()
    assert invoke("train", config, "--quiet", "--epochs", 1).exit_code == 0
    path = tmp_path / "run" / "checkpoints" / "last.safetensors"
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(bytes(raw))
    for args in (("eval", config, "--checkpoint", broken), ("train", config, "--resume", broken)):
        result = invoke(*args)
        assert result.exit_code == 2
        assert "invalid checkpoint" in result.stderr and str(broken) in result.stderr
        assert "checksum mismatch" in result.stderr
        _no_traceback(result)


NO_OPTIONS = {"  options: {train_size: 128, test_size: 64}\n": ""}
BAD = {
    "unknown optimizer": (
        {"{SGD: {lr: 0.1, momentum: 0.9}}": "{SDG: {lr: 0.1}}"},
        "unknown optimizer 'SDG' (did you mean SGD?)",
    ),
    "bad lr type": ({"lr: 0.1": "lr: fast"}, "SGD: argument 'lr' must be"),
    "negative lr": ({"lr: 0.1": "lr: -0.1"}, "Invalid learning rate: -0.1"),
    "unknown optimizer argument": (
        {"momentum: 0.9": "momentun: 0.9"},
        "unknown argument 'momentun' (did you mean momentum?)",
    ),
    "missing data root": (
        {"dataset: synthetic": "dataset: mnist", **NO_OPTIONS},
        "data.root: dataset mnist needs root",
    ),
    "data root does not exist": (
        {"dataset: synthetic": "dataset: mnist\n  root: /no/such/mnist", **NO_OPTIONS},
        "no such folder /no/such/mnist",
    ),
    "unknown dataset": ({"dataset: synthetic": "dataset: mnsit"}, "unknown dataset (did you mean mnist?)"),
    "unknown dataset option": (
        {"train_size: 128": "train_sise: 128"},
        "synthetic has no option 'train_sise'",
    ),
    "unknown top-level key": ({"train: {": "trian: {"}, "unknown key 'trian' (did you mean train?)"),
    "unknown train key": ({"epochs: 2": "epoch: 2"}, "unknown key 'epoch' (did you mean epochs?)"),
    "zero batch size": (
        {"batch_size: 32": "batch_size: 0"},
        "data.batch_size: Input should be greater than 0",
    ),
    "val split out of range": ({"val_split: 0.25": "val_split: 1.5"}, "must be a fraction in [0, 1)"),
    "bad device": ({"device: cpu": "device: gpu"}, "device: must be cpu, cuda, cuda:N or auto"),
    "unknown scheduler": ({"CosineAnnealingLR": "CosineLR"}, "unknown scheduler 'CosineLR'"),
    "bad scheduler symbol": ({"T_max: epochs": "T_max: epochs / 2"}, "only + - * // on ints"),
    "unknown loss": ({"loss: CrossEntropyLoss": "loss: CrossEntropy"}, "did you mean CrossEntropyLoss?"),
    "unknown metric": ({"metrics: [accuracy]": "metrics: [acc]"}, "unknown metric 'acc'"),
    "best without a val split": ({"val_split: 0.25": "val_split: 0.0"}, "needs a validation split"),
    "unknown transform": (
        {"normalize:": "normalise:"},
        "unknown transform 'normalise' (did you mean normalize?)",
    ),
    "bad transform argument": ({"std: [2.0]": "std: [0.0]"}, "normalize: ValueError: std evaluated to zero"),
    "missing optimizer": (
        {"optimizer: {SGD: {lr: 0.1, momentum: 0.9}}\n": ""},
        "missing required key 'optimizer'",
    ),
    "model error": ({"{Linear: [64, 16]}": "{Linear: [63, 16]}"}, "expected input [*, 63], got [*, 64]"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_training_configs(invoke, tiny, case):
    replace, message = BAD[case]
    path = tiny(replace)
    result = invoke("train", path)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: invalid config"), result.stderr
    assert message in result.stderr, result.stderr
    assert f"{path}:" in result.stderr  # file:line:column of the offending value
    assert result.stdout == ""
    _no_traceback(result)
    assert invoke("validate", path).exit_code == 2  # validate checks training configs too


def test_the_error_points_at_the_line(invoke, tiny):
    path = tiny({"lr: 0.1": "lr: -0.1"})
    result = invoke("train", path)
    line = BASE.splitlines().index("optimizer: {SGD: {lr: 0.1, momentum: 0.9}}") + 1
    assert f"{path}:{line}:13: optimizer.SGD: SGD: ValueError: Invalid learning rate: -0.1" in result.stderr


def test_dataset_files_not_found_without_download(invoke, tiny, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    replace = {
        "dataset: synthetic": f"dataset: mnist\n  root: {empty}",
        "  options: {train_size: 128, test_size: 64}\n": "",
    }
    result = invoke("train", tiny(replace))
    assert result.exit_code == 2
    assert "data.root:" in result.stderr and str(empty) in result.stderr
    _no_traceback(result)


BAD_SETS = {
    "value of the wrong type": (
        ["train.epochs=two"],
        "--set:1:14: train.epochs: Input should be a valid integer",
    ),
    "path through a scalar": (
        ["train.epochs.max=3"],
        "cannot set train.epochs.max: train.epochs is not a mapping",
    ),
    "unknown key": (["train.epocs=3"], "--set:1:1: train.epocs: unknown key 'epocs' (did you mean epochs?)"),
    "no value": (["train.epochs"], "an override is key.path=value"),
    "list index out of range": (["data.transforms.3.normalize.mean=[0.5]"], "no list item '3' here"),
    "bad yaml": (["optimizer.SGD.lr=[0.1"], "the value is not valid YAML"),
    "bad lr": (["optimizer.SGD.lr=-1.0"], "Invalid learning rate: -1.0"),
}


@pytest.mark.parametrize("case", list(BAD_SETS))
def test_bad_overrides(invoke, tiny, case):
    sets, message = BAD_SETS[case]
    result = invoke("train", tiny(), *[arg for value in sets for arg in ("--set", value)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
    _no_traceback(result)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resume", "missing.safetensors"], "missing.safetensors: no such checkpoint file"),
        (["--resume", "auto"], "no checkpoint to resume from"),
        (["--epochs", "0"], "Invalid value for '--epochs'"),
    ],
)
def test_bad_options(invoke, tiny, args, message):
    result = invoke("train", tiny(), *args)
    assert result.exit_code == 2
    assert message in result.output
    _no_traceback(result)


@pytest.mark.skipif(nnrun.cuda.is_available(), reason="CUDA is available here")
def test_cuda_asked_for_but_not_available(invoke, tiny):
    result = invoke("train", tiny(), "--device", "cuda")
    assert result.exit_code == 2
    assert "device: cuda was asked for but CUDA is not available here" in result.stderr
    _no_traceback(result)


def test_ctrl_c_saves_an_interrupted_checkpoint(tiny, tmp_path):
    config = tiny({"epochs: 2": "epochs: 1000", "log_every: 2": "log_every: 1"})
    command = [sys.executable, "-c", "from nnrun_cli.app import main; main()", "train", str(config)]
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    for line in process.stdout:  # wait until training runs (a log line per step)
        lines.append(line)
        if line.startswith("epoch 2/1000"):
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    interrupted = tmp_path / "run" / "checkpoints" / "interrupted.safetensors"
    assert interrupted.is_file()
    assert f"interrupted: saved {interrupted}; continue with: nnrun train {config} --resume auto" in err
    assert "Traceback" not in err
    assert os.path.samefile(interrupted, tmp_path / "run" / "checkpoints" / "last.safetensors")


def test_inspect_a_training_checkpoint(invoke, tiny, tmp_path):
    assert invoke("train", tiny(), "--quiet", "--epochs", 1).exit_code == 0
    result = invoke("inspect", tmp_path / "run" / "checkpoints" / "last.safetensors")
    assert result.exit_code == 0, result.output
    assert "Total params: 1,210" in result.stdout and "[1, 10]" in result.stdout


def test_non_finite_loss(invoke, tiny):
    result = invoke("train", tiny({"lr: 0.1": "lr: 1.0e+30"}))
    assert result.exit_code == 1
    assert "error: non-finite loss (nan) at epoch 1, step 2 (batch 2 of 3); training stopped" in result.stderr
    assert "Warning" not in result.stderr
    _no_traceback(result)
