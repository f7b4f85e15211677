"""The trainer on ``cuda`` reads results back only at log lines, epoch ends and checkpoints; per step it
copies just the batch to the device. Uses the transfer-recording CuPy stand-in (no GPU needed)."""

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.data import ArrayDataset, DataLoader
from nnrun.train import Callback, Trainer, TrainingError, TrainSettings, load_checkpoint
from nnrun.train.settings import CheckpointSettings


class StepTransfers(Callback):
    """The transfers of each step, by step number (not counting evaluation and checkpoints at epoch ends)."""

    def __init__(self, fake):
        self.fake, self.seen, self.by_step, self.losses = fake, 0, {}, []

    def on_epoch_start(self, trainer):
        self.seen = len(self.fake.transfers)

    def on_step_end(self, trainer, loss):
        self.by_step[trainer.global_step] = self.fake.transfers[self.seen :]
        self.seen = len(self.fake.transfers)
        self.losses.append(loss)  # kept on the device: reading it here would count as a transfer


def test_a_step_copies_only_its_batch_and_reads_back_only_for_log_lines(fake_cuda, tiny_config):
    recorder = StepTransfers(fake_cuda)
    trainer = Trainer.from_config(
        tiny_config(), overrides=["device=cuda"], progress=False, callbacks=[recorder]
    )
    summary = trainer.fit()
    assert summary["device"] == "cuda" and len(recorder.by_step) == 24
    for step, moved in recorder.by_step.items():
        reads = [t for t in moved if t.kind.startswith("device->host")]
        copies = [t for t in moved if t.kind == "host->device"]
        assert len(copies) == 2 and all("data/loader.py" in t.where for t in copies), (step, copies)
        assert reads == [] if step % 4 else len(reads) <= 2, (step, reads)  # log_every: 4
    # the sums kept on the device give the same means as the step losses (equal batches of 16)
    losses = [float(loss) for loss in recorder.losses]
    logged = [row["train/loss"] for row in trainer.history if row["kind"] == "step"]
    assert logged == pytest.approx([np.mean(losses[i : i + 4]) for i in range(0, 24, 4)], rel=1e-6)
    epochs = [row["train/loss"] for row in trainer.history if row["kind"] == "epoch"]
    assert epochs == pytest.approx([np.mean(losses[:12]), np.mean(losses[12:])], rel=1e-6)


def test_a_non_finite_loss_on_the_device_stops_at_the_next_read_without_saving_it(
    fake_cuda, tmp_path, nan_loss_after
):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype(np.float32)
    loader = DataLoader(
        ArrayDataset(x, (x[:, 0] > 0).astype(np.int64)), 16, shuffle=True, seed=1, device="cuda"
    )
    nnrun.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).to("cuda")
    settings = TrainSettings(
        epochs=3, log_every=4, checkpoint=CheckpointSettings(str(tmp_path / "ck"), every_steps=10), test=False
    )
    trainer = Trainer(
        model=model,
        optimizer=nnrun.optim.SGD(model.parameters(), lr=0.1),
        loss_fn=nan_loss_after(8),
        train_loader=loader,
        settings=settings,
        progress=False,
    )
    with pytest.raises(TrainingError) as info:
        trainer.fit()
    # steps 1-8 are finite (read at steps 4, 6 and 8); step 9 is NaN and read before step 10's checkpoint
    message = str(info.value)
    assert "non-finite loss (nan) at epoch 2, one of steps 9-10 (up to batch 4 of 6)" in message
    assert str(tmp_path / "ck" / "epoch-0001.safetensors") in message
    assert load_checkpoint(tmp_path / "ck" / "last.safetensors")["progress"]["global_step"] == 6
    assert not (tmp_path / "ck" / "step-0000010.safetensors").exists()
