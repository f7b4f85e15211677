"""The trainer's callbacks: where hooks run, callback state in checkpoints, callbacks named in a config
(registered by the user), stopping early, and resuming a checkpoint written before the trainer had them."""

import sys
from pathlib import Path

import numpy as np
import pytest
from crash_at import Crash, CrashAt

import nnrun
from nnrun import nn
from nnrun.config import ConfigError
from nnrun.data import ArrayDataset, DataLoader
from nnrun.train import CALLBACKS, Callback, PlainProgress, Position, Trainer, TrainSettings, load_checkpoint
from nnrun.train.callbacks import CallbackList
from nnrun.train.settings import CheckpointSettings

#: Written by nnrun before callbacks (commit 4fa8eb7): the tiny config (conftest) with checkpoint.every_steps
#: 4, stopped at step 18; this is its step-16 checkpoint (epoch 2, batch 4 of 12).
OLD_CHECKPOINT = Path(__file__).parent / "data" / "tiny_step16_before_callbacks.safetensors"


class Counter(Callback):
    """Counts steps; the count is in each step's checkpoint (on_every_n_steps runs before it is saved)."""

    every_n_steps = 1

    def __init__(self, start=0):
        self.steps = start

    def on_every_n_steps(self, trainer):
        self.steps += 1

    def state_dict(self):
        return {"steps": self.steps}

    def load_state_dict(self, state):
        self.steps = state["steps"]


def _weights(trainer):
    return {key: value.numpy().tobytes() for key, value in trainer.model.state_dict().items()}


def _parts(n=96, batch=16):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    loader = DataLoader(ArrayDataset(x, (x[:, 0] > 0).astype(np.int64)), batch, shuffle=True, seed=1)
    nnrun.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    optimizer = nnrun.optim.SGD(model.parameters(), lr=0.1)
    return {"model": model, "optimizer": optimizer, "loss_fn": nn.CrossEntropyLoss(), "train_loader": loader}


def test_every_n_steps_hooks_run_before_the_step_end_hooks_in_order():
    calls = []

    class Every(Callback):
        def __init__(self, name, n):
            self.name, self.every_n_steps = name, n

        def on_every_n_steps(self, trainer):
            calls.append(f"{self.name} {trainer.global_step}")

    class End(Callback):
        def on_step_end(self, trainer, loss):
            calls.append(f"end {trainer.global_step}")

    settings = TrainSettings(epochs=1, test=False)
    callbacks = [End(), Every("a", 2), Every("b", 3)]
    Trainer(**_parts(), settings=settings, progress=False, callbacks=callbacks).fit()
    assert calls == [
        "end 1", "a 2", "end 2", "b 3", "end 3", "a 4", "end 4", "end 5", "a 6", "b 6", "end 6",
    ]  # fmt: skip


def test_a_hook_is_called_only_on_the_callbacks_that_define_it():
    counter, plain = Counter(), Callback()
    callbacks = CallbackList([plain, counter])
    assert callbacks.hooks["on_every_n_steps"] == [counter.on_every_n_steps]
    assert callbacks.every_n_steps == [(1, counter.on_every_n_steps)]
    assert all(not methods for hook, methods in callbacks.hooks.items() if hook != "on_every_n_steps")


def test_rank_zero_only_callbacks_are_left_out_on_other_ranks():
    progress, counter = PlainProgress(), Counter()
    assert CallbackList([progress, counter], main=False).callbacks == [counter]
    assert CallbackList([progress, counter], main=True).callbacks == [progress, counter]


def test_callbacks_with_state_need_keys_of_their_own():
    with pytest.raises(ValueError, match="share the state_key 'Counter'"):
        CallbackList([Counter(), Counter()])


def test_callback_state_is_checkpointed_and_restored_on_resume(tmp_path):
    def trainer(*callbacks):
        checkpoint = CheckpointSettings(str(tmp_path / "ck"), every_steps=4)
        settings = TrainSettings(epochs=2, checkpoint=checkpoint, test=False)
        return Trainer(**_parts(), settings=settings, progress=False, callbacks=callbacks)

    with pytest.raises(Crash):
        trainer(Counter(), CrashAt(10)).fit()
    assert load_checkpoint(tmp_path / "ck" / "last.safetensors")["callbacks"] == {"Counter": {"steps": 8}}
    counter = Counter()
    resumed = trainer(counter)
    resumed.fit(resume="auto")
    assert counter.steps == resumed.global_step == 12


def test_should_stop_ends_training_after_the_epoch_and_saves_it(tmp_path):
    class StopAfterFirstEpoch(Callback):
        def on_epoch_end(self, trainer, row):
            trainer.should_stop = True

    checkpoint = CheckpointSettings(str(tmp_path / "ck"), every_epochs=5)
    settings = TrainSettings(epochs=3, checkpoint=checkpoint, test=False)
    trainer = Trainer(**_parts(), settings=settings, progress=False, callbacks=[StopAfterFirstEpoch()])
    summary = trainer.fit()
    assert summary["epochs"] == 1 and summary["steps"] == 6
    assert summary["last_checkpoint"] == str(tmp_path / "ck" / "epoch-0001.safetensors")


def test_position_round_trips_through_a_checkpoint_progress_entry():
    position = Position(epoch=2, batch_index=3, global_step=27, samples_seen=432, elapsed_s=1.5)
    progress = {**position.state_dict(), "world_size": 1, "global_batch": 16}
    assert Position.from_state(progress) == position


# ----- callbacks named in a config -----
USER_CALLBACKS = """\
import nnrun
from nnrun.train import Callback


@nnrun.register
class CountSteps(Callback):
    every_n_steps = 1

    def __init__(self, start: int = 0):
        if start < 0:
            raise ValueError(f"start must be >= 0, got {start}")
        self.steps = start

    def on_every_n_steps(self, trainer):
        self.steps += 1

    def state_dict(self):
        return {"steps": self.steps}

    def load_state_dict(self, state):
        self.steps = state["steps"]
"""


@pytest.fixture
def user_callbacks(tmp_path, tiny_config):
    """``config(callbacks_yaml)``: the tiny config importing a module that registers ``CountSteps``."""
    (tmp_path / "user_callbacks.py").write_text(USER_CALLBACKS, encoding="utf-8")

    def config(callbacks, name="run"):
        path = tiny_config(name)
        imports = "model:\n  imports: [user_callbacks.py]\n"
        text = path.read_text(encoding="utf-8").replace("model:\n", imports)
        path.write_text(text + f"callbacks: {callbacks}\n", encoding="utf-8")
        return path

    yield config
    CALLBACKS.unregister("CountSteps")
    sys.modules.pop("nnrun_config_import_user_callbacks", None)


def _count_steps(trainer):
    (found,) = [c for c in trainer.callbacks.callbacks if type(c).__name__ == "CountSteps"]
    return found


def test_a_registered_callback_is_built_from_its_name_in_the_config(user_callbacks, tmp_path):
    config = user_callbacks("[{CountSteps: {start: 100}}]")
    trainer = Trainer.from_config(config, progress=False)
    trainer.fit()
    assert _count_steps(trainer).steps == 124
    last = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.safetensors")
    assert last["callbacks"] == {"CountSteps": {"steps": 124}}
    assert "callbacks:\n- CountSteps:\n    start: 100\n" in (tmp_path / "run" / "config.yaml").read_text()


def test_a_config_callback_resumes_with_its_state(user_callbacks):
    config = user_callbacks("[CountSteps]")
    with pytest.raises(Crash):
        # last checkpoint: epoch 1, step 12
        Trainer.from_config(config, progress=False, callbacks=[CrashAt(15)]).fit()
    resumed = Trainer.from_config(config, progress=False)
    resumed.fit(resume="auto")
    assert _count_steps(resumed).steps == resumed.global_step == 24


@pytest.mark.parametrize(
    ("callbacks", "path", "message", "at"),
    [
        ("[{CountStep: {start: 1}}]", "callbacks.0.CountStep", "did you mean CountSteps?", "CountStep"),
        ("[{CountSteps: {strat: 1}}]", "callbacks.0.CountSteps.strat", "did you mean start", "strat"),
        ("[{CountSteps: {start: one}}]", "callbacks.0.CountSteps.start", "must be int, got 'one'", "one"),
        ("[{CountSteps: {start: -1}}]", "callbacks.0.CountSteps", "start must be >= 0, got -1", "CountSteps"),
        ("[CountSteps, [1]]", "callbacks.1", "a callback is a name or {Name: {argument: value}}", "[1]"),
    ],
)
def test_a_config_callback_that_does_not_fit_is_reported_at_its_line(
    user_callbacks, callbacks, path, message, at
):
    config = user_callbacks(callbacks)
    with pytest.raises(ConfigError) as info:
        Trainer.from_config(config, progress=False)
    (error,) = info.value.errors
    assert error.path == path and message in error.message, str(info.value)
    last_line = config.read_text(encoding="utf-8").splitlines()[-1]
    where = (str(config), len(config.read_text(encoding="utf-8").splitlines()), last_line.index(at) + 1)
    assert (error.file, error.line, error.column) == where, str(info.value)


# ----- checkpoints written before the trainer was made of callbacks -----
def test_a_checkpoint_has_the_layout_it_had_before_callbacks(tiny_config, tmp_path):
    Trainer.from_config(tiny_config(), progress=False, overrides=["train.epochs=1"]).fit()
    new = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.safetensors", complete=True)
    old = load_checkpoint(OLD_CHECKPOINT, complete=True)
    assert list(new) == list(old) and list(new["progress"]) == list(old["progress"])


def test_a_checkpoint_written_before_callbacks_resumes_exactly(tiny_config):
    straight = Trainer.from_config(tiny_config("straight"), progress=False)
    straight_summary = straight.fit()
    resumed = Trainer.from_config(tiny_config("resumed"), progress=False)
    summary = resumed.fit(resume=OLD_CHECKPOINT)
    assert _weights(resumed) == _weights(straight)
    assert summary["final"] == straight_summary["final"] and summary["best"] == straight_summary["best"]
    rows = [{k: v for k, v in row.items() if "/" in k} for row in resumed.history]
    assert rows == [{k: v for k, v in row.items() if "/" in k} for row in straight.history]
