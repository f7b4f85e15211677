"""The fine-tuning and loop keys of a training config: each mistake is reported at its file:line:col."""

import pytest

import nnrun
from nnrun.config import ConfigError, load_training
from nnrun.config.training_nodes import with_defaults

BASE = """\
model: {module: {Linear: [4, 2]}}
data: {dataset: synthetic, val_split: 0.25}
optimizer:
  AdamW: {lr: 0.01, weight_decay: 0.1}
"""


def _errors(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(BASE + text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_training(path)
    prefix = f"{path}:"
    return [str(error).removeprefix(prefix) for error in info.value.errors]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("init_from: 3\n", "5:12: init_from: a weights file path or {path:, strict:, map:}, got 3"),
        ("init_from: nowhere.safetensors\n", "5:12: init_from: no such file: nowhere.safetensors"),
        ("init_from: {path: nowhere.st}\n", "5:19: init_from.path: no such file: nowhere.st"),
        (
            "init_from: {paths: x}\n",
            "5:13: init_from.paths: unknown key 'paths'; init_from takes path, strict",
        ),
        ("freeze: ['(']\n", "5:10: freeze.0: invalid regular expression '('"),
        ("freeze: encoder\n", "5:9: freeze: "),
        ("train: {accumulate_batches: 0}\n", "5:29: train.accumulate_batches: "),
        ("train: {max_steps: '10'}\n", "5:20: train.max_steps: "),
        ("train: {limit_batches: 1.5}\n", "5:24: train.limit_batches: "),
        ("train: {val_every_steps: 0}\n", "5:26: train.val_every_steps: "),
        ("  no_decay: [bias, weights]\n", "5:20: optimizer.no_decay.1: 'weights' is not one of bias, norm"),
        ("  no_decay: bias\n", "4:3: optimizer.no_decay: a list of bias and/or norm, got 'bias'"),
        (
            "  param_groups: {params: x}\n",
            "4:3: optimizer.param_groups: a list of {params: REGEX, lr: …} groups",
        ),
        ("  param_groups: [{lr: 0.1}]\n", "5:18: optimizer.param_groups.0: a group is {params: REGEX"),
        (
            "  param_groups: [{params: '[', lr: 0.1}]\n",
            "5:27: optimizer.param_groups.0.params: invalid regular",
        ),
        (
            "  param_groups: [{params: x, lrr: 0.1}]\n",
            "5:30: optimizer.param_groups.0.lrr: AdamW: unknown argument",
        ),
        (
            "  param_groups: [{params: x, lr: fast}]\n",
            "5:34: optimizer.param_groups.0.lr: AdamW: argument 'lr'",
        ),
        (
            "  param_groups: [{params: x, lr: -1}]\n",
            "5:18: optimizer.param_groups.0: AdamW: ValueError: Invalid",
        ),
    ],
)
def test_mistakes_are_reported_where_they_are_written(tmp_path, text, expected):
    errors = _errors(tmp_path, text)
    assert any(error.startswith(expected) for error in errors), errors


def test_init_from_mapping_checks_each_key(tmp_path):
    weights = tmp_path / "w.safetensors"
    nnrun.save({"weight": nnrun.zeros(2, 4)}, weights)
    text = f"init_from:\n  path: {weights}\n  strict: yes please\n  map: {{'(': x, 'a': 3}}\n"
    errors = _errors(tmp_path, text)
    assert errors[0].startswith("7:11: init_from.strict: true or false, got 'yes please'")
    assert errors[1].startswith("8:9: init_from.map.(: invalid regular expression '('")
    assert errors[2].startswith("8:22: init_from.map.a: the replacement is text, got 3")


def test_validation_every_n_steps_needs_a_validation_split(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(BASE.replace(", val_split: 0.25", "") + "train: {val_every_steps: 5}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_training(path)
    assert str(info.value) == (
        f"{path}:5:26: train.val_every_steps: validation every N steps needs a validation split: set "
        "data.val_split (e.g. 0.1)"
    )


def test_the_resolved_config_keeps_the_keys_and_loads_again(tmp_path):
    weights = tmp_path / "w.safetensors"
    nnrun.save({"weight": nnrun.zeros(2, 4)}, weights)
    text = (
        "  param_groups: [{params: bias, lr: 1e-3, betas: [0.8, 0.9]}]\n  no_decay: [norm, bias, norm]\n"
        f"init_from: {{path: {weights}, strict: false, map: {{'^backbone\\.': ''}}}}\n"
        "freeze: ['^weight$']\n"
        "train: {accumulate_batches: 4, max_steps: 100, val_every_steps: 10, limit_batches: 7}\n"
    )
    path = tmp_path / "c.yaml"
    path.write_text(BASE + text, encoding="utf-8")
    cfg = load_training(path)
    assert cfg.init_from.path == str(weights) and cfg.init_from.strict is False
    assert cfg.init_from.map == [("^backbone\\.", "")]
    assert cfg.freeze == ["^weight$"] and cfg.no_decay == ("norm", "bias")
    assert cfg.param_groups[0].params == "bias"
    assert cfg.param_groups[0].options == {"lr": 0.001, "betas": (0.8, 0.9)}
    assert cfg.optimizer.kwargs == {"lr": 0.01, "weight_decay": 0.1}
    assert (cfg.train.accumulate_batches, cfg.train.max_steps) == (4, 100)
    assert (cfg.train.val_every_steps, cfg.train.limit_batches) == (10, 7)
    again = load_training(cfg.yaml)
    assert again.yaml == cfg.yaml and again.param_groups == cfg.param_groups and again.freeze == cfg.freeze
    assert again.init_from == cfg.init_from


def test_optimizer_defaults_are_filled_beside_param_groups():
    written = {"SGD": {"lr": 0.1}, "param_groups": [{"params": "bias", "lr": "1e-3"}], "no_decay": ["bias"]}
    explicit = {"SGD": {"lr": 0.1, "momentum": 0}, "param_groups": [{"params": "bias", "lr": "1e-3"}]}
    explicit["no_decay"] = ["bias"]
    assert with_defaults(written, "optimizer") == with_defaults(explicit, "optimizer")
    assert with_defaults(written, "optimizer")["param_groups"] == written["param_groups"]
