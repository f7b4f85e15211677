"""``--set key.path=value`` overrides, applied to a located YAML document before it is validated.

The value is parsed as YAML (``0.1`` is a float, ``[1, 2]`` a list, ``null`` None), so the schema types it
exactly as if it had been written in the file. Each override gets the mark ``--set:N:C`` (the N-th override,
the column of its value), so an error in it is reported like an error in a file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from nnrun.config.errors import Issues, Mark, join_path
from nnrun.config.yaml_source import YamlMap, YamlSeq

OVERRIDE_FILE = "--set"


def apply_overrides(document: Any, overrides: Iterable[str]) -> None:
    """Set each ``key.path=value`` in ``document`` (a :class:`YamlMap`, changed in place).

    Missing mappings along the path are created; list items are addressed by index (``transforms.0``).
    Raises :class:`ConfigError` naming every malformed override."""
    issues = Issues()
    for number, text in enumerate(overrides, start=1):
        _apply_one(document, text, number, issues)
    issues.raise_if_any()


def _apply_one(document: Any, text: str, number: int, issues: Issues) -> None:
    key_path, sep, raw = text.partition("=")
    keys = key_path.strip().split(".")
    start = Mark(OVERRIDE_FILE, number, 1)
    if not sep or not all(keys):
        issues.add("", f"{text!r}: an override is key.path=value, e.g. optimizer.SGD.lr=0.01", start)
        return
    value_mark = Mark(OVERRIDE_FILE, number, len(key_path) + 2)
    try:
        value = _located(yaml.safe_load(raw) if raw.strip() else None, value_mark)
    except yaml.YAMLError as exc:
        issues.add(key_path, f"{text!r}: the value is not valid YAML ({exc})", value_mark)
        return
    target: Any = document
    for depth, key in enumerate(keys[:-1]):
        here = join_path(*keys[: depth + 1])
        if isinstance(target, YamlSeq):
            if not _in_range(target, key):
                issues.add(here, f"no list item {key!r} here (the list has {len(target)} items)", start)
                return
            target = target[int(key)]
            continue
        if not isinstance(target, YamlMap):
            issues.add(here, f"cannot set {key_path}: {join_path(*keys[:depth])} is not a mapping", start)
            return
        if target.get(key) is None:
            target[key] = YamlMap(start)
            target.key_marks[key] = target.value_marks[key] = start
        target = target[key]
    last = keys[-1]
    if isinstance(target, YamlSeq):
        if not _in_range(target, last):
            issues.add(key_path, f"no list item {last!r} here (the list has {len(target)} items)", start)
            return
        target[int(last)] = value
        target.item_marks[int(last)] = value_mark
        return
    if not isinstance(target, YamlMap):
        issues.add(key_path, f"cannot set {key_path}: {join_path(*keys[:-1])} is not a mapping", start)
        return
    target[last] = value
    target.key_marks[last] = start
    target.value_marks[last] = value_mark


def _in_range(seq: YamlSeq, key: str) -> bool:
    return key.isdigit() and int(key) < len(seq)


def _located(value: Any, mark: Mark) -> Any:
    """A parsed value whose mappings and lists carry ``mark``, like values read from a file."""
    if isinstance(value, dict):
        result = YamlMap(mark)
        for key, item in value.items():
            result[key] = _located(item, mark)
            result.key_marks[key] = result.value_marks[key] = mark
        return result
    if isinstance(value, list):
        seq = YamlSeq(mark)
        for item in value:
            seq.append(_located(item, mark))
            seq.item_marks.append(mark)
        return seq
    return value
