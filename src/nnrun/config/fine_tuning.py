"""The fine-tuning keys of a training config, checked where they are written: ``init_from:`` (weights to
start from), ``freeze:`` (parameters left untrained) and, beside the optimizer node, ``param_groups:`` and
``no_decay:`` (per-group hyperparameters).

Parameter patterns are Python regular expressions matched with ``re.search`` against the qualified names of
``model.named_parameters()`` (``0.weight``, ``encoder.layers.1.norm.bias``): ``bias`` matches every name
that contains it, ``^encoder\\.`` only names that start with it. Whether a pattern matches any parameter is
known once the model is built (:mod:`nnrun.train.fine_tuning` reports it at the pattern's line).
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from nnrun import nn
from nnrun._creation import zeros
from nnrun.config.errors import Issues, Mark, describe_exception, join_path, shown
from nnrun.config.signature import holds_float, schema_for, validate_arguments
from nnrun.config.yaml_source import YamlMap, YamlSeq, to_plain

#: Keys written beside the optimizer node (``optimizer: {AdamW: {…}, param_groups: […], no_decay: […]}``).
OPTIMIZER_EXTRAS = ("param_groups", "no_decay")
#: What ``no_decay:`` may list: parameters named ``*bias``, parameters of normalization layers.
NO_DECAY_KINDS = ("bias", "norm")


@dataclass
class InitFrom:
    """``init_from:``: the weights file (a training checkpoint or ``nnrun.save(model.state_dict(), …)``),
    whether every key must fit (``strict``) and the ``(regex, replacement)`` renames applied first."""

    path: str
    strict: bool = True
    map: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ParamGroupSpec:
    """One ``param_groups:`` item: the pattern selecting its parameters and its optimizer options."""

    params: str
    options: dict[str, Any]


def split_optimizer(value: Any) -> tuple[Any, dict[str, Any]]:
    """The optimizer node without ``param_groups``/``no_decay``, and those keys' located values."""
    if not isinstance(value, YamlMap) or not any(key in value for key in OPTIMIZER_EXTRAS):
        return value, {}
    node, extras = YamlMap(value.mark), {}
    for key in value:
        if key in OPTIMIZER_EXTRAS:
            extras[key] = value[key]
            continue
        node[key], node.key_marks[key], node.value_marks[key] = (
            value[key],
            value.key_marks[key],
            value.value_marks[key],
        )
    return node, extras


def check_init_from(value: Any, mark: Mark, issues: Issues) -> InitFrom | None:
    """Validate ``init_from: PATH`` or ``{path: PATH, strict: BOOL, map: {regex: replacement}}``; the file
    must exist (a path relative to the working directory, like ``data.root``)."""
    if value is None:
        return None
    if isinstance(value, str):
        spec, path_mark = InitFrom(value), mark
    elif isinstance(value, YamlMap):
        spec, path_mark = _init_from_mapping(value, mark, issues), value.value_marks.get("path", mark)
        if spec is None:
            return None
    else:
        issues.add("init_from", f"a weights file path or {{path:, strict:, map:}}, got {shown(value)}", mark)
        return None
    path = join_path("init_from", "path") if isinstance(value, YamlMap) else "init_from"
    if not spec.path.strip():
        issues.add(path, "must not be empty", path_mark)
        return None
    if not os.path.isfile(spec.path):
        what = "is a folder, not a weights file" if os.path.isdir(spec.path) else "no such file"
        issues.add(path, f"{what}: {spec.path} (a checkpoint or a file written by nnrun.save)", path_mark)
        return None
    return spec


def _init_from_mapping(value: YamlMap, mark: Mark, issues: Issues) -> InitFrom | None:
    before = len(issues.errors)
    for key in value:
        if key not in ("path", "strict", "map"):
            issues.add(
                join_path("init_from", key),
                f"unknown key {key!r}; init_from takes path, strict and map",
                value.key_marks[key],
            )
    path = value.get("path")
    if not isinstance(path, str):
        issues.add(
            "init_from.path",
            f"the weights file, a path; got {shown(path)}",
            value.value_marks.get("path", mark),
        )
    strict = value.get("strict", True)
    if not isinstance(strict, bool):
        where = value.value_marks.get("strict", mark)
        issues.add("init_from.strict", f"true or false, got {shown(strict)}", where)
    renames = _renames(value.get("map"), value.value_marks.get("map", mark), issues)
    if len(issues.errors) > before:
        return None
    return InitFrom(path, strict, renames)


def _renames(value: Any, mark: Mark, issues: Issues) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, YamlMap):
        issues.add("init_from.map", f"a mapping {{regex: replacement}}, got {shown(value)}", mark)
        return []
    renames = []
    for pattern, replacement in value.items():
        path = join_path("init_from", "map", pattern)
        if not isinstance(replacement, str):
            where = value.value_marks[pattern]
            issues.add(path, f"the replacement is text, got {shown(replacement)}", where)
        elif _regex_problem(str(pattern), path, value.key_marks[pattern], issues) is None:
            renames.append((str(pattern), replacement))
    return renames


def check_freeze(value: Any, mark: Mark, issues: Issues) -> list[str]:
    """Validate ``freeze: [regex, …]`` (the schema has made it a list of text)."""
    if not isinstance(value, YamlSeq):
        return []
    patterns = []
    for i, pattern in enumerate(value):
        if _regex_problem(pattern, join_path("freeze", i), value.item_marks[i], issues) is None:
            patterns.append(pattern)
    return patterns


def check_optimizer_extras(
    extras: dict[str, Any], optimizer: Any, mark: Mark, issues: Issues
) -> tuple[list[ParamGroupSpec], tuple[str, ...]]:
    """Validate ``param_groups`` (each group's options against the signature of ``optimizer``, the
    validated optimizer node, then once by constructing it) and ``no_decay``."""
    groups = _param_groups(extras.get("param_groups"), optimizer, mark, issues)
    no_decay = _no_decay(extras.get("no_decay"), mark, issues)
    return groups, no_decay


def _param_groups(value: Any, optimizer: Any, mark: Mark, issues: Issues) -> list[ParamGroupSpec]:
    if value is None:
        return []
    path = "optimizer.param_groups"
    if not isinstance(value, YamlSeq):
        issues.add(path, f"a list of {{params: REGEX, lr: …}} groups, got {shown(value)}", mark)
        return []
    groups = []
    for i, item in enumerate(value):
        group = _param_group(item, join_path(path, i), value.item_marks[i], optimizer, issues)
        if group is not None:
            groups.append(group)
    return groups


def _param_group(item: Any, path: str, mark: Mark, optimizer: Any, issues: Issues) -> ParamGroupSpec | None:
    if not isinstance(item, YamlMap) or not isinstance(item.get("params"), str):
        issues.add(path, f"a group is {{params: REGEX, <optimizer options>}}, got {shown(item)}", mark)
        return None
    params_mark = item.value_marks["params"]
    if _regex_problem(item["params"], join_path(path, "params"), params_mark, issues) is not None:
        return None
    if optimizer is None:  # the node itself is invalid: its options cannot be checked
        return None
    options = {key: _number(to_plain(value)) for key, value in item.items() if key != "params"}
    _, messages = validate_arguments(schema_for(optimizer.cls), options, frozenset(("params",)))
    for key, value in options.items():
        if key not in messages and holds_float(value, math.isinf):
            messages[key] = f"{optimizer.name}: argument '{key}' must be finite, got {shown(value)}"
    for key, message in messages.items():
        marks = item.key_marks if "unknown argument" in message else item.value_marks
        issues.add(join_path(path, key), message, marks.get(key, mark))
    if messages:
        return None
    options = {key: tuple(v) if isinstance(v, list) else v for key, v in options.items()}  # betas: (…, …)
    try:  # the constructor's checks (a negative lr) at the group
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # the constructor checks its own arguments only: give it the group's options as its own
            optimizer.cls([nn.Parameter(zeros(1))], **{**optimizer.kwargs, **options})
    except Exception as exc:
        issues.add(path, f"{optimizer.name}: {describe_exception(exc)}", mark)
        return None
    return ParamGroupSpec(item["params"], options)


def _no_decay(value: Any, mark: Mark, issues: Issues) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, YamlSeq):
        issues.add(
            "optimizer.no_decay", f"a list of {' and/or '.join(NO_DECAY_KINDS)}, got {shown(value)}", mark
        )
        return ()
    kinds = []
    for i, kind in enumerate(value):
        if kind not in NO_DECAY_KINDS:
            message = f"{shown(kind)} is not one of {', '.join(NO_DECAY_KINDS)}"
            issues.add(join_path("optimizer.no_decay", i), message, value.item_marks[i])
        elif kind not in kinds:
            kinds.append(kind)
    return tuple(kinds)


def _regex_problem(pattern: Any, path: str, mark: Mark, issues: Issues) -> str | None:
    """Add a problem when ``pattern`` is not a valid regular expression; return it (None: valid)."""
    if not isinstance(pattern, str) or not pattern:
        problem = f"a regular expression (text), got {shown(pattern)}"
    else:
        try:
            re.compile(pattern)
            return None
        except re.error as exc:
            problem = f"invalid regular expression {pattern!r}: {exc}"
    issues.add(path, problem, mark)
    return problem


_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def _number(value: Any) -> Any:
    """YAML 1.2 floats that PyYAML reads as text (``1e-3``) as numbers, as in the optimizer node."""
    if isinstance(value, list):
        return [_number(item) for item in value]
    return float(value) if isinstance(value, str) and _FLOAT.match(value) else value
