"""Which config changes a resumed run accepts: resuming is exact, or it is refused before anything is written.

A training checkpoint keeps the resolved config it was trained with. The config of the resuming run is
compared with it setting by setting. Changes that leave the run's data order, model, optimizer state and
schedule meaning what they meant are allowed: how long to train (``train.epochs``, unless the scheduler's
arguments use ``epochs`` or ``steps``), logging, checkpoints, test reporting, the device, the run's name and
folder, where the data files are and the evaluation batch size, ``init_from`` (the checkpoint's weights win)
and ``train.val_every_steps``. Every other change is refused, naming the
key and both values: a resumed optimizer keeps its checkpointed state, so a new learning rate would be
silently ignored. On another number of ranks, the batch size may change as long as the global batch stays
the same (:meth:`DataParallel.check_resume` compares it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nnrun.config import ConfigError, TrainingConfig, parse_stored
from nnrun.config.errors import cut
from nnrun.config.training import CheckpointSchema, DataSchema, TrainingSchema, TrainSchema
from nnrun.config.training_nodes import symbols_used, with_defaults
from nnrun.data.datasets import DATASETS
from nnrun.train.errors import ResumeRefused

#: Settings a resumed run may change (a key, or a section whose every key may change).
SAFE = (
    "name",
    "output",
    "device",
    "train.epochs",
    "train.log_every",
    "train.test",
    "checkpoint",
    "data.root",
    "data.download",
    "data.eval_batch_size",
    "init_from",  # a resumed run takes its weights from the checkpoint; init_from is not applied again
    "train.val_every_steps",  # validation reads the weights, it does not change them
)
#: Settings that may change with the number of ranks, as long as the global batch stays the same (compared
#: through the data split that the checkpoint records).
COMPARED_BY_DATA_SPLIT = ("data.batch_size", "data.batch_scope")
#: The schemas of the resolved config's fixed sections, by dotted key ("": the top level).
_SCHEMAS = {"": TrainingSchema, "data": DataSchema, "train": TrainSchema, "checkpoint": CheckpointSchema}
_ABSENT = object()


@dataclass(frozen=True)
class Change:
    """One setting whose value differs between the checkpoint's config and the resuming run's."""

    key: str
    saved: Any
    current: Any

    def __str__(self) -> str:
        return f"{self.key}: {_show(self.saved)} -> {_show(self.current)}"


def check_config(checkpoint: str, saved_text: str, config: TrainingConfig, same_ranks: bool) -> None:
    """Raise :class:`ResumeRefused` listing every change of ``config`` from the checkpoint's config that
    would not continue the same run. ``same_ranks``: the run has as many ranks as the checkpoint's, so a
    changed batch size changes the global batch (otherwise the data split check decides)."""
    try:
        saved = parse_stored(saved_text, f"{checkpoint}[config]")
    except ConfigError as exc:
        raise ResumeRefused(f"{checkpoint}: the config saved in it is unreadable:\n{exc}") from None
    if not isinstance(saved, dict):
        raise ResumeRefused(f"{checkpoint}: the config saved in it is not a training config")
    current = parse_stored(config.yaml, "the resolved config")
    saved, current = _canonical(saved), _canonical(current)
    scheduled = symbols_used(config.scheduler.node) & {"epochs", "steps"} if config.scheduler else set()
    refused = []
    for change in changes(saved, current):
        if change.key == "train.epochs" and scheduled:
            names = " and ".join(sorted(scheduled))
            refused.append(f"{change} (the scheduler's arguments use {names}, so its schedule would change)")
        elif not _allowed(change.key, same_ranks):
            refused.append(str(change))
    if refused:
        raise ResumeRefused(
            f"cannot resume from {checkpoint}: the config changed in ways that would not continue the same "
            "run:\n  " + "\n  ".join(refused) + "\nResume with the checkpoint's values, or train with the "
            "new ones as a new run (another --output, or --overwrite)."
        )


def changes(saved: Any, current: Any, key: str = "") -> list[Change]:
    """Every setting that differs, by dotted key (lists of equal length item by item)."""
    if isinstance(saved, dict) and isinstance(current, dict):
        found = []
        for name in dict.fromkeys([*saved, *current]):
            if name not in saved and _is_default(key, name, current[name]):
                continue  # a setting at its default, which the checkpoint may not record
            inner = f"{key}.{name}" if key else str(name)
            found += changes(saved.get(name, _ABSENT), current.get(name, _ABSENT), inner)
        return found
    if isinstance(saved, list) and isinstance(current, list) and len(saved) == len(current):
        return [
            change for i, pair in enumerate(zip(saved, current)) for change in changes(*pair, f"{key}.{i}")
        ]
    return [] if saved == current else [Change(key, saved, current)]


def _canonical(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its optimizer, scheduler, loss and dataset options in one form, every default
    filled in, so that writing a default out (``momentum: 0``) is not a change."""
    document = dict(document)
    for kind in ("optimizer", "scheduler", "loss"):
        if document.get(kind) is not None:
            document[kind] = with_defaults(document[kind], kind)
    data = document.get("data")
    entry = DATASETS.entries().get(data.get("dataset")) if isinstance(data, dict) else None
    if entry is not None and isinstance(data.get("options"), dict):
        document["data"] = {**data, "options": {**entry.option_defaults(), **data["options"]}}
    return document


def _is_default(section: str, name: str, value: Any) -> bool:
    """Whether ``value`` is the schema's default for ``section.name`` (a resolved config leaves out an
    unset scheduler, and one written by an older nnrun lacks settings added since)."""
    schema = _SCHEMAS.get(section)
    field = schema.model_fields.get(name) if schema is not None else None
    if field is None or field.is_required():
        return False
    default = field.get_default(call_default_factory=True)
    return value == (default.model_dump() if hasattr(default, "model_dump") else default)


def _allowed(key: str, same_ranks: bool) -> bool:
    safe = SAFE if same_ranks else (*SAFE, *COMPARED_BY_DATA_SPLIT)
    return any(key == name or key.startswith(f"{name}.") for name in safe)


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "(not set)"
    return cut(json.dumps(value, separators=(", ", ": ")), 60)


def check_optimizer(checkpoint: str, saved: dict[str, Any], optimizer: Any) -> None:
    """Without configs to compare, compare the optimizer's hyperparameters with the checkpoint's: a resumed
    optimizer takes the checkpoint's, so a new learning rate would be silently ignored. A scheduler moves
    ``lr``; its starting value ``initial_lr`` is compared instead."""
    groups, current = saved.get("param_groups", []), optimizer.state_dict()["param_groups"]
    if len(groups) != len(current):
        raise ResumeRefused(
            f"cannot resume from {checkpoint}: its optimizer has {len(groups)} parameter group(s), this one "
            f"{len(current)}"
        )
    refused = []
    for i, (old, new) in enumerate(zip(groups, current)):
        skip = {"params", "lr"} if "initial_lr" in old and "initial_lr" in new else {"params"}
        old, new = ({key: value for key, value in group.items() if key not in skip} for group in (old, new))
        refused += [str(change) for change in changes(old, new, f"optimizer.param_groups.{i}")]
    if refused:
        raise ResumeRefused(
            f"cannot resume from {checkpoint}: the optimizer's settings differ from the checkpoint's, "
            "which a resumed optimizer would keep:\n  " + "\n  ".join(refused) + "\nResume with the "
            "checkpoint's values, or train with the new ones as a new run."
        )
