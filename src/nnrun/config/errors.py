"""``ConfigError``: every problem of a config, each with its YAML path, file, line and column."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Mark:
    """A place in a YAML file; ``line`` and ``column`` count from 1."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        """``file:line:column``; just ``file`` when there is no line (e.g. ``--device``)."""
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


UNKNOWN = Mark("<unknown>", 0, 0)


@dataclass(frozen=True)
class ConfigIssue:
    """One problem: ``path`` is the dotted YAML path (``blocks.BasicBlock.modules.conv1``)."""

    path: str
    message: str
    mark: Mark = UNKNOWN

    @property
    def file(self) -> str:
        return self.mark.file

    @property
    def line(self) -> int:
        return self.mark.line

    @property
    def column(self) -> int:
        return self.mark.column

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.mark}: {where}{self.message}"


class ConfigError(ValueError):
    """A config is invalid; ``errors`` lists every problem found, ``str()`` shows one per line."""

    def __init__(self, errors: Iterable[ConfigIssue]) -> None:
        self.errors: list[ConfigIssue] = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))


class Issues:
    """Collects problems while a config is checked, so that all of them are reported at once."""

    def __init__(self) -> None:
        self.errors: list[ConfigIssue] = []

    def add(self, path: str, message: str, mark: Mark | None) -> None:
        issue = ConfigIssue(path, message, mark or UNKNOWN)
        if issue not in self.errors:
            self.errors.append(issue)

    @staticmethod
    def one(path: str, message: str, mark: Mark) -> list[ConfigIssue]:
        return [ConfigIssue(path, message, mark)]

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ConfigError(self.errors)


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters: a message quotes a value from a file, never copies it."""
    return cut(repr(value), limit)


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit - 3`` characters and ``...`` when it is longer than ``limit``."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def join_path(*parts: object) -> str:
    """``join_path("model", "features", 3)`` → ``"model.features.3"``; empty parts are skipped."""
    return ".".join(str(part) for part in parts if part != "")


def describe_exception(exc: BaseException) -> str:
    """What a constructor or dry run raised, as the user reads it: ``ValueError: …``, or ``not enough memory
    (…)`` for a ``MemoryError`` (an argument too large for this machine)."""
    if isinstance(exc, MemoryError):
        return f"not enough memory ({str(exc) or 'an allocation failed'})"
    return f"{type(exc).__name__}: {exc}"
