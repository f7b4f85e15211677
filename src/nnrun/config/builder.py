"""From located YAML nodes to modules, collecting every problem on the way.

A node is a layer name, ``{Layer: kwargs | [positional…] | scalar}``, a container (``Sequential``,
``ModuleList``, ``ModuleDict``, ``Repeat``) or a block. Each problem is reported with its YAML path and mark
and replaced by a placeholder module, so one pass finds all of them.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

from nnrun import nn
from nnrun._memory import available_memory, format_bytes
from nnrun.config.blocks import BlockDef, block_schema
from nnrun.config.errors import Issues, Mark, describe_exception, join_path, shown
from nnrun.config.imports import import_dotted
from nnrun.config.shapes import PendingLayer
from nnrun.config.signature import (
    AUTO,
    AUTO_DIMS,
    PARAMETER_SIZES,
    ArgSchema,
    schema_for,
    validate_arguments,
)
from nnrun.config.template import has_reference, substitute
from nnrun.config.yaml_source import YamlMap, YamlSeq, to_plain
from nnrun.nn import LAYERS
from nnrun.registry import did_you_mean

_MAX_DEPTH = 64  # nested block instantiations; deeper means a cycle the static check missed
#: Nodes one config may build (a Repeat of a billion layers would never finish); ResNet-18 builds 68.
MAX_MODULES = 10_000
#: Container node forms, handled by the builder rather than by calling the class with arguments.
CONTAINERS = ("Sequential", "ModuleList", "ModuleDict", "Repeat")


class TooLarge(Exception):
    """The model would have more than :data:`MAX_MODULES` modules, or parameters that do not fit in memory;
    ``path`` and ``mark`` locate the node where it went past. Building stops there."""

    def __init__(self, message: str, path: str, mark: Mark) -> None:
        super().__init__(message)
        self.path, self.mark = path, mark


class Builder:
    """Builds nodes; ``origins`` maps ``id(module)`` to the (YAML path, mark) it was built from."""

    def __init__(
        self,
        blocks: dict[str, BlockDef],
        issues: Issues,
        broken: set[str] = frozenset(),
        allow_dotted_paths: bool = False,
        shapes_known: bool = False,
    ) -> None:
        self.blocks = blocks
        self.issues = issues
        self.broken = broken
        self.allow_dotted_paths = allow_dotted_paths
        self.shapes_known = shapes_known
        self.layers = LAYERS.entries()
        self.origins: dict[int, tuple[str, Mark]] = {}
        self.active: list[str] = []
        self.pending = 0
        self.built = 0  # nodes built so far, to stop at MAX_MODULES
        self.parameter_bytes = 0  # what the parameters built so far take, at most (float32)
        self.memory = available_memory()  # measured once: what the build itself allocates lowers it

    # ----- nodes -----
    def node(self, value: Any, path: str, mark: Mark) -> nn.Module:
        """Build the node ``value`` found at ``path``/``mark`` (:class:`TooLarge` past a limit)."""
        self.built += 1
        if self.built > MAX_MODULES:
            raise TooLarge(f"the model would have more than {MAX_MODULES:,} modules", path, mark)
        if isinstance(value, str):
            if has_reference(value):
                return self.fail(path, f"{value!r}: ${{...}} can only be used inside a block", mark)
            return self.head(value, None, path, mark, mark)
        if isinstance(value, YamlMap) and len(value) == 1:
            ((head, body),) = value.items()
            if isinstance(head, str):
                return self.head(
                    head, body, join_path(path, head), value.key_marks[head], value.value_marks[head]
                )
        if isinstance(value, YamlMap):
            keys = ", ".join(map(str, value)) or "none"
            return self.fail(
                path, f"a node is one layer name mapped to its arguments, got keys: {keys}", mark
            )
        if value is None:
            return self.fail(path, "a node cannot be null here", mark)
        return self.fail(path, f"expected a layer name or {{Layer: arguments}}, got {shown(value)}", mark)

    def head(self, name: str, body: Any, path: str, name_mark: Mark, body_mark: Mark) -> nn.Module:
        if name in CONTAINERS:
            return self.container(name, body, path, body_mark if body is not None else name_mark)
        if name in self.blocks:
            return self.block(self.blocks[name], body, path, name_mark, body_mark)
        if name in self.broken:
            return nn.Identity()  # its definition is wrong and was reported already
        if name in self.layers:
            return self.layer(self.layers[name], body, path, name_mark, body_mark)
        if "." in name:
            return self.dotted(name, body, path, name_mark, body_mark)
        known = [*self.layers, *self.blocks, *CONTAINERS]
        return self.fail(path, f"unknown layer '{name}'{did_you_mean(name, known)}", name_mark)

    def dotted(self, name: str, body: Any, path: str, name_mark: Mark, body_mark: Mark) -> nn.Module:
        if not self.allow_dotted_paths:
            return self.fail(
                path,
                f"unknown layer '{name}': classes are not imported by dotted path; register the class with "
                "@nnrun.register and list its module under imports:",
                name_mark,
            )
        try:
            cls = import_dotted(name)
        except Exception as exc:
            return self.fail(path, f"cannot import {name}: {exc}", name_mark)
        return self.layer(cls, body, path, name_mark, body_mark)

    def fail(self, path: str, message: str, mark: Mark) -> nn.Module:
        self.issues.add(path, message, mark)
        return nn.Identity()

    def record(self, module: nn.Module, path: str, mark: Mark) -> nn.Module:
        self.origins.setdefault(id(module), (path, mark))
        return module

    # ----- containers -----
    def container(self, kind: str, body: Any, path: str, mark: Mark) -> nn.Module:
        try:
            if kind == "Repeat":
                return self.record(nn.Sequential(*self.repeat(body, path, mark)), path, mark)
            if kind in ("Sequential", "ModuleList") and (body is None or isinstance(body, YamlSeq)):
                children = self.listed(body or [], path)
                built = nn.Sequential(*children) if kind == "Sequential" else nn.ModuleList(children)
                return self.record(built, path, mark)
            if kind in ("Sequential", "ModuleDict") and isinstance(body, YamlMap):
                named = OrderedDict(
                    (str(key), self.node(child, join_path(path, key), body.value_marks[key]))
                    for key, child in body.items()
                )
                built = nn.Sequential(named) if kind == "Sequential" else nn.ModuleDict(named)
                return self.record(built, path, mark)
            if kind == "ModuleDict" and body is None:
                return self.record(nn.ModuleDict(), path, mark)
        except (KeyError, TypeError) as exc:
            return self.fail(path, f"{kind}: {exc}", mark)
        forms = {"Sequential": "a list or a mapping", "ModuleList": "a list", "ModuleDict": "a mapping"}
        return self.fail(path, f"{kind} takes {forms[kind]} of nodes, got {body!r}", mark)

    def listed(self, items: list, path: str) -> list[nn.Module]:
        """The children of a list form; ``{Repeat: …}`` items are expanded in place."""
        children = []
        for i, item in enumerate(items):
            mark = items.item_marks[i] if isinstance(items, YamlSeq) else None
            if isinstance(item, YamlMap) and list(item) == ["Repeat"]:
                where = join_path(path, i, "Repeat")
                children += self.repeat(item["Repeat"], where, item.value_marks["Repeat"])
            else:
                children.append(self.node(item, join_path(path, i), mark))
        return children

    def repeat(self, body: Any, path: str, mark: Mark) -> list[nn.Module]:
        """``{times: N, node: NODE}`` → N separately built copies of NODE."""
        if not (isinstance(body, YamlMap) and set(body) == {"times", "node"}):
            self.fail(path, "Repeat takes {times: N, node: NODE}", mark)
            return []
        times = body["times"]
        if type(times) is not int or not 0 <= times <= MAX_MODULES:
            message = f"times must be an int from 0 to {MAX_MODULES:,}, got {times!r}"
            self.fail(join_path(path, "times"), message, body.value_marks["times"])
            return []
        if times == 0:
            return []
        before = self.parameter_bytes
        node, where, node_mark = body["node"], join_path(path, "node"), body.value_marks["node"]
        first = self.node(node, where, node_mark)
        self.check_room(path, mark, (self.parameter_bytes - before) * (times - 1))  # before the copies
        return [first, *(self.node(node, where, node_mark) for _ in range(times - 1))]

    def reserve(self, path: str, mark: Mark, nbytes: int, transient: int) -> None:
        """Count ``nbytes`` more of parameters, which take ``transient`` more bytes while they are drawn."""
        self.check_room(path, mark, nbytes + transient)
        self.parameter_bytes += nbytes

    def check_room(self, path: str, mark: Mark, nbytes: int) -> None:
        """Raise :class:`TooLarge` when the parameters so far and ``nbytes`` more would take more than half
        the memory available at the start (the other half is for gradients and the optimizer's state)."""
        if self.memory is not None and 2 * (self.parameter_bytes + nbytes) > self.memory:
            total, available = format_bytes(self.parameter_bytes + nbytes), format_bytes(self.memory)
            message = f"the model's parameters (and drawing their initial values) would take {total}, more "
            raise TooLarge(message + f"than half the {available} of memory available", path, mark)

    # ----- layers and blocks -----
    def layer(self, cls: type, body: Any, path: str, name_mark: Mark, body_mark: Mark) -> nn.Module:
        schema = schema_for(cls)
        bound = self.bind(schema, body, path, body_mark)
        if bound is None:
            return nn.Identity()
        kwargs, marks, extra = bound
        for name in schema.node_params & kwargs.keys():
            if kwargs[name] is not None:
                kwargs[name] = self.node(kwargs[name], join_path(path, name), marks[name][1])
        auto = frozenset(name for name, value in kwargs.items() if isinstance(value, str) and value == AUTO)
        for name in auto - AUTO_DIMS.keys():
            self.fail(join_path(path, name), f"'auto' works only for {', '.join(AUTO_DIMS)}", marks[name][1])
        values, messages = validate_arguments(schema, kwargs, auto)
        for name, message in messages.items():
            key_mark, value_mark = marks.get(name, (body_mark, body_mark))
            self.fail(
                join_path(path, name), message, key_mark if "unknown argument" in message else value_mark
            )
        if messages or not auto <= AUTO_DIMS.keys():
            return nn.Identity()
        if auto:
            if not self.shapes_known:
                return self.fail(path, f"{cls.__name__}: 'auto' arguments need input_shape", name_mark)
            self.pending += 1
            return self.record(PendingLayer(schema, kwargs, auto), path, name_mark)
        elements = _parameter_elements(values)
        self.reserve(path, name_mark, 4 * elements, transient=12 * elements)  # its initial draws, in float32
        try:
            module = cls(*extra, **values)
        except Exception as exc:
            return self.fail(path, f"{cls.__name__}: {describe_exception(exc)}", name_mark)
        return self.record(module, path, name_mark)

    def block(self, block: BlockDef, body: Any, path: str, name_mark: Mark, body_mark: Mark) -> nn.Module:
        """Instantiate ``block`` with the arguments ``body``: substitute them into its children, build."""
        if block.name in self.active or len(self.active) >= _MAX_DEPTH:
            trail = " -> ".join([*self.active, block.name])
            return self.fail(path, f"cyclic block use: {trail}", name_mark)
        schema = block_schema(block)
        bound = self.bind(schema, body, path, body_mark)
        if bound is None:
            return nn.Identity()
        kwargs, marks, _ = bound
        values, messages = validate_arguments(schema, kwargs)
        for name, message in messages.items():
            key_mark, value_mark = marks.get(name, (body_mark, body_mark))
            self.fail(
                join_path(path, name), message, key_mark if "unknown argument" in message else value_mark
            )
        if values is None:
            return nn.Identity()
        args = {name: spec.default for name, spec in block.args.items()} | values
        modules_path = join_path(block.path, "modules")
        children_yaml = substitute(block.modules, args, modules_path, block.modules.mark, self.issues.add)
        self.active.append(block.name)
        try:
            children = {
                key: None
                if raw is None
                else self.node(raw, join_path(modules_path, key), children_yaml.value_marks[key])
                for key, raw in children_yaml.items()
            }
        finally:
            self.active.pop()
        self.check_absent(block, children)
        try:
            module = block.cls(children, to_plain(kwargs))
        except (KeyError, TypeError) as exc:
            return self.fail(modules_path, f"{block.name}: {exc}", block.modules.mark)
        return self.record(module, path, name_mark)

    def check_absent(self, block: BlockDef, children: dict[str, nn.Module | None]) -> None:
        if block.program is None:
            return
        for name, child in children.items():
            if child is None:
                for line in block.program.unguarded_calls(name):
                    self.fail(
                        join_path(block.path, "forward", line),
                        f"'{name}' is null here but this line calls it; write '... if {name} else ...'",
                        block.forward_marks[line],
                    )

    def bind(
        self, schema: ArgSchema, body: Any, path: str, mark: Mark
    ) -> tuple[dict[str, Any], dict[str, tuple[Mark, Mark]], list[Any]] | None:
        """Arguments as keywords (with the key and value marks of each) plus any extra positionals."""
        if body is None:
            return {}, {}, []
        if isinstance(body, YamlMap):
            bad = [key for key in body if not isinstance(key, str)]
            for key in bad:
                self.fail(
                    join_path(path, key), f"argument names are strings, got {key!r}", body.key_marks[key]
                )
            marks = {key: (body.key_marks[key], body.value_marks[key]) for key in body}
            return None if bad else (dict(body), marks, [])
        items = body if isinstance(body, YamlSeq) else [body]
        item_marks = body.item_marks if isinstance(body, YamlSeq) else [mark]
        names = schema.positional
        if len(items) > len(names) and not schema.var_positional:
            listed = ", ".join(names) or "none"
            message = f"{schema.title} takes at most {len(names)} positional arguments ({listed})"
            return self.fail_bind(path, f"{message}, got {len(items)}", mark)
        kwargs = dict(zip(names, items))
        marks = {name: (m, m) for name, m in zip(names, item_marks)}
        return kwargs, marks, list(items[len(names) :])

    def fail_bind(self, path: str, message: str, mark: Mark) -> None:
        self.issues.add(path, message, mark)
        return None


def _parameter_elements(values: dict[str, Any]) -> int:
    """An upper bound on the elements of a built-in layer's parameters: the product of its size arguments
    (Linear: in × out; Conv: in × out × kernel; …) plus the largest of them (a bias, a norm's shift)."""
    sizes = [
        size
        for name in PARAMETER_SIZES & values.keys()
        for size in (values[name] if isinstance(values[name], (list, tuple)) else [values[name]])
        if isinstance(size, int) and size > 0
    ]
    return math.prod(sizes) + max(sizes) if sizes else 0
