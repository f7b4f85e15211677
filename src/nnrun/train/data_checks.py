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
from nnrun.data import ArrayDataset

_CLASS_LOSSES = (nn.CrossEntropyLoss, nn.NLLLoss)


def check_training_data(cfg: TrainingConfig, train: ArrayDataset, batch: int, batches: int) -> None:
    """There is at least one training batch (after ``val_split`` and ``drop_last``)."""
    if batches == 0 and len(train) == 0:
        source = "data.root" if cfg.data.root else "data.dataset"
        raise cfg.error_at("data.val_split" if cfg.data.val_split > 0 else source, "no training samples left")
    if batches == 0:
        message = f"no training batch: {len(train)} samples, batch_size {batch} and drop_last: true"
        raise cfg.error_at("data.drop_last", message)


def check_pipeline(
    cfg: TrainingConfig,
    dataset: ArrayDataset,
    transforms: list[NodeSpec],
    model: nn.Module,
    loss_fn: nn.Module,
    batch: int,
) -> None:
    """One batch of ``dataset`` goes through ``transforms``, ``model`` and ``loss_fn`` (see the module)."""
    if not len(dataset):
        return
    count = min(batch, len(dataset))
    images, labels = ArrayDataset(dataset.x[:count], dataset.y[:count]).get_batch(np.arange(count))
    rng = np.random.default_rng(cfg.seed)
    for spec in transforms:
        try:
            images = spec.cls(**spec.kwargs)(images, rng)
        except Exception as exc:
            message = f"{spec.name} on images of shape {list(images.shape[1:])}: {describe_exception(exc)}"
            raise ConfigError(Issues.one(spec.path, message, spec.mark)) from None
    output = _forward(cfg, model, images)
    _check_labels(cfg, dataset, loss_fn, output)
    with nnrun.no_grad():
        try:
            loss_fn(output, nnrun.tensor(labels, device=output.device))
        except Exception as exc:
            described = f"{type(loss_fn).__name__} cannot take the model's output {list(output.shape)} "
            message = described + f"and labels {_range(labels)}: {describe_exception(exc)}"
            raise cfg.error_at("loss", message) from None


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
        raise cfg.error_at(
            "data.dataset", f"the model cannot run on this data, {shape}: {describe_exception(exc)}"
        ) from None
    finally:
        model.train(was_training)


def _check_labels(cfg: TrainingConfig, dataset: ArrayDataset, loss_fn: nn.Module, output: Any) -> None:
    """A classifier's labels must be classes of its output (all of them, not only the first batch's)."""
    if not isinstance(loss_fn, _CLASS_LOSSES) or output.dim() != 2 or dataset.y.ndim != 1:
        return
    labels = dataset.y[dataset.y != loss_fn.ignore_index]
    classes = int(output.shape[1])
    if len(labels) and (labels.min() < 0 or labels.max() >= classes):
        message = f"the labels are {_range(labels)}, but the model's output has {classes} classes"
        raise cfg.error_at("data.dataset", f"{message} (0..{classes - 1})")


def _range(labels: np.ndarray) -> str:
    return f"{labels.min()}..{labels.max()}" if labels.size else "none"
