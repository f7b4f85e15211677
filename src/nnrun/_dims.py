"""Dimension arguments: ``dim`` as an int or a sequence of ints, checked and made non-negative."""

from __future__ import annotations

from typing import Any


def normalize_dims(dim: Any, ndim: int) -> tuple[int, ...] | None:
    """``dim`` as a tuple of non-negative axes (``None`` = all), checked against ``ndim``."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if not dims:
        return None
    rank = max(ndim, 1)
    result = []
    for d in dims:
        if not -rank <= d < rank:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], but got {d})"
            )
        d = d % rank
        if d in result:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        result.append(d)
    return tuple(result) if ndim > 0 else ()
