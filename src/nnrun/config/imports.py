"""Code a config brings in: the modules of its ``imports:``, whose ``@nnrun.register`` decorators add classes
to the registries, and (where a config allows them) classes by dotted path."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable

from nnrun import nn


def import_dotted(path: str) -> type:
    """``package.module.Class`` → the class (only when a config explicitly allows dotted paths)."""
    module_name, _, attr = path.rpartition(".")
    module = importlib.import_module(module_name)
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError(f"{path} is not an nnrun.nn.Module subclass")
    return cls


def import_user_modules(
    names: list[str], base_dir: str, report: Callable[[int, str], None], allow_new: bool = True
) -> None:
    """Import each entry of a config's ``imports:`` (a module name, or a ``.py`` file relative to
    ``base_dir``) so that its ``@nnrun.register`` decorators run; ``report(i, message)`` on failure.
    ``allow_new=False`` (a checkpoint's config) only accepts modules that are imported already: the entry's
    own import, or a module of the same name that the user imported (``import my_layers`` for
    ``my_layers.py``)."""
    for i, entry in enumerate(names):
        if not allow_new:
            stem = os.path.splitext(os.path.basename(entry))[0] if entry.endswith(".py") else entry
            if _module_name(entry, base_dir) not in sys.modules and stem not in sys.modules:
                report(
                    i,
                    f"{entry!r} is not imported, and loading never imports code: import it first (nnrun "
                    f"predict/eval --import {entry}, or import {stem} in Python)",
                )
            continue
        try:
            if entry.endswith(".py"):
                path = os.path.normpath(os.path.join(base_dir, entry))
                module_name = _module_name(entry, base_dir)
                if module_name in sys.modules:
                    continue
                spec = importlib.util.spec_from_file_location(module_name, path)
                if spec is None or spec.loader is None or not os.path.isfile(path):
                    raise ImportError(f"no such file {path}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                try:
                    spec.loader.exec_module(module)
                except BaseException:
                    del sys.modules[module_name]
                    raise
            else:
                importlib.import_module(entry)
        except Exception as exc:
            report(i, f"cannot import {entry!r}: {type(exc).__name__}: {exc}")


def _module_name(entry: str, base_dir: str) -> str:
    if not entry.endswith(".py"):
        return entry
    return (
        "nnrun_config_import_"
        + os.path.splitext(os.path.basename(os.path.normpath(os.path.join(base_dir, entry))))[0]
    )
