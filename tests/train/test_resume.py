"""Exact resume: an interrupted run continued from its checkpoint ends with the same weights, bit for bit,
as an uninterrupted one (after an epoch, mid-epoch, and after a real ``kill -9``)."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from crash_at import Crash, CrashAt

from nnrun.train import Trainer, load_checkpoint


def _weights(trainer):
    return {key: value.numpy().copy() for key, value in trainer.model.state_dict().items()}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].tobytes() == b[key].tobytes(), key


@pytest.fixture
def straight(tiny_config):
    trainer = Trainer.from_config(tiny_config("straight"), progress=False)
    summary = trainer.fit()
    return trainer, summary


def test_resume_after_an_epoch_is_exact(tiny_config, straight):
    # 12 steps per epoch
    first = Trainer.from_config(tiny_config("resumed"), progress=False, callbacks=[CrashAt(15)])
    with pytest.raises(Crash):
        first.fit()
    second = Trainer.from_config(tiny_config("resumed"), progress=False)
    summary = second.fit(resume="auto")
    _assert_same(_weights(straight[0]), _weights(second))
    assert second.global_step == straight[0].global_step
    assert summary["final"] == straight[1]["final"]  # same metrics too, validation and test included


# 12 steps per epoch: crash mid-epoch 1, on its last batch (after the step checkpoint, before the epoch's
# end), and mid-epoch 2; checkpoints every 4 steps (aligned with log_every, so the log rows match too)
@pytest.mark.parametrize("crash_step", [6, 12, 17])
def test_resume_mid_epoch_is_exact(tiny_config, straight, crash_step):
    overrides = ["checkpoint.every_steps=4"]
    crashed = Trainer.from_config(
        tiny_config("crashed"), progress=False, overrides=overrides, callbacks=[CrashAt(crash_step)]
    )
    with pytest.raises(Crash):
        crashed.fit()
    position = load_checkpoint(crashed.checkpoints.file("last"))["progress"]
    assert position["global_step"] == crash_step // 4 * 4 and position["epoch"] == (crash_step - 1) // 12
    resumed = Trainer.from_config(tiny_config("crashed"), progress=False, overrides=overrides)
    resumed.fit(resume="auto")
    assert resumed.resumed_from.endswith("last.safetensors")
    _assert_same(_weights(straight[0]), _weights(resumed))
    straight_rows = [row for row in straight[0].history if row["kind"] == "epoch"]
    resumed_rows = [row for row in resumed.history if row["kind"] == "epoch"]
    for a, b in zip(straight_rows, resumed_rows):  # epoch metrics are exact across the crash too
        assert a["train/loss"] == b["train/loss"] and a["val/accuracy"] == b["val/accuracy"]
    # the metrics file holds each row once: rows the crashed run logged after its checkpoint are dropped
    assert _rows(tiny_config("crashed").parent / "crashed") == _rows(
        tiny_config("straight").parent / "straight"
    )


def _rows(run):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [(row["kind"], row["epoch"], row["step"], row["train/loss"]) for row in map(json.loads, lines)]


KILLER = """
import os, signal, sys
from nnrun.train import Callback, Trainer, load_checkpoint

class Kill(Callback):
    def on_step_end(self, trainer, loss):
        if trainer.global_step == 19:
            os.kill(os.getpid(), signal.SIGKILL)

trainer = Trainer.from_config(
    sys.argv[1], progress=False, callbacks=[Kill()], overrides=["checkpoint.every_steps=4"]
)
trainer.fit()
"""


def test_resume_after_kill_9_is_exact(tiny_config, straight):
    config = tiny_config("killed")
    result = subprocess.run([sys.executable, "-c", KILLER, str(config)], capture_output=True, timeout=120)
    assert result.returncode == -signal.SIGKILL
    folder = config.parent / "killed" / "checkpoints"
    names = ["best", "epoch-0001", "last", "step-000012", "step-000016"]
    assert sorted(os.listdir(folder)) == [f"{name}.safetensors" for name in names]
    resumed = Trainer.from_config(config, progress=False, overrides=["checkpoint.every_steps=4"])
    resumed.fit(resume="auto")
    assert resumed.resumed_from.endswith("last.safetensors")
    _assert_same(_weights(straight[0]), _weights(resumed))


def test_resume_restores_the_global_generator(tiny_config):
    import nnrun

    trainer = Trainer.from_config(tiny_config("rng"), progress=False, overrides=["train.epochs=1"])
    trainer.fit()
    expected = nnrun.get_rng_state().numpy().copy()
    nnrun.manual_seed(12345)
    Trainer.from_config(tiny_config("rng"), progress=False, overrides=["train.epochs=1"]).resume("auto")
    assert np.array_equal(nnrun.get_rng_state().numpy(), expected)
