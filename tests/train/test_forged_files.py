"""Loading a file never runs code or reads other files: configs stored in checkpoints and model files are
data. Forged files (with valid checksums) that would import code, include files, read a path or build a
dotted class are refused by every command and API that loads them, and the code never runs."""

import json
import re
import subprocess
import sys

import pytest
import safetensors
import safetensors.numpy

import nnrun
from nnrun.config import ConfigError, build_model, load_stored
from nnrun.serialization import CheckpointError
from nnrun.train import Trainer, load_checkpoint, save_checkpoint


@pytest.fixture
def run(tmp_path, small_config):
    """A trained small run: (config path, checkpoint path); and ``evil.py`` that writes ``MARKER``."""
    config = small_config()
    Trainer.from_config(config, progress=False).fit()
    (tmp_path / "evil.py").write_text(f"open({str(tmp_path / 'MARKER')!r}, 'w').write('ran')\n")
    (tmp_path / "secret.yaml").write_text("module: ReLU\nname: SECRET_CONTENT\n")
    return config, tmp_path / "run" / "checkpoints" / "last.safetensors"


#: 3 * 9**8 strings in a few lines ("billion laughs")
BOMB = "bomb:\n  l0: &l0 [a, b, c]\n" + "".join(
    f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9)
)
FORGERIES = {  # how the stored config is changed, and what the refusal says
    "imports a .py file": (
        lambda text, d: text.replace("model:\n", f"model:\n  imports: [{d / 'evil.py'}]\n", 1),
        "is not imported, and loading never imports code",
    ),
    "imports a relative .py file": (
        lambda text, d: text.replace("model:\n", "model:\n  imports: [evil.py]\n", 1),
        "is not imported",
    ),
    "imports a module": (
        lambda text, d: text.replace("model:\n", "model:\n  imports: [antigravity]\n", 1),
        "'antigravity' is not imported",
    ),
    "includes a file": (
        lambda text, d: text.replace("model:\n", f"model: !include {d / 'secret.yaml'}\nunused:\n", 1),
        "!include is not allowed in a config stored in a file",
    ),
    "holds an alias bomb": (lambda text, d: text + BOMB, "expands to more than"),
    "is a path": (lambda text, d: str(d / "secret.yaml"), "a model section is a mapping"),
    "names a dotted class": (
        lambda text, d: text.replace("Flatten", "subprocess.Popen", 1),
        "dotted",
    ),
}


#: Why a resume from each forgery is refused: the stored config differs from the run's, or is not data.
RESUME_REFUSAL = {
    "imports a .py file": "model.imports: [",
    "imports a relative .py file": 'model.imports: ["evil.py"] -> (not set)',
    "imports a module": 'model.imports: ["antigravity"] -> (not set)',
    "includes a file": "!include is not allowed in a config stored in a file",
    "holds an alias bomb": "expands to more than",
    "is a path": "the config saved in it is not a training config",
    "names a dotted class": "subprocess.Popen",
}


def _forge(checkpoint, tmp_path, name):
    state = load_checkpoint(checkpoint)
    edit, _ = FORGERIES[name]
    state["config"] = edit(state["config"], tmp_path)
    for key in ("format", "nnrun_version"):
        state.pop(key)
    forged = tmp_path / "forged.safetensors"
    save_checkpoint(state, forged)  # a valid checksum: the forgery is otherwise a good checkpoint
    return forged


def _nnrun(*args, cwd):
    command = [sys.executable, "-c", "from nnrun_cli.app import main; main()", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize("name", FORGERIES)
def test_a_forged_training_checkpoint_never_runs_code(run, tmp_path, name):
    config, checkpoint = run
    forged = _forge(checkpoint, tmp_path, name)
    _, refusal = FORGERIES[name]
    inspect = _nnrun("inspect", forged, cwd=tmp_path)
    assert inspect.returncode == 2 and refusal in inspect.stderr, inspect.stderr
    assert "Traceback" not in inspect.stderr and "SECRET_CONTENT" not in inspect.stderr + inspect.stdout
    evaluated = _nnrun("eval", config, "--checkpoint", forged, cwd=tmp_path)  # uses only the weights
    assert evaluated.returncode == 0, evaluated.stderr
    resumed = _nnrun("train", config, "--resume", forged, "--overwrite", cwd=tmp_path)
    assert resumed.returncode == 2 and "Traceback" not in resumed.stderr, resumed.stderr
    assert f"{forged}" in resumed.stderr and "SECRET_CONTENT" not in resumed.stderr
    assert RESUME_REFUSAL[name] in resumed.stderr, resumed.stderr
    with pytest.raises(CheckpointError, match=re.escape(RESUME_REFUSAL[name])):
        Trainer.from_config(config, progress=False).fit(resume=forged, overwrite=True)
    with pytest.raises(CheckpointError, match=refusal):
        nnrun.train.checkpoint.model_from_checkpoint(forged)
    nnrun.load(forged)  # a plain read of the tensors and metadata is fine
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.parametrize("name", [name for name in FORGERIES if name != "is a path"])
def test_a_forged_model_file_never_runs_code(run, tmp_path, name):
    model = build_model(load_stored("module:\n  Sequential: [Flatten, {Linear: [16, 3]}]\n", "<test>"))
    path = tmp_path / "model.safetensors"
    nnrun.save(model, path)
    with safetensors.safe_open(path, framework="np") as handle:
        metadata = handle.metadata()
        names = handle.keys()
        tensors = {name: handle.get_tensor(name) for name in names}
    edit, refusal = FORGERIES[name]
    document = json.loads(metadata["nnrun"])
    document["object"]["config"] = edit("model:\n" + _indent(document["object"]["config"]), tmp_path)
    safetensors.numpy.save_file(tensors, path, metadata={"nnrun": json.dumps(document)})
    with pytest.raises(CheckpointError, match=refusal):
        nnrun.load(path)
    result = _nnrun("inspect", path, cwd=tmp_path)
    assert result.returncode == 2 and refusal in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "MARKER").exists()


def _indent(text):
    return "".join(f"  {line}\n" for line in text.splitlines())


def test_a_stored_config_is_never_read_as_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.yaml").write_text("module: ReLU\n")
    with pytest.raises(ConfigError, match="a model section is a mapping"):
        load_stored("model.yaml", "ckpt[config]")


def test_a_stored_config_may_use_layers_registered_by_modules_already_imported():
    config = load_stored("imports: [nnrun.nn]\nmodule: {Linear: [2, 3]}\n", "ckpt[config]")
    assert type(build_model(config)).__name__ == "Linear"
