"""Bounds that keep a small hostile YAML document from hanging the loader or eating memory.

YAML aliases share nodes, so a few lines can describe a tree of billions of nodes ("billion laughs"); deep
nesting overflows Python's stack in any recursive walk. A config is refused when its text, its node graph,
its tree with every alias copied out, or its nesting goes past the limits below, with the place that does.
The largest shipped config (``configs/resnet18_cifar10.yaml`` with its includes) has 371 nodes, 12 levels
deep, 10 KB of text and 2 includes; the limits leave at least five times that.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

MAX_FILE_BYTES = 1 << 20
MAX_NODES = 50_000
MAX_DEPTH = 64
MAX_INCLUDE_DEPTH = 16
MAX_INCLUDES = 64


@dataclass
class Budget:
    """Nodes that may still be expanded and files that may still be included, shared by a document and
    every file it includes."""

    nodes: int = MAX_NODES
    includes: int = MAX_INCLUDES


class LimitError(yaml.MarkedYAMLError):
    """A document goes past one of the limits; ``problem_mark`` is where."""

    def __init__(self, problem: str, mark: yaml.Mark) -> None:
        super().__init__(problem=problem, problem_mark=mark)


def check_graph(root: yaml.Node, budget: Budget, depth_before: int) -> None:
    """Refuse a composed node graph that loops, or whose expanded tree takes more nodes than ``budget``
    holds or, below ``depth_before`` levels of including documents, nests deeper than :data:`MAX_DEPTH`.

    Walks the graph once, iteratively, sharing the counts of nodes reached through several aliases."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            children = _children(node)
            size[key] = 1 + sum(size[id(child)] for child in children)
            depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
            if size[key] > budget.nodes:
                raise LimitError(
                    f"this value expands to more than {budget.nodes:,} nodes once its aliases are copied out "
                    f"(a config may hold at most {MAX_NODES:,} nodes, includes counted)",
                    node.start_mark,
                )
            if depth[key] + depth_before > MAX_DEPTH:
                raise LimitError(f"nesting deeper than {MAX_DEPTH} levels", node.start_mark)
            continue
        if key in size:
            continue
        if key in on_path:
            raise LimitError("a YAML alias refers to its own ancestor", node.start_mark)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)
    budget.nodes -= size[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def position_of(text: str | bytes, offset: int) -> tuple[int, int]:
    """(line, column), counted from 1, of the character or byte at ``offset`` in ``text``."""
    newline = "\n" if isinstance(text, str) else b"\n"
    line = text.count(newline, 0, offset) + 1
    return line, offset - (text.rfind(newline, 0, offset) + 1) + 1
