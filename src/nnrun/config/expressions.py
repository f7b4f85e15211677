"""Python expressions written in configs (forward lines, ``${…}`` block arguments, scheduler arguments),
parsed and computed within bounds: a very long or deeply nested expression is a clear error, never a
RecursionError from the parser or from the recursive evaluators that walk the tree; and an operation on
plain values whose result would be huge (``y = y * y`` forty times, ``'ab' * 10 ** 9``) is refused before
Python spends minutes or gigabytes computing it."""

from __future__ import annotations

import ast
import math
from typing import Any

#: The longest forward line or expression (shipped configs: under 100 characters).
MAX_LENGTH = 1_000
#: The deepest expression tree (``a + b + c`` nests one level per operator).
MAX_NESTING = 100
#: The largest integer (in bits) and the longest text, list or tuple an operation may produce.
MAX_INT_BITS = 4096
MAX_ITEMS = 1_000_000


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


def too_large(op: ast.operator, left: Any, right: Any) -> bool:
    """Whether ``left op right`` on plain values would be an integer past :data:`MAX_INT_BITS` bits or a text,
    list or tuple past :data:`MAX_ITEMS` items (tensors are never too large here)."""
    if isinstance(op, ast.Pow) and _is_int(right) and _is_number(left) and right > 0 and abs(left) > 1:
        return right * math.log2(abs(left)) > MAX_INT_BITS
    if isinstance(op, ast.Mult) and _is_int(left) and _is_int(right):
        return left.bit_length() + right.bit_length() > MAX_INT_BITS
    if isinstance(op, ast.Mult) and _is_sequence(left) != _is_sequence(right):
        sequence, count = (left, right) if _is_sequence(left) else (right, left)
        return _is_int(count) and len(sequence) * count > MAX_ITEMS
    if isinstance(op, ast.Add) and _is_sequence(left) and _is_sequence(right):
        return len(left) + len(right) > MAX_ITEMS
    return False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (str, list, tuple))
