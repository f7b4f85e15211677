"""A config node that names a registered class: ``Name`` or ``{Name: {argument: value}}`` (an optimizer, a
scheduler, a transform, a callback), split into its name and arguments, the name looked up in its registry
and every problem reported at its YAML line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nnrun.config.errors import Issues, Mark, join_path, shown
from nnrun.config.yaml_source import YamlMap, to_plain
from nnrun.registry import Registry, UnknownName


@dataclass
class NamedNode:
    """A node whose name its registry knows: the class, the arguments as written (an empty mapping for a
    bare name), the YAML path of the name (``optimizer.SGD``) and where the name and the arguments are."""

    name: str
    cls: type
    arguments: YamlMap
    path: str
    name_mark: Mark
    arguments_mark: Mark

    def report(self, messages: dict[str, str], issues: Issues) -> None:
        """Add each argument's message (from :func:`~nnrun.config.signature.validate_arguments`) at its
        name if it is an unknown one (a misspelling), else at its value; an argument that is not written
        (a missing one) at the arguments."""
        for argument, message in messages.items():
            marks = self.arguments.key_marks if "unknown argument" in message else self.arguments.value_marks
            issues.add(join_path(self.path, argument), message, marks.get(argument, self.arguments_mark))


def named_node(value: Any, path: str, mark: Mark, known: Registry, issues: Issues) -> NamedNode | None:
    """``value`` (written at ``path``, ``mark``) as a :class:`NamedNode` of ``known``; None, with the problem
    added to ``issues``, when it has another shape, names nothing ``known`` holds (with suggestions and the
    known names) or gives its arguments as something other than a mapping."""
    if isinstance(value, str):
        name, body, name_mark, body_mark = value, None, mark, mark
    elif isinstance(value, YamlMap) and len(value) == 1 and isinstance(next(iter(value)), str):
        ((name, body),) = value.items()
        name_mark, body_mark = value.key_marks[name], value.value_marks[name]
    else:
        article = "an" if known.kind[0] in "aeiou" else "a"
        got = shown(to_plain(value))
        form = "{Name: {argument: value}}"
        issues.add(path, f"{article} {known.kind} is a name or {form}, got {got}", mark)
        return None
    where = join_path(path, name)
    try:
        cls = known.get(name)
    except UnknownName as unknown:
        names = ", ".join(known) or "none yet (register your own with @nnrun.register)"
        issues.add(where, f"{unknown}; known: {names}", name_mark)
        return None
    if body is not None and not isinstance(body, YamlMap):
        issues.add(where, f"{name} takes a mapping of arguments, got {shown(to_plain(body))}", body_mark)
        return None
    arguments = body if body is not None else YamlMap(body_mark)
    return NamedNode(name, cls, arguments, where, name_mark, body_mark)
