"""Comparisons and predicates: bool results, never differentiable."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from nnrun import _backend
from nnrun._dims import normalize_dims
from nnrun._tensor import Tensor, array_of
from nnrun.ops._broadcast import check_broadcastable, promote, shape_of


def _compare(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def compare(input: Any, other: Any) -> Any:
        a, b = array_of(input), array_of(other)
        if hasattr(b, "dtype") and _backend.device_of(a) != _backend.device_of(b):
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{_backend.device_of(a)} and {_backend.device_of(b)}!"
            )
        check_broadcastable(shape_of(a), shape_of(b))
        a, b = promote(a, b)
        return Tensor._make(_backend.array_module(a).asarray(op(a, b)))

    compare.__name__ = op.__name__
    return compare


eq = _compare(operator.eq)
ne = _compare(operator.ne)
lt = _compare(operator.lt)
le = _compare(operator.le)
gt = _compare(operator.gt)
ge = _compare(operator.ge)


def _predicate(name: str, fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def predicate(input: Any) -> Any:
        x = input._data
        return Tensor._make(fn(_backend.array_module(x), x))

    predicate.__name__ = name
    return predicate


isnan = _predicate("isnan", lambda xp, x: xp.isnan(x))
isinf = _predicate("isinf", lambda xp, x: xp.isinf(x))
isfinite = _predicate("isfinite", lambda xp, x: xp.isfinite(x))


def all(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    x = input._data
    xp = _backend.array_module(x)
    return Tensor._make(xp.asarray(x.astype(bool).all(axis=normalize_dims(dim, x.ndim), keepdims=keepdim)))


def any(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    x = input._data
    xp = _backend.array_module(x)
    return Tensor._make(xp.asarray(x.astype(bool).any(axis=normalize_dims(dim, x.ndim), keepdims=keepdim)))


def equal(input: Any, other: Any) -> bool:
    """True when both tensors have the same shape and elements."""
    return input.shape == other.shape and bool((input._data == other._data).all())


def allclose(
    input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    xp = _backend.array_module(input._data)
    return bool(xp.allclose(input._data, array_of(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Any:
    xp = _backend.array_module(input._data)
    return Tensor._make(xp.isclose(input._data, array_of(other), rtol=rtol, atol=atol, equal_nan=equal_nan))
