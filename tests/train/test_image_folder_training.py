"""Training on an image folder: scikit-learn's 8×8 digits, exported as PNG files at test time, train a small
MLP to at least 95 % test accuracy (measured: 97.3 % after 15 epochs, under 2 s on one CPU core);
an interrupted run resumes to bit-identical weights, with the images cached in memory or decoded per batch."""

import pytest

pytest.importorskip("PIL")
pytest.importorskip("sklearn")
from crash_at import Crash, CrashAt

from digit_images import export_digits
from nnrun.config import ConfigError
from nnrun.train import Trainer, load_checkpoint

CONFIG = """\
seed: 0
device: cpu
output: {output}
input_shape: [1, 8, 8]
model:
  module:
    Sequential: [Flatten, {{Linear: [64, 64]}}, ReLU, {{Dropout: 0.1}}, {{Linear: [64, {classes}]}}]
data:
  dataset: image_folder
  root: {root}
  batch_size: 32
  val_split: 0.1
  augment: [random_crop: {{size: 8, padding: 1}}]
  options: {{channels: 1, cache: {cache}}}
optimizer: {{Adam: {{lr: 0.01}}}}
train: {{epochs: {epochs}, log_every: 1000}}
checkpoint: {{every_steps: 8}}
"""


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    export_digits(root)
    return root


@pytest.fixture
def config(tmp_path, digits):
    def write(name, cache="memory", epochs=2, classes=10):
        path = tmp_path / f"{name}.yaml"
        fields = {
            "output": tmp_path / name,
            "root": digits,
            "cache": cache,
            "epochs": epochs,
            "classes": classes,
        }
        path.write_text(CONFIG.format(**fields), encoding="utf-8")
        return path

    return write


def _weights(trainer):
    return {key: value.numpy().tobytes() for key, value in trainer.model.state_dict().items()}


def test_digits_folder_trains_to_95_percent_test_accuracy(config):
    plain = ["data.augment=[]"]  # shifting 8 × 8 digits by a pixel costs more accuracy than it buys
    trainer = Trainer.from_config(config("digits", epochs=15), progress=False, overrides=plain)
    summary = trainer.fit()
    assert summary["final"]["test/accuracy"] >= 0.95
    saved = load_checkpoint(trainer.checkpoints.file("last"))["preprocessing"]
    assert saved == trainer.preprocessing
    assert saved["source"] == "image_folder" and saved["classes"] == [str(d) for d in range(10)]
    assert saved["shape"] == [1, 8, 8] and saved["channels"] == 1


# 1213 training images (val_split 0.1 of 1348) in batches of 32: 38 steps per epoch; crash mid-epoch 2
@pytest.mark.parametrize("cache", ["memory", "none"])
def test_image_folder_resume_is_exact(config, cache):
    straight = Trainer.from_config(config("straight", cache), progress=False)
    straight.fit()
    crashed = Trainer.from_config(config("crashed", cache), progress=False, callbacks=[CrashAt(53)])
    with pytest.raises(Crash):
        crashed.fit()
    assert load_checkpoint(crashed.checkpoints.file("last"))["progress"]["global_step"] == 48
    resumed = Trainer.from_config(config("crashed", cache), progress=False)
    resumed.fit(resume="auto")
    assert resumed.resumed_from.endswith("last.safetensors")
    assert resumed.global_step == straight.global_step == 76
    assert _weights(resumed) == _weights(straight)


def test_a_model_with_another_number_of_classes_is_refused_at_its_line(config):
    with pytest.raises(ConfigError) as info:
        Trainer.from_config(config("narrow", classes=7), progress=False)
    (error,) = info.value.errors
    assert error.path == "model" and error.line == 6
    assert "the data has 10 classes (0, 1, 2, 3, 4, …), but the model outputs 7 scores" in error.message


def test_the_cache_modes_train_alike(config):
    runs, finals = [], []
    for cache in ("memory", "none"):  # each built just before it trains: building seeds the generator
        runs.append(Trainer.from_config(config(f"run-{cache}", cache, epochs=1), progress=False))
        finals.append(runs[-1].fit()["final"])
    assert finals[0] == finals[1]
    assert _weights(runs[0]) == _weights(runs[1])
