"""The object-valued parts of a training config: optimizer, scheduler, loss and transforms.

Each is a node like a layer's, ``Name`` or ``{Name: {argument: value}}``, checked against the class's
constructor signature (the same pydantic machinery as layers), then constructed once on a dummy parameter so
that the constructor's own checks (``Invalid learning rate: -1``) are reported at the node. Scheduler
arguments may be symbols resolved when training starts: ``epochs``, ``steps`` (optimizer steps in the whole
run), ``steps_per_epoch``, or integer arithmetic on them (``epochs - 5``, ``steps_per_epoch * 2``).
"""

from __future__ import annotations

import ast
import inspect
import math
import re
import typing
import warnings
from dataclasses import dataclass, field
from typing import Any

from nnrun import nn, optim
from nnrun._creation import zeros
from nnrun.config.builder import Builder
from nnrun.config.errors import Issues, Mark, describe_exception, join_path, shown
from nnrun.config.expressions import parse_expression
from nnrun.config.named_node import named_node
from nnrun.config.signature import holds_float, schema_for, validate_arguments
from nnrun.config.yaml_source import YamlMap, YamlSeq, to_plain
from nnrun.data import transforms as data_transforms
from nnrun.nn import LAYERS
from nnrun.optim import OPTIMIZERS, SCHEDULERS, lr_scheduler
from nnrun.registry import Registry

SYMBOLS = ("epochs", "steps", "steps_per_epoch")
_PLACEHOLDERS = {"epochs": 10, "steps": 1000, "steps_per_epoch": 100}  # for the dry construction only


@dataclass
class NodeSpec:
    """A validated ``{Name: arguments}`` node: the class, its arguments (scheduler arguments may still hold
    symbols; SequentialLR's ``schedulers`` hold NodeSpecs) and where it was written."""

    name: str
    cls: type
    kwargs: dict[str, Any]
    path: str
    mark: Mark
    children: list[NodeSpec] = field(default_factory=list)


@dataclass
class SchedulerSpec:
    """A validated scheduler: its root node and whether it is stepped per ``epoch`` or per ``step``."""

    node: NodeSpec
    interval: str


# ----- checking -----
def check_optimizer(value: Any, path: str, mark: Mark, issues: Issues) -> NodeSpec | None:
    """Validate ``{SGD: {lr: 0.1, momentum: 0.9}}`` (or a bare name for the defaults)."""
    spec = _node(value, path, mark, OPTIMIZERS, ("params",), issues)
    if spec is not None and not _dry(spec, issues, lambda: build_optimizer(spec, [_dummy_parameter()])):
        return None
    return spec


def check_scheduler(value: Any, path: str, mark: Mark, issues: Issues) -> SchedulerSpec | None:
    """Validate ``{CosineAnnealingLR: {T_max: epochs}}`` with an optional ``interval: epoch | step``."""
    if not isinstance(value, YamlMap):
        issues.add(
            path, f"a scheduler is {{Name: arguments}} with an optional interval:, got {shown(value)}", mark
        )
        return None
    interval = value.get("interval", "epoch")
    if interval not in ("epoch", "step"):
        where = value.value_marks.get("interval", mark)
        issues.add(join_path(path, "interval"), f"interval is epoch or step, got {interval!r}", where)
    rest = YamlMap(value.mark)
    for key in value:
        if key != "interval":
            rest[key], rest.key_marks[key], rest.value_marks[key] = (
                value[key],
                value.key_marks[key],
                value.value_marks[key],
            )
    spec = _scheduler_node(rest, path, mark, issues)
    if spec is None or interval not in ("epoch", "step"):
        return None
    optimizer = optim.SGD([_dummy_parameter()], lr=0.1)
    if not _dry(spec, issues, lambda: build_scheduler(spec, optimizer, _PLACEHOLDERS)):
        return None
    return SchedulerSpec(spec, interval)


def _scheduler_node(value: Any, path: str, mark: Mark, issues: Issues) -> NodeSpec | None:
    spec = _node(value, path, mark, SCHEDULERS, ("optimizer", "schedulers"), issues)
    if spec is None or spec.cls is not lr_scheduler.SequentialLR:
        return spec
    inner = spec.kwargs.pop("schedulers", None)
    inner_path = join_path(spec.path, "schedulers")
    if not isinstance(inner, YamlSeq) or not inner:
        issues.add(inner_path, "SequentialLR needs schedulers: a list of scheduler nodes", spec.mark)
        return None
    children = [
        _scheduler_node(item, join_path(inner_path, i), inner.item_marks[i], issues)
        for i, item in enumerate(inner)
    ]
    if any(child is None for child in children):
        return None
    spec.children = children  # type: ignore[assignment]
    return spec


def check_loss(value: Any, path: str, mark: Mark, issues: Issues) -> None:
    """A loss is any layer node: ``CrossEntropyLoss`` or ``{CrossEntropyLoss: {label_smoothing: 0.1}}``."""
    Builder({}, issues).node(value, path, mark)


def check_transforms(value: Any, path: str, mark: Mark, issues: Issues) -> list[NodeSpec]:
    """A list of ``name`` or ``{name: arguments}`` named in ``nnrun.data.transforms.TRANSFORMS``."""
    if value is None:
        return []
    if not isinstance(value, YamlSeq):
        issues.add(
            path,
            f"a list of transforms such as [normalize: {{mean: [0.5], std: [0.5]}}], got {shown(value)}",
            mark,
        )
        return []
    specs = []
    for i, item in enumerate(value):
        spec = _node(item, join_path(path, i), value.item_marks[i], data_transforms.TRANSFORMS, (), issues)
        if spec is not None and _dry(spec, issues, lambda spec=spec: spec.cls(**spec.kwargs)):
            specs.append(spec)
    return specs


# ----- building -----
def build_optimizer(spec: NodeSpec, params: Any) -> optim.Optimizer:
    """The optimizer of ``spec`` over ``params``."""
    return spec.cls(params, **spec.kwargs)


def build_scheduler(spec: NodeSpec, optimizer: optim.Optimizer, symbols: dict[str, int]) -> Any:
    """The scheduler of ``spec`` on ``optimizer``, with ``epochs``/``steps``/``steps_per_epoch`` resolved."""
    kwargs = {key: resolve_symbols(value, symbols) for key, value in spec.kwargs.items()}
    if spec.children:
        kwargs["schedulers"] = [build_scheduler(child, optimizer, symbols) for child in spec.children]
    return spec.cls(optimizer, **kwargs)


def stand_in(optimizer: NodeSpec) -> optim.Optimizer:
    """The optimizer of ``optimizer`` over one dummy parameter, to try a scheduler on."""
    return build_optimizer(optimizer, [_dummy_parameter()])


def first_steps(scheduler: Any) -> None:
    """Take a scheduler's first two steps: some values fail only there (``T_max: epochs - 2`` with 2 epochs
    divides by zero). Build it on a :func:`stand_in` optimizer, whose learning rate may change."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stepping a scheduler before its optimizer
        for _ in range(2):
            scheduler.step(0.0) if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau) else scheduler.step()


def build_loss(value: Any, path: str, mark: Mark) -> nn.Module:
    """The loss module of a (validated) loss node."""
    issues = Issues()
    module = Builder({}, issues).node(value, path, mark)
    issues.raise_if_any()
    return module


def build_transform(specs: list[NodeSpec]) -> data_transforms.Compose | None:
    """One ``Compose`` of the transforms, or None when there are none."""
    return data_transforms.Compose([spec.cls(**spec.kwargs) for spec in specs]) if specs else None


def resolve_symbols(value: Any, symbols: dict[str, int]) -> Any:
    """``value`` with every symbolic expression (``"epochs - 5"``) replaced by its int value."""
    if isinstance(value, list):
        return [resolve_symbols(item, symbols) for item in value]
    if isinstance(value, tuple):
        return tuple(resolve_symbols(item, symbols) for item in value)
    if isinstance(value, str) and _is_symbolic(value):
        return _evaluate(parse_expression(value).body, symbols)
    return value


def symbols_used(spec: NodeSpec) -> set[str]:
    """The symbols (``epochs``, ``steps``, ``steps_per_epoch``) that ``spec`` or its children depend on."""
    used: set[str] = set()
    pending: list[Any] = list(spec.kwargs.values())
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, (list, tuple)):
            pending.extend(value)
        elif isinstance(value, str) and _is_symbolic(value):
            tree = parse_expression(value)
            used |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    for child in spec.children:
        used |= symbols_used(child)
    return used


def with_defaults(value: Any, kind: str) -> Any:
    """A plain ``kind`` node (``optimizer``, ``scheduler`` or ``loss``) in one form: ``{Name: {argument:
    value}}`` with every argument the constructor defaults filled in and YAML 1.2 floats read as numbers, so
    that ``SGD`` and ``{SGD: {momentum: 0}}`` compare equal. A scheduler keeps ``interval`` beside it, an
    optimizer its ``param_groups`` and ``no_decay``."""
    if kind == "scheduler" and isinstance(value, dict):
        rest = {key: item for key, item in value.items() if key != "interval"}
        return {**with_defaults(rest, "scheduler_node"), "interval": value.get("interval", "epoch")}
    extras = ("param_groups", "no_decay")  # written beside an optimizer node, kept as they are
    if kind == "optimizer" and isinstance(value, dict) and any(key in value for key in extras):
        rest = {key: item for key, item in value.items() if key not in extras}
        kept = {key: _numbers(value[key]) for key in extras if key in value}
        return {**with_defaults(rest, "optimizer"), **kept}
    name, arguments = (value, {}) if isinstance(value, str) else _single(value)
    known = {"optimizer": OPTIMIZERS, "scheduler_node": SCHEDULERS, "loss": LAYERS}[kind]
    if name not in known or not isinstance(arguments, dict):
        return value
    filled = {**_defaults(known.get(name)), **{key: _numbers(item) for key, item in arguments.items()}}
    if isinstance(filled.get("schedulers"), list):
        filled["schedulers"] = [with_defaults(item, "scheduler_node") for item in filled["schedulers"]]
    return {name: filled}


def _single(value: Any) -> tuple[Any, Any]:
    if isinstance(value, dict) and len(value) == 1:
        ((name, arguments),) = value.items()
        return name, {} if arguments is None else arguments
    return None, None


def _defaults(cls: type) -> dict[str, Any]:
    """The constructor's defaults that a config could write (None, booleans, numbers, text, lists)."""
    found = {}
    for parameter in inspect.signature(cls).parameters.values():
        default = list(parameter.default) if isinstance(parameter.default, tuple) else parameter.default
        plain = default is None or isinstance(default, (bool, int, float, str, list))
        given_by_the_trainer = parameter.name in ("params", "optimizer")
        if parameter.default is not parameter.empty and plain and not given_by_the_trainer:
            found[parameter.name] = default
    return found


# ----- helpers -----
def _node(
    value: Any,
    path: str,
    mark: Mark,
    known: Registry,
    skip: tuple[str, ...],
    issues: Issues,
) -> NodeSpec | None:
    """Split ``Name`` / ``{Name: {arguments}}``, look the name up in ``known``, check the argument types."""
    node = named_node(value, path, mark, known, issues)
    if node is None:
        return None
    name, body, schema = node.name, node.arguments, schema_for(node.cls)
    plain = {key: _numbers(to_plain(item)) for key, item in body.items()}
    try:
        checked = {key: _placeholder(item) for key, item in plain.items() if key not in skip}
    except ValueError as exc:
        issues.add(node.path, f"{name}: {exc}", node.arguments_mark)
        return None
    _, messages = validate_arguments(schema, checked, frozenset(skip))
    for key, value in checked.items():
        if key not in messages and holds_float(value, math.isinf):  # an infinite learning rate, momentum, …
            messages[key] = f"{name}: argument '{key}' must be finite, got {shown(value)}"
    node.report(messages, issues)
    if messages:
        return None
    kwargs = {key: _tuples(item, schema.annotations.get(key)) for key, item in plain.items()}
    if "schedulers" in body:
        kwargs["schedulers"] = body["schedulers"]  # located, parsed by the caller
    return NodeSpec(name, node.cls, kwargs, node.path, node.name_mark)


def _dry(spec: NodeSpec, issues: Issues, construct: Any) -> bool:
    """Construct once to surface the constructor's own checks at the node; True when it succeeds."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            construct()
    except Exception as exc:
        issues.add(spec.path, f"{spec.name}: {describe_exception(exc)}", spec.mark)
        return False
    return True


def _dummy_parameter() -> nn.Parameter:
    return nn.Parameter(zeros(1))


def _placeholder(value: Any) -> Any:
    return resolve_symbols(value, _PLACEHOLDERS)


_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def _numbers(value: Any) -> Any:
    """YAML 1.2 floats that PyYAML (YAML 1.1) reads as text: ``1e-3`` → 0.001."""
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    return float(value) if isinstance(value, str) and _FLOAT.match(value) else value


def _tuples(value: Any, annotation: Any) -> Any:
    """YAML lists become tuples where the constructor's annotation wants one (``betas: [0.9, 0.999]``)."""
    wants_tuple = typing.get_origin(annotation) is tuple or any(
        typing.get_origin(arg) is tuple for arg in typing.get_args(annotation)
    )
    return tuple(value) if wants_tuple and isinstance(value, list) else value


def _is_symbolic(text: str) -> bool:
    try:
        tree = parse_expression(text)
    except SyntaxError:
        return False
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return bool(names) and names <= set(SYMBOLS)


_OPERATORS = {
    ast.Add: int.__add__,
    ast.Sub: int.__sub__,
    ast.Mult: int.__mul__,
    ast.FloorDiv: int.__floordiv__,
}


def _evaluate(node: ast.AST, symbols: dict[str, int]) -> int:
    if isinstance(node, ast.Name):
        return int(symbols[node.id])
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left, symbols), _evaluate(node.right, symbols))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand, symbols)
    raise ValueError(f"only + - * // on ints and {', '.join(SYMBOLS)} are allowed, got {ast.unparse(node)!r}")
