"""Values in a valid YAML document that would hang the builder, overflow Python's stack, allocate absurd
memory or quietly train on nonsense: each is a ConfigError at its YAML path and line, found in well under a
second, before anything is written."""

import time

import pytest

from nnrun.config import ConfigError, load, load_training
from nnrun.train import Trainer

LONG_SUM = " + ".join(["x"] * 20_000)
DEEP_NEGATION = "-" * 150 + "x"  # one unary minus inside another, 150 deep

MODELS = {  # model config, YAML path of the error, what it says
    "a billion repeats": (
        "module: {Repeat: {times: 1000000000, node: ReLU}}\n",
        "module.Repeat.times",
        "0 to 10,000",
    ),
    "repeats of repeats": (
        "module: {Repeat: {times: 1000, node: {Repeat: {times: 1000, node: "
        "{Repeat: {times: 1000, node: ReLU}}}}}}\n",
        "module.Repeat.node.Repeat.node.Repeat.node",
        "the model would have more than 10,000 modules",
    ),
    "a 20,000-term forward line": (
        f"modules: {{a: ReLU}}\nforward: ['y = {LONG_SUM}', 'return y']\n",
        "forward.0",
        "longer than 1,000 characters",
    ),
    "a deeply nested forward line": (
        f"modules: {{a: ReLU}}\nforward: ['y = {DEEP_NEGATION}', 'return y']\n",
        "forward.0",
        "nested deeper than 100 levels",
    ),
    "a power bomb in a block argument": (
        "blocks:\n  B:\n    args: {n: int}\n    modules: {l: {Linear: ['${n ** 9 ** 9 ** 9}', 2]}}\n"
        "module: {B: {n: 3}}\n",
        "blocks.B.modules.l.Linear.0",
        "the result would be too large",
    ),
    "a string bomb in a block argument": (
        "blocks:\n  B:\n    args: {s: str}\n    modules: {l: {Linear: [2, 2, '${s * 1000000000}']}}\n"
        "module: {B: {s: ab}}\n",
        "blocks.B.modules.l.Linear.2",
        "the result would be too large",
    ),
    "a 20,000-term block argument": (
        "blocks:\n  B:\n    args: {n: int}\n    modules: {l: {Linear: ['${"
        + " + ".join(["n"] * 20_000)
        + "}', 2]}}\nmodule: {B: {n: 3}}\n",
        "blocks.B.modules.l.Linear.0",
        "longer than 1,000 characters",
    ),
    "a format bomb in a block argument": (
        "blocks:\n  B:\n    args: {s: str}\n    modules: {l: {Linear: [2, 2, '${s % 1}']}}\n"
        "module: {B: {s: '%0999999999d'}}\n",
        "blocks.B.modules.l.Linear.2",
        "% formats text, which is not allowed",
    ),
    "a layer larger than memory": (
        "module: {Linear: [1000000, 1000000]}\n",
        "module.Linear",
        "the model's parameters (and drawing their initial values) would take 16.0 TB, more than half",
    ),
    "a long value in an error": (
        "module: {Linear: [2, '" + "x" * 100_000 + "']}\n",
        "module.Linear.out_features",
        "must be int, got 'xxxxxxxx",
    ),
    "ten thousand large layers": (
        "module: {Repeat: {times: 10000, node: {Linear: [4096, 4096]}}}\n",
        "module.Repeat",
        "the model's parameters (and drawing their initial values) would take 671.3 GB",
    ),
    "NaN in a layer": ("module: {Dropout: .nan}\n", "module.Dropout.p", "must be a number, got nan"),
}


@pytest.mark.parametrize("name", MODELS)
def test_hostile_model_values(name):
    text, path, message = MODELS[name]
    started = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        load(text)
    assert time.perf_counter() - started < 2.0
    error = info.value.errors[0]
    assert error.path == path and message in error.message and error.line >= 1, str(info.value)
    assert len(str(info.value)) < 2_000  # the long text is not echoed whole


TRAINING = {  # override, YAML path of the error, what it says
    "optimizer.SGD.lr=.nan": ("optimizer.SGD.lr", "must be a number, got nan"),
    "optimizer.SGD.lr=.inf": ("optimizer.SGD.lr", "must be finite, got inf"),
    "optimizer.SGD.momentum=-.inf": ("optimizer.SGD.momentum", "must be finite, got -inf"),
    "scheduler={StepLR: {step_size: 1, gamma: .nan}}": ("scheduler.StepLR.gamma", "got nan"),
    f"scheduler={{StepLR: {{step_size: '{' + '.join(['epochs'] * 20_000)}'}}}}": (
        "scheduler.StepLR.step_size",
        "must be int",
    ),
    'name="a\\0b"': ("name", "a string holds the character U+0000, which is not allowed"),
    'name="\\e[31mred"': ("name", "a string holds the character U+001B, which is not allowed"),
    'model.name="\\ud800"': ("model.name", "a string holds the character U+D800, which is not allowed"),
    'output=""': ("output", "must not be empty"),
    "checkpoint.dir=' '": ("checkpoint.dir", "must not be empty"),
    'data.root="data\\0"': ("data.root", "a string holds the character U+0000, which is not allowed"),
    "a." * 10_000 + "b=1": ("", "the key path has 10,001 parts; a config nests at most 64 levels"),
}


@pytest.mark.parametrize("override", TRAINING)
def test_hostile_training_values(small_config, override):
    path, message = TRAINING[override]
    started = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        load_training(small_config(), [override])
    assert time.perf_counter() - started < 2.0
    error = info.value.errors[0]
    assert error.path == path and message in error.message and error.file == "--set", str(info.value)


def test_an_optimizer_that_cannot_be_built_is_reported_at_its_node(small_config):
    config = small_config()
    with pytest.raises(ConfigError) as info:
        Trainer.from_config(config, progress=False, overrides=["model.module={Sequential: [Flatten]}"])
    error = info.value.errors[0]
    assert (error.path, error.file, error.line) == ("optimizer", str(config), 9)
    assert error.message == "ValueError: optimizer got an empty parameter list"


def test_a_config_whose_resolved_form_would_not_load_from_a_checkpoint_is_refused(small_config):
    nested = "Flatten"
    for _ in range(31):  # within the nesting limit as written; past it once model: gets its module: level
        nested = "{Sequential: [" + nested + "]}"
    config = small_config({"model: {module: {Sequential: [Flatten, {Linear: [16, 3]}]}}": f"model: {nested}"})
    with pytest.raises(
        ConfigError, match=r"the resolved config goes past what a checkpoint may hold \(.*nesting"
    ):
        load_training(config)


DATA = {  # overrides, YAML path of the error, what it says
    "val_split leaves nothing": (
        ["data.options.train_size=1", "data.val_split=0.5"],
        "data.val_split",
        "no training",
    ),
    "drop_last leaves no batch": (
        ["data.drop_last=true", "data.batch_size=64"],
        "data.drop_last",
        "no training batch",
    ),
    "a crop larger than the images": (
        ["data.augment=[random_crop: {size: 30}]"],
        "data.augment.0.random_crop",
        "random_crop on images of shape [1, 4, 4]: ValueError: RandomCrop size (30, 30) is larger",
    ),
    "padding too large for memory": (
        ["data.augment=[random_crop: {size: 4, padding: 10000000}]"],
        "data.augment.0.random_crop",
        "padding 10000000 makes a batch of 8 images take 12.8 PB, more than",
    ),
    "labels beyond the model's classes": (
        ["data.options.num_classes=5"],
        "data.dataset",
        "the labels are 0..4, but the model's output has 3 classes (0..2)",
    ),
    "a loss that cannot take class labels": (
        ["loss=MSELoss"],
        "loss",
        "MSELoss cannot take the model's output [8, 3] and labels",
    ),
    "regression targets with a class-index loss": (
        ["task=regression", "loss=CrossEntropyLoss"],
        "loss",
        "CrossEntropyLoss takes class indices, but task regression has float targets",
    ),
    "an output width that does not fit the targets": (
        ["task=regression"],
        "model",
        "task regression has 1 target value(s) per sample, so the model must output (N, 1); it outputs "
        "[8, 3]",
    ),
    "labels that are not 0/1 for a binary task": (
        ["task=binary"],
        "task",
        "synthetic targets do not fit task binary: targets must be 0 or 1, but sample",
    ),
    "data of another shape than the model's": (
        ["data.options.shape=[1, 8, 8]"],
        "data.dataset",
        "the model cannot run on this data, inputs of shape [1, 8, 8] (input_shape: [1, 4, 4])",
    ),
    "data of another shape than the model's, with the fix": (
        ["data.options.shape=[1, 8, 8]"],
        "data.dataset",
        "make the model take [1, 8, 8] (input_shape and the first layer)",
    ),
    "a schedule that fails at its first steps": (
        ["scheduler={CosineAnnealingLR: {T_max: epochs - 1}}"],
        "scheduler",
        "CosineAnnealingLR fails at its first steps in this run (epochs = 1, steps_per_epoch = 4, steps = 4)",
    ),
    "normalize with other channels": (
        ["data.transforms=[normalize: {mean: [0, 0, 0], std: [1, 1, 1]}]"],
        "data.transforms.0.normalize",
        "Normalize has 3 channels, the batch 1",
    ),
}


@pytest.mark.parametrize("name", DATA)
def test_data_that_cannot_train_is_refused_before_training(small_config, tmp_path, name):
    overrides, path, message = DATA[name]
    with pytest.raises(ConfigError) as info:
        Trainer.from_config(small_config(), progress=False, overrides=overrides)
    error = info.value.errors[0]
    assert error.path == path and message in error.message, str(info.value)
    assert error.file in ("--set", str(small_config())) and error.line >= 1
    assert not (tmp_path / "run").exists()


def test_an_absolute_checkpoint_dir_stands_on_its_own(small_config, tmp_path):
    trainer = Trainer.from_config(
        small_config(), progress=False, overrides=[f"checkpoint.dir={tmp_path / 'elsewhere'}"]
    )
    assert trainer.settings.checkpoint.dir == str(tmp_path / "elsewhere")
    relative = Trainer.from_config(small_config(), progress=False)
    assert relative.settings.checkpoint.dir == str(tmp_path / "run" / "checkpoints")
