"""Shared by the training tests: a tiny training config on synthetic data (fast), with dropout, augmentation
and a per-step scheduler so that every source of state a resume must restore is exercised; a smaller one,
for tests of what surrounds training; and a loss that turns NaN."""

import pytest

from nnrun import nn

TINY = """\
name: tiny
seed: 3
device: cpu
output: {output}
input_shape: [1, 8, 8]
model:
  module:
    Sequential: [Flatten, {{Linear: [64, 32]}}, ReLU, {{Dropout: 0.2}}, {{Linear: [32, 10]}}]
data:
  dataset: synthetic
  batch_size: 16
  val_split: 0.25
  augment: [hflip: {{p: 0.5}}]
  transforms: [normalize: {{mean: [0.0], std: [2.0]}}]
  options: {{train_size: 256, test_size: 64}}
optimizer: {{SGD: {{lr: 0.05, momentum: 0.9}}}}
scheduler: {{CosineAnnealingLR: {{T_max: steps}}, interval: step}}
train: {{epochs: 2, log_every: 4, metrics: [accuracy, top3]}}
checkpoint: {{every_epochs: 1, keep_last: 2, best: val/accuracy}}
"""


@pytest.fixture
def tiny_config(tmp_path):
    """``tiny_config(name="run")`` writes the tiny config with its run folder under ``tmp_path``."""

    def write(name="run"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(TINY.format(output=tmp_path / name), encoding="utf-8")
        return path

    return write


SMALL = """\
seed: 0
device: cpu
input_shape: [1, 4, 4]
model: {module: {Sequential: [Flatten, {Linear: [16, 3]}]}}
data:
  dataset: synthetic
  batch_size: 8
  options: {train_size: 32, test_size: 8, num_classes: 3, shape: [1, 4, 4]}
optimizer: {SGD: {lr: 0.1}}
train: {epochs: 1, log_every: 100}
output: OUTPUT
"""


@pytest.fixture
def small_config(tmp_path):
    """``small_config(replace={old: new}, name="small.yaml")`` writes a one-layer model on a small synthetic
    set (it trains in well under a second), edited by text replacement; its run folder is ``tmp_path/run``."""

    def write(replace=None, name="small.yaml"):
        text = SMALL.replace("OUTPUT", str(tmp_path / "run"))
        for old, new in (replace or {}).items():
            assert old in text, old
            text = text.replace(old, new)
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


class _NanAfter(nn.Module):
    """Cross-entropy that turns into NaN from the given call on."""

    def __init__(self, calls):
        super().__init__()
        self.calls, self.loss = calls, nn.CrossEntropyLoss()

    def forward(self, output, target):
        self.calls -= 1
        loss = self.loss(output, target)
        return loss * float("nan") if self.calls < 0 else loss


@pytest.fixture
def nan_loss_after():
    """``nan_loss_after(calls)``: a cross-entropy loss module that gives NaN after ``calls`` calls."""
    return _NanAfter


@pytest.fixture(scope="session")
def sklearn_data(tmp_path_factory):
    """A folder holding ``data/sklearn/``, written by ``scripts/export_sklearn_data.py`` from the datasets
    that ship inside scikit-learn (the example configs read them from there); skips without scikit-learn
    or Pillow."""
    pytest.importorskip("sklearn")
    pytest.importorskip("PIL")
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "export_sklearn_data.py"
    spec = importlib.util.spec_from_file_location("export_sklearn_data", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    root = tmp_path_factory.mktemp("sklearn")
    out = root / "data" / "sklearn"
    module.export_tables(out)
    module.export_digits(out / "digits")
    module.export_digits_multilabel(out)
    return root
