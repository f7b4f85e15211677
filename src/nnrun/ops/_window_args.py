"""Arguments of the windowed ops and layers (convolution, pooling): an int, or a tuple of ints per spatial
dimension."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

Pair = tuple[int, int]


def int_tuple(value: Any, n: int, name: str, *, repeat_single: bool = True) -> tuple[int, ...]:
    """``value`` as ``n`` ints: an int is repeated, an ``n``-tuple of ints is kept, a 1-tuple is repeated
    only where ``repeat_single`` (the functional forms, as PyTorch's do; the layers refuse it when built
    rather than fail in their first forward); anything else is a ValueError naming ``name``."""
    if _is_int(value):
        return (operator.index(value),) * n
    value = tuple(value)
    if len(value) == 1 and repeat_single and _is_int(value[0]):
        return (operator.index(value[0]),) * n
    if len(value) != n or not all(_is_int(v) for v in value):
        what = "a pair of ints" if n == 2 else f"a tuple of {n} ints"
        raise ValueError(f"{name} must be an int or {what}, got {value!r}")
    return tuple(operator.index(v) for v in value)


def _is_int(value: Any) -> bool:
    """A Python or NumPy integer (an index from a NumPy shape works as a literal does)."""
    return isinstance(value, (int, np.integer))
