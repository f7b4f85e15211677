"""Python expressions written in configs (forward lines, ``${…}`` block arguments, scheduler arguments),
parsed within bounds: a very long or deeply nested expression is a clear error, never a RecursionError from
the parser or from the recursive evaluators that walk the tree."""

from __future__ import annotations

import ast

#: The longest forward line or expression (shipped configs: under 100 characters).
MAX_LENGTH = 1_000
#: The deepest expression tree (``a + b + c`` nests one level per operator).
MAX_NESTING = 100


def parse_expression(text: str, mode: str = "eval") -> ast.AST:
    """``ast.parse(text, mode)``, or a ``SyntaxError`` whose ``msg`` says which bound was passed."""
    if len(text) > MAX_LENGTH:
        raise SyntaxError(f"longer than {MAX_LENGTH:,} characters")
    try:
        tree = ast.parse(text, mode=mode)
    except (RecursionError, MemoryError):
        raise SyntaxError("nested too deeply") from None
    pending = [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_NESTING:
            raise SyntaxError(f"nested deeper than {MAX_NESTING} levels")
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return tree
