"""A training checkpoint on its own: its config, preprocessing and model, to predict on new inputs
(:func:`predict`, ``nnrun predict``) or evaluate on a labelled file or one of the config's splits
(:func:`evaluation`, ``nnrun eval``), encoding the data exactly as training did."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import nnrun
from nnrun import nn
from nnrun.config import Override, TrainingConfig, build_model, load_stored_training, load_training
from nnrun.config.imports import import_user_modules
from nnrun.config.training_nodes import build_loss, build_optimizer, build_transform
from nnrun.data import DataLoader
from nnrun.data.dataset import with_transform
from nnrun.serialization import CheckpointError
from nnrun.train.build import rank_batch_size, resolve_device, settings_from
from nnrun.train.checkpoint import load_checkpoint
from nnrun.train.predict import (
    Predictions,
    ProgressHook,
    input_files,
    predict_batches,
    read_inputs,
)
from nnrun.train.settings import CheckpointSettings
from nnrun.train.trainer import Trainer

SPLITS = ("test", "val", "train")


@dataclass
class CheckpointRun:
    """A checkpoint read whole: ``path``, its ``state``, the ``config`` it was trained with (with any
    overrides applied) and the ``preprocessing`` its data was encoded with (``{}``: none needed)."""

    path: str
    state: dict[str, Any]
    config: TrainingConfig
    preprocessing: dict[str, Any]

    @property
    def position(self) -> str:
        """``epoch N, step S``: how far training had gone."""
        progress = self.state["progress"]
        return f"epoch {progress['epoch']}, step {progress['global_step']}"

    def model(self, device: str) -> nn.Module:
        """The config's model with the checkpoint's weights, on ``device`` (the global random state is left
        as it was)."""
        rng_state = nnrun.get_rng_state()
        try:
            model = build_model(self.config.model)
        finally:
            nnrun.set_rng_state(rng_state)
        try:
            model.load_state_dict(self.state["model"])
        except (KeyError, RuntimeError) as exc:
            raise CheckpointError(f"{self.path}: does not fit the config's model: {exc}") from None
        return model.to(device)


def open_checkpoint(
    path: str | os.PathLike[str],
    overrides: Iterable[str | Override] = (),
    config: str | os.PathLike[str] | TrainingConfig | None = None,
    imports: Sequence[str | os.PathLike[str]] = (),
) -> CheckpointRun:
    """Read a training checkpoint and the config saved in it (read as data only, with ``overrides``), or
    ``config`` instead when given (a path or loaded config, for ``nnrun eval CONFIG --checkpoint``).
    ``imports``: Python files or modules to import first, those the config lists under ``imports:`` (its
    registered layers, datasets, metrics): the config saved in a checkpoint never imports code itself.

    Raises :class:`~nnrun.serialization.CheckpointError` for a file that is not a complete checkpoint or
    was saved without a config (by a Trainer built from objects rather than a config)."""
    path = os.fspath(path)
    state = load_checkpoint(path, complete=True)
    _import_first(imports)
    if isinstance(config, TrainingConfig):
        cfg = config
    elif config is not None:
        cfg = load_training(config, tuple(overrides))
    elif not state.get("config"):
        raise CheckpointError(
            f"{path}: saved without a config (by a Trainer built from your own objects), so how to read its "
            "data is unknown; give the training config too (nnrun eval CONFIG --checkpoint CHECKPOINT), or "
            "call Trainer.predict on your own model"
        )
    else:
        cfg = load_stored_training(state["config"], f"{path}[config]", tuple(overrides))
    return CheckpointRun(path, state, cfg, dict(state.get("preprocessing") or {}))


def _import_first(imports: Sequence[str | os.PathLike[str]]) -> None:
    """Import what the user named (as a training config's ``imports:`` would); a failure is an ImportError."""
    problems: list[str] = []
    import_user_modules([os.fspath(entry) for entry in imports], os.getcwd(), lambda i, m: problems.append(m))
    if problems:
        raise ImportError("; ".join(problems))


def device_override(device: str) -> Override:
    """The override that sets the run's device (``cpu``, ``cuda``, ``cuda:N`` or ``auto``)."""
    return Override(f"device={json.dumps(device)}", "--device")


def predict(
    checkpoint: str | os.PathLike[str],
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    batch_size: int = 256,
    device: str = "auto",
    progress: ProgressHook | None = None,
    imports: Sequence[str | os.PathLike[str]] = (),
) -> Predictions:
    """The predictions of a training checkpoint's model on new ``inputs``: a file, a folder (its files,
    sorted), a glob, or a list of them, read by the checkpoint's dataset with its saved preprocessing and
    the config's evaluation transforms (``data.transforms``), in batches of ``batch_size`` on ``device``
    (``auto``: cuda when available); ``progress(done, total)`` is called after each batch; ``imports``:
    the Python files the checkpoint's config lists under ``imports:`` (see :func:`open_checkpoint`)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    run = open_checkpoint(checkpoint, [device_override(device)], imports=imports)
    where = resolve_device(run.config)
    read = read_inputs(run.config, run.preprocessing, input_files(inputs), labelled=False)
    loader = DataLoader(read.dataset, batch_size, device=where, seed=run.config.seed)  # draws nothing
    model = run.model(where)
    return predict_batches(
        model,
        loader,
        run.config.task,
        names=read.names,
        preprocessing=run.preprocessing,
        progress=progress,
    )


@dataclass
class Evaluation:
    """What ``nnrun eval`` evaluates: a ``trainer`` holding the checkpoint's weights, the ``loader`` of the
    data, its ``split`` label (``test``, ``val``, ``train`` or ``data``) and the samples' ``names``."""

    run: CheckpointRun
    trainer: Trainer
    loader: Any
    split: str
    names: list[str] | None

    def metrics(self) -> dict[str, float]:
        """Loss and metrics, as ``split/name`` (see :meth:`Trainer.evaluate`)."""
        return self.trainer.evaluate(self.loader, self.split)

    def predictions(self) -> Predictions:
        """Per-sample predictions with their targets (on one process)."""
        return self.trainer.predict(self.loader, names=self.names, with_targets=True)


def evaluation(
    checkpoint: str | os.PathLike[str],
    *,
    data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    split: str = "test",
    overrides: Iterable[str | Override] = (),
    config: str | os.PathLike[str] | TrainingConfig | None = None,
    imports: Sequence[str | os.PathLike[str]] = (),
) -> Evaluation:
    """The evaluation of a checkpoint on labelled files ``data`` (read like :func:`predict`'s inputs, with
    their targets), or on ``split`` of its config's data: ``test``, ``val`` (the rows ``val_split`` drew)
    or ``train`` (the training rows, without augmentation), encoded with the checkpoint's preprocessing
    (nothing is fitted again). ``config``: a training config to use instead of the checkpoint's;
    ``imports``: see :func:`open_checkpoint`."""
    if data is None and split not in SPLITS:
        raise ValueError(f"split is one of {', '.join(SPLITS)}, got {split!r}")
    run = open_checkpoint(checkpoint, overrides, config, imports)
    cfg = run.config
    if data is not None:
        device = resolve_device(cfg)
        read = read_inputs(cfg, run.preprocessing, input_files(data), labelled=True)
        trainer = _trainer_without_data(run, device)
        batch = cfg.data.eval_batch_size or cfg.data.batch_size
        loader = DataLoader(read.dataset, batch, device=device, seed=cfg.seed)
        return Evaluation(run, trainer, loader, "data", read.names)
    trainer = Trainer.from_config(
        cfg,
        progress=False,
        need_test=split == "test",
        need_train=split != "test",
        preprocessing=run.preprocessing,
    )
    trainer.load_weights(run.path)
    loader = {"test": trainer.test_loader, "val": trainer.val_loader}.get(split)
    if split == "val" and loader is None:
        raise cfg.error_at("data.val_split", "there is no validation split to evaluate (val_split is 0)")
    if split == "train":
        batch = cfg.data.eval_batch_size or rank_batch_size(cfg, trainer.world_size)
        loader = DataLoader(
            with_transform(trainer.train_loader.dataset, build_transform(cfg.eval_transforms)),
            batch,
            device=trainer.device,
            seed=cfg.seed,
            even_shards=False,
            num_replicas=trainer.world_size,
            rank=trainer.global_rank,
        )
    return Evaluation(run, trainer, loader, split, None)


def _trainer_without_data(run: CheckpointRun, device: str) -> Trainer:
    """A trainer that evaluates the checkpoint's model with its config's loss and metrics; it writes no
    run folder and no checkpoint."""
    cfg = run.config
    model = run.model(device)
    settings = dataclasses.replace(settings_from(cfg), output=None, checkpoint=CheckpointSettings())
    return Trainer(
        model,
        build_optimizer(cfg.optimizer, model.parameters()),  # unused; a trainer holds one
        build_loss(*cfg.loss_node).to(device),
        settings=settings,
        progress=False,
        tune_malloc=False,
        config=cfg,
        device=device,
        preprocessing=run.preprocessing,
    )
