"""Shared helpers of the CLI tests: an in-process runner and the repository's configs."""

import pytest
from typer.testing import CliRunner

from nnrun_cli.app import app

PLAIN_ENV = {"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "120"}


@pytest.fixture
def invoke():
    """``invoke(*args, env=None)`` runs ``nnrun ARGS`` in-process with plain (non-terminal) output."""
    runner = CliRunner()

    def run(*args, env=None):
        return runner.invoke(app, [str(arg) for arg in args], env=env or PLAIN_ENV)

    return run


@pytest.fixture
def write_config(tmp_path):
    """``write_config(text, name="model.yaml")`` writes a YAML file under ``tmp_path``; returns its path."""

    def write(text, name="model.yaml"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
