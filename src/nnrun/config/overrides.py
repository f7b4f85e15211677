"""``--set key.path=value`` overrides, applied to a located YAML document before it is validated.

The value is parsed as YAML (``0.1`` is a float, ``[1, 2]`` a list, ``null`` None), with the same limits as a
config file, so the schema types it exactly as if it had been written in the file. Each override gets the
mark ``--set:N:C`` (the N-th override, the column of its value), so an error in it is reported like an error
in a file; an override made by a dedicated option (``--device``) is labelled with that option.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nnrun.config.errors import ConfigError, Issues, Mark, join_path
from nnrun.config.yaml_limits import MAX_DEPTH
from nnrun.config.yaml_source import YamlMap, YamlSeq, parse_yaml

OVERRIDE_FILE = "--set"


@dataclass(frozen=True)
class Override:
    """``key.path=value`` and the option it came from (``--set``, or e.g. ``--device``)."""

    text: str
    option: str = OVERRIDE_FILE


def apply_overrides(document: Any, overrides: Iterable[str | Override]) -> None:
    """Set each ``key.path=value`` in ``document`` (a :class:`YamlMap`, changed in place).

    Missing mappings along the path are created; list items are addressed by index (``transforms.0``).
    Raises :class:`ConfigError` naming every malformed override."""
    issues = Issues()
    for number, override in enumerate(overrides, start=1):
        if isinstance(override, str):
            override = Override(override)
        _apply_one(document, override, number, issues)
    issues.raise_if_any()


def _apply_one(document: Any, override: Override, number: int, issues: Issues) -> None:
    text = override.text
    key_path, sep, raw = text.partition("=")
    keys = key_path.strip().split(".")
    labelled = override.option != OVERRIDE_FILE
    start = Mark(override.option, 0, 0) if labelled else Mark(OVERRIDE_FILE, number, 1)
    if not sep or not all(keys):
        issues.add("", f"{text!r}: an override is key.path=value, e.g. optimizer.SGD.lr=0.01", start)
        return
    if len(keys) > MAX_DEPTH:
        message = f"the key path has {len(keys):,} parts; a config nests at most {MAX_DEPTH} levels"
        issues.add("", message, start)
        return
    value_mark = start if labelled else Mark(OVERRIDE_FILE, number, len(key_path) + 2)
    if not raw.strip():
        raw = "null"
    try:
        value = parse_yaml(raw, value_mark.file, start=(value_mark.line, value_mark.column))[0]
    except ConfigError as exc:
        problems = "; ".join(error.message.removeprefix("YAML: ") for error in exc.errors)
        issues.add(key_path, f"{text!r}: the value is not valid YAML ({problems})", exc.errors[0].mark)
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
