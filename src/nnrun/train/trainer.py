"""``Trainer``: the training loop, with metrics, callbacks, checkpoints and exact resume.

Exactness: a checkpoint holds the model, optimizer and scheduler states, the global generator (dropout and
any other draws), the running epoch metrics and the position (epoch, batch index within it, global step).
The data order and augmentations of epoch ``e`` are a pure function of (seed, e) (``DataLoader(seed=…)``),
so a resumed run calls ``set_epoch(e)`` and ``iter_from(batch_index)`` and performs exactly the same
floating-point operations as an uninterrupted one: the final weights are equal bit for bit.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

import nnrun
from nnrun import distributed, nn, utils
from nnrun._tensor import Tensor
from nnrun.config import TrainingConfig, load_training
from nnrun.serialization import CheckpointError
from nnrun.train.build import RunParts, build_parts, resolve_device, settings_from
from nnrun.train.callbacks import Callback, CallbackList
from nnrun.train.checkpoint import load_checkpoint
from nnrun.train.checkpoint_folder import CheckpointFolder
from nnrun.train.data_parallel import DataParallel
from nnrun.train.errors import TrainingError, TrainingInterrupted
from nnrun.train.folders import Claim, claim
from nnrun.train.interrupt import DeferredInterrupt
from nnrun.train.metrics import MetricTracker
from nnrun.train.progress import default_progress
from nnrun.train.resume_rules import check_config, check_optimizer
from nnrun.train.run_folder import RunFolder
from nnrun.train.settings import TrainSettings


class Trainer:
    """Trains a classifier: ``Trainer(config).fit()`` for a training config (a path, YAML text or
    :class:`~nnrun.config.TrainingConfig`), or ``Trainer(model=…, optimizer=…, loss_fn=…, train_loader=…)``
    with your own objects (loaders yield ``(inputs, labels)``; give them a ``seed`` for exact resume).

    Args:
        config: a training config; builds model, data, loss, optimizer and scheduler from it.
        model, optimizer, loss_fn, train_loader, val_loader, test_loader, scheduler: the parts, instead.
        settings: epochs, logging, checkpoints, run folder (from the config when one is given).
        callbacks: :class:`~nnrun.train.Callback` objects called at each hook.
        progress: True for a progress bar/log lines, False for none, or a Callback of your own.
        overrides: ``key.path=value`` overrides of the config.
        need_test, need_train: build the config's test split even when ``train.test`` is off; build its
            training data (False: only the test split, for evaluation, which then needs only its files).
        communicator: the ranks of a data-parallel job (:mod:`nnrun.distributed`); by default
            ``nnrun.distributed.init()``: one process, or every rank of an ``mpirun`` launch. On several
            ranks the loaders are sharded (each rank reads ``1/N`` of every epoch), gradients are averaged
            every step, and only rank 0 prints and writes files; callbacks given here run on every rank
            (``trainer.is_global_zero`` tells them apart).
        tune_malloc: tune glibc malloc for training when ``fit`` starts (:func:`nnrun.utils.tune_malloc`);
            False leaves the process's malloc alone.
    """

    def __init__(
        self,
        config: TrainingConfig | str | os.PathLike | None = None,
        *,
        model: nn.Module | None = None,
        optimizer: Any = None,
        loss_fn: nn.Module | None = None,
        train_loader: Any = None,
        val_loader: Any = None,
        test_loader: Any = None,
        scheduler: Any = None,
        settings: TrainSettings | None = None,
        callbacks: Iterable[Callback] = (),
        progress: bool | Callback = True,
        overrides: Iterable[str] = (),
        need_test: bool = False,
        need_train: bool = True,
        communicator: distributed.Communicator | None = None,
        tune_malloc: bool = True,
    ) -> None:
        self.tune_malloc = tune_malloc
        self.config: TrainingConfig | None = None
        self.config_text: str | None = None  # the resolved config, saved in the run folder and checkpoints
        if config is not None:
            if any(part is not None for part in (model, optimizer, loss_fn, train_loader)):
                raise TypeError("Trainer takes a config or model/optimizer/loss_fn/train_loader, not both")
            cfg = config if isinstance(config, TrainingConfig) else load_training(config, tuple(overrides))
            self.config, self.config_text = cfg, cfg.yaml
            self.comm = communicator or distributed.init(device=resolve_device(cfg))
            self.parallel = DataParallel(self.comm)
            with self.parallel.failure_ends_job():  # e.g. data missing on one machine
                parts = build_parts(cfg, need_test, self.comm, need_train)
            settings = settings or settings_from(cfg)
        else:
            if model is None or optimizer is None or loss_fn is None or train_loader is None:
                raise TypeError("Trainer needs a config, or model, optimizer, loss_fn and train_loader")
            device = next(iter(model.parameters())).device
            parts = RunParts(
                model, optimizer, loss_fn, train_loader, val_loader, test_loader, scheduler, str(device)
            )
            self.comm = communicator or distributed.init(device=device)
            self.parallel = DataParallel(self.comm)
        self.parallel.shard_loaders(parts.train_loader, [parts.val_loader, parts.test_loader])
        self.parts = parts
        self.settings = settings or TrainSettings()
        self.model, self.optimizer, self.scheduler = parts.model, parts.optimizer, parts.scheduler
        self.loss_fn, self.device = parts.loss_fn, parts.device
        self.train_loader, self.val_loader, self.test_loader = (
            parts.train_loader,
            parts.val_loader,
            parts.test_loader,
        )
        self.tracker = MetricTracker(self.settings.metrics)
        self.epoch = self.batch_index = self.global_step = self.samples_seen = 0
        self.elapsed = self.train_time = self.epoch_time = 0.0
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.resumed_from: str | None = None
        folder = self.settings.checkpoint.dir
        self.checkpoints = CheckpointFolder(folder, self.settings.checkpoint.keep_last) if folder else None
        hooks: list[Callback] = []
        main = self.comm.is_main
        self.run_folder = RunFolder(self.settings.output, self.config_text) if self.settings.output else None
        if self.run_folder is not None and main:
            hooks.append(self.run_folder)
        hooks += list(callbacks)
        if progress is not False and main:
            hooks.append(default_progress() if progress is True else progress)
        self.callbacks = CallbackList(hooks)
        self._interrupt = DeferredInterrupt()
        self._owns_folders = False
        self._reads_loss_every_step = nnrun.device(str(self.device)).type == "cpu"
        self._checked_step = 0  # the last step whose loss is known to be finite

    @property
    def global_rank(self) -> int:
        """This process's rank in a data-parallel job (0 on a single process)."""
        return self.comm.rank

    @property
    def world_size(self) -> int:
        """How many ranks train together."""
        return self.comm.world_size

    @property
    def is_global_zero(self) -> bool:
        """True on the rank that prints and writes files."""
        return self.comm.is_main

    @property
    def steps_per_epoch(self) -> int:
        return len(self.train_loader)

    def metric_names(self) -> list[str]:
        """The metric columns: ``train/loss``, ``train/accuracy``, … then the ``val/`` ones."""
        names = ["loss", *self.settings.metrics]
        splits = ["train", "val"] if self.val_loader is not None else ["train"]
        return [f"{split}/{name}" for split in splits for name in names]

    # ----- training -----
    def fit(self, resume: str | os.PathLike | None = None, *, overwrite: bool = False) -> dict[str, Any]:
        """Train until ``settings.epochs``; ``resume`` is a checkpoint path or ``auto`` (the run's last one).

        A run folder that already holds a run is never overwritten: training into it is refused (a
        :class:`~nnrun.train.RunFolderError`) unless this continues its own checkpoint, or ``overwrite``
        deletes that run's files first. A resume whose checkpoint or config does not fit is refused before
        anything is written. Returns the summary (also in ``summary.json``). Raises
        :class:`~nnrun.train.TrainingInterrupted` after saving an ``interrupted`` checkpoint on Ctrl-C,
        :class:`~nnrun.train.TrainingError` on a non-finite loss."""
        if self.train_loader is None:
            raise TypeError(
                "this Trainer was built without training data (need_train=False); it can evaluate"
            )
        if self.tune_malloc:
            utils.tune_malloc()
        with self.parallel.failure_ends_job():
            if resume is not None:
                self.resume(resume)
            held = Claim()
            if self.comm.is_main:
                continuing = self._owns_folders or self._continues_own_run()
                held = claim(self.run_folder, self.checkpoints, overwrite=overwrite, continuing=continuing)
                self._owns_folders = True  # a later fit() of this trainer goes on with the same run
            try:
                self.parallel.start(self.model)
                self._session = (time.perf_counter(), self.elapsed)
                self.callbacks.on_train_start(self)
                return self._fit()
            finally:
                held.release()

    def _fit(self) -> dict[str, Any]:
        try:
            # a diverging run is reported once, by the non-finite loss check, not by NumPy's warnings
            with (
                DeferredInterrupt() as self._interrupt,
                np.errstate(over="ignore", invalid="ignore", divide="ignore"),
            ):
                while self.epoch < self.settings.epochs:
                    self._run_epoch()
                summary = self._summary()
        except BaseException as error:
            self.callbacks.on_exception(self, error)
            raise
        self.callbacks.on_train_end(self, summary)
        return summary

    def _run_epoch(self) -> None:
        loader = self.train_loader
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(self.epoch)
        if self.batch_index == 0:
            self.tracker.reset()
            self.epoch_time = 0.0
            self.callbacks.on_epoch_start(self)
        batches = loader.iter_from(self.batch_index) if self.batch_index else iter(loader)
        self.model.train()
        window, window_start = MetricTracker(()), time.perf_counter()  # loss since the last log line
        started = time.perf_counter()
        for inputs, target in batches:
            loss = self._step(inputs, target)
            n = int(target.shape[0])
            window.update(loss, n=n)
            self.batch_index += 1
            self.global_step += 1
            self.samples_seen += n * self.world_size  # equal shards: every rank's batch has n samples
            if self.global_step % self.settings.log_every == 0:
                self._log(window, window_start)
                window, window_start = MetricTracker(()), time.perf_counter()
            every = self.settings.checkpoint.every_steps
            if every and self.global_step % every == 0:
                self._time(started)
                started = time.perf_counter()
                self._save("step", self.global_step)
            self.callbacks.on_step_end(self, loss)
            if self.parallel.should_stop(self._interrupt.requested):
                self._time(started)
                self._stop()
        self._time(started)
        self._end_epoch()

    def _step(self, inputs: Any, target: Any) -> Tensor:
        """One optimizer step; returns the batch's loss, detached. On the CPU a non-finite loss stops
        training before its backward pass; on a GPU the loss stays on the device (reading it back every
        step would stall the device) and is checked where the sums are read (``_check_finite``)."""
        self.optimizer.zero_grad()
        output = self.model(inputs)
        loss = self.loss_fn(output, target)
        if self._reads_loss_every_step:
            self._raise_non_finite(float(loss.item()), self.global_step + 1)
        loss.backward()
        self.parallel.average_gradients(self._interrupt.requested)
        if self.settings.grad_clip_norm:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.grad_clip_norm)
        self.optimizer.step()
        self.parallel.share_buffers()
        if self.scheduler is not None and self.settings.scheduler_interval == "step":
            self.scheduler.step()
        loss = loss.detach()
        self.tracker.update(loss, output.detach(), target)
        return loss

    def _check_finite(self) -> None:
        """Stop if a loss since the last check was not finite (reads the epoch's loss sum back)."""
        self._raise_non_finite(self.tracker.loss_sum, self._checked_step + 1)
        self._checked_step = self.global_step

    def _raise_non_finite(self, value: float, first_step: int) -> None:
        if math.isfinite(value):
            return
        last = max(first_step, self.global_step)
        steps = f"step {last}" if first_step == last else f"one of steps {first_step}-{last}"
        batch = (
            f"batch {self.batch_index + 1}"
            if first_step > self.global_step
            else f"up to batch {self.batch_index}"
        )
        kept = self.checkpoints.last_saved if self.checkpoints else None
        raise TrainingError(
            f"non-finite loss ({value}) at epoch {self.epoch + 1}, {steps} ({batch} of "
            f"{self.steps_per_epoch}); training stopped. "
            + (f"The last good checkpoint is {kept}. " if kept else "No checkpoint was saved. ")
            + "Try a lower learning rate or train.grad_clip_norm."
        )

    def _end_epoch(self) -> None:
        self._check_finite()
        row: dict[str, Any] = {
            "kind": "epoch",
            "epoch": self.epoch + 1,
            "step": self.global_step,
            "lr": self.lr,
        }
        epoch_tracker = self.parallel.global_tracker(self.tracker)
        row.update({f"train/{key}": value for key, value in epoch_tracker.compute().items()})
        if self.val_loader is not None:
            row.update(self.evaluate(self.val_loader, "val"))
        if self.scheduler is not None and self.settings.scheduler_interval == "epoch":
            if isinstance(self.scheduler, nnrun.optim.lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(row.get("val/loss", row.get("train/loss")))
            else:
                self.scheduler.step()
        row["samples_per_s"] = epoch_tracker.samples / max(self.epoch_time, 1e-9)
        row["time_s"] = self.epoch_time
        self.history.append(row)
        self.epoch += 1
        self.batch_index = 0
        self.tracker.reset()
        self.callbacks.on_epoch_end(self, row)
        improved = self._update_best(row)
        every = self.settings.checkpoint.every_epochs
        if (every and self.epoch % every == 0) or self.epoch == self.settings.epochs:
            self._save("epoch", self.epoch)
        if improved:
            self._save("best")
        if self.parallel.any_rank(self._interrupt.requested):
            self._stop()

    def _log(self, window: MetricTracker, started: float) -> None:
        self._check_finite()
        seconds = max(time.perf_counter() - started, 1e-9)
        loss_sum, samples = self.parallel.sums([window.loss_sum, window.samples])
        row = {
            "kind": "step", "epoch": self.epoch + 1, "batch": self.batch_index, "step": self.global_step,
            "lr": self.lr, "train/loss": loss_sum / max(samples, 1), "samples_per_s": samples / seconds,
            "time_s": self._elapsed(),
        }  # fmt: skip
        self.history.append(row)
        self.callbacks.on_log(self, row)

    def _update_best(self, row: dict[str, Any]) -> bool:
        metric = self.settings.checkpoint.best
        if metric is None or metric not in row:
            return False
        same_metric = self.best is not None and self.best.get("metric") == metric  # it may change on resume
        value, best = row[metric], self.best["value"] if same_metric else None
        better = best is None or (value > best if self.settings.checkpoint.mode == "max" else value < best)
        if better:
            self.best = {"metric": metric, "value": value, "epoch": row["epoch"], "step": row["step"]}
        return better

    def _stop(self) -> None:
        raise TrainingInterrupted(self._save("interrupted"))

    def _time(self, started: float) -> None:
        seconds = time.perf_counter() - started
        self.epoch_time += seconds
        self.train_time += seconds

    def _elapsed(self) -> float:
        start, before = getattr(self, "_session", (time.perf_counter(), self.elapsed))
        return before + time.perf_counter() - start

    @property
    def lr(self) -> float:
        """The learning rate of the first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])

    # ----- evaluation -----
    def evaluate(self, loader: Any = None, split: str = "test") -> dict[str, float]:
        """Mean loss and metrics of the model on ``loader`` (default: the test loader), as ``split/name``.

        On several ranks a loader sharded for them (the trainer's own are) is evaluated shard by shard and
        the sums are added up over ranks, so every rank must call this together."""
        loader = loader if loader is not None else self.test_loader
        if loader is None:
            raise ValueError("evaluate: no loader given and this trainer has no test loader")
        tracker = MetricTracker(self.settings.metrics)
        was_training = self.model.training
        self.model.eval()
        try:
            batches = len(loader) if hasattr(loader, "__len__") else 0
            with nnrun.no_grad():
                for batch, (inputs, target) in enumerate(loader, start=1):
                    if self._interrupt.requested and not self.parallel.active:  # Ctrl-C while evaluating
                        raise TrainingInterrupted(self.checkpoints.last_saved if self.checkpoints else None)
                    output = self.model(inputs)
                    tracker.update(self.loss_fn(output, target), output, target)
                    self.callbacks.on_evaluate_step(self, split, batch, batches)
        finally:
            self.model.train(was_training)
        if getattr(loader, "num_replicas", 1) == self.world_size > 1:  # each rank saw its own shard
            tracker = self.parallel.global_tracker(tracker)
        return {f"{split}/{key}": value for key, value in tracker.compute().items()}

    def _summary(self) -> dict[str, Any]:
        epochs = [row for row in self.history if row["kind"] == "epoch"]
        final = {k: v for k, v in (epochs[-1] if epochs else {}).items() if "/" in k}
        if self.settings.test and self.test_loader is not None:
            final.update(self.evaluate(self.test_loader, "test"))
        self.elapsed = self._elapsed()
        return {
            "name": self.settings.name,
            "status": "completed",
            "epochs": self.epoch,
            "steps": self.global_step,
            "device": str(self.device),
            "wall_time_s": self.elapsed,
            "samples_per_s": self.samples_seen / max(self.train_time, 1e-9),
            "final": final,
            "best": self.best,
            "last_checkpoint": self.checkpoints.last_saved if self.checkpoints else None,
        }

    # ----- checkpoints -----
    def _save(self, kind: str, number: int | None = None) -> str | None:
        if self.checkpoints is None:
            return None
        self._check_finite()  # never save weights that a non-finite loss went into
        self.elapsed = self._elapsed()
        state = self.state_dict()  # collective on several ranks: every rank takes part
        path = self.checkpoints.file(kind, number)
        if self.parallel.saving():
            path = self.checkpoints.save(state, kind, number)
        self.parallel.barrier()  # nobody goes on (or reads it) before the file is complete
        if kind != "best":
            self.checkpoints.last_saved = path
        self.callbacks.on_checkpoint(self, path)
        return path

    def state_dict(self) -> dict[str, Any]:
        """Everything a checkpoint holds (see :mod:`nnrun.train.checkpoint`). On several ranks every rank
        must call it (the metrics and generator states of all ranks are gathered)."""
        rng: dict[str, Any] = {"global": nnrun.get_rng_state()}
        if self.parallel.active:
            rng["ranks"] = self.parallel.rng_states()
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "progress": self._progress(),
            "tracker": self.parallel.global_tracker(self.tracker).state_dict(),
            "best": self.best,
            "rng": rng,
            "config": self.config_text,
            "history": self.history,
        }

    def _progress(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch, "batch_index": self.batch_index, "global_step": self.global_step,
            "samples_seen": self.samples_seen, "elapsed_s": self.elapsed, "train_time_s": self.train_time,
            "epoch_time_s": self.epoch_time, "world_size": self.world_size,
            **self._data_split(),
        }  # fmt: skip

    def _data_split(self) -> dict[str, int]:
        """How the ranks split the data (a resume with another number of ranks must split it the same)."""
        batch = getattr(self.train_loader, "batch_size", None)
        samples = getattr(self.train_loader, "num_samples", None)
        if batch is None or samples is None:
            return {}
        return {"global_batch": batch * self.world_size, "epoch_samples": samples * self.world_size}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (model, optimizer, scheduler, position, metrics, RNG)."""
        self.model.load_state_dict({key: value.to(self.device) for key, value in state["model"].items()})
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        progress = state["progress"]
        self.epoch, self.batch_index = progress["epoch"], progress["batch_index"]
        self.global_step, self.samples_seen = progress["global_step"], progress["samples_seen"]
        self.elapsed, self.train_time = progress["elapsed_s"], progress["train_time_s"]
        self.epoch_time = progress["epoch_time_s"]
        self._checked_step = self.global_step
        self.tracker.load_state_dict(state["tracker"])  # all ranks' sums, kept by rank 0 alone:
        if not self.comm.is_main:  # the epoch-end sum over ranks counts them once
            self.tracker.reset()
        self.best = state["best"]
        self.history = list(state["history"])
        self.parallel.restore_rng(state["rng"])

    def load_weights(self, checkpoint: str | os.PathLike) -> str:
        """Load only the model weights of a checkpoint (for evaluation); returns ``epoch N, step S``."""
        path = os.fspath(checkpoint)
        state = load_checkpoint(path, complete=True)
        try:
            self.model.load_state_dict({key: value.to(self.device) for key, value in state["model"].items()})
        except (KeyError, RuntimeError) as exc:
            raise CheckpointError(f"{path}: does not fit this config's model: {exc}") from None
        progress = state["progress"]
        return f"epoch {progress['epoch']}, step {progress['global_step']}"

    def resume(self, checkpoint: str | os.PathLike) -> None:
        """Continue from ``checkpoint`` (a path, or ``auto``: this run's ``last.safetensors``)."""
        path = os.fspath(checkpoint)
        if path == "auto":
            if self.checkpoints is None:
                raise CheckpointError("--resume auto needs a checkpoint folder (settings.checkpoint.dir)")
            path = self.checkpoints.resume_path("auto")
        state = load_checkpoint(path, complete=True)
        if self.config is not None and state["config"]:
            same_ranks = state["progress"].get("world_size", 1) == self.world_size
            check_config(path, state["config"], self.config, same_ranks)
        else:
            check_optimizer(path, state["optimizer"], self.optimizer)
        self.parallel.check_resume(path, state["progress"], self.train_loader)
        try:
            self.load_state_dict(state)
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(f"{path}: does not fit this run's model or optimizer: {exc}") from None
        self.resumed_from = path
        if self.checkpoints is not None:
            self.checkpoints.last_saved = path

    def _continues_own_run(self) -> bool:
        """Whether this run resumed from a checkpoint of its own checkpoint folder."""
        if self.resumed_from is None or self.checkpoints is None:
            return False
        return os.path.realpath(os.path.dirname(self.resumed_from)) == os.path.realpath(self.checkpoints.path)
