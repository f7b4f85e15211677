"""From a validated training config to the objects a :class:`~nnrun.train.Trainer` runs: device, datasets,
loaders, model, loss, optimizer and scheduler (in that order, after seeding the global generator)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import nnrun
from nnrun import distributed, nn
from nnrun.config import ConfigError, TrainingConfig, build_model, load_training
from nnrun.config.errors import describe_exception
from nnrun.config.training_nodes import (
    build_loss,
    build_optimizer,
    build_scheduler,
    build_transform,
    first_steps,
    stand_in,
)
from nnrun.data import DataLoader, Dataset, DatasetError, OptionError, load_dataset
from nnrun.data.fitted import FittedSource, fit_preprocessing, in_task_form, prepare_split
from nnrun.data.tasks import TargetError
from nnrun.optim import Optimizer
from nnrun.train.callbacks import Callback
from nnrun.train.config_callbacks import callbacks_from_config
from nnrun.train.data_checks import check_pipeline, check_training_data
from nnrun.train.data_parallel import DataParallel, seed_for_rank
from nnrun.train.fine_tuning import InitReport, freeze, init_weights, optimizer_params
from nnrun.train.settings import CheckpointSettings, TrainSettings


@dataclass
class RunParts:
    """Everything a trainer needs; loaders yield ``(inputs, labels)`` on ``device`` (no training loader
    when built for evaluation only); built from ``config`` with its ``callbacks:``, if from a config."""

    model: nn.Module
    optimizer: Optimizer
    loss_fn: nn.Module
    train_loader: DataLoader | None
    val_loader: DataLoader | None
    test_loader: DataLoader | None
    scheduler: Any
    device: str
    config: TrainingConfig | None = None
    callbacks: list[Callback] = field(default_factory=list)
    #: the preprocessing fitted on the training rows (:mod:`nnrun.data.fitted`); ``{}`` when none is needed
    preprocessing: dict[str, Any] = field(default_factory=dict)
    init_report: InitReport | None = None  # what init_from loaded


def load_run(
    config: TrainingConfig | str | os.PathLike,
    overrides: Iterable[str] = (),
    need_test: bool = False,
    need_train: bool = True,
    communicator: distributed.Communicator | None = None,
    preprocessing: dict[str, Any] | None = None,
) -> tuple[RunParts, distributed.Communicator]:
    """The parts a training config (a path, YAML text or loaded config, with ``key=value`` overrides)
    describes, with the communicator of its ranks (by default ``distributed.init()`` on its device); see
    :func:`build_parts`. A failure on one rank (data missing on one machine) ends the whole job."""
    cfg = config if isinstance(config, TrainingConfig) else load_training(config, tuple(overrides))
    comm = communicator or distributed.init(device=resolve_device(cfg))
    with DataParallel(comm).failure_ends_job():
        parts = build_parts(cfg, need_test, comm, need_train, preprocessing)
        parts.callbacks = callbacks_from_config(cfg)
    return parts, comm


def resolve_device(cfg: TrainingConfig) -> str:
    """``auto`` → cuda when available, else cpu; a cuda device that cannot be used is a config error. Under
    an MPI launcher, plain ``cuda`` means this rank's GPU (``cuda:<local rank mod GPUs>``)."""
    if cfg.device == "auto":
        device = "cuda" if nnrun.cuda.is_available() else "cpu"
    else:
        device = cfg.device
        if device.startswith("cuda"):
            if not nnrun.cuda.is_available():
                message = (
                    f"{device} was asked for but CUDA is not available here (no GPU, or no CuPy: "
                    "pip install -e '.[cuda]'); use device: cpu or auto"
                )
                raise cfg.error_at("device", message)
            index = int(device.partition(":")[2] or 0)
            if index >= nnrun.cuda.device_count():
                raise cfg.error_at(
                    "device", f"{device}: only {nnrun.cuda.device_count()} CUDA device(s) here"
                )
    if device == "cuda" and distributed.launched_world_size() > 1:
        return f"cuda:{distributed.local_rank() % nnrun.cuda.device_count()}"
    return device


def settings_from(cfg: TrainingConfig) -> TrainSettings:
    """The trainer settings of a config (checkpoints under ``<output>/<checkpoint.dir>``)."""
    ck = cfg.checkpoint
    # an absolute dir stands on its own; "out/../other" is "other", whether or not "out" exists yet
    folder = os.path.normpath(os.path.join(cfg.output, ck.dir))
    checkpoint = CheckpointSettings(
        folder, ck.every_epochs, ck.every_steps, ck.keep_last, ck.best, cfg.best_mode
    )
    return TrainSettings(
        epochs=cfg.train.epochs,
        log_every=cfg.train.log_every,
        grad_clip_norm=cfg.train.grad_clip_norm,
        metrics=tuple(cfg.train.metrics),
        scheduler_interval=cfg.scheduler.interval if cfg.scheduler else "epoch",
        output=cfg.output,
        checkpoint=checkpoint,
        test=cfg.train.test,
        name=cfg.name,
        accumulate_batches=cfg.train.accumulate_batches,
        max_steps=cfg.train.max_steps,
        val_every_steps=cfg.train.val_every_steps,
        limit_batches=cfg.train.limit_batches,
        task=cfg.task.name,
    )


def rank_batch_size(cfg: TrainingConfig, world_size: int) -> int:
    """Each rank's training batch: ``data.batch_size`` itself (``batch_scope: per_rank``), or its share of
    it (``global``, which the number of ranks must divide)."""
    data = cfg.data
    if data.batch_scope == "per_rank":
        return data.batch_size
    if data.batch_size % world_size:
        raise cfg.error_at(
            "data.batch_size",
            f"the global batch {data.batch_size} (batch_scope: global) does not split evenly over "
            f"{world_size} ranks; use a multiple of {world_size}",
        )
    return data.batch_size // world_size


def build_parts(
    cfg: TrainingConfig,
    need_test: bool = False,
    comm: distributed.Communicator | None = None,
    need_train: bool = True,
    preprocessing: dict[str, Any] | None = None,
) -> RunParts:
    """Seed the global generator with ``cfg.seed``, then build every part on the config's device; with a
    communicator of several ranks, the loaders read this rank's shard and each rank's generator is then
    reseeded from (seed, rank) so dropout masks differ between ranks. Without ``need_train`` (evaluation
    on the test split), neither the training data nor the scheduler is built. ``preprocessing``: a
    checkpoint's fitted preprocessing, used instead of fitting it again (:func:`datasets`)."""
    comm = comm or distributed.SingleProcess()
    device = resolve_device(cfg)
    splits = _datasets_once_per_machine(cfg, need_test, need_train, comm, preprocessing)
    train_set, val_set, test_set = splits.train, splits.val, splits.test
    classes = splits.preprocessing.get("classes")
    nnrun.manual_seed(cfg.seed)
    model = build_model(cfg.model).to(device)
    init_report = init_weights(cfg, model)
    freeze(cfg, model)
    loss_fn = build_loss(*cfg.loss_node).to(device)
    params = optimizer_params(cfg, model)
    optimizer = _built(cfg, "optimizer", lambda: build_optimizer(cfg.optimizer, params))
    data = cfg.data
    batch = rank_batch_size(cfg, comm.world_size)
    eval_batch = data.eval_batch_size or batch
    shard = {"num_replicas": comm.world_size, "rank": comm.rank}
    train_loader = None
    if train_set is not None:
        train_loader = DataLoader(
            train_set,
            batch,
            shuffle=data.shuffle,
            drop_last=data.drop_last,
            device=device,
            seed=cfg.seed,
            **shard,
        )
    if train_loader is not None:
        check_training_data(cfg, train_set, batch, len(train_loader))
        check_pipeline(cfg, train_set, cfg.train_transforms, model, loss_fn, batch, classes)
    elif test_set is not None:
        check_pipeline(cfg, test_set, cfg.eval_transforms, model, loss_fn, eval_batch, classes)
    evaluation = {"device": device, "seed": cfg.seed, "even_shards": False, **shard}
    val_loader = DataLoader(val_set, eval_batch, **evaluation) if val_set else None
    test_loader = DataLoader(test_set, eval_batch, **evaluation) if test_set else None
    if comm.world_size > 1:
        seed_for_rank(cfg.seed, comm.rank)
    scheduler = None
    if cfg.scheduler is not None and train_loader is not None:
        epochs, per_epoch = cfg.train.epochs, settings_from(cfg).optimizer_steps(len(train_loader))
        steps = min(epochs * per_epoch, cfg.train.max_steps or epochs * per_epoch)
        symbols = {"epochs": epochs, "steps_per_epoch": per_epoch, "steps": steps}
        scheduler = _built(cfg, "scheduler", lambda: _scheduler(cfg, optimizer, symbols))
    return RunParts(
        model,
        optimizer,
        loss_fn,
        train_loader,
        val_loader,
        test_loader,
        scheduler,
        device,
        cfg,
        preprocessing=splits.preprocessing,
        init_report=init_report,
    )


def _scheduler(cfg: TrainingConfig, optimizer: Optimizer, symbols: dict[str, int]) -> Any:
    """The config's scheduler on ``optimizer``, once a copy of it has taken its first steps on a stand-in
    optimizer (see :func:`~nnrun.config.training_nodes.first_steps`)."""
    assert cfg.scheduler is not None
    trial = build_scheduler(cfg.scheduler.node, stand_in(cfg.optimizer), symbols)
    try:
        first_steps(trial)
    except Exception as exc:
        run = ", ".join(f"{name} = {value}" for name, value in symbols.items())
        message = f"{cfg.scheduler.node.name} fails at its first steps in this run ({run}): "
        raise cfg.error_at("scheduler", message + describe_exception(exc)) from None
    return build_scheduler(cfg.scheduler.node, optimizer, symbols)


def _built(cfg: TrainingConfig, key: str, build: Callable[[], Any]) -> Any:
    """The optimizer or scheduler ``build()`` makes, or a config error at ``key``: only now are the model's
    parameters and the run's ``epochs``/``steps`` known (a model without parameters, ``T_max: epochs - 5``
    with 3 epochs)."""
    try:
        return build()
    except ConfigError:
        raise
    except Exception as exc:  # the constructor's own check, of any kind
        raise cfg.error_at(key, describe_exception(exc)) from None


def _datasets_once_per_machine(
    cfg: TrainingConfig,
    need_test: bool,
    need_train: bool,
    comm: distributed.Communicator,
    preprocessing: dict[str, Any] | None,
) -> Splits:
    """:func:`datasets`; with ``download`` on several ranks, the first rank of each machine fetches any
    missing files while the others wait, then they read what it wrote."""
    if comm.world_size == 1 or not cfg.data.download:
        return datasets(cfg, need_test, need_train, preprocessing)
    first = distributed.local_rank() == 0
    if not first:
        comm.barrier()
    loaded = datasets(cfg, need_test, need_train, preprocessing)
    if first:
        comm.barrier()
    return loaded


@dataclass
class Splits:
    """The datasets of a run, and the preprocessing fitted on its training rows (``{}``: none needed)."""

    train: Dataset | None
    val: Dataset | None
    test: Dataset | None
    preprocessing: dict[str, Any]


def datasets(
    cfg: TrainingConfig,
    need_test: bool = False,
    need_train: bool = True,
    preprocessing: dict[str, Any] | None = None,
) -> Splits:
    """Train, validation (``val_split`` of train, drawn from the seed) and test sets with their transforms
    and targets in the task's form; the test set only when ``train.test`` is on or ``need_test``; without
    ``need_train``, the test set alone (so evaluating on it needs only its files).

    Data that needs fitting (:class:`~nnrun.data.fitted.FittedSource`) is fitted on the training rows that
    remain after the validation split, unless ``preprocessing`` (a checkpoint's) is given."""
    train = val = test = None
    fitted = preprocessing
    eval_transform = build_transform(cfg.eval_transforms)
    if need_train:
        source = _load(cfg, "train")
        order = np.arange(len(source))
        n_val = 0
        if cfg.data.val_split > 0:
            order = np.random.default_rng(cfg.seed).permutation(len(source))
            n_val = max(1, round(len(source) * cfg.data.val_split))
        if fitted is None:
            fitted = _data_step(cfg, lambda: fit_preprocessing(source, order[n_val:], cfg.task))
        train_transform = build_transform(cfg.train_transforms)
        train = _prepared(cfg, source, order[n_val:] if n_val else None, fitted, train_transform)
        val = _prepared(cfg, source, order[:n_val], fitted, eval_transform) if n_val else None
    if cfg.train.test or need_test or not need_train:
        source = _load(cfg, "test")
        if fitted is None:
            if isinstance(source, FittedSource):
                raise cfg.error_at(
                    "data.dataset",
                    f"{cfg.data.dataset} data is encoded with preprocessing fitted on the training rows: "
                    "evaluate with a checkpoint, which holds it",
                )
            fitted = {}
        test = _prepared(cfg, source, None, fitted, eval_transform)
    return Splits(train, val, test, fitted or {})


def _prepared(
    cfg: TrainingConfig,
    source: Dataset,
    rows: np.ndarray | None,
    preprocessing: dict[str, Any],
    transform: Any,
) -> Dataset:
    return _data_step(cfg, lambda: prepare_split(source, rows, preprocessing, cfg.task, transform))


def _data_step(cfg: TrainingConfig, step: Callable[[], Any]) -> Any:
    """``step()``, with a target that does not fit the task reported at ``task`` (or at the dataset)."""
    try:
        return step()
    except TargetError as exc:
        key = "task" if "task" in cfg.document else "data.dataset"
        message = f"{cfg.data.dataset} targets do not fit task {cfg.task.name}: {exc}"
        raise cfg.error_at(key, message) from None


def _load(cfg: TrainingConfig, split: str) -> Dataset:
    """The ``split`` of the config's dataset in the task's form; a failure names the config's data
    setting that led to it."""
    data = cfg.data
    try:
        loaded = load_dataset(
            data.dataset, data.root, split, download=data.download, run_seed=cfg.seed, **data.options
        )
    except OptionError as exc:  # an option that does not fit the files (a column the table lacks)
        raise cfg.error_at(f"data.options.{exc.option}", str(exc)) from None
    except DatasetError as exc:
        key = "data.root" if data.root is not None else "data.dataset"
        raise DatasetError(f"{cfg.where(key)}: {key}: {exc}") from None
    return _data_step(cfg, lambda: in_task_form(loaded, cfg.task))
