"""The ``nnrun`` command: in-process through Typer's runner, and as the installed console script."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nnrun
from nnrun_cli.app import app

runner = CliRunner()
PLAIN_ENV = {"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "120"}


def _console_script():
    beside_python = Path(sys.executable).parent / "nnrun"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nnrun")
    if found is None:
        pytest.skip("the nnrun console script is not installed")
    return found


def _run_script(*args):
    return subprocess.run(
        [_console_script(), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **PLAIN_ENV},
        check=False,
    )


def test_help_in_process():
    result = runner.invoke(app, ["--help"], env=PLAIN_ENV)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert "--version" in result.output
    assert "info" in result.output


def test_version_in_process():
    result = runner.invoke(app, ["--version"], env=PLAIN_ENV)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"nnrun {nnrun.__version__}"


def test_no_arguments_shows_help():
    result = runner.invoke(app, [], env=PLAIN_ENV)
    assert "Usage" in result.output


def test_info_lists_devices():
    result = runner.invoke(app, ["info"], env=PLAIN_ENV)
    assert result.exit_code == 0, result.output
    assert f"nnrun {nnrun.__version__}" in result.output
    assert "devices: cpu" in result.output


def test_unknown_command_fails():
    result = runner.invoke(app, ["no-such-command"], env=PLAIN_ENV)
    assert result.exit_code != 0


def test_console_script_help():
    result = _run_script("--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout and "--version" in result.stdout


def test_console_script_version():
    result = _run_script("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"nnrun {nnrun.__version__}"
