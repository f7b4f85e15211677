"""YAML that remembers where every value came from, with ``!include``.

``parse_yaml`` returns plain Python values in which mappings are :class:`YamlMap` and sequences
:class:`YamlSeq`: ordinary ``dict``/``list`` subclasses that also hold the :class:`Mark` (file, line, column)
of themselves, of each key and of each value. Only YAML's safe core tags are accepted, so loading a config
can never construct arbitrary Python objects.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from nnrun.config.errors import ConfigError, ConfigIssue, Issues, Mark, join_path

INCLUDE_TAG = "!include"
_SCALAR_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null"))
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


class YamlMap(dict):
    """A mapping from YAML; ``mark``, ``key_marks[key]`` and ``value_marks[key]`` locate it."""

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.key_marks: dict[Any, Mark] = {}
        self.value_marks: dict[Any, Mark] = {}


class YamlSeq(list):
    """A sequence from YAML; ``mark`` and ``item_marks[i]`` locate it."""

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.item_marks: list[Mark] = []


class LocatedLoader(yaml.SafeLoader):
    """A ``SafeLoader`` whose :meth:`located` turns the composed node graph into located values."""

    def __init__(self, text: str, file: str, issues: Issues, includes: tuple[str, ...]) -> None:
        super().__init__(text)
        self.file = file
        self.issues = issues
        self.includes = includes
        self.active: set[int] = set()

    def mark(self, node: yaml.Node) -> Mark:
        return Mark(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def located(self, node: yaml.Node, path: str) -> Any:
        if id(node) in self.active:
            self.issues.add(path, "a YAML alias refers to its own ancestor", self.mark(node))
            return None
        self.active.add(id(node))
        try:
            if node.tag == INCLUDE_TAG:
                return self.include(node, path)
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
                return self.located_mapping(node, path)
            if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
                return self.located_sequence(node, path)
            if isinstance(node, yaml.ScalarNode) and node.tag in _SCALAR_TAGS:
                return self.construct_object(node, deep=True)
            self.issues.add(path, f"unsupported YAML tag {node.tag!r}", self.mark(node))
            return None
        finally:
            self.active.discard(id(node))

    def located_mapping(self, node: yaml.MappingNode, path: str) -> YamlMap:
        self.flatten_mapping(node)  # resolves "<<" merge keys
        result = YamlMap(self.mark(node))
        for key_node, value_node in node.value:
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag in _SCALAR_TAGS):
                self.issues.add(path, "mapping keys must be plain scalars", self.mark(key_node))
                continue
            key = self.construct_object(key_node)
            if key in result:
                self.issues.add(join_path(path, key), f"duplicate key {key!r}", self.mark(key_node))
                continue
            result.key_marks[key] = self.mark(key_node)
            result.value_marks[key] = self.mark(value_node)
            result[key] = self.located(value_node, join_path(path, key))
        return result

    def located_sequence(self, node: yaml.SequenceNode, path: str) -> YamlSeq:
        result = YamlSeq(self.mark(node))
        for i, item in enumerate(node.value):
            result.item_marks.append(self.mark(item))
            result.append(self.located(item, join_path(path, i)))
        return result

    def include(self, node: yaml.Node, path: str) -> Any:
        mark = self.mark(node)
        target = node.value if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(target, str) or not target.strip():
            self.issues.add(path, "!include needs a file path, e.g. !include models/mlp.yaml", mark)
            return None
        base = os.path.dirname(self.file) if os.path.isfile(self.file) else os.getcwd()
        resolved = os.path.normpath(os.path.join(base, target))
        if resolved in self.includes:
            chain = " -> ".join([*self.includes, resolved])
            self.issues.add(path, f"!include cycle: {chain}", mark)
            return None
        if not os.path.isfile(resolved):
            self.issues.add(path, f"!include: no such file {resolved}", mark)
            return None
        try:
            value, _ = parse_file(resolved, (*self.includes, resolved))
        except ConfigError as exc:
            self.issues.errors.extend(exc.errors)
            return None
        return value


def parse_yaml(text: str, file: str = "<string>", includes: tuple[str, ...] = ()) -> tuple[Any, Mark]:
    """Parse one YAML document into located values; return it and its mark. Raises :class:`ConfigError`."""
    issues = Issues()
    loader = LocatedLoader(text, file, issues, includes or (file,))
    try:
        node = loader.get_single_node()
        if node is None:
            issues.add("", "the document is empty", Mark(file, 1, 1))
            issues.raise_if_any()
        value = loader.located(node, "")
        mark = loader.mark(node)
    except yaml.MarkedYAMLError as exc:
        where = exc.problem_mark or exc.context_mark
        mark = Mark(file, where.line + 1, where.column + 1) if where else Mark(file, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([*issues.errors, _yaml_issue(problem, mark)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_issue(str(exc), Mark(file, 1, 1))]) from None
    finally:
        loader.dispose()
    issues.raise_if_any()
    return value, mark


def parse_file(path: str, includes: tuple[str, ...] = ()) -> tuple[Any, Mark]:
    """Parse the YAML file at ``path`` (see :func:`parse_yaml`)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([_yaml_issue(f"cannot read the file ({exc})", Mark(path, 1, 1))]) from None
    return parse_yaml(text, path, includes or (os.path.normpath(path),))


def _yaml_issue(message: str, mark: Mark) -> ConfigIssue:
    return ConfigIssue("", f"YAML: {message}", mark)


def locate(value: Any, mark: Mark, keys: tuple[Any, ...], at_key: bool = False) -> Mark:
    """The mark of ``value[keys[0]][keys[1]]…`` as far as the keys lead; ``at_key`` marks the last key."""
    for i, key in enumerate(keys):
        if isinstance(value, YamlMap) and key in value:
            last = i == len(keys) - 1
            mark = value.key_marks[key] if (at_key and last) else value.value_marks[key]
            value = value[key]
        elif isinstance(value, YamlSeq) and isinstance(key, int) and 0 <= key < len(value):
            mark, value = value.item_marks[key], value[key]
        else:
            break
    return mark


def to_plain(value: Any) -> Any:
    """Located values → plain ``dict``/``list`` (for ``yaml.safe_dump``)."""
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    return value


class _Dumper(yaml.SafeDumper):
    """Block style, except for lists of scalars (``[1, 28, 28]``), which stay on one line."""

    def represent_list(self, data: list) -> yaml.Node:
        flow = all(item is None or isinstance(item, (bool, int, float)) for item in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _Dumper.represent_list)


def dump_yaml(value: Any) -> str:
    """YAML text of plain or located values, keys in their given order."""
    return yaml.dump(to_plain(value), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=110)
