"""The hint printed after Ctrl-C resumes the same run when it is run as printed: it repeats every --set,
--output, --device and --epochs, quoted for the shell."""

import json
import os
import shlex
import signal
import subprocess
import sys

from nnrun_cli.commands.train import RunOptions


def test_the_printed_command_resumes_the_run(tmp_path, small_config):
    slower = {"train_size: 32": "train_size: 8000", "batch_size: 8": "batch_size: 4"}  # 2,000 steps an epoch
    config = small_config(slower, name="my config.yaml")  # a space: the hint must quote it
    output = tmp_path / "runs" / "it's here"  # and a quote
    bin_dir = os.path.dirname(sys.executable)  # where pip put the nnrun command
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    options = [
        "--set", "optimizer.SGD.lr=0.05", "--set", "data.options.noise=0.5", "--set", "train.log_every=100",
        "--output", str(output), "--device", "cpu", "--epochs", "3",
    ]  # fmt: skip
    process = subprocess.Popen(
        ["nnrun", "train", str(config), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    for line in process.stdout:  # wait until training is under way
        if line.startswith("epoch 1/3  step 100/2000"):
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    hint = err.rsplit("continue with: ", 1)[1].strip()
    assert shlex.split(hint) == ["nnrun", "train", str(config), *options, "--resume", "auto"]
    resumed = subprocess.run(
        ["bash", "-c", hint], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"(resumed from {output / 'checkpoints' / 'last.safetensors'} at epoch 1, step " in resumed.stdout
    summary = json.loads((output / "summary.json").read_text())
    assert summary["epochs"] == 3 and "lr: 0.05" in (output / "config.yaml").read_text()


def test_a_config_named_like_an_option_is_written_as_a_path():
    command = RunOptions("-x.yaml", ["a=b c"], output="runs/r", epochs=3).resume_command(2)
    assert shlex.split(command) == [
        "mpirun", "-n", "2", "nnrun", "train", "./-x.yaml", "--set", "a=b c", "--output", "runs/r",
        "--epochs", "3", "--resume", "auto",
    ]  # fmt: skip
