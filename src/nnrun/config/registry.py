"""The layer registry: ``nnrun.nn``'s public layers plus classes registered with ``@nnrun.register``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from nnrun import nn

T = TypeVar("T", bound=type)

#: Container node forms, handled by the builder rather than by calling the class with arguments.
CONTAINERS = ("Sequential", "ModuleList", "ModuleDict", "Repeat")
_NOT_LAYERS = ("Module", "ParameterList", "ParameterDict")
_registered: dict[str, type] = {}


def register(cls: T | None = None, *, name: str | None = None) -> Any:
    """Make a ``Module`` subclass usable by name in model configs: ``@nnrun.register`` or
    ``@nnrun.register(name="MyBlock")``. Raises ``ValueError`` if the name is already taken."""

    def add(target: T) -> T:
        if not (isinstance(target, type) and issubclass(target, nn.Module)):
            raise TypeError(f"nnrun.register expects a Module subclass, got {target!r}")
        key = name or target.__name__
        taken = layer_classes().get(key)
        if taken is not None and taken is not target:
            raise ValueError(
                f"layer name {key!r} is already registered for {taken.__module__}.{taken.__name__}"
            )
        _registered[key] = target
        return target

    return add if cls is None else add(cls)


def unregister(name: str) -> None:
    """Forget a class registered under ``name`` (for tests and interactive sessions)."""
    _registered.pop(name, None)


def builtin_layers() -> dict[str, type]:
    """Every public ``Module`` subclass exported by ``nnrun.nn``, containers excluded, by name."""
    found = {}
    for key in dir(nn):
        obj = getattr(nn, key)
        if key.startswith("_") or key in _NOT_LAYERS or key in CONTAINERS:
            continue
        if isinstance(obj, type) and issubclass(obj, nn.Module):
            found[key] = obj
    return found


def layer_classes() -> dict[str, type]:
    """Built-in and registered layers by name (a registered class never replaces a built-in one)."""
    return {**_registered, **builtin_layers()}


def registered_name(cls: type) -> str | None:
    """The name under which ``cls`` is registered, or None."""
    for key, value in layer_classes().items():
        if value is cls:
            return key
    return None


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
    ``allow_new=False`` only accepts modules that are imported already."""
    for i, entry in enumerate(names):
        if not allow_new:
            if _module_name(entry, base_dir) not in sys.modules:
                report(i, f"{entry!r} is not imported; import it before loading (loading never imports code)")
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
