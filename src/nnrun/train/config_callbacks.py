"""A training config's ``callbacks:``: a list of ``Name`` or ``{Name: {argument: value}}``, each a class of
:data:`~nnrun.train.callbacks.CALLBACKS` (built in, or a user's class registered with ``@nnrun.register`` in a
module the config's ``imports:`` names), checked against its constructor like any other node of a config."""

from __future__ import annotations

from typing import Any

from nnrun.config import ConfigError, TrainingConfig
from nnrun.config.errors import Issues, Mark, describe_exception, join_path, shown
from nnrun.config.signature import schema_for, validate_arguments
from nnrun.config.yaml_source import YamlMap, YamlSeq, locate, to_plain
from nnrun.registry import UnknownName
from nnrun.train.callbacks import CALLBACKS, Callback


def callbacks_from_config(cfg: TrainingConfig) -> list[Callback]:
    """Build the callbacks ``cfg`` names, in order; raises one :class:`ConfigError` listing every unknown
    name (with suggestions), argument that does not fit and constructor failure at its YAML line."""
    nodes = cfg.document.get("callbacks")
    if not isinstance(nodes, YamlSeq):  # absent (the schema has checked that it is a list)
        return []
    issues = Issues()
    built = [_built(node, f"callbacks.{i}", nodes.item_marks[i], issues) for i, node in enumerate(nodes)]
    issues.raise_if_any()
    return [callback for callback in built if callback is not None]


def _built(node: Any, path: str, mark: Mark, issues: Issues) -> Callback | None:
    if isinstance(node, str):
        name, body, name_mark, body_mark = node, None, mark, mark
    elif isinstance(node, YamlMap) and len(node) == 1 and isinstance(next(iter(node)), str):
        name = next(iter(node))
        body, name_mark, body_mark = node[name], node.key_marks[name], node.value_marks[name]
    else:
        message = f"a callback is a name or {{Name: {{argument: value}}}}, got {shown(to_plain(node))}"
        issues.add(path, message, mark)
        return None
    where = join_path(path, name)
    try:
        cls = CALLBACKS.get(name)
    except UnknownName as unknown:
        known = ", ".join(CALLBACKS) or "none yet (register your own with @nnrun.register)"
        issues.add(where, f"{unknown}; known: {known}", name_mark)
        return None
    if body is not None and not isinstance(body, YamlMap):
        issues.add(where, f"{name} takes a mapping of arguments, got {shown(to_plain(body))}", body_mark)
        return None
    arguments = to_plain(body) if body is not None else {}
    values, problems = validate_arguments(schema_for(cls), arguments)
    for key, message in problems.items():
        at_key = "unknown argument" in message  # the misspelt name, else the value that does not fit
        issues.add(join_path(where, key), message, locate(body, body_mark, (key,), at_key=at_key))
    if values is None:
        return None
    try:
        return cls(**values)
    except ConfigError:
        raise
    except Exception as exc:  # the constructor's own check, of any kind
        issues.add(where, describe_exception(exc), name_mark)
        return None
