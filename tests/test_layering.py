"""Import layering, read from the source with ``ast``: third-party imports stay in their layer, and nnrun's
own modules import only downward (the layer order is written once, in ``LAYERS``)."""

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


# ----- the internal order -----
# nnrun's layers from the bottom up, each named by the top-level modules and packages it holds ("__init__" is
# the package front, src/nnrun/__init__.py). A module may import from its own layer and the layers below it.
LAYERS = (
    ("base", ("_atomic", "_backend", "_dims", "_dtype", "_folders", "_launcher", "_malloc", "_memory",
              "_size", "accelerator", "backends", "registry")),
    ("tensor", ("_printing", "_random", "_tensor", "cuda")),
    ("autograd", ("autograd",)),
    ("ops", ("ops",)),
    ("tensor api", ("_creation", "_sampling", "_tensor_methods", "distributed", "linalg")),
    ("nn", ("models", "nn", "serialization", "summary")),
    ("optim", ("optim",)),
    ("data", ("__init__", "data", "metrics", "utils")),
    ("config", ("config",)),
    ("train", ("train",)),
    ("cli", ("nnrun_cli",)),
)  # fmt: skip
LAYER_OF = {name: rank for rank, (_, names) in enumerate(LAYERS) for name in names}

# Imports inside a library function, each allowed for the reason given: (file, imported module) -> why.
# (The CLI imports the library lazily so that ``nnrun --help`` starts fast; it is not listed.)
LAZY_IMPORTS = {
    ("src/nnrun/__init__.py", "nnrun.config"): "config (pydantic, yaml) sits above the package front",
    ("src/nnrun/__init__.py", "nnrun.distributed"): "loaded on first use, like torch.distributed",
    ("src/nnrun/__init__.py", "nnrun.train"): "nnrun.predict reads a checkpoint with the train layer above",
    ("src/nnrun/_backend.py", "cupy"): "optional dependency, imported when a GPU is first asked for",
    ("src/nnrun/_backend.py", "cupyx"): "optional dependency, reached only with a CuPy array",
    ("src/nnrun/distributed/mpi.py", "mpi4py"): "optional dependency, imported when a launch needs MPI",
    ("src/nnrun/data/datasets/download.py", "rich.progress"): "rich draws bars on a terminal only",
    ("src/nnrun/data/datasets/pillow.py", "PIL"): "optional dependency (images extra), imported to decode",
    ("src/nnrun/train/extensions/progress.py", "rich.console"): "rich draws bars on a terminal only",
    ("src/nnrun/train/extensions/progress.py", "rich.progress"): "rich draws bars on a terminal only",
}


def _layer_of_file(path):
    if path.is_relative_to(CLI):
        return LAYER_OF["nnrun_cli"]
    parts = path.relative_to(LIBRARY).with_suffix("").parts
    return LAYER_OF[parts[0]]


def _layer_of_module(module):
    """The layer of an imported ``nnrun...`` module, or None for other packages."""
    parts = module.split(".")
    if parts[0] == "nnrun_cli":
        return LAYER_OF["nnrun_cli"]
    if parts[0] != "nnrun":
        return None
    return LAYER_OF["__init__" if len(parts) == 1 else parts[1]]


def _imports(path):
    """``(line, module, inside_a_function)`` for every import in ``path``; ``from nnrun import x`` gives
    ``nnrun.x`` when ``x`` is a module of the package, else ``nnrun``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                if child.module == "nnrun":
                    for alias in child.names:
                        module = f"nnrun.{alias.name}" if alias.name in LAYER_OF else "nnrun"
                        found.append((child.lineno, module, in_function))
                else:
                    found.append((child.lineno, child.module, in_function))
            visit(
                child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            )

    visit(tree, False)
    return found


def test_every_layer_name_exists():
    names = {p.relative_to(LIBRARY).parts[0].removesuffix(".py") for p in LIBRARY_FILES} | {"nnrun_cli"}
    assert not set(LAYER_OF) - names, f"LAYERS names {sorted(set(LAYER_OF) - names)}, which no longer exist"


def test_every_library_module_has_a_layer():
    missing = sorted(
        {p.relative_to(LIBRARY).parts[0] for p in LIBRARY_FILES}
        - {"__init__.py"}
        - {name + ".py" for name in LAYER_OF}
        - set(LAYER_OF)
    )
    assert not missing, f"place {missing} in LAYERS"


@pytest.mark.parametrize("path", ALL_FILES, ids=_rel)
def test_no_upward_import(path):
    own = _layer_of_file(path)
    upward = []
    for line, module, inside in _imports(path):
        layer = _layer_of_module(module)
        if layer is None or layer <= own:
            continue
        if inside and (_rel(path), module) in LAZY_IMPORTS:
            continue  # a deliberate lazy import across the boundary
        above, here = LAYERS[layer][0], LAYERS[own][0]
        upward.append(f"{_rel(path)}:{line}: {module} ({above}) is above this file's layer ({here})")
    assert not upward, "\n".join(upward)


def test_imports_inside_functions_are_allowed():
    found = {(_rel(p), module): line for p in LIBRARY_FILES for line, module, inside in _imports(p) if inside}
    unexplained = [
        f"{file}:{line}: {module}"
        for (file, module), line in sorted(found.items())
        if (file, module) not in LAZY_IMPORTS
    ]
    assert not unexplained, "imports inside functions, not allowed in LAZY_IMPORTS:\n" + "\n".join(
        unexplained
    )
    stale = sorted(set(LAZY_IMPORTS) - set(found))
    assert not stale, f"LAZY_IMPORTS entries no longer in the code: {stale}"


def test_layer_scanner_sees_every_form(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import nnrun\nfrom nnrun import _tensor, Tensor\nfrom nnrun.ops.arithmetic import add\n"
        "def later():\n    import nnrun.config\n    return lambda: __import__('x')\n"
        "class A:\n    def f(self):\n        from rich import progress\n"
    )
    assert _imports(sample) == [
        (1, "nnrun", False),
        (2, "nnrun._tensor", False),
        (2, "nnrun", False),
        (3, "nnrun.ops.arithmetic", False),
        (5, "nnrun.config", True),
        (9, "rich", True),
    ]
    assert _layer_of_module("nnrun.ops.arithmetic") < _layer_of_module("nnrun.nn") < _layer_of_module("nnrun")
