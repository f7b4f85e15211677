"""Dependency direction: ``nnrun.train`` sits above config, data, optim and nn; nothing below imports it."""

import ast
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[2] / "src" / "nnrun"
TRAIN = LIBRARY / "train"
BELOW = [p for p in sorted(LIBRARY.rglob("*.py")) if TRAIN not in p.parents]


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


@pytest.mark.parametrize("path", BELOW, ids=lambda p: str(p.relative_to(LIBRARY)))
def test_lower_layers_never_import_train(path):
    assert not [name for name in _imports(path) if name == "nnrun.train" or name.startswith("nnrun.train.")]


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
