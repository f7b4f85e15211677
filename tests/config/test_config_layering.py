"""pydantic and PyYAML stay inside nnrun.config; lower layers reach nnrun.config only lazily."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[2] / "src" / "nnrun"
CONFIG = LIBRARY / "config"
LAZY_USERS = {LIBRARY / "__init__.py"}  # imports nnrun.config inside functions (nnrun.register, nnrun.save)


def _imports(path):
    """(module name, imported at module level?) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, id(node) in top_level))
    return found


OUTSIDE = [p for p in sorted(LIBRARY.rglob("*.py")) if CONFIG not in p.parents]
TRAIN = LIBRARY / "train"  # the layer above config: imports it freely
BELOW = [p for p in OUTSIDE if TRAIN not in p.parents]


@pytest.mark.parametrize("path", OUTSIDE, ids=lambda p: str(p.relative_to(LIBRARY)))
def test_only_config_imports_pydantic_and_yaml(path):
    for name, _ in _imports(path):
        assert name.split(".")[0] not in ("pydantic", "yaml"), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", BELOW, ids=lambda p: str(p.relative_to(LIBRARY)))
def test_lower_layers_import_config_only_lazily(path):
    for name, top_level in _imports(path):
        if name == "nnrun.config" or name.startswith("nnrun.config."):
            assert path in LAZY_USERS and not top_level, f"{path.name} imports {name}"


def test_import_nnrun_does_not_load_pydantic_or_yaml():
    code = "import sys, nnrun; print(any(m in sys.modules for m in ('pydantic', 'yaml', 'nnrun.config')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_nnrun_register_is_the_config_registry():
    import nnrun
    import nnrun.config

    assert nnrun.register is nnrun.config.register
