"""Arguments of the windowed ops and layers (convolution, pooling): an int, or a tuple of ints per spatial
dimension."""

from __future__ import annotations

from typing import Any

Pair = tuple[int, int]


def int_tuple(value: Any, n: int, name: str, *, repeat_single: bool = True) -> tuple[int, ...]:
    """``value`` as ``n`` ints: an int is repeated, an ``n``-tuple of ints is kept, a 1-tuple is repeated
    only where ``repeat_single`` (the functional forms, as PyTorch's do; the layers refuse it when built
    rather than fail in their first forward); anything else is a ValueError naming ``name``."""
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) == 1 and repeat_single and isinstance(value[0], int):
        return value * n
    if len(value) != n or not all(isinstance(v, int) for v in value):
        what = "a pair of ints" if n == 2 else f"a tuple of {n} ints"
        raise ValueError(f"{name} must be an int or {what}, got {value!r}")
    return value
