"""Fine-tuning from a config: ``init_from`` (weights only, key maps, strict or not), ``freeze`` and the
optimizer's ``param_groups``/``no_decay``, checked against what a torch user writes by hand."""

import numpy as np
import pytest

import nnrun
from nnrun.config import ConfigError
from nnrun.train import Trainer, TrainingInterrupted, load_checkpoint
from nnrun.train.fine_tuning import no_decay_names

torch = pytest.importorskip("torch")

MODEL = """\
seed: 1
device: cpu
input_shape: [1, 4, 4]
model:
  module:
    Sequential: [Flatten, {Linear: [16, 12]}, {LayerNorm: [12]}, ReLU, {Linear: [12, 3]}]
data:
  dataset: synthetic
  batch_size: 8
  val_split: 0.25
  options: {train_size: 64, test_size: 16, num_classes: 3, shape: [1, 4, 4]}
optimizer: {SGD: {lr: 0.1, momentum: 0.9}}
train: {epochs: 2, log_every: 100}
"""


@pytest.fixture
def write(tmp_path):
    """``write(extra, name)``: the small config plus ``extra`` lines, with its run folder under tmp_path."""

    def make(extra="", name="run", replace=None):
        text = MODEL + extra + f"output: {tmp_path / name}\n"
        for old, new in (replace or {}).items():
            assert old in text, old
            text = text.replace(old, new)
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return make


def _weights(model):
    return {key: value.numpy().copy() for key, value in model.state_dict().items()}


def test_init_from_a_checkpoint_or_a_state_dict_file(write, tmp_path):
    source = Trainer.from_config(write(name="source"), progress=False)
    source.fit()
    trained = _weights(source.model)
    nnrun.save(source.model.state_dict(), tmp_path / "weights.safetensors")
    for path in (source.checkpoints.file("last"), tmp_path / "weights.safetensors"):
        trainer = Trainer.from_config(write(f"init_from: {path}\n", name="tuned"), progress=False)
        for key, value in _weights(trainer.model).items():
            assert np.array_equal(value, trained[key]), key
        assert trainer.init_report.missing_keys == [] and len(trainer.init_report.loaded) == 6
    assert not np.array_equal(
        _weights(Trainer.from_config(write(name="fresh")).model)["1.weight"], trained["1.weight"]
    )


def test_init_from_maps_keys_and_strict_false_loads_what_fits(write, tmp_path):
    model = nnrun.nn.Sequential(nnrun.nn.Flatten(), nnrun.nn.Linear(16, 12))
    state = {f"backbone.{key}": value for key, value in model.state_dict().items()}
    state["head.extra"] = nnrun.zeros(2)
    nnrun.save(state, tmp_path / "backbone.safetensors")
    init = (
        f"init_from:\n  path: {tmp_path / 'backbone.safetensors'}\n  strict: false\n"
        "  map: {'^backbone\\.': '', '^head': 'classifier'}\n"
    )
    trainer = Trainer.from_config(write(init), progress=False)
    report = trainer.init_report
    assert report.loaded == ["1.weight", "1.bias"]
    assert report.missing_keys == ["2.weight", "2.bias", "4.weight", "4.bias"]
    assert report.unexpected_keys == ["classifier.extra"]
    assert "missing (left as built): 2.weight" in str(report)
    assert np.array_equal(
        trainer.model.state_dict()["1.weight"].numpy(), model.state_dict()["1.weight"].numpy()
    )
    # strict (the default): the same file is an error naming the keys, at init_from's line
    strict = init.replace("  strict: false\n", "")
    with pytest.raises(ConfigError) as info:
        Trainer.from_config(write(strict, name="strict"), progress=False)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'strict.yaml'}:15:3: init_from: ")
    assert "missing from the file: 2.weight, 2.bias, 4.weight, 4.bias" in message
    assert "not in the model: classifier.extra" in message


def test_a_shape_mismatch_is_always_an_error_naming_both_shapes(write, tmp_path):
    other = nnrun.nn.Sequential(nnrun.nn.Flatten(), nnrun.nn.Linear(16, 5))
    nnrun.save(other.state_dict(), tmp_path / "other.safetensors")
    init = f"init_from: {{path: {tmp_path / 'other.safetensors'}, strict: false}}\n"
    with pytest.raises(ConfigError, match=r"1.weight: \(5, 16\) in the file, \(12, 16\) in the model"):
        Trainer.from_config(write(init), progress=False)


def test_init_from_file_problems_are_config_errors_at_its_line(write, tmp_path):
    (tmp_path / "notes.txt").write_text("not weights")
    for value, expected in [
        (tmp_path / "missing.safetensors", "no such file"),
        (tmp_path, "is a folder"),
        (tmp_path / "notes.txt", "not a valid safetensors file"),
    ]:
        with pytest.raises(ConfigError) as info:
            Trainer.from_config(write(f"init_from: {value}\n"), progress=False)
        assert str(info.value).startswith(f"{tmp_path / 'run.yaml'}:14:12: init_from: "), str(info.value)
        assert expected in str(info.value)


def test_resume_takes_the_checkpoint_s_weights_not_init_from(write, tmp_path):
    start = Trainer.from_config(write(name="start"), progress=False)
    nnrun.save(start.model.state_dict(), tmp_path / "start.safetensors")
    extra = f"init_from: {tmp_path / 'start.safetensors'}\nfreeze: ['^1\\.bias']\n"
    groups = {
        "optimizer: {SGD: {lr: 0.1, momentum: 0.9}}": (
            "optimizer: {SGD: {lr: 0.1, momentum: 0.9, weight_decay: 0.01}, no_decay: [bias, norm], "
            "param_groups: [{params: '^4\\.', lr: 0.01}]}"
        )
    }
    straight = Trainer.from_config(write(extra, name="straight", replace=groups), progress=False)
    straight.fit()

    class CtrlC(nnrun.train.Callback):
        def on_step_end(self, trainer, loss):
            if trainer.global_step == 9:
                trainer._interrupt.requested = True

    config = write(extra, name="resumed", replace=groups)
    with pytest.raises(TrainingInterrupted) as info:
        Trainer.from_config(config, progress=False, callbacks=[CtrlC()]).fit()
    assert len(load_checkpoint(info.value.checkpoint)["optimizer"]["param_groups"]) == 4
    # a changed init_from file is not read again on resume: the checkpoint's weights win
    nnrun.save({k: v * 0 for k, v in start.model.state_dict().items()}, tmp_path / "start.safetensors")
    resumed = Trainer.from_config(config, progress=False)
    resumed.fit(resume=info.value.checkpoint)
    for key, value in _weights(straight.model).items():
        assert value.tobytes() == _weights(resumed.model)[key].tobytes(), key


def test_frozen_parameters_do_not_change_and_are_not_optimized(write):
    trainer = Trainer.from_config(write("freeze: ['^1\\.', 'norm|^2\\.']\n"), progress=False)
    before = _weights(trainer.model)
    frozen = {"1.weight", "1.bias", "2.weight", "2.bias"}
    assert {name for name, p in trainer.model.named_parameters() if not p.requires_grad} == frozen
    optimized = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}
    assert optimized == {id(p) for name, p in trainer.model.named_parameters() if name not in frozen}
    trainer.fit()
    after = _weights(trainer.model)
    assert all(np.array_equal(before[key], after[key]) for key in frozen)
    assert not np.array_equal(before["4.weight"], after["4.weight"])


def test_regexes_that_match_nothing_are_errors_at_their_item(write, tmp_path):
    with pytest.raises(ConfigError) as info:
        Trainer.from_config(write("freeze: ['^1\\.', encoder]\n"), progress=False)
    assert str(info.value).startswith(
        f"{tmp_path / 'run.yaml'}:14:18: freeze.1: 'encoder' matches no parameter"
    )
    assert "the model's parameters: 1.weight, 1.bias, 2.weight" in str(info.value)
    groups = {
        "optimizer: {SGD: {lr: 0.1, momentum: 0.9}}": (
            "optimizer:\n  SGD: {lr: 0.1}\n  param_groups:\n    - {params: bias, lr: 0.2}\n"
            "    - {params: '^1\\.bias', lr: 0.3}"
        )
    }
    with pytest.raises(ConfigError) as info:
        Trainer.from_config(write(replace=groups), progress=False)
    assert str(info.value).startswith(
        f"{tmp_path / 'run.yaml'}:16:16: optimizer.param_groups.1.params: '^1\\\\.bias' matches no trainable"
    )
    assert "taken by an earlier group" in str(info.value)


def _torch_copy(model):
    """The same network in torch, with the same weights (float32)."""
    layers = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(16, 12),
        torch.nn.LayerNorm(12),
        torch.nn.ReLU(),
        torch.nn.Linear(12, 3),
    )
    with torch.no_grad():
        for name, value in layers.named_parameters():
            value.copy_(torch.from_numpy(model.state_dict()[name].numpy().copy()))
    return layers


@pytest.mark.parametrize("optimizer", ["AdamW", "SGD"])
def test_param_groups_equal_hand_written_torch_groups_and_train_the_same(write, optimizer):
    node = {
        "AdamW": "AdamW: {lr: 0.01, weight_decay: 0.1, betas: [0.8, 0.99]}",
        "SGD": "SGD: {lr: 0.05, momentum: 0.9, weight_decay: 0.1}",
    }[optimizer]
    config = (
        f"optimizer:\n  {node}\n  no_decay: [bias, norm]\n"
        "  param_groups:\n    - {params: '^4\\.', lr: 0.002}\n"
    )
    trainer = Trainer.from_config(write(replace={"optimizer: {SGD: {lr: 0.1, momentum: 0.9}}\n": config}))
    names = {id(p): name for name, p in trainer.model.named_parameters()}
    built = [
        ([names[id(p)] for p in g["params"]], g["lr"], g["weight_decay"])
        for g in trainer.optimizer.param_groups
    ]
    # what a torch user writes by hand: decay / no decay, the head with its own learning rate
    lr = {"AdamW": 0.01, "SGD": 0.05}[optimizer]
    expected = [
        (["1.weight"], lr, 0.1),
        (["1.bias", "2.weight", "2.bias"], lr, 0.0),
        (["4.weight"], 0.002, 0.1),
        (["4.bias"], 0.002, 0.0),
    ]
    assert built == expected
    reference = _torch_copy(trainer.model)
    by_name = dict(reference.named_parameters())
    hand = [
        {"params": [by_name[n] for n in group], "lr": lr_, "weight_decay": wd} for group, lr_, wd in expected
    ]
    extra = {"AdamW": {"betas": (0.8, 0.99)}, "SGD": {"momentum": 0.9}}[optimizer]
    torch_optimizer = getattr(torch.optim, optimizer)(hand, lr=lr, **extra)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x, y = rng.normal(size=(8, 1, 4, 4)).astype(np.float32), rng.integers(0, 3, size=8)
        for model, opt, lib in (
            (trainer.model, trainer.optimizer, nnrun),
            (reference, torch_optimizer, torch),
        ):
            opt.zero_grad()
            loss = (nnrun.nn.CrossEntropyLoss() if lib is nnrun else torch.nn.CrossEntropyLoss())(
                model(lib.tensor(x)), lib.tensor(y)
            )
            loss.backward()
            opt.step()
    for name, value in reference.named_parameters():
        np.testing.assert_allclose(
            trainer.model.state_dict()[name].numpy(),
            value.detach().numpy(),
            rtol=1e-5,
            atol=1e-6,
            err_msg=name,
        )


def test_no_decay_selects_what_torch_users_select_by_hand():
    from nnrun import nn

    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.GroupNorm(2, 4), nn.Flatten(),
        nn.Linear(4, 4, bias=False), nn.LayerNorm(4), nn.RMSNorm(4), nn.Linear(4, 2),
    )  # fmt: skip
    norms = (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.RMSNorm)
    by_hand = {
        f"{prefix}.{name}"
        for prefix, module in model.named_modules()
        if isinstance(module, norms)
        for name, _ in module.named_parameters()
    }
    biases = {name for name, _ in model.named_parameters() if name.endswith("bias")}
    assert no_decay_names(model, ("norm",)) == by_hand
    assert no_decay_names(model, ("bias",)) == biases == {"0.bias", "1.bias", "3.bias", "6.bias", "8.bias"}
    assert no_decay_names(model, ("bias", "norm")) == by_hand | biases


def test_a_resume_compares_every_group(write, tmp_path):
    from nnrun.train.errors import ResumeRefused

    groups = "optimizer:\n  SGD: {lr: 0.1}\n  param_groups: [{params: '^4\\.', lr: 0.01}]\n"
    replace = {"optimizer: {SGD: {lr: 0.1, momentum: 0.9}}\n": groups}
    config = write(name="groups", replace=replace)
    Trainer.from_config(config, progress=False, overrides=["train.epochs=1"]).fit()
    with pytest.raises(ResumeRefused, match=r"optimizer.param_groups.0.lr: 0.01 -> 0.02"):
        Trainer.from_config(config, overrides=["optimizer.param_groups.0.lr=0.02"]).fit(resume="auto")
    with pytest.raises(ResumeRefused, match=r"freeze: \(not set\) -> "):
        Trainer.from_config(config, overrides=["freeze=['^1\\.']"]).fit(resume="auto")
    # without a config (the Python API), the optimizers' groups are compared one by one
    trainer = Trainer.from_config(config, progress=False)
    model, groups = trainer.model, trainer.optimizer.param_groups
    changed = nnrun.optim.SGD(
        [{"params": groups[0]["params"]}, {"params": groups[1]["params"], "lr": 0.5}], lr=0.1
    )
    plain = Trainer(model, changed, nnrun.nn.CrossEntropyLoss(), trainer.train_loader, progress=False)
    with pytest.raises(ResumeRefused, match=r"optimizer.param_groups.1.lr: 0.01 -> 0.5"):
        plain.resume(tmp_path / "groups" / "checkpoints" / "last.safetensors")
