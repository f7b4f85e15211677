"""The distributed layer without MPI: data shards, the one-process communicator, backend choice and the
errors a launch without mpi4py or NCCL gives."""

import subprocess
import sys

import numpy as np
import pytest

import nnrun
from nnrun import distributed
from nnrun.config import ConfigError, load_training
from nnrun.data import ArrayDataset, DataLoader, TensorDataset
from nnrun.train.build import build_parts


def values(loader):
    return [batch[0].tolist() for batch in loader]


@pytest.mark.parametrize("size, ranks, batch", [(10, 2, 2), (100, 2, 8), (37, 3, 4), (12, 4, 3)])
def test_rank_batches_together_are_the_global_batches(size, ranks, batch):
    data = TensorDataset(nnrun.arange(size))
    kept = size - size % ranks  # equal shards leave out the epoch's last size % ranks samples
    for epoch in (0, 3):
        single = DataLoader(TensorDataset(nnrun.arange(size)), batch * ranks, shuffle=True, seed=5)
        single.set_epoch(epoch)
        order = [i for b in values(single) for i in b][:kept]
        shards = []
        for rank in range(ranks):
            loader = DataLoader(data, batch, shuffle=True, seed=5, num_replicas=ranks, rank=rank)
            loader.set_epoch(epoch)
            shards.append(values(loader))
            assert len(loader) == len(shards[-1]) and loader.num_samples == size // ranks
        assert len({len(s) for s in shards}) == 1  # every rank takes as many steps
        for step in range(len(shards[0])):
            together = sorted(i for shard in shards for i in shard[step])
            assert together == sorted(order[step * batch * ranks : (step + 1) * batch * ranks])


def test_evaluation_shards_cover_every_sample_once():
    data = TensorDataset(nnrun.arange(11))
    seen = []
    for rank in range(3):
        loader = DataLoader(data, 2, num_replicas=3, rank=rank, even_shards=False)
        seen += [i for b in values(loader) for i in b]
    assert sorted(seen) == list(range(11))


def test_ranks_draw_their_own_augmentations():
    images = np.zeros((64, 1, 4, 4), dtype=np.float32)
    images[:, :, :, 0] = 1  # a flip moves the bright column: pixel (0, 0) tells whether it was flipped
    flip = nnrun.data.transforms.RandomHorizontalFlip(0.5)
    data = ArrayDataset(images, np.zeros(64, dtype=np.int64), flip)
    patterns = []
    for rank in range(2):
        loader = DataLoader(data, 4, seed=0, num_replicas=2, rank=rank)
        patterns.append([x[:, 0, 0, 0].tolist() for x, _ in loader])
    assert len(patterns[0]) == 8
    assert patterns[0] != patterns[1]  # the same stream on both ranks would flip the same positions


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_replicas": 0}, "num_replicas must be a positive integer, got 0"),
        ({"num_replicas": 2, "rank": 2}, "rank must be an integer in [0, 1], got 2"),
        ({"num_replicas": 2, "rank": -1}, "rank must be an integer in [0, 1], got -1"),
    ],
)
def test_bad_shards_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        DataLoader(TensorDataset(nnrun.arange(4)), 2, **kwargs)


def test_single_process_collectives_are_the_identity():
    comm = distributed.init()
    assert isinstance(comm, distributed.SingleProcess)
    assert (comm.rank, comm.world_size, comm.is_main) == (0, 1, True)
    buffer = np.arange(4.0)
    assert comm.allreduce(buffer) is buffer and comm.broadcast(buffer) is buffer
    assert buffer.tolist() == [0, 1, 2, 3]
    comm.barrier()
    assert [b.tolist() for b in distributed.gather_bytes(np.array([1, 2], dtype=np.uint8), comm)] == [[1, 2]]
    assert distributed.reduce_sums([1.5, 2.0], comm) == [1.5, 2.0]
    layer = nnrun.nn.Linear(3, 2)
    layer(nnrun.randn(4, 3)).sum().backward()
    grad = layer.weight.grad.numpy().copy()
    assert distributed.GradientAverager(layer.parameters(), comm).average([1.0]).tolist() == [1.0]
    assert np.array_equal(layer.weight.grad.numpy(), grad)


class TwoRanks(distributed.Communicator):
    """Rank 1 of 2, for code that only asks who it is (no collective may be called)."""

    rank, world_size = 1, 2


def test_config_batch_scope(tmp_path):
    text = (
        "name: t\nseed: 0\ndevice: cpu\ninput_shape: [1, 4, 4]\n"
        "model: {module: {Sequential: [Flatten, {Linear: [16, 3]}]}}\n"
        "data: {dataset: synthetic, batch_size: 8,\n"
        "       options: {train_size: 20, test_size: 4, num_classes: 3, shape: [1, 4, 4]}}\n"
        "optimizer: {SGD: {lr: 0.1}}\n"
    )
    per_rank = build_parts(load_training(text), comm=TwoRanks())
    assert (per_rank.train_loader.batch_size, per_rank.train_loader.rank) == (8, 1)
    assert per_rank.train_loader.num_replicas == 2 and per_rank.train_loader.num_samples == 10
    scoped = build_parts(load_training(text, ["data.batch_scope=global"]), comm=TwoRanks())
    assert scoped.train_loader.batch_size == 4
    with pytest.raises(ConfigError, match="does not split evenly over 2 ranks"):
        build_parts(load_training(text, ["data.batch_scope=global", "data.batch_size=7"]), comm=TwoRanks())
    with pytest.raises(ConfigError, match="batch_scope"):
        load_training(text, ["data.batch_scope=everyone"])


def test_unknown_backend():
    with pytest.raises(
        ValueError, match="unknown distributed backend 'gloo': use one of auto, none, mpi, nccl"
    ):
        distributed.init("gloo")


def _python(code, **env):
    import os

    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, timeout=60
    )


def test_nnrun_imports_and_trains_without_mpi4py():
    code = (
        "import sys; sys.modules['mpi4py'] = None\n"
        "import nnrun\n"
        "assert isinstance(nnrun.distributed.init(), nnrun.distributed.SingleProcess)\n"
        "import nnrun.train\n"
        "print('ok')"
    )
    result = _python(code)
    assert result.stdout.strip() == "ok", result.stderr


def test_a_launch_without_mpi4py_says_what_to_install():
    code = (
        "import sys; sys.modules['mpi4py'] = None\n"
        "import nnrun.distributed as d\n"
        "try:\n    d.init()\nexcept d.DistributedError as e:\n    print(e)\n"
        "print(type(d.init('none')).__name__)"
    )
    result = _python(code, OMPI_COMM_WORLD_SIZE="2", OMPI_COMM_WORLD_RANK="1", OMPI_COMM_WORLD_LOCAL_RANK="1")
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "this run needs MPI (OMPI_COMM_WORLD_SIZE=2: 2 ranks) but mpi4py cannot be imported"
    )
    assert "pip install 'nnrun[mpi]'" in lines[0] and "or start nnrun without mpirun" in lines[0]
    assert lines[1] == "SingleProcess"


def launch():
    return distributed.launched_world_size(), distributed.launched_rank(), distributed.local_rank()


def test_launcher_environment(monkeypatch):
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert (distributed.launched_world_size(), distributed.launched_rank(), distributed.local_rank()) == (
        1,
        0,
        0,
    )
    monkeypatch.setenv("PMI_SIZE", "4")
    monkeypatch.setenv("PMI_RANK", "3")
    monkeypatch.setenv("MPI_LOCALRANKID", "1")
    assert (distributed.launched_world_size(), distributed.launched_rank(), distributed.local_rank()) == (
        4,
        3,
        1,
    )


@pytest.mark.skipif(nnrun.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_nccl_without_cupy_is_a_clear_error():
    with pytest.raises(
        distributed.DistributedError, match="the nccl backend needs CuPy with NCCL on a CUDA machine"
    ):
        distributed.NCCLCommunicator(0)


def test_a_shuffled_loader_needs_a_seed_to_be_sharded():
    with pytest.raises(
        ValueError, match=r"a shuffled loader split over 2 ranks needs a seed \(DataLoader\(seed=…\)\)"
    ):
        DataLoader(TensorDataset(nnrun.arange(4)), 2, shuffle=True, num_replicas=2)
    DataLoader(TensorDataset(nnrun.arange(4)), 2, num_replicas=2)  # a fixed order is the same everywhere


def test_resume_checks_the_data_split():
    from nnrun.serialization import CheckpointError
    from nnrun.train.data_parallel import DataParallel

    loader = DataLoader(TensorDataset(nnrun.arange(100)), 8, num_replicas=2, rank=1)
    parallel = DataParallel(TwoRanks())
    parallel.check_resume("ck", {"world_size": 1, "global_batch": 16, "epoch_samples": 100}, loader)
    with pytest.raises(CheckpointError, match="written by an nnrun without data-parallel training"):
        parallel.check_resume("ck", {"epoch": 1}, loader)
    with pytest.raises(
        CheckpointError, match=r"data.batch_size: 16 \(per rank\), or data.batch_size: 32 with"
    ):
        parallel.check_resume("ck", {"world_size": 1, "global_batch": 32, "epoch_samples": 100}, loader)
    with pytest.raises(CheckpointError, match="a number of ranks that divides 15"):
        parallel.check_resume("ck", {"world_size": 3, "global_batch": 15, "epoch_samples": 99}, loader)
    with pytest.raises(CheckpointError, match="trained on 99 samples per epoch, but this run has 100"):
        parallel.check_resume("ck", {"world_size": 3, "global_batch": 16, "epoch_samples": 99}, loader)
    DataParallel(distributed.SingleProcess()).check_resume("ck", {"epoch": 1}, loader)  # as before


def test_resume_on_one_process_checks_the_data_split_too():
    from nnrun.train.data_parallel import DataParallel
    from nnrun.train.errors import ResumeRefused

    loader = DataLoader(TensorDataset(nnrun.arange(100)), 8)
    single = DataParallel(distributed.SingleProcess())
    single.check_resume("ck", {"world_size": 1, "global_batch": 8, "epoch_samples": 100}, loader)
    with pytest.raises(
        ResumeRefused, match=r"global batch of 16, but this run has batch 8.*data.batch_size: 16$"
    ):
        single.check_resume("ck", {"world_size": 1, "global_batch": 16, "epoch_samples": 100}, loader)
    with pytest.raises(
        ResumeRefused, match=r"trained on 90 samples per epoch, but this run has 100.*training set"
    ):
        single.check_resume("ck", {"world_size": 1, "global_batch": 8, "epoch_samples": 90}, loader)


def test_a_stop_requested_during_a_step_stops_after_that_step_on_one_process(
    tiny_config_text, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the run folder is runs/t
    from nnrun.train import Callback, Trainer, TrainingInterrupted

    class StopDuringStep(Callback):
        def on_step_end(self, trainer, loss):
            if trainer.global_step == 3:
                trainer._interrupt.requested = True  # what a Ctrl-C after this step's backward does

    trainer = Trainer.from_config(
        load_training(tiny_config_text), progress=False, callbacks=[StopDuringStep()]
    )
    with pytest.raises(TrainingInterrupted):
        trainer.fit()
    assert trainer.global_step == 3


@pytest.fixture
def tiny_config_text():
    return (
        "name: t\nseed: 0\ndevice: cpu\ninput_shape: [1, 4, 4]\n"
        "model: {module: {Sequential: [Flatten, {Linear: [16, 3]}]}}\n"
        "data: {dataset: synthetic, batch_size: 4,\n"
        "       options: {train_size: 40, test_size: 4, num_classes: 3, shape: [1, 4, 4]}}\n"
        "optimizer: {SGD: {lr: 0.1}}\ntrain: {epochs: 2, test: false}\n"
    )
