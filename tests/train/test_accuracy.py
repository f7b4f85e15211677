"""The shipped configs learn: README's quick start (embedded MNIST sample, runs in CI) and LeNet-5 on the
full MNIST (slow; needs ../shared/data/mnist)."""

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnrun_cli.app import app

ROOT = Path(__file__).resolve().parents[2]
MNIST = ROOT.parent / "shared" / "data" / "mnist"
PLAIN_ENV = {"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "120"}


def _train(*args):
    return CliRunner().invoke(app, ["train", *map(str, args)], env=PLAIN_ENV)


def test_quick_start_reaches_90_percent(tmp_path):
    started = time.perf_counter()
    result = _train(
        ROOT / "configs" / "lenet_mnist_sample.yaml", "--output", tmp_path / "run", "--device", "cpu"
    )
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["final"]["test/accuracy"] >= 0.90, summary
    assert "test/accuracy" in result.stdout.splitlines()[-1]
    print(f"quick start: {seconds:.1f} s, test accuracy {summary['final']['test/accuracy']:.4f}")


@pytest.mark.slow
@pytest.mark.skipif(not MNIST.is_dir(), reason=f"no MNIST files in {MNIST}")
def test_lenet_on_full_mnist_reaches_98_5_percent(tmp_path):
    overrides = ["--set", f"data.root={MNIST}", "--set", "data.download=false", "--device", "cpu"]
    result = _train(
        ROOT / "configs" / "lenet_mnist.yaml", "--output", tmp_path / "run", "--quiet", *overrides
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["epochs"] == 2
    assert summary["final"]["test/accuracy"] >= 0.985, summary
