"""``${...}`` substitution of block arguments: ``${planes}``, ``${planes * 2}``, ``"layer${index}"``.

A string that is exactly one ``${expression}`` takes the expression's value (any type: a number, a list, a
node, null); ``${...}`` inside a longer string is replaced by its text. Expressions are arithmetic over the
block's arguments (``+ - * / // % **``, unary minus, literals), evaluated by walking the ``ast``.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from typing import Any

from nnrun.config.errors import Mark, cut, join_path
from nnrun.config.expressions import parse_expression, too_large
from nnrun.config.yaml_source import YamlMap, YamlSeq
from nnrun.registry import did_you_mean

_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
Report = Callable[[str, str, Mark], None]


class TemplateError(Exception):
    """A ``${...}`` expression is invalid or names an unknown argument."""


def has_reference(value: Any) -> bool:
    """Whether ``value`` holds a ``${...}`` anywhere."""
    if isinstance(value, str):
        return _REFERENCE.search(value) is not None
    if isinstance(value, dict):
        return any(has_reference(item) for item in value.values())
    if isinstance(value, list):
        return any(has_reference(item) for item in value)
    return False


def substitute(value: Any, args: dict[str, Any], path: str, mark: Mark, report: Report) -> Any:
    """``value`` with every ``${...}`` replaced using ``args``; problems go to ``report(path, msg, mark)``."""
    if isinstance(value, str):
        try:
            return _substitute_text(value, args)
        except TemplateError as exc:
            report(path, str(exc), mark)
            return None
    if isinstance(value, YamlMap):
        result = YamlMap(value.mark)
        for key, item in value.items():
            result.key_marks[key] = value.key_marks[key]
            result.value_marks[key] = value.value_marks[key]
            result[key] = substitute(item, args, join_path(path, key), value.value_marks[key], report)
        return result
    if isinstance(value, YamlSeq):
        result = YamlSeq(value.mark)
        for i, item in enumerate(value):
            result.item_marks.append(value.item_marks[i])
            result.append(substitute(item, args, join_path(path, i), value.item_marks[i], report))
        return result
    return value


def _substitute_text(text: str, args: dict[str, Any]) -> Any:
    whole = _REFERENCE.fullmatch(text.strip())
    if whole:
        return evaluate(whole.group(1), args)
    return _REFERENCE.sub(lambda match: str(evaluate(match.group(1), args)), text)


def evaluate(expression: str, args: dict[str, Any]) -> Any:
    """The value of one ``${...}`` expression."""
    try:
        tree = parse_expression(expression.strip())
    except SyntaxError as exc:
        raise TemplateError(f"invalid expression ${{{cut(expression, 60)}}}: {exc.msg}") from None
    return _evaluate(tree.body, args, expression)


def _evaluate(node: ast.expr, args: dict[str, Any], expression: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, type(None))):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in args:
            raise TemplateError(
                f"unknown argument '{node.id}' in ${{{expression}}}{did_you_mean(node.id, args)}"
            )
        return args[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left, args, expression), _evaluate(node.right, args, expression)
        if isinstance(node.op, ast.Mod) and isinstance(left, str):  # '%0999999999d' % 1: a gigabyte of text
            raise TemplateError(f"cannot compute ${{{expression}}}: % formats text, which is not allowed")
        if too_large(node.op, left, right):
            raise TemplateError(f"cannot compute ${{{expression}}}: the result would be too large")
        try:
            return _OPERATORS[type(node.op)](left, right)
        except Exception as exc:
            raise TemplateError(f"cannot compute ${{{expression}}}: {exc}") from None
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand, args, expression))
    raise TemplateError(f"${{{expression}}}: only argument names, numbers and + - * / // % ** are allowed")
