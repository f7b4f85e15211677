"""User optimizers, schedulers and transforms: registered in a file listed under ``imports:``, named in a
training config like the built-in ones, and checked the same way."""

import sys

import numpy as np
import pytest

import nnrun
from nnrun.config import ConfigError, load_training
from nnrun.config.training_nodes import build_optimizer, build_scheduler, build_transform
from nnrun.data.transforms import TRANSFORMS
from nnrun.optim import OPTIMIZERS, SCHEDULERS

EXTENSIONS = """\
import nnrun
from nnrun.data.transforms import Transform
from nnrun.optim import Optimizer
from nnrun.optim.lr_scheduler import LRScheduler


@nnrun.register
class PlainStep(Optimizer):
    def __init__(self, params, lr: float = 0.1) -> None:
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        super().__init__(params, {"lr": lr})

    def step(self, closure=None):
        with nnrun.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    p.sub_(p.grad, alpha=group["lr"])


@nnrun.register(name="Halving")
class HalvingLR(LRScheduler):
    def __init__(self, optimizer, every: int = 1, last_epoch: int = -1) -> None:
        self.every = every
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * 0.5 ** (self.last_epoch // self.every) for base in self.base_lrs]


@nnrun.register(name="shift")
class Shift(Transform):
    def __init__(self, by: float) -> None:
        self.by = by

    def __call__(self, batch, rng):
        return batch + self.by
"""

CONFIG = """\
model: {imports: [extensions.py], module: {Linear: [2, 1]}}
data: {dataset: synthetic, augment: [shift: {by: 2.0}], transforms: [normalize: {mean: [0.0], std: [2.0]}]}
optimizer: {PlainStep: {lr: 0.5}}
scheduler: {Halving: {every: 2}}
"""


@pytest.fixture
def config_file(tmp_path):
    (tmp_path / "extensions.py").write_text(EXTENSIONS)
    path = tmp_path / "train.yaml"
    path.write_text(CONFIG)
    yield path
    OPTIMIZERS.unregister("PlainStep")
    SCHEDULERS.unregister("Halving")
    TRANSFORMS.unregister("shift")
    sys.modules.pop("nnrun_config_import_extensions", None)


def test_registered_optimizer_scheduler_and_transform_are_used_by_name(config_file):
    cfg = load_training(config_file)
    assert (cfg.optimizer.name, cfg.scheduler.node.name) == ("PlainStep", "Halving")
    param = nnrun.nn.Parameter(nnrun.ones(1))
    optimizer = build_optimizer(cfg.optimizer, [param])
    scheduler = build_scheduler(
        cfg.scheduler.node, optimizer, {"epochs": 1, "steps": 1, "steps_per_epoch": 1}
    )
    lrs = []
    for _ in range(3):
        param.grad = nnrun.ones(1)
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    assert lrs == [0.5, 0.25, 0.25] and param.item() == pytest.approx(1 - 0.5 - 0.5 - 0.25)
    transform = build_transform(cfg.train_transforms)
    batch = np.zeros((1, 1, 2, 2), dtype=np.float32)
    np.testing.assert_array_equal(transform(batch, np.random.default_rng(0)), batch + 1.0)  # (0 + 2) / 2


def test_registered_classes_are_checked_like_built_in_ones(config_file):
    config_file.write_text(
        CONFIG.replace("lr: 0.5", "lr: -1.0").replace("every: 2", "every: two").replace("by: 2.0", "by: [1]")
    )
    with pytest.raises(ConfigError) as info:
        load_training(config_file)
    found = {(error.path, error.line): error.message for error in info.value.errors}
    assert found[("optimizer.PlainStep", 3)] == "PlainStep: ValueError: Invalid learning rate: -1.0"
    assert found[("scheduler.Halving.every", 4)] == "HalvingLR: argument 'every' must be int, got 'two'"
    assert found[("data.augment.0.shift.by", 2)] == "Shift: argument 'by' must be float, got [1]"


def test_unknown_names_list_the_registered_ones(config_file):
    config_file.write_text(CONFIG.replace("{PlainStep:", "{PlainStp:"))
    with pytest.raises(ConfigError) as info:
        load_training(config_file)
    (error,) = info.value.errors
    assert error.message == (
        "unknown optimizer 'PlainStp' (did you mean PlainStep?); "
        "known: PlainStep, SGD, Adagrad, Adam, AdamW, RMSprop, Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD"
    )
