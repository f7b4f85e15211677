"""A user's ``Dataset`` subclass, registered in a ``.py`` file listed under a training config's top-level
``imports:``, is named like a built-in dataset: its constructor's arguments are checked at their lines, its
``(x, y)`` samples are read into memory, and it trains (scikit-learn's wine table), validates and resumes
exactly like built-in data."""

import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")
from crash_at import Crash, CrashAt

import nnrun
from nnrun.config import ConfigError, build_model, load_training
from nnrun.data import Dataset, DatasetError
from nnrun.data.datasets import DATASETS, load_dataset
from nnrun.train import Trainer

USER_DATA = '''\
import numpy as np

import nnrun
from nnrun.data import Dataset


@nnrun.register
class Wine(Dataset):
    """scikit-learn's wine table, standardised; every ``test_every``-th row is the test split."""

    def __init__(self, split: str, test_every: int = 4, scale: bool = True) -> None:
        from sklearn.datasets import load_wine

        data = load_wine()
        x = (data.data - data.data.mean(0)) / data.data.std(0) if scale else data.data
        test = np.arange(len(x)) % test_every == 0
        keep = test if split == "test" else ~test
        self.x, self.y = x[keep], data.target[keep]

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        return self.x[index], int(self.y[index])


@nnrun.register(name="ramp")
class Ramp(Dataset):
    """``n`` samples (x = [i, -i], y = i % 2; ``ragged``: x of sample 3 is longer), of one split only."""

    def __init__(self, n: int, pairs: bool = True, ragged: bool = False) -> None:
        self.n, self.pairs, self.ragged = n, pairs, ragged

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        x = np.array([index, -index], dtype=np.float32) if index != 3 or not self.ragged else np.zeros(3)
        return (x, index % 2) if self.pairs else x


@nnrun.register
class Twice(nnrun.nn.Module):
    def forward(self, x):
        return x * 2
'''

CONFIG = """\
imports: [wine_data.py]
seed: 1
device: cpu
output: {output}
model:
  module: {{Sequential: [{{Linear: [13, 32]}}, ReLU, {{Dropout: 0.1}}, {{Linear: [32, 3]}}]}}
data:
  dataset: Wine
  batch_size: 16
  val_split: 0.2
  options: {{test_every: 4}}
optimizer: {{Adam: {{lr: 0.01}}}}
train: {{epochs: {epochs}, log_every: 1000}}
checkpoint: {{every_steps: 3}}
"""


@pytest.fixture
def config(tmp_path):
    (tmp_path / "wine_data.py").write_text(USER_DATA)

    def write(name="wine", epochs=20, replace=None):
        text = CONFIG.format(output=tmp_path / name, epochs=epochs)
        for old, new in (replace or {}).items():
            assert old in text, old
            text = text.replace(old, new)
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        return path

    yield write
    DATASETS.unregister("Wine")
    DATASETS.unregister("ramp")
    nnrun.nn.LAYERS.unregister("Twice")
    sys.modules.pop("nnrun_config_import_wine_data", None)


def test_a_registered_dataset_trains_from_a_config(config):
    trainer = Trainer.from_config(config(), progress=False)
    final = trainer.fit()["final"]
    assert final["test/accuracy"] >= 0.9 and final["val/accuracy"] >= 0.9  # 45 test rows, 27 val rows
    train = trainer.train_loader.dataset
    assert train.x.dtype == np.float32 and train.x.shape == (106, 13) and train.y.dtype == np.int64
    assert "imports:\n- wine_data.py" in trainer.config.yaml  # the resolved config records its imports
    assert DATASETS.get("Wine").options() == ["test_every", "scale"]


def test_a_registered_dataset_resumes_exactly(config):
    straight = Trainer.from_config(config("straight", epochs=2), progress=False)
    straight.fit()
    crashed = Trainer.from_config(config("crashed", epochs=2), progress=False, callbacks=[CrashAt(11)])
    with pytest.raises(Crash):
        crashed.fit()
    resumed = Trainer.from_config(config("crashed", epochs=2), progress=False)
    resumed.fit(resume="auto")
    assert resumed.global_step == straight.global_step == 14  # 106 rows in batches of 16
    for key, value in straight.model.state_dict().items():
        assert value.numpy().tobytes() == resumed.model.state_dict()[key].numpy().tobytes(), key


def test_options_are_checked_against_the_constructor_at_their_line(config):
    cases = [
        (
            "{test_every: 4}",
            "{test_evry: 4}",
            "Wine has no option 'test_evry'; its options: test_every, scale",
        ),
        ("{test_every: 4}", "{test_every: four}", "Wine: argument 'test_every' must be int, got 'four'"),
        ("dataset: Wine", "dataset: ramp", "Ramp: missing required argument 'n'"),
        ("dataset: Wine", "dataset: Whine", "unknown dataset (did you mean Wine?)"),
    ]
    for old, new, message in cases:
        replace = {old: new, "{test_every: 4}": "{}"} if "ramp" in new else {old: new}
        with pytest.raises(ConfigError) as info:
            load_training(config(replace=replace))
        (error,) = info.value.errors
        assert message in error.message and error.line in (8, 11), (error.line, error.message)


def test_top_level_imports_also_register_layers(config):
    cfg = load_training(config(replace={"[{Linear: [13, 32]}": "[Twice, {Linear: [13, 32]}"}))
    assert type(build_model(cfg.model)[0]).__name__ == "Twice"


def test_a_missing_import_is_an_error_at_its_line(config):
    with pytest.raises(ConfigError) as info:
        load_training(config(replace={"imports: [wine_data.py]": "imports: [wine_dat.py]"}))
    found = {(error.path, error.line) for error in info.value.errors}
    assert ("imports.0", 1) in found  # and the dataset it would have registered is unknown, at its line
    assert any("cannot import 'wine_dat.py'" in error.message for error in info.value.errors)


def test_a_dataset_without_splits_trains_without_a_test_split(config):
    replace = {"dataset: Wine": "dataset: ramp", "{test_every: 4}": "{n: 40}", "[13, 32]": "[2, 32]"}
    with pytest.raises(DatasetError, match="takes no split argument, so it has no test split"):
        Trainer.from_config(config(replace=replace), progress=False)
    trainer = Trainer.from_config(config(replace=replace), progress=False, overrides=["train.test=false"])
    assert trainer.fit()["final"]["train/loss"] > 0 and len(trainer.train_loader.dataset) == 32
    ragged = {**replace, "{n: 40}": "{n: 40, ragged: true}"}
    with pytest.raises(DatasetError, match=r"sample 3 has shapes \[3\] and \[\], but sample 0 has \[2\]"):
        Trainer.from_config(config(replace=ragged), progress=False, overrides=["train.test=false"])


def test_samples_must_be_pairs_of_numbers_that_fit_in_memory(config, monkeypatch):
    load_training(config())  # registers Wine and ramp
    with pytest.raises(DatasetError, match=r"Ramp \(.*wine_data\.py\): dataset\[0\] must be a pair \(x, y\)"):
        load_dataset("ramp", n=3, pairs=False)
    ramp = load_dataset("ramp", n=3)
    assert ramp.x.tolist() == [[0, 0], [1, -1], [2, -2]] and ramp.y.tolist() == [0, 1, 0]
    monkeypatch.setattr("nnrun.data.datasets.user.too_large", lambda nbytes: f"{nbytes} bytes, too many")
    with pytest.raises(DatasetError, match="would take 48 bytes, too many; a registered dataset is held"):
        load_dataset("ramp", n=3)


def test_register_sends_dataset_subclasses_to_the_datasets():
    class Tiny(Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, index):
            return np.zeros(2), 0.5

    try:
        assert nnrun.register(Tiny) is Tiny and DATASETS.get("Tiny").dataset_class is Tiny
        assert load_dataset("Tiny").y.dtype == np.float32
        nnrun.register(Tiny)  # the same class again: nothing changes
        with pytest.raises(ValueError, match="dataset name 'mnist' is already registered"):
            nnrun.register(Tiny, name="mnist")
    finally:
        DATASETS.unregister("Tiny")
