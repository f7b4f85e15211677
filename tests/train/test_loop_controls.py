"""Loop controls: gradient accumulation (equal to one larger batch, exact resume in the middle of a group),
``max_steps``, ``val_every_steps``, ``limit_batches``, and what a resume accepts of them."""

import json

import numpy as np
import pytest

import nnrun
from nnrun import nn, optim
from nnrun.train import Callback, Trainer, TrainingInterrupted, TrainSettings, load_checkpoint
from nnrun.train.errors import ResumeRefused


class Batches:
    """Fixed float64 batches in order (no shuffling, no augmentation): what one batch size sees."""

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return len(self.x) // self.batch_size

    def __iter__(self):
        return self.iter_from(0)

    def iter_from(self, start):
        for i in range(start, len(self)):
            rows = slice(i * self.batch_size, (i + 1) * self.batch_size)
            yield nnrun.tensor(self.x[rows]), nnrun.tensor(self.y[rows])


def _float64_run(batch_size, accumulate, epochs=2):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(48, 6)), rng.integers(0, 3, size=48)
    nnrun.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    optimizer = optim.SGD(model.parameters(), lr=0.3, momentum=0.9, weight_decay=0.01)
    settings = TrainSettings(epochs=epochs, accumulate_batches=accumulate, test=False, metrics=())
    trainer = Trainer(
        model, optimizer, nn.CrossEntropyLoss(), Batches(x, y, batch_size), settings=settings, progress=False
    )
    trainer.fit()
    return trainer


def test_accumulated_batches_equal_one_batch_that_many_times_larger():
    big = _float64_run(batch_size=12, accumulate=1)
    accumulated = _float64_run(batch_size=4, accumulate=3)
    assert accumulated.global_step == big.global_step == 8  # optimizer steps, not batches
    for (name, a), b in zip(accumulated.model.state_dict().items(), big.model.state_dict().values()):
        assert a.dtype == nnrun.float64
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-12, err_msg=name)
    # and it is not the same as training on the small batches without accumulation
    small = _float64_run(batch_size=4, accumulate=1)
    assert not np.allclose(
        small.model.state_dict()["0.weight"].numpy(), big.model.state_dict()["0.weight"].numpy()
    )


def test_an_epoch_s_last_incomplete_group_steps_and_the_scheduler_counts_steps(tiny_config):
    # 12 batches per epoch in groups of 5: steps after batches 5, 10 and 12; a per-step scheduler over `steps`
    trainer = Trainer.from_config(
        tiny_config("acc"), progress=False, overrides=["train.accumulate_batches=5", "train.epochs=2"]
    )
    assert trainer.scheduler.T_max == 6
    steps = []

    class Steps(Callback):
        def on_step_end(self, trainer, loss):
            steps.append((trainer.epoch, trainer.batch_index, trainer.global_step))

    trainer.callbacks.hooks["on_step_end"].append(Steps().on_step_end)
    trainer.fit()
    assert steps == [(0, 5, 1), (0, 10, 2), (0, 12, 3), (1, 5, 4), (1, 10, 5), (1, 12, 6)]
    assert trainer.scheduler.last_epoch == 6 and trainer.position.samples_seen == 2 * 192


class CtrlCAtBatch(Callback):
    """Asks to stop (what Ctrl-C does) during batch ``batch`` of epoch ``epoch`` (1-based)."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_before_backward(self, trainer, loss):
        if (trainer.epoch + 1, trainer.batch_index + 1) == (self.epoch, self.batch):
            trainer._interrupt.requested = True


@pytest.mark.parametrize("epoch, batch", [(1, 7), (2, 3), (2, 12)])
def test_resume_in_the_middle_of_a_group_is_exact(tiny_config, epoch, batch):
    overrides = ["train.accumulate_batches=5"]
    straight = Trainer.from_config(tiny_config("straight"), progress=False, overrides=overrides)
    straight.fit()
    stopped = Trainer.from_config(
        tiny_config("stopped"), progress=False, overrides=overrides, callbacks=[CtrlCAtBatch(epoch, batch)]
    )
    with pytest.raises(TrainingInterrupted) as info:
        stopped.fit()
    state = load_checkpoint(info.value.checkpoint)
    assert (state["progress"]["epoch"], state["progress"]["batch_index"]) == (epoch - 1, batch)
    in_group = batch % 5 != 0 and batch != 12
    assert ("accumulated" in state) == in_group  # the partial sum of gradients, only while a group is open
    if in_group:
        assert set(state["accumulated"]) == set(state["model"])
    resumed = Trainer.from_config(tiny_config("stopped"), progress=False, overrides=overrides)
    resumed.fit(resume=info.value.checkpoint)
    for key, value in straight.model.state_dict().items():
        assert value.numpy().tobytes() == resumed.model.state_dict()[key].numpy().tobytes(), key
    assert resumed.global_step == straight.global_step == 6


def test_without_accumulation_the_checkpoint_layout_is_unchanged(tiny_config):
    trainer = Trainer.from_config(tiny_config(), progress=False, callbacks=[CtrlCAtBatch(1, 7)])
    with pytest.raises(TrainingInterrupted) as info:
        trainer.fit()
    state = load_checkpoint(info.value.checkpoint, complete=True)
    assert "accumulated" not in state and state["progress"]["global_step"] == 7


def test_max_steps_ends_the_run_with_its_checkpoint_and_summary(tiny_config):
    config = tiny_config("short")
    trainer = Trainer.from_config(config, progress=False, overrides=["train.max_steps=15", "train.epochs=5"])
    assert trainer.scheduler.T_max == 15  # `steps` is max_steps when that comes first
    summary = trainer.fit()
    assert summary["steps"] == trainer.global_step == 15 and summary["status"] == "completed"
    assert summary["epochs"] == 2 and "test/accuracy" in summary["final"]  # the second epoch ended at step 15
    last = load_checkpoint(trainer.checkpoints.file("last"))
    assert last["progress"]["global_step"] == 15
    assert json.loads((config.parent / "short" / "summary.json").read_text())["steps"] == 15
    # epochs that come first still end the run; the `steps` symbol is then epochs × steps per epoch
    longer = Trainer.from_config(tiny_config("long"), progress=False, overrides=["train.max_steps=1000"])
    assert longer.scheduler.T_max == 24
    assert longer.fit()["steps"] == 24


def test_val_every_steps_logs_validation_rows(tiny_config, capsys):
    from nnrun.train import PlainProgress

    config = tiny_config("val")
    trainer = Trainer.from_config(config, progress=PlainProgress(), overrides=["train.val_every_steps=5"])
    trainer.fit()
    assert "epoch 1/2  step 5/12  val/loss " in capsys.readouterr().out
    rows = [json.loads(line) for line in (config.parent / "val" / "metrics.jsonl").read_text().splitlines()]
    val = [(row["epoch"], row["step"]) for row in rows if row["kind"] == "val"]
    assert val == [(1, 5), (1, 10), (2, 15), (2, 20)]  # step 12 and 24 end an epoch: validated there
    row = next(row for row in rows if row["kind"] == "val")
    assert set(row) >= {"val/loss", "val/accuracy", "val/top3"}
    # the weights are those of a run without the extra validation
    plain = Trainer.from_config(tiny_config("plain"), progress=False)
    plain.fit()
    for key, value in plain.model.state_dict().items():
        assert value.numpy().tobytes() == trainer.model.state_dict()[key].numpy().tobytes(), key


def test_limit_batches_caps_training_and_evaluation(tiny_config):
    seen = []

    class Counts(Callback):
        def on_evaluate_step(self, trainer, split, batch, batches):
            seen.append((split, batch, batches))

    trainer = Trainer.from_config(
        tiny_config(), progress=False, overrides=["train.limit_batches=2"], callbacks=[Counts()]
    )
    summary = trainer.fit()
    assert trainer.steps_per_epoch == 2 and summary["steps"] == 4
    assert trainer.position.samples_seen == 4 * 16
    # 64 validation and 64 test samples: 4 batches of 16 each, of which 2 are evaluated
    assert seen == [(split, b, 2) for split in ("val", "val", "test") for b in (1, 2)]
    assert trainer.scheduler.T_max == 4


def test_limit_batches_limits_each_evaluation_split(tiny_config):
    seen = []

    class Counts(Callback):
        def on_evaluate_step(self, trainer, split, batch, batches):
            seen.append((split, batch, batches))

    overrides = ["train.limit_batches=3", "data.eval_batch_size=8", "train.epochs=1"]
    Trainer.from_config(tiny_config(), progress=False, overrides=overrides, callbacks=[Counts()]).fit()
    assert seen == [(split, b, 3) for split in ("val", "test") for b in (1, 2, 3)]  # of 8 batches each


def test_a_resume_refuses_a_changed_accumulation_and_accepts_a_changed_validation_interval(tiny_config):
    config = tiny_config("changed")
    with pytest.raises(TrainingInterrupted):
        Trainer.from_config(config, progress=False, callbacks=[CtrlCAtBatch(2, 3)]).fit()
    with pytest.raises(ResumeRefused, match=r"train.accumulate_batches: 1 -> 2"):
        Trainer.from_config(config, progress=False, overrides=["train.accumulate_batches=2"]).fit(
            resume="auto"
        )
    with pytest.raises(ResumeRefused, match=r"train.limit_batches"):
        Trainer.from_config(config, progress=False, overrides=["train.limit_batches=2"]).fit(resume="auto")
    resumed = Trainer.from_config(config, progress=False, overrides=["train.val_every_steps=3"])
    resumed.fit(resume="auto")
    assert resumed.global_step == 24


def test_settings_are_checked():
    with pytest.raises(ValueError, match="accumulate_batches must be a positive int"):
        TrainSettings(accumulate_batches=0)
    with pytest.raises(ValueError, match="max_steps"):
        TrainSettings(max_steps=True)
    dry = TrainSettings(epochs=5, output="x").for_dry_run()
    assert (dry.epochs, dry.max_steps, dry.limit_batches, dry.output, dry.checkpoint.dir) == (
        1,
        1,
        1,
        None,
        None,
    )


def test_a_forged_accumulated_entry_is_refused(tiny_config, tmp_path):
    from nnrun.serialization import CheckpointError
    from nnrun.train.checkpoint import save_checkpoint

    overrides = ["train.accumulate_batches=5"]
    stopped = Trainer.from_config(
        tiny_config(), progress=False, overrides=overrides, callbacks=[CtrlCAtBatch(1, 3)]
    )
    with pytest.raises(TrainingInterrupted) as info:
        stopped.fit()
    state = load_checkpoint(info.value.checkpoint)
    state["accumulated"] = {"not.a.parameter": state["accumulated"]["1.weight"]}
    for key in ("format", "nnrun_version"):
        state.pop(key)
    save_checkpoint(state, tmp_path / "forged.safetensors")
    with pytest.raises(CheckpointError, match="'accumulated' holds values that are not gradients"):
        Trainer.from_config(tiny_config(), progress=False, overrides=overrides).resume(
            tmp_path / "forged.safetensors"
        )
