"""Training configs: a model section plus data, loss, optimizer, scheduler, train and checkpoint settings.

``load_training(path, overrides=["train.epochs=3"])`` → :class:`TrainingConfig`, or :class:`ConfigError`
listing every problem with its file, line, column and YAML path (overrides report as ``--set:N:C``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, Strict, StrictBool, StrictInt, StrictStr

from nnrun.config.document import ModelConfig, _parse, _top_input_shape, is_model_node, load_model_section
from nnrun.config.errors import ConfigError, Issues, Mark
from nnrun.config.fine_tuning import (
    InitFrom,
    ParamGroupSpec,
    check_freeze,
    check_init_from,
    check_optimizer_extras,
    split_optimizer,
)
from nnrun.config.imports import import_user_modules
from nnrun.config.overrides import Override, apply_overrides
from nnrun.config.schema import PositiveInt, _Strict, check
from nnrun.config.signature import schema_for, validate_arguments
from nnrun.config.training_nodes import (
    NodeSpec,
    SchedulerSpec,
    check_loss,
    check_optimizer,
    check_scheduler,
    check_transforms,
)
from nnrun.config.yaml_source import YamlMap, dump_yaml, locate, parse_stored, parse_yaml, to_plain
from nnrun.data import OptionError
from nnrun.data.datasets import DATASETS
from nnrun.data.tasks import TASKS, Task
from nnrun.metrics import metric_class, metric_problem
from nnrun.registry import did_you_mean

#: Top-level keys that make a document with ``model:`` a training config rather than a model config.
TRAINING_KEYS = (
    "task",
    "data",
    "loss",
    "optimizer",
    "scheduler",
    "train",
    "checkpoint",
    "seed",
    "device",
    "output",
)

Number = StrictInt | Annotated[float, Strict()]
NonNegativeInt = Annotated[StrictInt, Field(ge=0)]


def _fraction(value: float) -> float:
    if not 0 <= value < 1:
        raise ValueError("must be a fraction in [0, 1)")
    return value


def _positive(value: float | None) -> float | None:
    if value is not None and value <= 0:
        raise ValueError("must be positive")
    return value


def _device(value: str) -> str:
    if not re.fullmatch(r"cpu|auto|cuda(:\d+)?", value):
        raise ValueError("must be cpu, cuda, cuda:N or auto")
    return value


def _path_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


PathText = Annotated[StrictStr, AfterValidator(_path_text)]


def _dataset(value: str) -> str:
    if value not in DATASETS:
        raise ValueError(f"unknown dataset{did_you_mean(value, DATASETS)}; known: {', '.join(DATASETS)}")
    return value


def _metric(value: str) -> str:
    """A metric name's form; whether it fits the config's task is checked once the task is known."""
    if not value.strip():
        raise ValueError("must not be empty")
    return value


class DataSchema(_Strict):
    """``data:``: which dataset, where, how it is batched and transformed (``augment``: training only).

    ``batch_scope``: ``per_rank`` (``batch_size`` is each rank's batch; N ranks train on ``batch_size × N``
    per step, like torch's DistributedDataParallel) or ``global`` (``batch_size`` is split over the ranks)."""

    dataset: Annotated[StrictStr, AfterValidator(_dataset)]
    root: PathText | None = None
    download: StrictBool = False
    batch_size: PositiveInt = 64
    batch_scope: Literal["per_rank", "global"] = "per_rank"
    eval_batch_size: PositiveInt | None = None
    val_split: Annotated[Number, AfterValidator(_fraction)] = 0.0
    shuffle: StrictBool = True
    drop_last: StrictBool = False
    transforms: list[Any] = Field(default_factory=list)
    augment: list[Any] = Field(default_factory=list)
    options: dict[StrictStr, Any] = Field(default_factory=dict)


class TrainSchema(_Strict):
    """``train:``: epochs, logging, gradient clipping, metrics (default: the task's), and whether to report
    the test split."""

    epochs: PositiveInt = 1
    log_every: PositiveInt = 50
    grad_clip_norm: Annotated[Number | None, AfterValidator(_positive)] = None
    #: names of nnrun.metrics; None (not written): the task's default metrics
    metrics: list[Annotated[StrictStr, AfterValidator(_metric)]] | None = None
    test: StrictBool = True
    #: gradients of this many batches are summed before each optimizer step (docs/fine_tuning.md)
    accumulate_batches: PositiveInt = 1
    max_steps: PositiveInt | None = None
    val_every_steps: PositiveInt | None = None
    limit_batches: PositiveInt | None = None


class CheckpointSchema(_Strict):
    """``checkpoint:``: where (relative to the run folder), how often, how many, and the best metric."""

    dir: PathText = "checkpoints"
    every_epochs: NonNegativeInt = 1
    every_steps: PositiveInt | None = None
    keep_last: PositiveInt | None = 3
    best: StrictStr | None = None
    mode: Literal["auto", "min", "max"] = "auto"


class TrainingSchema(_Strict):
    #: modules or ``.py`` files (relative to the config) imported first: their ``@nnrun.register`` classes
    #: (datasets, layers, losses, optimizers, …) can then be named anywhere in the config
    imports: list[StrictStr] = Field(default_factory=list)
    name: PathText | None = None
    seed: NonNegativeInt = 0
    task: Literal["classification", "binary", "multilabel", "regression"] = "classification"
    device: Annotated[StrictStr, AfterValidator(_device)] = "auto"
    output: PathText = "runs/${name}"
    input_shape: list[PositiveInt] | None = None
    model: Any = Field(...)
    data: DataSchema
    loss: Any = None  # the task's default loss
    optimizer: Any = Field(...)
    scheduler: Any = None
    train: TrainSchema = TrainSchema()
    checkpoint: CheckpointSchema = CheckpointSchema()
    #: ``Name`` or ``{Name: {argument: value}}`` items, looked up and built by ``nnrun.train``
    callbacks: list[Any] = Field(default_factory=list)
    #: weights to start from, and parameters to leave untrained (:mod:`nnrun.config.fine_tuning`)
    init_from: Any = None
    freeze: list[StrictStr] = Field(default_factory=list)


@dataclass
class TrainingConfig:
    """A validated training config; ``yaml`` is its resolved text (defaults filled in, model inlined)."""

    name: str
    seed: int
    task: Task
    device: str
    output: str
    file: str
    model: ModelConfig
    data: DataSchema
    train: TrainSchema
    checkpoint: CheckpointSchema
    optimizer: NodeSpec
    scheduler: SchedulerSpec | None
    train_transforms: list[NodeSpec]
    eval_transforms: list[NodeSpec]
    document: YamlMap = field(repr=False)
    mark: Mark = field(repr=False)
    init_from: InitFrom | None = None
    freeze: list[str] = field(default_factory=list)
    param_groups: list[ParamGroupSpec] = field(default_factory=list)
    no_decay: tuple[str, ...] = ()

    @property
    def loss_node(self) -> tuple[Any, str, Mark]:
        """The loss node (the task's default when none is written), its YAML path and mark
        (``nnrun.config.training_nodes.build_loss`` builds it)."""
        where = self.where("loss") if "loss" in self.document else self.where("task")
        return _loss_of(self.document, self.task), "loss", where

    @property
    def best_mode(self) -> str:
        """``min`` or ``max`` for the best-checkpoint metric (``auto``: min for losses and for metrics that
        are better lower, such as mse or hamming)."""
        if self.checkpoint.mode != "auto":
            return self.checkpoint.mode
        return _best_mode(self.checkpoint.best)

    def where(self, path: str) -> Mark:
        """The mark of a dotted YAML path (as far as it exists)."""
        keys = tuple(int(k) if k.isdigit() else k for k in path.split("."))
        return locate(self.document, self.mark, keys)

    def error_at(self, path: str, message: str) -> ConfigError:
        """A :class:`ConfigError` at ``path`` (e.g. ``data.root`` when the dataset files are missing)."""
        return ConfigError(Issues.one(path, message, self.where(path)))

    @property
    def yaml(self) -> str:
        """The resolved config: every section with its defaults, the model inlined; it loads again."""
        plain = to_plain(self.document)
        resolved: dict[str, Any] = {"name": self.name, "seed": self.seed, "task": self.task.name}
        if plain.get("imports"):
            resolved = {"imports": plain["imports"], **resolved}
        resolved["device"] = self.device
        resolved["output"] = self.output
        if self.model.input_shape is not None:
            resolved["input_shape"] = list(self.model.input_shape)
        resolved["model"] = to_plain(self.model.section)
        resolved["data"] = self.data.model_dump()
        resolved["loss"] = to_plain(_loss_of(self.document, self.task))
        resolved["optimizer"] = plain["optimizer"]
        if plain.get("scheduler") is not None:
            resolved["scheduler"] = plain["scheduler"]
        resolved["train"] = self.train.model_dump()
        resolved["checkpoint"] = self.checkpoint.model_dump()
        if plain.get("callbacks"):
            resolved["callbacks"] = plain["callbacks"]
        if plain.get("init_from") is not None:
            resolved["init_from"] = plain["init_from"]
        if plain.get("freeze"):
            resolved["freeze"] = plain["freeze"]
        return dump_yaml(resolved)


def is_training_document(document: Any) -> bool:
    """Whether a parsed document is a training config (``model:`` plus training sections)."""
    return isinstance(document, YamlMap) and "model" in document and any(k in document for k in TRAINING_KEYS)


def load_training(source: str | os.PathLike, overrides: Sequence[str | Override] = ()) -> TrainingConfig:
    """Read a training config (a path or YAML text), apply ``key.path=value`` overrides, validate it all."""
    document, mark = _parse(source)
    if not isinstance(document, YamlMap):
        raise ConfigError(
            Issues.one("", "a training config is a mapping with model:, data:, optimizer:, …", mark)
        )
    if "model" not in document and ({"module", "modules"} & set(document) or is_model_node(document)):
        name = os.path.basename(mark.file) if mark.file.endswith((".yaml", ".yml")) else "model.yaml"
        raise ConfigError(
            Issues.one(
                "",
                "this is a model config (no model:, data: or optimizer:), not a training config: use it in "
                f"one, e.g. model: !include {name} next to data:, optimizer: and train: (see "
                "configs/lenet_mnist.yaml in nnrun's repository); nnrun validate and nnrun inspect take it "
                "as it is",
                mark,
            )
        )
    apply_overrides(document, overrides)
    return training_config(document, mark)


def load_stored_training(text: str, origin: str, overrides: Sequence[str | Override] = ()) -> TrainingConfig:
    """The training config kept in a checkpoint, with ``overrides``: parsed as data only, like
    :func:`~nnrun.config.load_stored` (no ``!include``; ``imports:`` may only name modules imported
    already), so reading it runs no code; ``origin`` names it in errors (``ckpt.safetensors[config]:3:5``)."""
    document, mark = parse_yaml(text, origin, stored=True)
    if not isinstance(document, YamlMap):
        raise ConfigError(
            Issues.one("", "a training config is a mapping with model:, data:, optimizer:, …", mark)
        )
    apply_overrides(document, overrides)
    return training_config(document, mark, allow_imports=False)


def training_config(document: YamlMap, mark: Mark, *, allow_imports: bool = True) -> TrainingConfig:
    """Validate a parsed (and overridden) training document (``allow_imports``: see
    :func:`~nnrun.config.load`)."""
    issues = Issues()
    _import_modules(document, mark, issues, allow_imports)
    spec = check(TrainingSchema, document, mark, "", issues)
    model = _model(document, mark, issues, allow_imports)
    if spec is None:
        issues.raise_if_any()
    assert spec is not None
    data_mark = document.value_marks.get("data", mark)
    data = document["data"]
    train_transforms = check_transforms(data.get("augment"), "data.augment", data_mark, issues)
    eval_transforms = check_transforms(data.get("transforms"), "data.transforms", data_mark, issues)
    task = TASKS[spec.task]
    check_loss(_loss_of(document, task), "loss", document.value_marks.get("loss", mark), issues)
    optimizer_node, optimizer_extras = split_optimizer(document["optimizer"])
    optimizer_mark = document.value_marks["optimizer"]
    optimizer = check_optimizer(optimizer_node, "optimizer", optimizer_mark, issues)
    param_groups, no_decay = check_optimizer_extras(optimizer_extras, optimizer, optimizer_mark, issues)
    init_from = check_init_from(
        document.get("init_from"), document.value_marks.get("init_from", mark), issues
    )
    freeze = check_freeze(document.get("freeze"), document.value_marks.get("freeze", mark), issues)
    scheduler = None
    if document.get("scheduler") is not None:
        scheduler = check_scheduler(
            document["scheduler"], "scheduler", document.value_marks["scheduler"], issues
        )
    _check_data(spec.data, data, data_mark, issues)
    spec.train = _train_with_metrics(spec.train, task, document, mark, issues)
    _check_best(spec, document, mark, issues)
    _check_loop(spec, document, mark, issues)
    issues.raise_if_any()
    assert model is not None and optimizer is not None
    name = spec.name or _default_name(mark.file)
    config = TrainingConfig(
        name=name,
        seed=spec.seed,
        task=task,
        device=spec.device,
        output=spec.output.replace("${name}", name),
        file=mark.file,
        model=model,
        data=spec.data,
        train=spec.train,
        checkpoint=spec.checkpoint,
        optimizer=optimizer,
        scheduler=scheduler,
        train_transforms=train_transforms + eval_transforms,
        eval_transforms=eval_transforms,
        document=document,
        mark=mark,
        init_from=init_from,
        freeze=freeze,
        param_groups=param_groups,
        no_decay=no_decay,
    )
    _check_storable(config)
    return config


def _loss_of(document: YamlMap, task: Task) -> Any:
    """The loss node written in the config, or the task's default loss."""
    loss = document.get("loss")
    return task.default_loss if loss is None else loss


def _check_storable(config: TrainingConfig) -> None:
    """The resolved config, which every checkpoint keeps, must load again within the limits of a stored
    config (includes inlined and overrides applied, it can be larger or deeper than each file was)."""
    try:
        parse_stored(config.yaml, f"{config.file} (resolved)")
    except ConfigError as exc:
        problems = "; ".join(f"{error.mark}: {error.message}" for error in exc.errors)
        raise ConfigError(
            Issues.one(
                "", f"the resolved config goes past what a checkpoint may hold ({problems})", config.mark
            )
        ) from None


def _import_modules(document: YamlMap, mark: Mark, issues: Issues, allow_imports: bool = True) -> None:
    """Import the config's top-level ``imports:`` (``.py`` files relative to the config's folder) before
    anything else is checked, so that the datasets and other classes they register are known; without
    ``allow_imports`` (a stored config), only modules imported already are accepted and nothing runs."""
    names = document.get("imports")
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return  # the schema reports it

    def report(i: int, message: str) -> None:
        issues.add(f"imports.{i}", message, locate(document, mark, ("imports", i)))

    base = os.path.dirname(mark.file) if os.path.isfile(mark.file) else os.getcwd()
    import_user_modules(names, base, report, allow_new=allow_imports)


def _model(document: YamlMap, mark: Mark, issues: Issues, allow_imports: bool = True) -> ModelConfig | None:
    if "model" not in document:
        return None
    try:
        shape = document.get("input_shape")
        shape = _top_input_shape(shape, document) if shape is not None else None
        return load_model_section(
            document["model"], document.value_marks["model"], input_shape=shape, allow_imports=allow_imports
        )
    except ConfigError as exc:
        issues.errors.extend(error for error in exc.errors if error not in issues.errors)
        return None


def _check_data(data: DataSchema, located: YamlMap, mark: Mark, issues: Issues) -> None:
    entry = DATASETS.get(data.dataset)
    options = [name for name in entry.options() if name != "transform"]  # transforms: data.transforms
    unknown = [key for key in data.options if key not in options]
    for key in unknown:
        where = locate(located, mark, ("options", key), at_key=True)
        known = ", ".join(options) or "none"
        issues.add(
            f"data.options.{key}", f"{data.dataset} has no option {key!r}; its options: {known}", where
        )
    if not unknown:
        try:
            entry.check_options(data.options)
        except OptionError as exc:
            where = locate(located, mark, ("options", exc.option))
            issues.add(f"data.options.{exc.option}", str(exc), where)
        if entry.dataset_class is not None:  # a user's dataset: its options are its constructor's arguments
            schema = schema_for(entry.dataset_class)
            _, messages = validate_arguments(schema, dict(data.options), frozenset(("root", "split")))
            for key, message in messages.items():
                where = locate(located, mark, ("options", key))
                issues.add(f"data.options.{key}", message, where)
    if data.download and not entry.downloadable:
        where = located.value_marks.get("download", mark)
        issues.add("data.download", f"{data.dataset} cannot be downloaded; set download: false", where)
    if not entry.reads_files:
        return
    if data.root is None:
        issues.add("data.root", f"dataset {data.dataset} needs root: the folder of its files", mark)
    elif not data.download and not os.path.exists(data.root):
        where = located.value_marks.get("root", mark)
        message = f"no such folder {data.root}; point root at the {data.dataset} files or set download: true"
        if not entry.downloadable:  # nothing to download: a file (csv, npz) or a folder of them
            message = f"no such file or folder {data.root}; point root at the {data.dataset} file(s)"
        issues.add("data.root", message, where)


def _train_with_metrics(
    train: TrainSchema, task: Task, document: YamlMap, mark: Mark, issues: Issues
) -> TrainSchema:
    """``train`` with its metrics checked for ``task`` (each at its list item) or set to the task's."""
    if train.metrics is None:
        return train.model_copy(update={"metrics": list(task.default_metrics)})
    for index, name in enumerate(train.metrics):
        problem = metric_problem(name, task)
        if problem is not None:
            where = locate(document, mark, ("train", "metrics", index))
            issues.add(f"train.metrics.{index}", problem, where)
    return train


def _best_mode(best: str | None) -> str:
    name = (best or "").partition("/")[2]
    if name == "loss":
        return "min"
    try:
        return "max" if metric_class(name).higher_is_better else "min"
    except KeyError:
        return "max"


def _check_best(spec: TrainingSchema, document: YamlMap, mark: Mark, issues: Issues) -> None:
    best = spec.checkpoint.best
    if best is None:
        return
    metrics = spec.train.metrics or []
    scalar = [name for name in metrics if _is_scalar(name, spec.task)]
    names = ["loss", *scalar]
    choices = [f"{split}/{name}" for split in ("train", "val") for name in names]
    where = locate(document, mark, ("checkpoint", "best"))
    split, _, name = best.partition("/")
    if best not in choices:
        hint = ""
        problem = metric_problem(name, spec.task)
        if split in ("train", "val") and name not in metrics and problem is None:
            hint = f"; {name} is not tracked: add it to train.metrics"
        elif name in metrics and problem is not None:
            hint = f"; {problem}"
        elif name in metrics:
            hint = f"; {name} is not a number (not scalar), it cannot be the best"
        issues.add(
            "checkpoint.best",
            f"unknown metric {best!r}{did_you_mean(best, choices)}; one of {choices}{hint}",
            where,
        )
    elif best.startswith("val/") and spec.data.val_split == 0:
        issues.add(
            "checkpoint.best", f"{best} needs a validation split: set data.val_split (e.g. 0.1)", where
        )


def _check_loop(spec: TrainingSchema, document: YamlMap, mark: Mark, issues: Issues) -> None:
    """``train.val_every_steps`` validates: it needs a validation split."""
    if spec.train.val_every_steps is not None and spec.data.val_split == 0:
        where = locate(document, mark, ("train", "val_every_steps"))
        message = "validation every N steps needs a validation split: set data.val_split (e.g. 0.1)"
        issues.add("train.val_every_steps", message, where)


def _is_scalar(name: str, task: str) -> bool:
    if metric_problem(name, task) is not None:
        return False
    return metric_class(name).scalar


def _default_name(file: str) -> str:
    stem = os.path.splitext(os.path.basename(file))[0]
    return stem if stem and not stem.startswith("<") else "run"
