"""``Trainer``: the training loop; everything else a run does is a callback (:mod:`nnrun.train.extensions`).

Exactness: a checkpoint holds the model, optimizer and scheduler states, the global generator (dropout and
any other draws), the running epoch metrics and the :class:`~nnrun.train.position.Position` (epoch, batch
index within it, global step, samples, time). The data order and augmentations of epoch ``e`` are a pure
function of (seed, e) (``DataLoader(seed=…)``), so a resumed run calls ``set_epoch(e)`` and
``iter_from(batch_index)`` and performs exactly the same floating-point operations as an uninterrupted one:
the final weights are equal bit for bit.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

import nnrun
from nnrun import distributed, nn, utils
from nnrun._tensor import Tensor
from nnrun.config import TrainingConfig
from nnrun.data.tasks import TASKS
from nnrun.serialization import CheckpointError
from nnrun.train.build import load_run, settings_from
from nnrun.train.callbacks import Callback, CallbackList
from nnrun.train.checkpoint import load_checkpoint
from nnrun.train.checkpoint_folder import CheckpointFolder
from nnrun.train.data_parallel import DataParallel
from nnrun.train.errors import ResumeRefused, TrainingInterrupted
from nnrun.train.extensions import (
    Checkpointer,
    Evaluation,
    MetricLogger,
    NonFiniteLoss,
    RunFolder,
    default_progress,
)
from nnrun.train.folders import Claim, claim
from nnrun.train.interrupt import DeferredInterrupt
from nnrun.train.metrics import MetricTracker
from nnrun.train.position import Position
from nnrun.train.predict import Predictions, loader_for, predict_batches
from nnrun.train.resume_rules import check_config, check_optimizer
from nnrun.train.settings import TrainSettings


class Trainer:
    """Trains a classifier on your own objects: ``Trainer(model, optimizer, loss_fn, train_loader, …)``
    (loaders yield ``(inputs, labels)``; give them a ``seed`` for exact resume); for a training config, use
    :meth:`Trainer.from_config`.

    Args:
        model, optimizer, loss_fn, train_loader: the parts that train; without a ``train_loader`` the
            trainer can only evaluate.
        val_loader, test_loader, scheduler: the optional parts.
        settings: epochs, logging, checkpoints, run folder.
        callbacks: :class:`~nnrun.train.Callback` objects, called after the built-in non-finite loss stop,
            metric rows, evaluation and run folder, and before the progress output and the checkpoints
            (last: a checkpoint holds what the others have done).
        progress: True for a progress bar/log lines, False for none, or a Callback of your own.
        communicator: the ranks of a data-parallel job (:mod:`nnrun.distributed`); by default
            ``nnrun.distributed.init()``: one process, or every rank of an ``mpirun`` launch. On several
            ranks the loaders are sharded (each rank reads ``1/N`` of every epoch), gradients are averaged
            every step, and only rank 0 prints and writes files; callbacks given here run on every rank
            (``trainer.is_global_zero`` tells them apart) unless their ``rank_zero_only`` is set.
        tune_malloc: tune glibc malloc for training when ``fit`` starts (:func:`nnrun.utils.tune_malloc`);
            False leaves the process's malloc alone.
        config: the training config the parts were built from (:meth:`from_config` gives it): saved in the
            run folder and every checkpoint, and what a resume is checked against.
        device: the device the parts are on, as the run names it (by default the model's).
        preprocessing: how the data's inputs were encoded, fitted on the training rows (a CSV's statistics
            and categories, the class names; :mod:`nnrun.data.fitted`): saved in every checkpoint, so that
            evaluation and prediction encode new inputs the same way.
    """

    def __init__(
        self,
        model: nn.Module | None = None,
        optimizer: Any = None,
        loss_fn: nn.Module | None = None,
        train_loader: Any = None,
        *,
        val_loader: Any = None,
        test_loader: Any = None,
        scheduler: Any = None,
        settings: TrainSettings | None = None,
        callbacks: Iterable[Callback] = (),
        progress: bool | Callback = True,
        communicator: distributed.Communicator | None = None,
        tune_malloc: bool = True,
        config: TrainingConfig | None = None,
        device: str | None = None,
        preprocessing: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(model, (str, os.PathLike, TrainingConfig)):
            raise TypeError(
                "Trainer takes a model, optimizer, loss_fn, …; for a config, use Trainer.from_config(config)"
            )
        if model is None or optimizer is None or loss_fn is None:
            raise TypeError("Trainer needs a model, optimizer and loss_fn (and a train_loader to fit)")
        self.tune_malloc = tune_malloc
        self.device = device or str(next(iter(model.parameters())).device)
        self.comm = communicator or distributed.init(device=self.device)
        self.parallel = DataParallel(self.comm)
        self.parallel.shard_loaders(train_loader, [val_loader, test_loader])
        self.config: TrainingConfig | None = config
        self.config_text = config.yaml if config else None  # saved in run folder and checkpoints
        self.preprocessing = dict(preprocessing or {})  # saved in checkpoints
        self.settings = settings = settings or TrainSettings()
        self.model, self.optimizer, self.scheduler, self.loss_fn = model, optimizer, scheduler, loss_fn
        self.train_loader, self.val_loader, self.test_loader = train_loader, val_loader, test_loader
        self.position = Position()
        self.tracker = MetricTracker(settings.metrics, settings.task)  # the running metrics of the epoch
        self.trackers = [self.tracker]  # every one gets each batch's loss, output and target
        self.history: list[dict[str, Any]] = []
        self.resumed_from: str | None = None
        self.should_stop = False
        #: what the config's ``init_from`` loaded (:class:`~nnrun.train.fine_tuning.InitReport`), or None
        self.init_report: Any = None
        folder = settings.checkpoint.dir
        self.checkpoints = CheckpointFolder(folder, settings.checkpoint.keep_last) if folder else None
        self.checkpointer = Checkpointer(self.checkpoints, settings.checkpoint)
        self.run_folder = RunFolder(settings.output, self.config_text) if settings.output else None
        on_cpu = nnrun.device(self.device).type == "cpu"
        if progress is False or not self.comm.is_main:
            progress = None
        hooks: list[Any] = [
            NonFiniteLoss(every_step=on_cpu, every_n_steps=settings.log_every),
            MetricLogger(settings.log_every),
            Evaluation(test=settings.test),
            self.run_folder,
            *callbacks,
            default_progress() if progress is True else progress,
            self.checkpointer,  # last: it saves what the others have done
        ]
        self.callbacks = CallbackList([hook for hook in hooks if hook is not None], main=self.comm.is_main)
        self._interrupt = DeferredInterrupt()
        self._owns_folders = False
        self._session: tuple[float, float] | None = None  # (clock, elapsed_s) when the last fit began
        self._clock: float | None = None  # while steps run: when their time was last counted

    @classmethod
    def from_config(
        cls,
        config: TrainingConfig | str | os.PathLike,
        *,
        overrides: Iterable[str] = (),
        need_test: bool = False,
        need_train: bool = True,
        settings: TrainSettings | None = None,
        callbacks: Iterable[Callback] = (),
        progress: bool | Callback = True,
        communicator: distributed.Communicator | None = None,
        tune_malloc: bool = True,
        preprocessing: dict[str, Any] | None = None,
    ) -> Trainer:
        """A trainer for a training config (a path, YAML text or :class:`~nnrun.config.TrainingConfig`):
        its model, data, loss, optimizer, scheduler, settings and ``callbacks:`` (before the ``callbacks``
        given here) are built from it; a failure on one rank ends the whole job.

        ``overrides``: ``key.path=value`` overrides of the config; ``need_test``: build the test split even
        when ``train.test`` is off; ``need_train=False``: build only the test split, for evaluation (which
        then needs only its files); ``preprocessing``: a checkpoint's fitted preprocessing, to encode the
        data with instead of fitting it on the training rows."""
        parts, communicator = load_run(config, overrides, need_test, need_train, communicator, preprocessing)
        assert parts.config is not None
        trainer = cls(
            parts.model,
            parts.optimizer,
            parts.loss_fn,
            parts.train_loader,
            val_loader=parts.val_loader,
            test_loader=parts.test_loader,
            scheduler=parts.scheduler,
            settings=settings or settings_from(parts.config),
            callbacks=[*parts.callbacks, *callbacks],
            progress=progress,
            communicator=communicator,
            tune_malloc=tune_malloc,
            config=parts.config,
            device=parts.device,
            preprocessing=parts.preprocessing,
        )
        trainer.init_report = parts.init_report
        return trainer

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
    def epoch(self) -> int:
        return self.position.epoch

    @property
    def batch_index(self) -> int:
        return self.position.batch_index

    @property
    def global_step(self) -> int:
        return self.position.global_step

    @property
    def samples_seen(self) -> int:
        return self.position.samples_seen

    @property
    def steps_per_epoch(self) -> int:
        """Training batches per epoch (at most ``settings.limit_batches``)."""
        return min(len(self.train_loader), self.settings.limit_batches or len(self.train_loader))

    @property
    def max_steps_reached(self) -> bool:
        """Whether ``settings.max_steps`` optimizer steps have been taken."""
        return self.settings.max_steps is not None and self.position.global_step >= self.settings.max_steps

    @property
    def best(self) -> dict[str, Any] | None:
        """The best value of ``settings.checkpoint.best`` so far (metric, value, epoch, step), or None."""
        return self.checkpointer.best

    @property
    def lr(self) -> float:
        """The learning rate of the first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])

    @property
    def elapsed(self) -> float:
        """Wall time of the run so far, in seconds (all its sessions)."""
        if self._session is None:
            return self.position.elapsed_s
        start, before = self._session
        return before + time.perf_counter() - start

    def metric_names(self) -> list[str]:
        """The metric columns: ``train/loss``, ``train/accuracy``, … then the ``val/`` ones (scalar metrics
        only; a confusion matrix or per-class values are in the rows of ``metrics.jsonl``)."""
        names = ["loss", *self.tracker.scalar_names()]
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
            message = "this Trainer was built without training data (train_loader=None, need_train=False)"
            raise TypeError(message + "; it can evaluate")
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
                self._session = (time.perf_counter(), self.position.elapsed_s)
                self.should_stop = False
                self.callbacks.call("on_train_start", self)
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
                while self.position.epoch < self.settings.epochs and not self.should_stop:
                    if self.max_steps_reached:
                        break
                    self._run_epoch()
                summary = self._summary()
        except BaseException as error:
            self._clock = None
            self.callbacks.call("on_exception", self, error)
            raise
        self.callbacks.call("on_train_end", self, summary)
        return summary

    def _run_epoch(self) -> None:
        position, loader = self.position, self.train_loader
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(position.epoch)
        if position.batch_index == 0:
            self.tracker.reset()
            position.epoch_time_s = 0.0
            self.callbacks.call("on_epoch_start", self)
        batches = loader.iter_from(position.batch_index) if position.batch_index else iter(loader)
        total, group = self.steps_per_epoch, self.settings.accumulate_batches
        if total < len(loader):  # train.limit_batches
            batches = itertools.islice(batches, max(total - position.batch_index, 0))
        self.model.train()
        every_n_steps, step_end = self.callbacks.every_n_steps, self.callbacks.hooks["on_step_end"]
        ranks = self.world_size
        self._clock = time.perf_counter()
        for inputs, target in batches:
            # a group of `group` batches ends in one optimizer step; so does the epoch's last, shorter one
            first = position.batch_index % group == 0
            last = (position.batch_index + 1) % group == 0 or position.batch_index + 1 == total
            loss = self._step(inputs, target, first, last)
            position.advance(int(target.shape[0]) * ranks, last)  # equal shards: as many on every rank
            if last:
                for n, hook in every_n_steps:
                    if position.global_step % n == 0:
                        hook(self)
                for hook in step_end:
                    hook(self, loss)
            if self.parallel.should_stop(self._interrupt.requested):
                self._stop()
            if last and self._after_step(position.batch_index == total):
                break
        self._count_time()
        self._clock = None
        self._end_epoch()

    def _step(self, inputs: Any, target: Any, first: bool = True, last: bool = True) -> Tensor:
        """One batch: forward and backward, its gradients added to those of the group's earlier batches
        (``first``: a new group starts), and with the group's ``last`` batch the optimizer step. Returns the
        batch's loss, detached."""
        if first:
            self.optimizer.zero_grad()
        output = self.model(inputs)
        loss = self.loss_fn(output, target)
        for hook in self.callbacks.hooks["on_before_backward"]:
            hook(self, loss)
        group = self.settings.accumulate_batches
        (loss / group if group > 1 else loss).backward()  # a sum of N losses / N: the mean of the group
        if last:
            self._optimizer_step()
        loss, output = loss.detach(), output.detach()
        for tracker in self.trackers:
            tracker.update(loss, output, target)
        return loss

    def _optimizer_step(self) -> None:
        """Average the gradients over ranks, clip them, step the optimizer (and a per-step scheduler)."""
        self.parallel.average_gradients(self._interrupt.requested)
        if self.settings.grad_clip_norm:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.grad_clip_norm)
        self.optimizer.step()
        self.parallel.share_buffers()
        if self.scheduler is not None and self.settings.scheduler_interval == "step":
            self.scheduler.step()

    def _after_step(self, epoch_done: bool) -> bool:
        """After an optimizer step: validate every ``val_every_steps`` steps (unless the epoch's end is
        about to); True when ``max_steps`` is reached (the epoch ends there, and so does training)."""
        every = self.settings.val_every_steps
        reached = self.max_steps_reached
        due = every and self.global_step % every == 0 and not (epoch_done or reached)
        if due and self.val_loader is not None:
            self._count_time()
            row: dict[str, Any] = {"kind": "val", "epoch": self.epoch + 1, "batch": self.batch_index}
            row.update({"step": self.global_step, "lr": self.lr})
            row.update(self.evaluate(self.val_loader, "val"))
            self.history.append(row)
            self.callbacks.call("on_log", self, row)
            self._clock = time.perf_counter()  # validation is not training time
        if reached:
            self.should_stop = True  # like an early stop: this epoch is the last, and it is saved
        return reached

    def _end_epoch(self) -> None:
        position = self.position
        epoch_tracker = self.parallel.global_tracker(self.tracker)
        row: dict[str, Any] = {
            "kind": "epoch",
            "epoch": position.epoch + 1,
            "step": position.global_step,
            "lr": self.lr,
        }
        row.update({f"train/{key}": value for key, value in epoch_tracker.compute().items()})
        self.callbacks.call("on_epoch_metrics", self, row)
        if self.scheduler is not None and self.settings.scheduler_interval == "epoch":
            if isinstance(self.scheduler, nnrun.optim.lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(row.get("val/loss", row.get("train/loss")))
            else:
                self.scheduler.step()
        row["samples_per_s"] = epoch_tracker.samples / max(position.epoch_time_s, 1e-9)
        row["time_s"] = position.epoch_time_s
        self.history.append(row)
        position.next_epoch()
        self.tracker.reset()
        self.callbacks.call("on_epoch_end", self, row)
        if self.parallel.any_rank(self._interrupt.requested):
            self._stop()

    def _stop(self) -> None:
        raise TrainingInterrupted(self.checkpointer.save(self, "interrupted"))

    def _count_time(self) -> None:
        """Add the time since the last count to the training time, while steps run."""
        if self._clock is None:
            return
        now = time.perf_counter()
        self.position.epoch_time_s += now - self._clock
        self.position.train_time_s += now - self._clock
        self._clock = now

    # ----- evaluation -----
    def evaluate(self, loader: Any = None, split: str = "test") -> dict[str, float]:
        """Mean loss and metrics of the model on ``loader`` (default: the test loader), as ``split/name``.

        On several ranks a loader sharded for them (the trainer's own are) is evaluated shard by shard and
        the sums are added up over ranks, so every rank must call this together."""
        loader = loader if loader is not None else self.test_loader
        if loader is None:
            raise ValueError("evaluate: no loader given and this trainer has no test loader")
        tracker = MetricTracker(self.settings.metrics, self.settings.task)
        was_training = self.model.training
        self.model.eval()
        step_hooks = self.callbacks.hooks["on_evaluate_step"]
        try:
            batches = len(loader) if hasattr(loader, "__len__") else 0
            limit = self.settings.limit_batches
            if limit is not None:
                batches = min(batches, limit) if batches else limit
            with nnrun.no_grad():
                for batch, (inputs, target) in enumerate(itertools.islice(loader, limit), start=1):
                    if self._interrupt.requested and not self.parallel.active:  # Ctrl-C while evaluating
                        raise TrainingInterrupted(self.checkpoints.last_saved if self.checkpoints else None)
                    output = self.model(inputs)
                    tracker.update(self.loss_fn(output, target), output, target)
                    for hook in step_hooks:
                        hook(self, split, batch, batches)
        finally:
            self.model.train(was_training)
        if getattr(loader, "num_replicas", 1) == self.world_size > 1:  # each rank saw its own shard
            tracker = self.parallel.global_tracker(tracker)
        return {f"{split}/{key}": value for key, value in tracker.compute().items()}

    def predict(
        self, data: Any, *, names: list[str] | None = None, with_targets: bool = False, batch_size: int = 256
    ) -> Predictions:
        """The model's predictions on ``data`` (a loader, or a dataset read in batches of ``batch_size``), on
        one process, read by the config's task (classification without a config); ``names``: one per sample
        (default: the sample indices); ``with_targets``: keep the data's targets beside the predictions."""
        task = self.config.task if self.config is not None else TASKS["classification"]
        loader = loader_for(data, batch_size, self.device)
        return predict_batches(
            self.model,
            loader,
            task,
            names=names,
            preprocessing=self.preprocessing,
            with_targets=with_targets,
        )

    def _summary(self) -> dict[str, Any]:
        epochs = [row for row in self.history if row["kind"] == "epoch"]
        final = {k: v for k, v in (epochs[-1] if epochs else {}).items() if "/" in k}
        self.callbacks.call("on_final_metrics", self, final)
        position = self.position
        position.elapsed_s = self.elapsed
        return {
            "name": self.settings.name,
            "status": "completed",
            "epochs": position.epoch,
            "steps": position.global_step,
            "device": str(self.device),
            "wall_time_s": position.elapsed_s,
            "samples_per_s": position.samples_seen / max(position.train_time_s, 1e-9),
            "final": final,
            "best": self.best,
            "last_checkpoint": self.checkpoints.last_saved if self.checkpoints else None,
        }

    # ----- checkpoints -----
    def state_dict(self) -> dict[str, Any]:
        """Everything a checkpoint holds (see :mod:`nnrun.train.checkpoint`), as of now. On several ranks
        every rank must call it (the metrics and generator states of all ranks are gathered)."""
        self._count_time()
        self.position.elapsed_s = self.elapsed
        rng: dict[str, Any] = {"global": nnrun.get_rng_state()}
        if self.parallel.active:
            rng["ranks"] = self.parallel.rng_states()
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "progress": {**self.position.state_dict(), "world_size": self.world_size, **self._data_split()},
            "tracker": self.parallel.global_tracker(self.tracker).state_dict(),
            "best": self.best,
            "rng": rng,
            "config": self.config_text,
            "history": self.history,
        }
        if self.preprocessing:  # only then, like the callbacks' state
            state["preprocessing"] = self.preprocessing
        callbacks = self.callbacks.state_dict()
        if callbacks:  # only then: a checkpoint without callback state keeps the layout it always had
            state["callbacks"] = callbacks
        if self._group_open():  # mid-accumulation (an interrupt): the gradients summed so far
            named = self.model.named_parameters()
            state["accumulated"] = {name: p.grad for name, p in named if p.grad is not None}
        return state

    def _group_open(self) -> bool:
        """Whether some batches of an accumulation group are done but its optimizer step is not."""
        index = self.position.batch_index
        return index % self.settings.accumulate_batches != 0 and index < self.steps_per_epoch

    def _data_split(self) -> dict[str, int]:
        """How the ranks split the data (a resume with another number of ranks must split it the same)."""
        batch = getattr(self.train_loader, "batch_size", None)
        samples = getattr(self.train_loader, "num_samples", None)
        if batch is None or samples is None:
            return {}
        return {"global_batch": batch * self.world_size, "epoch_samples": samples * self.world_size}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (model, optimizer, scheduler, position, metrics, RNG, callbacks)."""
        self.model.load_state_dict({key: value.to(self.device) for key, value in state["model"].items()})
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.position = Position.from_state(state["progress"])
        self.tracker.load_state_dict(state["tracker"])  # all ranks' sums, kept by rank 0 alone:
        if not self.comm.is_main:  # the epoch-end sum over ranks counts them once
            self.tracker.reset()
        self.checkpointer.best = state["best"]
        self.history = list(state["history"])
        self.callbacks.load_state_dict(state.get("callbacks", {}))
        self.parallel.restore_rng(state["rng"])
        accumulated = state.get("accumulated", {})
        for name, param in self.model.named_parameters():
            param.grad = accumulated[name].to(self.device) if name in accumulated else None

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
        if state.get("preprocessing", {}) != self.preprocessing:  # refitted on data that has changed since
            raise ResumeRefused(
                f"cannot resume from {path}: this run's data is encoded differently from the checkpoint's "
                "(the preprocessing fitted on the training rows differs: a changed data file or "
                "data.options); resume on the data it was trained on"
            )
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
