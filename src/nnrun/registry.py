"""``Registry``: classes looked up by name (layers, losses, optimizers, schedulers, transforms, datasets,
callbacks), and ``nnrun.register``, which adds a user's class to the registry its base class belongs to."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_REGISTRIES: list[Registry] = []


class UnknownName(KeyError):
    """A name that no entry of a registry has; ``str()`` is the whole message, with suggestions."""

    def __init__(self, kind: str, name: str, suggestion: str) -> None:
        super().__init__(name)
        self.kind, self.name, self.suggestion = kind, name, suggestion

    def __str__(self) -> str:
        return f"unknown {self.kind} '{self.name}'{self.suggestion}"


class Registry:
    """Named entries of one kind: the built-in ones, then those users add with ``register``.

    ``base`` is the class every entry subclasses (``nnrun.register`` uses it to pick the registry);
    ``builtins`` is called once, on first lookup, to give the built-in entries by name, so that a registry
    can be declared before the classes it lists exist.
    """

    def __init__(
        self, kind: str, base: type | None = None, builtins: Callable[[], dict[str, Any]] | None = None
    ) -> None:
        self.kind = kind
        self.base = base
        self._load_builtins = builtins
        self._builtins: dict[str, Any] | None = None
        self._registered: dict[str, Any] = {}
        if base is not None:
            _REGISTRIES.append(self)

    def _builtin(self) -> dict[str, Any]:
        if self._builtins is None:
            self._builtins = dict(self._load_builtins()) if self._load_builtins is not None else {}
        return self._builtins

    def entries(self) -> dict[str, Any]:
        """Every entry by name: registered ones first, built-in ones last (a built-in name is never taken)."""
        return {**self._registered, **self._builtin()}

    def register(self, obj: T | None = None, *, name: str | None = None) -> Any:
        """Add ``obj`` under ``name`` (default: its ``__name__``); usable as ``@registry.register`` or
        ``@registry.register(name=...)``. Raises ``ValueError`` when the name belongs to another entry."""

        def add(target: T) -> T:
            if self.base is not None and not (isinstance(target, type) and issubclass(target, self.base)):
                raise TypeError(f"a {self.kind} must be a {self.base.__name__} subclass, got {target!r}")
            key = name or getattr(target, "__name__", None)
            if not isinstance(key, str) or not key:
                raise ValueError(f"a {self.kind} needs a name; pass name=...")
            taken = self.entries().get(key)
            if taken is not None and taken is not target:
                raise ValueError(f"{self.kind} name {key!r} is already registered for {_qualified(taken)}")
            self._registered[key] = target
            return target

        return add if obj is None else add(obj)

    def unregister(self, name: str) -> None:
        """Forget what was registered under ``name`` (built-in entries stay)."""
        self._registered.pop(name, None)

    def get(self, name: str) -> Any:
        """The entry called ``name``; :class:`UnknownName` (a ``KeyError``) with suggestions otherwise."""
        found = self.entries().get(name)
        if found is None:
            raise UnknownName(self.kind, name, did_you_mean(name, self.entries()))
        return found

    def name_of(self, obj: Any) -> str | None:
        """The name ``obj`` is listed under, or None."""
        return next((key for key, value in self.entries().items() if value is obj), None)

    def names(self) -> list[str]:
        return list(self.entries())

    def items(self) -> list[tuple[str, Any]]:
        """``(name, entry)`` pairs, as :meth:`entries` orders them."""
        return list(self.entries().items())

    def __getitem__(self, name: str) -> Any:
        """``registry[name]``: :meth:`get`, so code that read the old name tables as dicts still reads."""
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.entries()

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries())

    def __len__(self) -> int:
        return len(self.entries())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} entries)"


def register(cls: T | None = None, *, name: str | None = None) -> Any:
    """Make a user class usable by name in configs: ``@nnrun.register`` or ``@nnrun.register(name="X")``.

    The class goes to the registry of its closest base class (a ``Module`` becomes a layer, an
    ``Optimizer`` an optimizer, an ``LRScheduler`` a scheduler, a ``Transform`` a transform, …). Raises
    ``TypeError`` for a class that no registry takes and ``ValueError`` for a name that is already taken.
    """

    def add(target: T) -> T:
        return registry_for(target).register(target, name=name)

    return add if cls is None else add(cls)


def registry_for(cls: Any) -> Registry:
    """The registry whose base ``cls`` subclasses most closely."""
    fitting = [r for r in _REGISTRIES if isinstance(cls, type) and issubclass(cls, r.base)]  # type: ignore[arg-type]
    if not fitting:
        kinds = ", ".join(f"{r.base.__name__} ({r.kind})" for r in _REGISTRIES if r.base is not None)
        raise TypeError(f"nnrun.register expects a subclass of one of {kinds}; got {cls!r}")
    return min(fitting, key=lambda r: cls.__mro__.index(r.base))


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean Conv2d?)`` for the closest candidates (case-insensitive), or ``""``."""
    by_lower: dict[str, str] = {}
    for candidate in candidates:
        by_lower.setdefault(str(candidate).lower(), str(candidate))
    matches = difflib.get_close_matches(str(name).lower(), list(by_lower), n=3, cutoff=0.6)
    close = [by_lower[match] for match in matches]
    if not close:
        return ""
    return " (did you mean " + " or ".join(close) + "?)"


def _qualified(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}"
