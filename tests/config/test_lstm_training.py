"""The LSTM zoo config learns a task that needs memory: the class of a sequence is its first symbol."""

import json
import time
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from nnrun_cli.app import app

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
PLAIN_ENV = {"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "120"}


def write_first_token_data(folder: Path, steps: int = 8, symbols: int = 4) -> None:
    """train.npz (1,600) and test.npz (400): one-hot symbol sequences (N, steps, symbols), label = step 0."""
    rng = np.random.default_rng(0)
    for split, count in (("train", 1600), ("test", 400)):
        sequence = rng.integers(0, symbols, (count, steps))
        np.savez(folder / f"{split}.npz", x=np.eye(symbols, dtype=np.float32)[sequence], y=sequence[:, 0])


def test_lstm_classifier_learns_the_first_token(tmp_path):
    write_first_token_data(tmp_path)
    started = time.perf_counter()
    config, output = CONFIGS / "lstm_first_token.yaml", tmp_path / "run"
    arguments = ["train", str(config), "--set", f"data.root={tmp_path}", "--output", str(output)]
    result = CliRunner().invoke(app, [*arguments, "--device", "cpu", "--quiet"], env=PLAIN_ENV)
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["final"]["test/accuracy"] >= 0.95, summary
    print(f"LSTM first-token task: {seconds:.1f} s, test accuracy {summary['final']['test/accuracy']:.4f}")
