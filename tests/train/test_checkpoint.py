"""Checkpoint files: checksum verified on load, atomic writes that keep the last good file, keep_last
pruning, and model weights that PyTorch can read."""

import os
from pathlib import Path

import pytest
import safetensors.numpy

import nnrun
from nnrun.serialization import CheckpointError
from nnrun.train import Trainer, load_checkpoint, save_checkpoint
from nnrun.train.checkpoint import checksum


@pytest.fixture
def trained(tiny_config):
    trainer = Trainer.from_config(tiny_config(), progress=False)
    trainer.fit()
    return trainer


def _last(trainer):
    return os.path.join(trainer.settings.checkpoint.dir, "last.safetensors")


def test_checkpoint_holds_the_whole_state(trained):
    state = load_checkpoint(_last(trained))
    assert state["format"] == "nnrun-training-checkpoint" and state["nnrun_version"] == nnrun.__version__
    assert state["progress"]["epoch"] == 2 and state["progress"]["batch_index"] == 0
    assert state["progress"]["global_step"] == trained.global_step
    assert set(state["model"]) == set(trained.model.state_dict())
    assert state["optimizer"]["state"] and state["scheduler"]["last_epoch"] == trained.global_step
    assert state["rng"]["global"].dtype == nnrun.uint8
    assert "model:" in state["config"] and state["history"] == trained.history
    assert state["best"]["metric"] == "val/accuracy"


def test_kept_files(trained):
    names = sorted(os.listdir(trained.settings.checkpoint.dir))
    assert names == [
        "best.safetensors",
        "epoch-0001.safetensors",
        "epoch-0002.safetensors",
        "last.safetensors",
    ]


def test_keep_last_prunes_old_numbered_files(tiny_config):
    trainer = Trainer.from_config(
        tiny_config(), progress=False, overrides=["checkpoint.every_steps=2", "checkpoint.keep_last=2"]
    )
    trainer.fit()
    names = sorted(os.listdir(trainer.settings.checkpoint.dir))
    assert [name for name in names if name.startswith("step-")] == [
        "step-000022.safetensors",
        "step-000024.safetensors",
    ]
    assert "epoch-0001.safetensors" in names and "epoch-0002.safetensors" in names


@pytest.mark.parametrize("where", ["tensor data", "metadata"])
def test_one_corrupt_byte_is_a_clear_error(trained, where):
    path = _last(trained)
    raw = bytearray(Path(path).read_bytes())
    header_end = 8 + int.from_bytes(raw[:8], "little")
    if where == "tensor data":
        raw[header_end + 5] ^= 0x01
    else:  # a digit of a number in the JSON metadata, which still parses
        position = raw.index(b"global_step", 8, header_end)
        raw[raw.index(b"2", position, header_end)] = ord("3")
    corrupt = os.path.join(os.path.dirname(path), "corrupt.safetensors")
    Path(corrupt).write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="corrupt") as info:
        load_checkpoint(corrupt)
    assert corrupt in str(info.value)


def test_a_truncated_file_is_a_clear_error(trained, tmp_path):
    path = tmp_path / "cut.safetensors"
    path.write_bytes(Path(_last(trained)).read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=str(path)):
        load_checkpoint(path)


def test_a_plain_state_dict_is_not_a_training_checkpoint(tmp_path):
    path = tmp_path / "weights.safetensors"
    nnrun.save({"w": nnrun.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="not an nnrun training checkpoint"):
        load_checkpoint(path)


def test_checksum_covers_values_and_structure():
    state = {"a": nnrun.tensor([1.0, 2.0]), "b": [1, 2.5, "x"]}
    assert checksum(state) == checksum({"a": nnrun.tensor([1.0, 2.0]), "b": [1, 2.5, "x"]})
    assert checksum(state) != checksum({"a": nnrun.tensor([1.0, 2.0]), "b": (1, 2.5, "x")})
    assert checksum(state) != checksum({"a": nnrun.tensor([1.0, 2.5]), "b": [1, 2.5, "x"]})


def test_a_failed_write_keeps_the_last_good_checkpoint(tiny_config, monkeypatch):
    # no scheduler: its schedule depends on train.epochs, which a resume could then not change
    trainer = Trainer.from_config(
        tiny_config(), progress=False, overrides=["train.epochs=1", "scheduler=null"]
    )
    trainer.fit()
    last = _last(trainer)
    good = Path(last).read_bytes()

    def disk_full(arrays, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors.numpy, "save_file", disk_full)
    again = Trainer.from_config(tiny_config(), progress=False, overrides=["scheduler=null"])
    with pytest.raises(CheckpointError, match="No space left on device") as info:
        again.fit(resume="auto")
    assert "the last good checkpoint is" in str(info.value) and last in str(info.value)
    assert Path(last).read_bytes() == good
    assert not [name for name in os.listdir(os.path.dirname(last)) if name.endswith(".tmp")]
    monkeypatch.undo()
    assert load_checkpoint(last)["progress"]["epoch"] == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_an_unwritable_folder_keeps_the_last_good_checkpoint(tiny_config):
    trainer = Trainer.from_config(
        tiny_config(), progress=False, overrides=["train.epochs=1", "scheduler=null"]
    )
    trainer.fit()
    folder = trainer.settings.checkpoint.dir
    good = Path(_last(trainer)).read_bytes()
    os.chmod(folder, 0o555)
    try:
        with pytest.raises(CheckpointError, match="cannot write checkpoint"):
            Trainer.from_config(tiny_config(), progress=False, overrides=["scheduler=null"]).fit(
                resume="auto"
            )
    finally:
        os.chmod(folder, 0o755)
    assert Path(_last(trainer)).read_bytes() == good


def test_model_weights_load_in_pytorch(trained):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    tensors = safetensors_torch.load_file(_last(trained))
    weights = {
        key.removeprefix("model."): value for key, value in tensors.items() if key.startswith("model.")
    }
    reference = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(64, 32),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(32, 10),
    )
    reference.load_state_dict(weights)
    x = nnrun.randn(4, 1, 8, 8)
    trained.model.eval()
    expected = trained.model(x).detach().numpy()
    got = reference.eval()(torch.from_numpy(x.numpy())).detach().numpy()
    assert abs(expected - got).max() < 1e-5


def test_save_checkpoint_round_trip(tmp_path):
    path = tmp_path / "c.safetensors"
    save_checkpoint({"model": {"w": nnrun.ones(3)}, "progress": {"epoch": 1}}, path)
    state = load_checkpoint(path)
    assert state["progress"] == {"epoch": 1} and nnrun.equal(state["model"]["w"], nnrun.ones(3))
