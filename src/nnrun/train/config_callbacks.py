"""A training config's ``callbacks:``: a list of ``Name`` or ``{Name: {argument: value}}``, each a class of
:data:`~nnrun.train.callbacks.CALLBACKS` (built in, or a user's class registered with ``@nnrun.register`` in a
module the config's ``imports:`` names), checked against its constructor like any other node of a config."""

from __future__ import annotations

from typing import Any

from nnrun.config import ConfigError, TrainingConfig
from nnrun.config.errors import Issues, Mark, describe_exception
from nnrun.config.named_node import named_node
from nnrun.config.signature import schema_for, validate_arguments
from nnrun.config.yaml_source import YamlSeq, to_plain
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


def _built(value: Any, path: str, mark: Mark, issues: Issues) -> Callback | None:
    node = named_node(value, path, mark, CALLBACKS, issues)
    if node is None:
        return None
    values, problems = validate_arguments(schema_for(node.cls), to_plain(node.arguments))
    node.report(problems, issues)
    if values is None:
        return None
    try:
        return node.cls(**values)
    except ConfigError:
        raise
    except Exception as exc:  # the constructor's own check, of any kind
        issues.add(node.path, describe_exception(exc), node.name_mark)
        return None
