"""Training runs the MPI tests start, once as a single process and once under ``mpirun -n 2``.

``python _worker.py SCENARIO OUT [options]`` trains a float64 MLP or LeNet-5 on fixed random data with the
library API and writes the final weights of each rank to ``OUT/weights-<rank>.npz``.
"""

from __future__ import annotations

import argparse
import contextlib
import os

import numpy as np

import nnrun
from nnrun import nn
from nnrun.data import DataLoader, TensorDataset
from nnrun.models import MLP, LeNet5
from nnrun.train import Callback, CheckpointSettings, Trainer, TrainSettings
from nnrun.train.checkpoint_folder import CheckpointFolder


def build(model: str) -> nn.Module:
    if model == "lenet":
        return LeNet5()
    if model == "mlp_bn":
        return nn.Sequential(nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10))
    return MLP()


def dataset(model: str, size: int) -> TensorDataset:
    rng = np.random.default_rng(1234)
    shape = (size, 1, 28, 28) if model == "lenet" else (size, 784)
    return TensorDataset(nnrun.tensor(rng.standard_normal(shape)), nnrun.tensor(rng.integers(0, 10, size)))


class FailAt(Callback):
    """Raise on one rank at one step (the other ranks go on into the next allreduce); step 0: at the start."""

    def __init__(self, rank: int, step: int) -> None:
        self.rank, self.step = rank, step

    def on_train_start(self, trainer):
        if trainer.global_rank == self.rank and self.step == 0:
            raise RuntimeError("planned failure at step 0")

    def on_step_end(self, trainer, loss):
        if trainer.global_rank == self.rank and trainer.global_step == self.step:
            raise RuntimeError(f"planned failure at step {self.step}")


class StopAt(Callback):
    """Ask this rank (only) to stop at one step, as a Ctrl-C would."""

    def __init__(self, rank: int, step: int) -> None:
        self.rank, self.step = rank, step

    def on_step_end(self, trainer, loss):
        if trainer.global_rank == self.rank and trainer.global_step == self.step - 1:
            trainer._interrupt.requested = True


def record_saves(log: str) -> None:
    """Append ``<rank> <file>`` to ``log`` whenever a checkpoint file is written."""
    original = CheckpointFolder.save

    def save(self, state, kind, number=None):
        path = original(self, state, kind, number)
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{os.environ.get('OMPI_COMM_WORLD_RANK', '0')} {os.path.basename(path)}\n")
        return path

    CheckpointFolder.save = save


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--model", default="mlp", choices=["mlp", "lenet", "mlp_bn"])
    parser.add_argument("--batch", type=int, default=8, help="per-rank batch")
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--seed-by-rank", action="store_true", help="build the model from a rank-specific seed"
    )
    parser.add_argument("--checkpoints", help="checkpoint folder (every 3 steps)")
    parser.add_argument("--resume")
    parser.add_argument("--fail-at", type=int, help="rank 1 raises after this step")
    parser.add_argument("--stop-at", type=int, help="rank 1 requests a stop before this step")
    parser.add_argument("--accumulate", type=int, default=1, help="train.accumulate_batches")
    args = parser.parse_args()

    comm = nnrun.distributed.init()
    nnrun.manual_seed(100 + comm.rank if args.seed_by_rank else 0)
    model = build(args.model).double()
    loader = DataLoader(dataset(args.model, args.size), args.batch, shuffle=True, seed=7)
    callbacks: list[Callback] = []
    if args.fail_at is not None:
        callbacks.append(FailAt(1, args.fail_at))
    if args.stop_at:
        callbacks.append(StopAt(1, args.stop_at))
    checkpoint = CheckpointSettings(args.checkpoints, every_steps=3, keep_last=None)
    if args.checkpoints:
        record_saves(os.path.join(args.out, "saves.log"))
    trainer = Trainer(
        model=model,
        optimizer=nnrun.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        loss_fn=nn.CrossEntropyLoss(),
        train_loader=loader,
        settings=TrainSettings(
            epochs=args.epochs,
            log_every=2,
            checkpoint=checkpoint,
            test=False,
            accumulate_batches=args.accumulate,
        ),
        callbacks=callbacks,
        progress=False,
        communicator=comm,
    )
    if comm.rank == 0:  # what rank 0 built before the broadcast, for the "ranks start identical" test
        np.savez(os.path.join(args.out, "initial-0.npz"), **_weights(model))
    averaged = []  # how often the gradients were averaged over ranks
    average = trainer.parallel.average_gradients
    trainer.parallel.average_gradients = lambda stop: (averaged.append(1), average(stop))[1]
    with contextlib.suppress(nnrun.train.TrainingInterrupted):  # --stop-at: the weights at the stop
        trainer.fit(resume=args.resume)
    with open(os.path.join(args.out, f"averaged-{comm.rank}.txt"), "w", encoding="utf-8") as handle:
        handle.write(f"{len(averaged)} {trainer.global_step}")
    np.savez(os.path.join(args.out, f"weights-{comm.rank}.npz"), **_weights(model))
    with open(os.path.join(args.out, f"history-{comm.rank}.txt"), "w", encoding="utf-8") as handle:
        handle.write(repr([(row["kind"], row["step"], row.get("train/loss")) for row in trainer.history]))


def _weights(model: nn.Module) -> dict[str, np.ndarray]:
    return {name: value.numpy().copy() for name, value in model.state_dict().items()}


if __name__ == "__main__":
    main()
