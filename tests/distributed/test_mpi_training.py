"""Data-parallel training under ``mpirun -n 2`` against single-process runs of the same global batch."""

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nnrun.train import load_checkpoint


def weights(path):
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def max_difference(a, b):
    assert a.keys() == b.keys()
    return max(float(np.abs(a[key] - b[key]).max()) for key in a)


@pytest.mark.parametrize("model", ["mlp", "lenet"])
def test_two_ranks_equal_one_process_with_the_global_batch(mpi, tmp_path, model):
    # 100 samples: 6 full global batches of 16 and a last one of 4 (2 per rank), two epochs, float64
    mpi.worker(None, tmp_path / "one", "--model", model, "--batch", "16")
    mpi.worker(2, tmp_path / "two", "--model", model, "--batch", "8")
    single = weights(tmp_path / "one" / "weights-0.npz")
    rank0, rank1 = (weights(tmp_path / "two" / f"weights-{r}.npz") for r in (0, 1))
    assert max_difference(rank0, rank1) == 0.0  # every rank applied the same averaged update
    assert max_difference(single, rank0) < 1e-6
    assert max_difference(single, weights(tmp_path / "one" / "initial-0.npz")) > 1e-3  # it did train
    # the logged losses are the averages over both ranks, equal to the single process's
    one = eval((tmp_path / "one" / "history-0.txt").read_text())
    two = eval((tmp_path / "two" / "history-0.txt").read_text())
    assert [row[:2] for row in one] == [row[:2] for row in two]
    assert np.allclose([row[2] for row in one], [row[2] for row in two], rtol=1e-9)


def test_accumulated_batches_of_two_ranks_equal_one_process_with_the_whole_batch(mpi, tmp_path):
    # 96 samples: one process takes 6 batches of 16 per epoch; two ranks take 12 batches of 4 each (global
    # batches of 8), summed in groups of 2: the same 6 steps on the same 16 samples, averaged over ranks once
    mpi.worker(None, tmp_path / "one", "--batch", "16", "--size", "96")
    mpi.worker(2, tmp_path / "two", "--batch", "4", "--size", "96", "--accumulate", "2")
    single = weights(tmp_path / "one" / "weights-0.npz")
    rank0, rank1 = (weights(tmp_path / "two" / f"weights-{r}.npz") for r in (0, 1))
    assert max_difference(rank0, rank1) == 0.0
    assert max_difference(single, rank0) < 1e-6
    for rank in (0, 1):  # the gradients were averaged once per optimizer step, not once per batch
        assert (tmp_path / "two" / f"averaged-{rank}.txt").read_text() == "12 12"


def test_broadcast_makes_ranks_start_identical(mpi, tmp_path):
    # each rank initialises its model from a different seed; rank 0's weights win
    mpi.worker(2, tmp_path / "seeded", "--seed-by-rank", "--epochs", "1")
    mpi.worker(None, tmp_path / "one", "--batch", "16", "--epochs", "1")  # rank 0's seed, global batch
    rank0, rank1 = (weights(tmp_path / "seeded" / f"weights-{r}.npz") for r in (0, 1))
    assert max_difference(rank0, rank1) == 0.0
    assert max_difference(rank0, weights(tmp_path / "one" / "weights-0.npz")) > 1e-3  # seed 100 ≠ seed 0


def test_a_failing_rank_ends_the_job_quickly(mpi, tmp_path):
    started = time.monotonic()
    result = mpi.worker(2, tmp_path, "--fail-at", "3", "--epochs", "50", check=False)
    assert result.returncode != 0
    assert time.monotonic() - started < 30  # a launch and 3 steps; the other rank does not wait for it
    assert "error on rank 1 of 2 (aborting all ranks): planned failure at step 3" in result.stderr
    assert not (tmp_path / "weights-0.npz").exists()  # rank 0 did not finish on its own


def test_a_rank_failing_before_the_first_step_ends_the_job(mpi, tmp_path):
    result = mpi.worker(2, tmp_path, "--fail-at", "0", check=False)  # rank 1 raises in on_train_start
    assert result.returncode != 0
    assert "error on rank 1 of 2 (aborting all ranks): planned failure at step 0" in result.stderr


def test_batchnorm_running_statistics_are_rank_0s_on_every_rank(mpi, tmp_path):
    mpi.worker(2, tmp_path, "--model", "mlp_bn")
    rank0, rank1 = (weights(tmp_path / f"weights-{r}.npz") for r in (0, 1))
    assert any("running_mean" in key for key in rank0)
    assert max_difference(rank0, rank1) == 0.0  # weights and buffers alike


def test_collectives(mpi, tmp_path):
    result = mpi.launch(2, sys.executable, str(Path(__file__).with_name("_collectives.py")))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("collectives ok") == 2


def test_a_stop_on_one_rank_stops_every_rank_at_the_same_step(mpi, tmp_path):
    mpi.worker(2, tmp_path, "--stop-at", "5", "--checkpoints", str(tmp_path / "ck"))
    histories = [eval((tmp_path / f"history-{r}.txt").read_text()) for r in (0, 1)]
    assert histories[0] == histories[1]
    assert (tmp_path / "ck" / "interrupted.safetensors").exists()
    assert max_difference(*(weights(tmp_path / f"weights-{r}.npz") for r in (0, 1))) == 0.0


@pytest.mark.parametrize("model", ["mlp", "mlp_bn"])
def test_checkpoints_are_written_once_by_rank_0_and_resume_exactly(mpi, tmp_path, model):
    straight = tmp_path / "straight"
    mpi.worker(2, straight, "--model", model, "--checkpoints", str(straight / "ck"))
    saves = (straight / "saves.log").read_text().split()
    ranks, files = saves[0::2], saves[1::2]
    assert set(ranks) == {"0"} and len(files) == len(set(files))  # each file once, by rank 0 only
    assert "step-000006.safetensors" in files

    # stop after epoch 1 (7 steps): a mid-epoch checkpoint at step 6 is the resume point
    first = tmp_path / "first"
    mpi.worker(2, first, "--model", model, "--checkpoints", str(first / "ck"), "--epochs", "1")
    resumed = tmp_path / "resumed"
    mpi.worker(2, resumed, "--model", model, "--resume", str(first / "ck" / "step-000006.safetensors"))
    final = weights(straight / "weights-0.npz")
    assert max_difference(final, weights(resumed / "weights-0.npz")) == 0.0
    assert max_difference(final, weights(resumed / "weights-1.npz")) == 0.0


def test_resume_on_another_number_of_ranks_keeping_the_global_batch(mpi, tmp_path):
    two = tmp_path / "two"
    mpi.worker(2, two, "--checkpoints", str(two / "ck"))
    one = tmp_path / "one"
    checkpoint = str(two / "ck" / "step-000006.safetensors")
    mpi.worker(None, one, "--batch", "16", "--resume", checkpoint)
    assert max_difference(weights(two / "weights-0.npz"), weights(one / "weights-0.npz")) < 1e-6

    refused = mpi.worker(None, tmp_path / "refused", "--batch", "8", "--resume", checkpoint, check=False)
    assert refused.returncode != 0
    assert "global batch of 16, but this run has batch 8" in refused.stderr


def test_cli_train_under_mpirun(mpi, tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(
        "name: tiny\nseed: 0\ndevice: cpu\ninput_shape: [1, 8, 8]\n"
        "model: {module: {Sequential: [Flatten, {Linear: [64, 10]}]}}\n"
        "data: {dataset: synthetic, batch_size: 32, batch_scope: global,\n"
        "       options: {train_size: 128, test_size: 32}}\n"
        "optimizer: {SGD: {lr: 0.1}}\ntrain: {epochs: 2, log_every: 1}\n",
        encoding="utf-8",
    )
    result = mpi.launch(2, "nnrun", "train", str(config), "--output", str(tmp_path / "run"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("training tiny on cpu × 2 ranks (mpi), global batch 32") == 1  # rank 0 only
    assert (tmp_path / "run" / "summary.json").exists()
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == [
        "epoch-0001.safetensors", "epoch-0002.safetensors", "last.safetensors",
    ]  # fmt: skip

    evaluated = mpi.launch(
        2, "nnrun", "eval", str(config), "-c", str(tmp_path / "run" / "checkpoints" / "last.safetensors")
    )
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    assert evaluated.stdout.count("on test, 32 samples: test/loss") == 1  # reported by rank 0 alone

    odd = mpi.launch(
        2, "nnrun", "train", str(config), "--set", "data.batch_size=33", "--output", str(tmp_path / "odd")
    )
    assert odd.returncode == 2  # an input error, as on one process
    assert "the global batch 33 (batch_scope: global) does not split evenly over 2 ranks" in odd.stderr

    before = {path: path.read_bytes() for path in (tmp_path / "run").rglob("*") if path.is_file()}
    again = mpi.launch(2, "nnrun", "train", str(config), "--output", str(tmp_path / "run"))
    assert again.returncode == 2 and "already holds a run" in again.stderr, again.stdout + again.stderr
    assert {path: path.read_bytes() for path in (tmp_path / "run").rglob("*") if path.is_file()} == before


def test_cli_resume_with_dropout_augmentation_and_a_step_scheduler_is_exact(mpi, tmp_path, tiny_config):
    # every rank's generator (dropout), per-rank augmentations and the scheduler must all come back
    every_3_steps = ["--set", "checkpoint.every_steps=3", "--set", "checkpoint.keep_last=null", "-q"]
    straight = mpi.launch(2, "nnrun", "train", str(tiny_config("straight")), *every_3_steps)
    assert straight.returncode == 0, straight.stdout + straight.stderr
    middle = tmp_path / "straight" / "checkpoints" / "step-000003.safetensors"
    resumed = mpi.launch(
        2, "nnrun", "train", str(tiny_config("resumed")), *every_3_steps, "--resume", str(middle)
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    final = [
        load_checkpoint(tmp_path / run / "checkpoints" / "last.safetensors")
        for run in ("straight", "resumed")
    ]
    assert final[0]["progress"]["global_step"] == final[1]["progress"]["global_step"] == 12
    for key, value in final[0]["model"].items():
        assert np.array_equal(value.numpy(), final[1]["model"][key].numpy()), key
    epochs = [[row["val/accuracy"] for row in state["history"] if row["kind"] == "epoch"] for state in final]
    assert epochs[0] == epochs[1]
