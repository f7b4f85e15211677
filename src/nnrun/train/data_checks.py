"""Before training or evaluating: the data can go through the config's transforms, model and loss.

One batch of the data runs through each transform (errors at the transform's node: a crop larger than the
images, padding too large for memory, ``normalize`` with another number of channels), then through the
model and the loss in eval mode without gradients (so no running statistic changes and nothing is drawn
from the random state); the labels of the whole set are checked against a classifier's output width. A
mismatch is a config error at its YAML line, found before anything is written, rather than an exception in
the middle of the first step (or, on a GPU, a NaN loss from a label out of range)."""

from __future__ import annotations

from typing import Any

import numpy as np

import nnrun
from nnrun import nn
from nnrun.config import ConfigError, TrainingConfig
from nnrun.config.errors import Issues, describe_exception
from nnrun.config.training_nodes import NodeSpec
from nnrun.data import Dataset
from nnrun.data.dataset import with_transform
from nnrun.data.tasks import CLASS_INDEX_LOSSES


def check_training_data(cfg: TrainingConfig, train: Dataset, batch: int, batches: int) -> None:
    """There is at least one training batch (after ``val_split`` and ``drop_last``)."""
    if batches == 0 and len(train) == 0:
        source = "data.root" if cfg.data.root else "data.dataset"
        raise cfg.error_at("data.val_split" if cfg.data.val_split > 0 else source, "no training samples left")
    if batches == 0:
        message = f"no training batch: {len(train)} samples, batch_size {batch} and drop_last: true"
        raise cfg.error_at("data.drop_last", message)


def check_pipeline(
    cfg: TrainingConfig,
    dataset: Dataset,
    transforms: list[NodeSpec],
    model: nn.Module,
    loss_fn: nn.Module,
    batch: int,
    class_names: list[str] | None = None,
) -> None:
    """One batch of ``dataset`` goes through ``transforms``, ``model`` and ``loss_fn`` (see the module);
    ``class_names``: the classes the data names (a classifier must output one score per class)."""
    if not len(dataset):
        return
    images, labels = _untransformed_batch(dataset, min(batch, len(dataset)))
    rng = np.random.default_rng(cfg.seed)
    for spec in transforms:
        try:
            images = spec.cls(**spec.kwargs)(images, rng)
        except Exception as exc:
            message = f"{spec.name} on images of shape {list(images.shape[1:])}: {describe_exception(exc)}"
            raise ConfigError(Issues.one(spec.path, message, spec.mark)) from None
    output = _forward(cfg, model, images)
    _check_task(cfg, dataset, loss_fn, output, class_names)
    with nnrun.no_grad():
        try:
            loss_fn(output, nnrun.tensor(labels, device=output.device))
        except Exception as exc:
            described = f"{type(loss_fn).__name__} cannot take the model's output {list(output.shape)} "
            message = described + f"and {_targets(labels)}: {describe_exception(exc)}"
            raise cfg.error_at("loss", message) from None


def _untransformed_batch(dataset: Dataset, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` samples of ``dataset`` as arrays, before its transform."""
    return with_transform(dataset, None).get_batch(np.arange(count))


def _forward(cfg: TrainingConfig, model: nn.Module, images: np.ndarray) -> Any:
    was_training = model.training
    model.eval()
    try:
        with nnrun.no_grad():
            device = next((p.device for p in model.parameters()), None)
            return model(nnrun.tensor(images, device=device))
    except Exception as exc:
        declared = cfg.model.input_shape
        shape = f"inputs of shape {list(images.shape[1:])}" + (
            f" (input_shape: {list(declared)})" if declared else ""
        )
        hint = ""
        if declared and tuple(declared) != tuple(images.shape[1:]):
            sample = ", ".join(map(str, images.shape[1:]))
            hint = f"; make the model take [{sample}] (input_shape and the first layer)"
        raise cfg.error_at(
            "data.dataset", f"the model cannot run on this data, {shape}: {describe_exception(exc)}{hint}"
        ) from None
    finally:
        model.train(was_training)


def _check_task(
    cfg: TrainingConfig, dataset: Dataset, loss_fn: nn.Module, output: Any, names: list[str] | None
) -> None:
    """The model's output and the loss fit the task's targets: a classifier's labels are classes of its
    output (all of them, not only the first batch's); other tasks need one output per target column."""
    task, loss_name = cfg.task, type(loss_fn).__name__
    if task.name != "classification":
        if loss_name in CLASS_INDEX_LOSSES:
            raise cfg.error_at(
                "loss",
                f"{loss_name} takes class indices, but task {task.name} has float "
                f"{_targets(dataset.y)}; use {task.default_loss} (the task's default: leave loss: out)",
            )
        width = task.output_width(dataset.y)
        if output.dim() != 2 or int(output.shape[1]) != width:
            raise cfg.error_at(
                "model",
                f"task {task.name} has {width} target value(s) per sample, so the model must output "
                f"(N, {width}); it outputs {list(output.shape)}",
            )
        return
    if dataset.y.ndim != 1 or dataset.y.dtype.kind not in "iu":
        return
    if loss_name not in CLASS_INDEX_LOSSES or output.dim() != 2:
        return
    labels = dataset.y[dataset.y != getattr(loss_fn, "ignore_index", -100)]
    classes = int(output.shape[1])
    if names is not None and len(names) != classes:
        shown = ", ".join(map(str, names[:5])) + (", …" if len(names) > 5 else "")
        raise cfg.error_at(
            "model", f"the data has {len(names)} classes ({shown}), but the model outputs {classes} scores"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= classes):
        message = f"the labels are {_range(labels)}, but the model's output has {classes} classes"
        raise cfg.error_at("data.dataset", f"{message} (0..{classes - 1})")


def _range(labels: np.ndarray) -> str:
    return f"{labels.min()}..{labels.max()}" if labels.size else "none"


def _targets(targets: np.ndarray) -> str:
    if targets.dtype.kind in "iu" and targets.ndim == 1:
        return f"labels {_range(targets)}"
    return f"targets of shape {list(targets.shape[1:])}"
