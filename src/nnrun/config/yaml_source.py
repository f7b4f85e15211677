"""YAML that remembers where every value came from, with ``!include``.

``parse_yaml`` returns plain Python values in which mappings are :class:`YamlMap` and sequences
:class:`YamlSeq`: ordinary ``dict``/``list`` subclasses that also hold the :class:`Mark` (file, line, column)
of themselves, of each key and of each value. Only YAML's safe core tags are accepted, so loading a config
can never construct arbitrary Python objects; sizes and nesting are bounded (:mod:`.yaml_limits`);
``!include`` reads YAML files only, and never in a config stored inside a checkpoint or model file.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any

import yaml

from nnrun.config.errors import ConfigError, ConfigIssue, Issues, Mark, join_path
from nnrun.config.yaml_limits import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_INCLUDE_DEPTH,
    MAX_INCLUDES,
    MAX_NODES,
    Budget,
    LimitError,
    check_graph,
    position_of,
)

INCLUDE_TAG = "!include"
_SCALAR_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null"))
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


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
    """A ``SafeLoader`` whose :meth:`located` turns the composed node graph into located values, within the
    limits of :mod:`nnrun.config.yaml_limits`."""

    def __init__(
        self, text: str, file: str, issues: Issues, context: _Context, start: tuple[int, int]
    ) -> None:
        super().__init__(text)
        self.file = file
        self.issues = issues
        self.context = context
        self.start = start
        self.composed = 0  # nodes composed so far (aliases count once per use)
        self.depth = 0  # how deep composing, then :meth:`located`, is in the document

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self.composed += 1
        self.depth += 1
        try:
            if self.composed > MAX_NODES:
                raise LimitError(
                    f"more than {MAX_NODES:,} nodes in one document", self.peek_event().start_mark
                )
            if self.depth + self.context.depth > MAX_DEPTH:
                raise LimitError(f"nesting deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def mark(self, node: yaml.Node) -> Mark:
        return self.to_mark(node.start_mark)

    def to_mark(self, where: yaml.Mark) -> Mark:
        line, column = self.start
        return Mark(self.file, where.line + line, where.column + (column if where.line == 0 else 1))

    def located(self, node: yaml.Node, path: str) -> Any:
        self.depth += 1
        try:
            if node.tag == INCLUDE_TAG:
                return self.include(node, path)
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
                return self.located_mapping(node, path)
            if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
                return self.located_sequence(node, path)
            if isinstance(node, yaml.ScalarNode) and node.tag in _SCALAR_TAGS:
                return self.scalar(node, path)
            self.issues.add(path, f"unsupported YAML tag {node.tag!r}", self.mark(node))
            return None
        finally:
            self.depth -= 1

    def located_mapping(self, node: yaml.MappingNode, path: str) -> YamlMap:
        self.flatten_mapping(node)  # resolves "<<" merge keys
        result = YamlMap(self.mark(node))
        for key_node, value_node in node.value:
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag in _SCALAR_TAGS):
                self.issues.add(path, "mapping keys must be plain scalars", self.mark(key_node))
                continue
            key = self.scalar(key_node, path)
            if key is None:
                continue
            if key in result:
                self.issues.add(join_path(path, key), f"duplicate key {key!r}", self.mark(key_node))
                continue
            result.key_marks[key] = self.mark(key_node)
            result.value_marks[key] = self.mark(value_node)
            result[key] = self.located(value_node, join_path(path, key))
        return result

    def scalar(self, node: yaml.ScalarNode, path: str) -> Any:
        """The scalar's value; a string holding a control character or a lone surrogate (which only an
        escape such as ``"\\0"`` or ``"\\ud800"`` can write) is refused: it would reach file names and
        terminals."""
        value = self.construct_object(node, deep=True)
        if isinstance(value, str):
            bad = next((c for c in value if _UNPRINTABLE.match(c)), None)
            if bad is not None:
                self.issues.add(
                    path,
                    f"a string holds the character U+{ord(bad):04X}, which is not allowed",
                    self.mark(node),
                )
                return None
        return value

    def located_sequence(self, node: yaml.SequenceNode, path: str) -> YamlSeq:
        result = YamlSeq(self.mark(node))
        for i, item in enumerate(node.value):
            result.item_marks.append(self.mark(item))
            result.append(self.located(item, join_path(path, i)))
        return result

    def include(self, node: yaml.Node, path: str) -> Any:
        mark = self.mark(node)
        target = node.value if isinstance(node, yaml.ScalarNode) else None
        if self.context.stored:
            message = "!include is not allowed in a config stored in a file: loading never reads other files"
            self.issues.add(path, message, mark)
            return None
        if not isinstance(target, str) or not target.strip() or "\x00" in target:
            self.issues.add(path, "!include needs a file path, e.g. !include models/mlp.yaml", mark)
            return None
        base = os.path.dirname(self.file) if os.path.isfile(self.file) else os.getcwd()
        resolved = os.path.normpath(os.path.join(base, target))
        problem = _include_problem(resolved, self.context)
        if problem:
            self.issues.add(path, problem, mark)
            return None
        self.context.budget.includes -= 1
        try:
            depth = self.context.depth + self.depth - 1  # the included document replaces this node
            value, _ = parse_file(resolved, _context=self.context.entering(resolved, depth))
        except ConfigError as exc:
            self.issues.errors.extend(exc.errors)
            return None
        return value


@dataclass
class _Context:
    """What a document is parsed within: the chain of files including it, the shared node budget, how
    deep the including node sits, and whether it is a stored config (data only: no ``!include``)."""

    stored: bool = False
    chain: tuple[str, ...] = ()
    budget: Budget = field(default_factory=Budget)
    depth: int = 0

    def entering(self, file: str, depth: int) -> _Context:
        return _Context(self.stored, (*self.chain, file), self.budget, depth)


def _include_problem(resolved: str, context: _Context) -> str | None:
    if resolved in context.chain:
        return f"!include cycle: {' -> '.join([*context.chain, resolved])}"
    if len(context.chain) > MAX_INCLUDE_DEPTH:
        return f"!include nested more than {MAX_INCLUDE_DEPTH} files deep"
    if context.budget.includes <= 0:
        return f"more than {MAX_INCLUDES} !include reads in one config"
    if not all(path.endswith((".yaml", ".yml")) for path in (resolved, os.path.realpath(resolved))):
        return f"!include reads YAML files (.yaml or .yml) only, not {resolved}"  # nor links to other files
    if not os.path.isfile(resolved):
        what = "not a regular file" if os.path.exists(resolved) else "no such file"
        return f"!include: {what} {resolved}"
    return None


def parse_yaml(
    text: str,
    file: str = "<string>",
    *,
    stored: bool = False,
    start: tuple[int, int] = (1, 1),
    _context: _Context | None = None,
) -> tuple[Any, Mark]:
    """Parse one YAML document into located values; return it and its mark. Raises :class:`ConfigError`.

    ``stored``: the text was kept inside a checkpoint or model file, so it is data only (``!include`` is
    refused). ``start``: the (line, column) of the text's first character in ``file`` (for text cut from a
    longer line, like a ``--set`` value)."""
    context = _context or _Context(stored, (file,))
    issues = Issues()
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError(
            [
                _yaml_issue(
                    f"longer than {MAX_FILE_BYTES:,} characters, too long for a config", Mark(file, *start)
                )
            ]
        )
    try:
        loader = LocatedLoader(text, file, issues, context, start)
    except yaml.reader.ReaderError as exc:  # the reader checks every character of a str at once
        raise ConfigError([_reader_issue(exc, text, file, start)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            issues.add("", "the document is empty", Mark(file, *start))
            issues.raise_if_any()
        check_graph(node, context.budget, context.depth)
        value = loader.located(node, "")
        mark = loader.mark(node)
    except yaml.MarkedYAMLError as exc:
        where = exc.problem_mark or exc.context_mark
        mark = loader.to_mark(where) if where else Mark(file, *start)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([*issues.errors, _yaml_issue(problem, mark)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_issue(str(exc), Mark(file, *start))]) from None
    finally:
        loader.dispose()
    issues.raise_if_any()
    return value, mark


def parse_stored(text: str, origin: str) -> Any:
    """The plain data (dicts, lists, scalars) of config text kept inside a checkpoint or model file, parsed
    as data only (see :func:`parse_yaml`'s ``stored``). Raises :class:`ConfigError`."""
    return to_plain(parse_yaml(text, origin, stored=True)[0])


def parse_file(path: str, *, _context: _Context | None = None) -> tuple[Any, Mark]:
    """Parse the YAML file at ``path`` (see :func:`parse_yaml`): a regular file of UTF-8 text, at most
    :data:`~nnrun.config.yaml_limits.MAX_FILE_BYTES` long."""
    text = _read_text(path)
    return parse_yaml(text, path, _context=_context or _Context(False, (os.path.normpath(path),)))


def _read_text(path: str) -> str:
    def refuse(message: str, line: int = 1, column: int = 1) -> ConfigError:
        return ConfigError([_yaml_issue(message, Mark(path, line, column))])

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # before opening: opening a FIFO waits for a writer
            raise refuse("not a regular file; a config is a YAML text file")
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise refuse(f"cannot read the file ({getattr(exc, 'strerror', None) or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise refuse(f"the file is larger than {MAX_FILE_BYTES:,} bytes, too large for a config")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"not UTF-8 text (byte 0x{raw[exc.start]:02x})", *position_of(raw, exc.start)) from None


def _reader_issue(exc: yaml.reader.ReaderError, text: str, file: str, start: tuple[int, int]) -> ConfigIssue:
    line, column = position_of(text, exc.position)
    mark = Mark(file, line + start[0] - 1, column + (start[1] - 1 if line == 1 else 0))
    return _yaml_issue(f"unreadable character U+{exc.character:04X} ({exc.reason})", mark)


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
