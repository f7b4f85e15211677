"""The shipped Transformer config learns a task that needs attention: the generated repeat_token dataset
(does the flagged first token appear again later?)."""

import json
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnrun.data.datasets import load_dataset
from nnrun.data.errors import DatasetError
from nnrun_cli.app import app

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "transformer_repeat_token.yaml"
PLAIN_ENV = {"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "120"}


def test_repeat_token_data_is_balanced_and_labelled_right():
    dataset = load_dataset("repeat_token", split="test", length=12, vocab=5, test_size=600, seed=3)
    x, y = dataset.x, dataset.y
    assert x.shape == (600, 12, 6) and x.dtype == np.float32 and y.dtype == np.int64
    tokens = x[..., :5].argmax(-1)
    assert np.all(x[..., :5].sum(-1) == 1) and np.all(x[:, 0, 5] == 1) and np.all(x[:, 1:, 5] == 0)
    repeated = (tokens[:, 1:] == tokens[:, :1]).any(axis=1)
    np.testing.assert_array_equal(repeated, y == 1)
    assert 0.4 < y.mean() < 0.6
    train = load_dataset("repeat_token", length=12, vocab=5, train_size=600, seed=3)
    assert not np.array_equal(train.x, x)  # the splits are drawn apart
    np.testing.assert_array_equal(
        load_dataset("repeat_token", split="test", test_size=8).x[:2],
        load_dataset("repeat_token", split="test", test_size=8).x[:2],
    )


@pytest.mark.parametrize("options", [{"vocab": 1}, {"length": 0}, {"train_size": 2.5}, {"seed": -1}], ids=str)
def test_repeat_token_options_are_checked(options):
    with pytest.raises(DatasetError, match=f"repeat_token: {next(iter(options))} must be an int"):
        load_dataset("repeat_token", **options)


def test_validate_reports_a_bad_repeat_token_option_at_its_line(tmp_path):
    text = CONFIG.read_text(encoding="utf-8").replace("vocab: 8", "vocab: 1")
    config = tmp_path / "bad.yaml"
    config.write_text(text, encoding="utf-8")
    (tmp_path / "models").symlink_to(CONFIG.parent / "models")  # the config includes its model file
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "vocab: 1" in row)
    result = CliRunner().invoke(app, ["validate", str(config)], env=PLAIN_ENV)
    assert result.exit_code != 0
    assert f"{config}:{line}:" in result.output and "repeat_token: vocab must be an int >= 2" in result.output


def test_transformer_learns_the_repeat_token_task(tmp_path):
    started = time.perf_counter()
    result = CliRunner().invoke(
        app, ["train", str(CONFIG), "--output", str(tmp_path / "run"), "--device", "cpu", "--quiet"],
        env=PLAIN_ENV,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["final"]["test/accuracy"] >= 0.95, summary  # chance is 0.5
    print(f"repeat-token task: {seconds:.1f} s, test accuracy {summary['final']['test/accuracy']:.4f}")


def test_inspect_shows_the_transformer_config():
    result = CliRunner().invoke(app, ["inspect", str(CONFIG)], env=PLAIN_ENV)
    assert result.exit_code == 0, result.output
    assert "MultiheadAttention (self_attn)" in result.output
    assert "Total params: 17,474" in result.output
