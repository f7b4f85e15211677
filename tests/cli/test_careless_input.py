"""What a new user trips over: every error is one paragraph naming the file, option or setting (exit code 2,
no traceback); a model config given to train, a node where a model section belongs, an offline download,
evaluating with only the test files, and the small print of the output."""

import io
import os
import pty
import re
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

from nnrun._launcher import is_terminal
from nnrun.train import PlainProgress, Trainer


def _one_paragraph(result):
    assert "Traceback" not in result.output
    text = result.stderr.strip()
    assert text.startswith("error: ")
    assert not re.match(r"error: (MemoryError|RecursionError|ReaderError|KeyError|IndexError|error)\b", text)
    return text


CASES = {  # (file name, content) or None, the arguments after it, what the error says
    "NUL byte": (("c.yaml", b"model:\n  module: ReLU\n  name: a\x00\n"), ["validate"], "c.yaml:3:10: YAML: "),
    "Latin-1 text": (("c.yaml", b"name: caf\xe9\n"), ["train"], "c.yaml:1:10: YAML: not UTF-8 text"),
    "empty config": (("c.yaml", b""), ["train"], "c.yaml:1:1: the document is empty"),
    "a folder": (None, ["train", "."], "is a directory"),
    "a device": (None, ["validate", "/dev/zero"], "/dev/zero is not a regular file"),
    "a FIFO to inspect": (("pipe", None), ["inspect"], "pipe is not a regular file"),
    "a model config to train": (
        ("m.yaml", b"module: ReLU\n"),
        ["train"],
        "this is a model config (no model:, data: or optimizer:), not a training config: use it in one, "
        "e.g. model: !include m.yaml",
    ),
    "a model node to train": (
        ("m.yaml", b"Sequential: [Flatten, {Linear: [16, 3]}]\n"),
        ["train"],
        "this is a model config (no model:, data: or optimizer:)",
    ),
    "a bad --set": (
        "small",
        ["train", "--set", "seed"],
        "--set:1:1: 'seed': an override is",
    ),
    "a bad --set value": ("small", ["train", "--set", "seed=[1"], "--set:1:"),
    "--device cuda": (
        "small",
        ["train", "--device", "cuda"],
        "--device: device: cuda was",
    ),
    "--device nonsense": (
        "small",
        ["train", "--device", "tpu"],
        "--device: device: must be",
    ),
    "--output under a file": (
        "small",
        ["train", "--output", "c.yaml/run"],
        "cannot create the run folder c.yaml/run",
    ),
    "a bad --input-shape": (
        "small",
        ["inspect", "--input-shape", "1,a"],
        "--input-shape must",
    ),
    "a pickle to inspect": (("m.pt", b"\x80\x04\x95 pickled"), ["inspect"], "never loads"),
    "a text file to inspect": (("m.safetensors", b"hello"), ["inspect"], "invalid checkpoint: m.safetensors"),
}


@pytest.mark.parametrize("name", CASES)
def test_errors_are_one_paragraph_naming_the_thing(invoke, tmp_path, monkeypatch, small_config, name):
    monkeypatch.chdir(tmp_path)
    written, args, message = CASES[name]
    if written == "small":
        small_config(name="c.yaml")
        args = [args[0], "c.yaml", *args[1:]]
    elif written is not None:
        if written[1] is None:
            os.mkfifo(tmp_path / written[0])  # opening it to look inside would wait for a writer
        else:
            (tmp_path / written[0]).write_bytes(written[1])
        args = [args[0], written[0], *args[1:]]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in _one_paragraph(result), result.stderr


NODE = {"model: {module: {Sequential:": "model: {Sequential:", "]}}\n": "]}\n"}


def test_a_node_where_the_model_section_belongs_is_accepted(invoke, small_config):
    result = invoke("validate", small_config(NODE))
    assert result.exit_code == 0 and "model Sequential, 51 parameters" in result.stdout, result.output


def test_a_misspelt_model_section_shows_the_accepted_forms(invoke, small_config):
    result = invoke(
        "train", small_config({"model: {module: {Sequential:": "model: {Sequentail:", "]}}\n": "]}\n"})
    )
    assert result.exit_code == 2
    assert "model: no module: or modules: here; module: NODE (one layer or container" in result.stderr


MNIST_MODEL = {"input_shape: [1, 4, 4]": "input_shape: [1, 28, 28]", "[16, 3]": "[784, 3]"}


def _mnist(root, extra=""):
    return {
        **MNIST_MODEL,
        "dataset: synthetic": f"dataset: mnist\n  root: {root}{extra}",
        "  options: {train_size: 32, test_size: 8, num_classes: 3, shape: [1, 4, 4]}\n": "",
    }


def test_an_offline_download_says_so_and_leaves_no_folder(invoke, tmp_path, monkeypatch, small_config):
    def offline(url, timeout):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    config = small_config(_mnist(tmp_path / "data" / "mnist", "\n  download: true"))
    result = invoke("train", config)
    assert result.exit_code == 2, result.output
    text = _one_paragraph(result)
    assert "invalid config" not in text
    assert f"{config}:7:9: data.root: Download failed: could not fetch " in text
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in text and "storage.googleapis.com" in text
    assert "Temporary failure in name resolution" in text and "point root at it (data.root" in text
    assert not (tmp_path / "data").exists()


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_evaluating_on_the_test_split_needs_only_the_test_files(invoke, tmp_path, small_config):
    full, test_only = tmp_path / "full", tmp_path / "test_only"
    full.mkdir(), test_only.mkdir()
    rng = np.random.default_rng(0)
    for folder, splits in ((full, ("train", "t10k")), (test_only, ("t10k",))):
        for split in splits:
            _write_idx(folder / f"{split}-images-idx3-ubyte", rng.integers(0, 255, (16, 28, 28)))
            _write_idx(folder / f"{split}-labels-idx1-ubyte", rng.integers(0, 3, 16))
    config = small_config(_mnist(full))
    assert invoke("train", config, "--quiet").exit_code == 0
    checkpoint = tmp_path / "run" / "checkpoints" / "last.safetensors"
    result = invoke("eval", config, "--checkpoint", checkpoint, "--set", f"data.root={test_only}")
    assert result.exit_code == 0, result.output
    assert "on test, 16 samples: test/loss" in result.stdout


def test_help_shows_no_type_on_flags(invoke):
    for command in ([], ["train"], ["eval"], ["inspect"], ["validate"], ["info"]):
        result = invoke(*command, "--help")
        assert result.exit_code == 0 and "<bool>" not in result.output, result.output
    assert "--overwrite" in invoke("train", "--help").output


def test_one_epoch_is_singular(invoke, small_config):
    result = invoke(
        "train", small_config({"train_size: 32": "train_size: 8", "log_every: 100": "log_every: 1"})
    )
    assert result.exit_code == 0, result.output
    assert ": 8 samples, 1 step per epoch, 1 epoch\n" in result.stdout


def test_plain_progress_logs_at_least_every_so_often(small_config):
    stream = io.StringIO()
    Trainer.from_config(
        small_config({"train_size: 32": "train_size: 40"}), progress=PlainProgress(stream, every_s=0.0)
    ).fit()
    steps = [line for line in stream.getvalue().splitlines() if "batch loss" in line]
    assert [line.split("  ")[1] for line in steps] == [f"step {i}/5" for i in range(1, 6)]
    assert "evaluating test: batch 1/1" in stream.getvalue()  # a long evaluation is not silent either
    assert re.fullmatch(r"epoch 1/1  step 1/5  batch loss \d+\.\d{4}  [\d,]+ samples/s", steps[0])
    quiet = io.StringIO()  # by default a line comes every 30 s: none in a run of a fraction of a second
    again = small_config({"/run\n": "/again\n"}, name="again.yaml")
    Trainer.from_config(again, progress=PlainProgress(quiet)).fit()
    assert "epoch 1/1 done" in quiet.getvalue() and "batch loss" not in quiet.getvalue()


def test_output_under_an_mpi_launcher_is_never_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert is_terminal(Terminal())
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    assert not is_terminal(Terminal())  # Open MPI gives ranks a pty even when mpirun's output is a file


def _on_a_pty(args, env, cwd):
    """Run ``nnrun ARGS`` with stdout and stderr on a pseudo-terminal, as Open MPI runs its ranks."""
    primary, secondary = pty.openpty()
    command = [sys.executable, "-c", "from nnrun_cli.app import main; main()", *map(str, args)]
    process = subprocess.Popen(command, stdout=secondary, stderr=secondary, env=env, cwd=cwd)
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the process closed its side
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=60)
    os.close(primary)
    return output.decode(errors="replace")


def test_no_escape_codes_under_an_mpi_launcher_even_on_a_pseudo_terminal(tmp_path, small_config):
    config = small_config()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env["TERM"] = "xterm-256color"
    assert "\x1b[" in _on_a_pty(["train", "--bogus"], env, tmp_path)  # a terminal of its own: colours
    env["OMPI_COMM_WORLD_SIZE"] = "1"  # started by mpirun, whose own output may be a file
    for args in (["train", "--bogus"], ["train", config], ["inspect", config]):
        output = _on_a_pty(args, env, tmp_path)
        assert "\x1b[" not in output and output.strip(), output
