"""Import layering, read from the source with ``ast``: third-party imports stay in their layer."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "src" / "nnrun"
CLI = ROOT / "cli"
BACKEND = LIBRARY / "_backend.py"


def _imported_modules(path):
    """Top-level package names imported anywhere in ``path`` (relative imports are skipped)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.split(".")[0])
    return names


def _sources(folder):
    return sorted(folder.rglob("*.py"))


LIBRARY_FILES = _sources(LIBRARY)
CLI_FILES = _sources(CLI)
ALL_FILES = LIBRARY_FILES + CLI_FILES


def _rel(path):
    return str(path.relative_to(ROOT))


def test_sources_are_found():
    assert BACKEND in LIBRARY_FILES
    assert CLI / "nnrun_cli" / "app.py" in CLI_FILES


@pytest.mark.parametrize("path", ALL_FILES, ids=_rel)
def test_nothing_imports_torch(path):
    assert "torch" not in _imported_modules(path), f"{_rel(path)} imports torch (a test oracle only)"


@pytest.mark.parametrize("path", ALL_FILES, ids=_rel)
def test_only_the_backend_imports_cupy(path):
    if path == BACKEND:
        return
    found = _imported_modules(path) & {"cupy", "cupyx"}
    assert not found, f"{_rel(path)} imports {sorted(found)}; only src/nnrun/_backend.py may"


MPI_MODULE = LIBRARY / "distributed" / "mpi.py"


@pytest.mark.parametrize("path", ALL_FILES, ids=_rel)
def test_only_the_mpi_communicator_imports_mpi4py(path):
    if path == MPI_MODULE:
        assert "mpi4py" in _imported_modules(path)
        return
    found = "mpi4py" in _imported_modules(path)
    assert not found, f"{_rel(path)} imports mpi4py; only {_rel(MPI_MODULE)} may"


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=_rel)
def test_library_never_imports_the_cli(path):
    found = _imported_modules(path) & {"nnrun_cli", "typer", "click"}
    assert not found, f"{_rel(path)} imports {sorted(found)}; those belong to cli/"


def test_cli_is_built_on_the_library():
    imported = set().union(*(_imported_modules(p) for p in CLI_FILES))
    assert "nnrun" in imported
    assert "typer" in imported


def test_import_scanner_sees_every_form(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import a.b\nimport c as d\nfrom e.f import g\nfrom . import h\n"
        "def later():\n    import i\n    return importlib.import_module('j.k')\n"
    )
    assert _imported_modules(sample) == {"a", "c", "e", "i", "j"}
