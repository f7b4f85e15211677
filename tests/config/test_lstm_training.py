"""The LSTM zoo config learns a task that needs memory: the class of a sequence is its first token."""

import json
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnrun.data import DatasetError, OptionError, load_dataset
from nnrun_cli.app import app

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
PLAIN_ENV = {"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "120"}


def test_first_token_data_are_seeded_one_hot_sequences_labelled_by_step_zero():
    train = load_dataset("first_token", split="train", steps=5, tokens=3, train_size=60, seed=2)
    again = load_dataset("first_token", split="train", steps=5, tokens=3, train_size=60, seed=2)
    test = load_dataset("first_token", split="test", steps=5, tokens=3, test_size=20, seed=2)
    assert train.x.shape == (60, 5, 3) and train.x.dtype == np.float32 and test.x.shape == (20, 5, 3)
    np.testing.assert_array_equal(train.x, again.x)
    assert not np.array_equal(train.x[:20], test.x)
    assert (train.x.sum(axis=2) == 1).all() and (train.x[:, 0].argmax(axis=1) == train.y).all()
    assert train.y.dtype == np.int64 and set(train.y.tolist()) == {0, 1, 2}


@pytest.mark.parametrize(
    "options, match",
    [({"steps": 0}, "steps must be an int >= 1"), ({"tokens": 2.5}, "tokens must be an int >= 1")],
)
def test_first_token_refuses_bad_options(options, match):
    with pytest.raises(OptionError, match=match):
        load_dataset("first_token", **options)
    with pytest.raises(DatasetError, match="Unknown split"):
        load_dataset("first_token", split="val")


def test_lstm_classifier_learns_the_first_token(tmp_path):
    started = time.perf_counter()
    arguments = ["train", str(CONFIGS / "lstm_first_token.yaml"), "--output", str(tmp_path / "run")]
    result = CliRunner().invoke(app, [*arguments, "--device", "cpu", "--quiet"], env=PLAIN_ENV)
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["final"]["test/accuracy"] >= 0.95, summary
    print(f"LSTM first-token task: {seconds:.1f} s, test accuracy {summary['final']['test/accuracy']:.4f}")
