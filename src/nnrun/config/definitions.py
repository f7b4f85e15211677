"""Reading ``blocks:``: argument specs, ``forward`` compilation, name clashes and cyclic block use."""

from __future__ import annotations

from typing import Any

from nnrun.config.blocks import ARG_TYPES, REQUIRED, ArgSpec, BlockDef
from nnrun.config.builder import CONTAINERS
from nnrun.config.errors import Issues, Mark, join_path
from nnrun.config.forward import compile_forward
from nnrun.config.schema import BlockSchema, check
from nnrun.config.yaml_source import YamlMap, YamlSeq, to_plain
from nnrun.registry import did_you_mean


def parse_blocks(blocks: Any, mark: Mark, path: str, layers: set[str], issues: Issues) -> dict[str, BlockDef]:
    """Parse every block under ``blocks:``; report problems to ``issues`` and leave the bad blocks out."""
    if not isinstance(blocks, YamlMap):
        return {}
    parsed = {}
    siblings = {name: to_plain(body) for name, body in blocks.items()}
    for name, body in blocks.items():
        where = join_path(path, name)
        if name in layers or name in CONTAINERS:
            issues.add(
                where, f"block name '{name}' is already a layer name; choose another", blocks.key_marks[name]
            )
            continue
        block = parse_block(name, body, blocks.value_marks[name], where, issues)
        if block is not None:
            block.siblings = siblings
            parsed[name] = block
    _check_cycles(parsed, issues)
    return parsed


def parse_block(
    name: str, body: Any, mark: Mark, path: str, issues: Issues, inputs: list[str] | None = None
) -> BlockDef | None:
    """One block definition; a model section written as ``modules:``/``forward:`` passes its ``inputs``
    (its other keys are checked by the section schema)."""
    if inputs is None:
        spec = check(BlockSchema, body, mark, path, issues)
        if spec is None:
            return None
        inputs = spec.inputs
    before = len(issues.errors)
    args = _parse_args(body.get("args") if isinstance(body, YamlMap) else None, path, issues)
    inputs = tuple(inputs)
    modules = body.get("modules") if isinstance(body, YamlMap) else None
    modules = modules if isinstance(modules, YamlMap) else YamlMap(mark)
    program, forward_marks = None, []
    lines = body.get("forward") if isinstance(body, YamlMap) else None
    if isinstance(lines, YamlSeq):
        forward_marks = lines.item_marks

        def report(i: int, message: str) -> None:
            where = lines.item_marks[i] if lines.item_marks else lines.mark
            issues.add(join_path(path, "forward", i), message, where)

        program = compile_forward(list(lines), inputs, set(modules), report)
    elif len(inputs) != 1:
        issues.add(join_path(path, "inputs"), "a block with several inputs needs a forward", mark)
    if len(issues.errors) > before:
        return None
    plain = to_plain(body)
    return BlockDef(name, path, mark, args, inputs, modules, program, forward_marks, plain)


def _parse_args(args: Any, path: str, issues: Issues) -> dict[str, ArgSpec]:
    parsed: dict[str, ArgSpec] = {}
    if not isinstance(args, YamlMap):
        return parsed
    for name, spec in args.items():
        where, mark = join_path(path, "args", name), args.value_marks[name]
        if isinstance(spec, str):
            type_name, default = spec, REQUIRED
        elif isinstance(spec, YamlMap) and set(spec) <= {"type", "default"} and "type" in spec:
            type_name, default = spec["type"], spec.get("default", REQUIRED)
        else:
            issues.add(where, "an argument is a type name or {type: TYPE, default: VALUE}", mark)
            continue
        if type_name not in ARG_TYPES:
            hint = did_you_mean(str(type_name), ARG_TYPES)
            issues.add(
                where, f"unknown argument type {type_name!r}{hint}; one of {', '.join(ARG_TYPES)}", mark
            )
            continue
        parsed[name] = ArgSpec(name, type_name, default)
    return parsed


def block_references(value: Any, mark: Mark, path: str, names: set[str]) -> list[tuple[str, str, Mark]]:
    """Every use of a block in ``names`` inside a node tree: ``(name, yaml path, mark)``."""
    found = []
    if isinstance(value, str) and value in names:
        found.append((value, path, mark))
    elif isinstance(value, YamlMap):
        for key, item in value.items():
            where = join_path(path, key)
            if key in names and len(value) == 1:
                found.append((key, where, value.key_marks[key]))
            found += block_references(item, value.value_marks[key], where, names)
    elif isinstance(value, YamlSeq):
        for i, item in enumerate(value):
            found += block_references(item, value.item_marks[i], join_path(path, i), names)
    return found


def _check_cycles(blocks: dict[str, BlockDef], issues: Issues) -> None:
    """Report a block that uses itself, directly or through other blocks."""
    edges = {
        name: block_references(block.modules, block.mark, join_path(block.path, "modules"), set(blocks))
        for name, block in blocks.items()
    }
    reported: set[frozenset[str]] = set()
    for start in blocks:
        # iterative depth-first search for a path from start back to start
        stack = [(start, (start,))]
        while stack:
            name, trail = stack.pop()
            for target, where, mark in edges[name]:
                if target == start:
                    key = frozenset(trail)
                    if key not in reported:
                        reported.add(key)
                        issues.add(where, "cyclic block use: " + " -> ".join([*trail, start]), mark)
                elif target not in trail:
                    stack.append((target, (*trail, target)))
