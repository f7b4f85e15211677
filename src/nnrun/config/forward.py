"""The ``forward:`` language of blocks: assignments and one ``return``, parsed with ``ast`` into closures.

Allowed: the inputs, earlier variables, calls of children (``conv1(x)``) and of ModuleList/ModuleDict
items (``towers[0](h)``, ``heads["cls"](h)``), a whitelist of functions (``relu(x)``, ``cat([a, b], dim=1)``)
and tensor methods (``x.flatten(1)``), ``+ - * / @`` and unary ``-``, number/string/bool/None literals,
tuples and lists, integer indexing (``out[0]``), ``a if child else b`` on whether an optional child is
present, ``out += y``. Anything else is rejected when the block is defined.
Nothing is ever passed to ``eval``/``exec``: each line becomes a small tree of Python closures.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nnrun
from nnrun.config.errors import cut
from nnrun.config.expressions import parse_expression, too_large
from nnrun.nn import functional
from nnrun.registry import did_you_mean

#: Functions a forward line may call; each is looked up in ``nnrun.nn.functional``, then in ``nnrun``.
FUNCTIONS = (
    "relu", "sigmoid", "tanh", "gelu", "silu", "softmax", "log_softmax", "exp", "log", "sqrt", "abs",
    "clamp", "maximum", "minimum", "add", "sub", "mul", "div", "matmul", "cat", "stack", "flatten",
    "reshape", "permute", "transpose", "unsqueeze", "squeeze", "chunk", "split", "mean", "sum", "amax",
    "amin", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "dropout",
)  # fmt: skip
#: Tensor methods a forward line may call.
METHODS = (*FUNCTIONS, "view", "contiguous", "t")
_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.MatMult: operator.matmul,
}
Guard = frozenset  # of (child name, present?) pairs that hold where a call happens


def _compute(op: type, left: Any, right: Any) -> Any:
    """``left op right``, refused when plain values would give a huge result (see ``too_large``)."""
    if too_large(op(), left, right):
        symbol = {ast.Add: "+", ast.Mult: "*"}.get(op, op.__name__)
        raise ValueError(f"the result of a '{symbol}' in forward would be too large ({type(left).__name__})")
    return _BINARY[op](left, right)


class ForwardSyntaxError(Exception):
    """A forward line uses something outside the language; ``str()`` says what."""


@dataclass
class Frame:
    """The state of one forward run: the block module and its variables."""

    module: Any
    variables: dict[str, Any]

    def child(self, name: str) -> Any:
        module = self.module._modules.get(name)
        if module is None:
            raise RuntimeError(f"{type(self.module).__name__}: child '{name}' is absent (null) here")
        return module

    def has(self, name: str) -> bool:
        return self.module._modules.get(name) is not None


@dataclass
class Program:
    """A compiled ``forward``: ``run(module, *inputs)`` evaluates the steps; ``calls`` lists the child calls
    with the presence guards they sit under (``(child, guards, line)``)."""

    inputs: tuple[str, ...]
    steps: list[tuple[tuple[str, ...] | None, Callable[[Frame], Any]]] = field(default_factory=list)
    calls: list[tuple[str, Guard, int]] = field(default_factory=list)

    def run(self, module: Any, *args: Any) -> Any:
        if len(args) != len(self.inputs):
            raise TypeError(
                f"{type(module).__name__}.forward takes {len(self.inputs)} input(s) "
                f"({', '.join(self.inputs)}), got {len(args)}"
            )
        frame = Frame(module, dict(zip(self.inputs, args)))
        for targets, expression in self.steps:
            value = expression(frame)
            if targets is None:
                return value
            if len(targets) == 1:
                frame.variables[targets[0]] = value
            else:
                values = tuple(value)
                if len(values) != len(targets):
                    raise ValueError(f"cannot unpack {len(values)} values into {', '.join(targets)}")
                frame.variables.update(zip(targets, values))
        return None

    def unguarded_calls(self, absent: str) -> list[int]:
        """Lines that call child ``absent`` without a ``... if absent else ...`` guard."""
        return [
            line for child, guards, line in self.calls if child == absent and (absent, True) not in guards
        ]


def resolve_function(name: str) -> Callable[..., Any] | None:
    """The whitelisted function ``name`` from ``nnrun.nn.functional`` or ``nnrun``, or None."""
    if name not in FUNCTIONS:
        return None
    return getattr(functional, name, None) or getattr(nnrun, name, None)


def compile_forward(
    lines: list[str], inputs: tuple[str, ...], children: set[str], report: Callable[[int, str], None]
) -> Program | None:
    """Compile ``lines``; ``report(line_index, message)`` for each problem; None if there were any."""
    compiler = _Compiler(inputs, children)
    ok = True
    for i, line in enumerate(lines):
        compiler.line = i
        try:
            if not isinstance(line, str):
                raise ForwardSyntaxError(f"a forward line must be a string, got {line!r}")
            if compiler.returned:
                raise ForwardSyntaxError("nothing may follow 'return'")
            compiler.statement(line)
        except ForwardSyntaxError as exc:
            report(i, str(exc))
            ok = False
    if ok and not compiler.returned:
        report(max(len(lines) - 1, 0), "forward must end with a 'return' line")
        ok = False
    return compiler.program if ok else None


class _Compiler:
    def __init__(self, inputs: tuple[str, ...], children: set[str]) -> None:
        self.children = children
        self.defined = set(inputs)
        self.program = Program(tuple(inputs))
        self.returned = False
        self.line = 0

    def statement(self, line: str) -> None:
        try:
            tree = parse_expression(line.strip(), mode="exec")
        except SyntaxError as exc:
            raise ForwardSyntaxError(f"syntax error in {cut(line.strip(), 80)!r}: {exc.msg}") from None
        if len(tree.body) != 1:
            raise ForwardSyntaxError("each forward line holds exactly one statement")
        node = tree.body[0]
        if isinstance(node, ast.Return):
            if node.value is None:
                raise ForwardSyntaxError("'return' needs a value")
            self.program.steps.append((None, self.expression(node.value, Guard())))
            self.returned = True
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            try:
                value = self.expression(node.value, Guard())
            finally:  # define the names even when the value is wrong: one error, not one per later use
                targets = self.targets(node.targets[0])
            self.program.steps.append((targets, value))
        elif (
            isinstance(node, ast.AugAssign) and type(node.op) in _BINARY and isinstance(node.target, ast.Name)
        ):
            name = node.target.id
            self.variable(name)
            value = self.expression(node.value, Guard())
            op = type(node.op)
            self.program.steps.append(
                ((name,), lambda f, v=value, n=name: _compute(op, f.variables[n], v(f)))
            )
        else:
            raise ForwardSyntaxError(f"{_text(node)!r}: only 'name = expression' and 'return expression'")

    def targets(self, node: ast.expr) -> tuple[str, ...]:
        names = node.elts if isinstance(node, ast.Tuple) else [node]
        if not all(isinstance(name, ast.Name) for name in names):
            raise ForwardSyntaxError(f"cannot assign to {_text(node)!r}: assign to plain names")
        result = tuple(name.id for name in names)
        for name in result:
            if name in self.children or name in FUNCTIONS:
                raise ForwardSyntaxError(f"'{name}' names a child or function; choose another variable name")
        self.defined.update(result)
        return result

    def variable(self, name: str) -> Callable[[Frame], Any]:
        if name in self.defined:
            return lambda f: f.variables[name]
        if name in self.children:
            raise ForwardSyntaxError(f"child '{name}' must be called, e.g. {name}(x)")
        if name in FUNCTIONS:
            raise ForwardSyntaxError(f"function '{name}' must be called, e.g. {name}(x)")
        hint = did_you_mean(name, [*self.defined, *self.children])
        raise ForwardSyntaxError(f"undefined name '{name}'{hint}")

    def expression(self, node: ast.expr, guards: Guard) -> Callable[[Frame], Any]:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, type(None))):
            value = node.value
            return lambda f: value
        if isinstance(node, ast.Name):
            return self.variable(node.id)
        if isinstance(node, (ast.Tuple, ast.List)):
            items = [self.expression(item, guards) for item in node.elts]
            kind = tuple if isinstance(node, ast.Tuple) else list
            return lambda f: kind(item(f) for item in items)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            op, left, right = type(node.op), self.expression(node.left, guards), None
            right = self.expression(node.right, guards)
            return lambda f: _compute(op, left(f), right(f))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            operand = self.expression(node.operand, guards)
            return lambda f: -operand(f)
        if isinstance(node, ast.Call):
            return self.call(node, guards)
        if isinstance(node, ast.IfExp):
            return self.conditional(node, guards)
        if isinstance(node, ast.Subscript):
            value, index = self.expression(node.value, guards), _integer(node.slice)
            return lambda f: value(f)[index]
        raise ForwardSyntaxError(f"{_text(node)!r} is not allowed in forward")

    def conditional(self, node: ast.IfExp, guards: Guard) -> Callable[[Frame], Any]:
        test, present = node.test, True
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, present = test.operand, False
        if not (isinstance(test, ast.Name) and test.id in self.children):
            raise ForwardSyntaxError(
                f"condition {_text(node.test)!r}: only 'a if child else b' (is the child present?) is allowed"
            )
        name = test.id
        body = self.expression(node.body, guards | {(name, present)})
        orelse = self.expression(node.orelse, guards | {(name, not present)})
        return lambda f: body(f) if f.has(name) == present else orelse(f)

    def call(self, node: ast.Call, guards: Guard) -> Callable[[Frame], Any]:
        if any(isinstance(arg, ast.Starred) for arg in node.args) or any(
            k.arg is None for k in node.keywords
        ):
            raise ForwardSyntaxError(f"{_text(node)!r}: * and ** arguments are not allowed")
        args = [self.expression(arg, guards) for arg in node.args]
        kwargs = {k.arg: self.expression(k.value, guards) for k in node.keywords}

        def evaluate(f: Frame) -> tuple[list, dict]:
            return [a(f) for a in args], {k: v(f) for k, v in kwargs.items()}

        func = node.func
        if isinstance(func, ast.Name) and func.id in self.children:
            name = func.id
            self.program.calls.append((name, guards, self.line))

            def call_child(f: Frame) -> Any:
                a, k = evaluate(f)
                return f.child(name)(*a, **k)

            return call_child
        if (
            isinstance(func, ast.Subscript)
            and isinstance(func.value, ast.Name)
            and func.value.id in self.children
        ):
            name, key = func.value.id, _key(func.slice)  # towers[0](h), branches["a"](h)
            self.program.calls.append((name, guards, self.line))

            def call_item(f: Frame) -> Any:
                a, k = evaluate(f)
                return f.child(name)[key](*a, **k)

            return call_item
        if isinstance(func, ast.Name):
            function = resolve_function(func.id)
            if function is None:
                known = [*self.children, *FUNCTIONS]
                hint = did_you_mean(func.id, known)
                raise ForwardSyntaxError(f"'{func.id}' is not a child or an allowed function{hint}")

            def call_function(f: Frame) -> Any:
                a, k = evaluate(f)
                return function(*a, **k)

            return call_function
        if isinstance(func, ast.Attribute) and func.attr in METHODS:
            target, method = self.expression(func.value, guards), func.attr

            def call_method(f: Frame) -> Any:
                a, k = evaluate(f)
                return getattr(target(f), method)(*a, **k)

            return call_method
        raise ForwardSyntaxError(f"{_text(func)!r} cannot be called in forward")


def _key(node: ast.expr) -> int | str:
    if isinstance(node, ast.Constant) and type(node.value) is str:
        return node.value
    return _integer(node)


def _integer(node: ast.expr) -> int:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_integer(node.operand)
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    raise ForwardSyntaxError(f"index {_text(node)!r}: only integer literals can index")


def _text(node: ast.AST) -> str:
    return ast.unparse(node)
