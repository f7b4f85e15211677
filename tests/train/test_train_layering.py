"""Dependency direction: ``nnrun.train`` sits above config, data, optim and nn; nothing below imports it."""

import ast
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[2] / "src" / "nnrun"
TRAIN = LIBRARY / "train"
BELOW = [p for p in sorted(LIBRARY.rglob("*.py")) if TRAIN not in p.parents]
#: Files whose functions may import the train layer lazily (listed in tests/test_layering.py LAZY_IMPORTS):
#: the package front's ``nnrun.predict``.
LAZY = {LIBRARY / "__init__.py"}


def _nodes(tree, into_functions):
    """Every node of ``tree``; without ``into_functions``, none inside a function body."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if into_functions or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def _imports(path, into_functions=True):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in _nodes(tree, into_functions):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


@pytest.mark.parametrize("path", BELOW, ids=lambda p: str(p.relative_to(LIBRARY)))
def test_lower_layers_never_import_train(path):
    names = _imports(path, into_functions=path not in LAZY)
    assert not [name for name in names if name == "nnrun.train" or name.startswith("nnrun.train.")]


def test_the_lazy_train_import_is_inside_a_function():
    assert "nnrun.train" in set(_imports(LIBRARY / "__init__.py"))  # nnrun.predict's
    assert "nnrun.train" not in set(_imports(LIBRARY / "__init__.py", into_functions=False))


def test_train_has_no_third_party_layers_of_its_own():
    for path in TRAIN.rglob("*.py"):
        found = {name.split(".")[0] for name in _imports(path)} & {
            "pydantic",
            "yaml",
            "typer",
            "click",
            "cupy",
        }
        assert not found, f"{path.name} imports {sorted(found)}"
