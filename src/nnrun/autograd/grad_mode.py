"""Thread-local switch for graph recording: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar


class _GradState(threading.local):
    enabled = True  # each thread starts with recording on


_state = _GradState()
F = TypeVar("F", bound=Callable[..., Any])


def is_grad_enabled() -> bool:
    """Whether operations on tensors that require grad are recorded for backward."""
    return _state.enabled


def _set(mode: bool) -> None:
    _state.enabled = mode


class _GradModeContext:
    """Base of the grad-mode context managers; also usable as function decorators."""

    _mode: bool

    def __enter__(self) -> None:
        self._previous = is_grad_enabled()
        _set(self._mode)

    def __exit__(self, *exc_info: object) -> None:
        _set(self._previous)

    def __call__(self, fn: F) -> F:
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            previous = is_grad_enabled()
            _set(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(previous)

        return wrapper  # type: ignore[return-value]


class _BareDecoratorContext(_GradModeContext):
    """Also a decorator without parentheses (``@no_grad`` as ``@no_grad()``), as torch 2.x allows."""

    def __new__(cls, orig_func: Any = None) -> Any:
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments; got {orig_func!r}")
        return cls()(orig_func)


class no_grad(_BareDecoratorContext):
    """Disable graph recording inside the block or decorated function."""

    _mode = False


class enable_grad(_BareDecoratorContext):
    """Enable graph recording inside the block or decorated function."""

    _mode = True


class inference_mode(_GradModeContext):
    """``inference_mode(mode=True)``: as ``no_grad`` where ``mode`` (``False`` changes nothing); a context
    manager or a decorator, with or without parentheses. nnrun keeps no separate "inference tensor" kind:
    a tensor made inside may later join a graph, where torch refuses it."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):
            return cls(True)(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self._enabled = bool(mode)

    def __enter__(self) -> None:
        self._previous = is_grad_enabled()
        if self._enabled:
            _set(False)

    def __call__(self, fn: F) -> F:
        enabled = self._enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            previous = is_grad_enabled()
            if enabled:
                _set(False)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(previous)

        return wrapper  # type: ignore[return-value]


class set_grad_enabled(_GradModeContext):
    """Set recording on or off; takes effect at once, and is undone on exit when used with ``with``."""

    def __init__(self, mode: bool) -> None:
        self._previous = is_grad_enabled()
        self._mode = bool(mode)
        _set(self._mode)

    def __enter__(self) -> None:
        pass

    def __call__(self, fn: F) -> F:
        _set(self._previous)  # as a decorator it must not change the mode at decoration time
        return super().__call__(fn)
