"""``Size``: the shape of a tensor, a tuple that prints like ``nnrun.Size([3, 4])``."""

from __future__ import annotations

import math
from typing import Any


class Size(tuple):
    """A tuple of dimension sizes."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"nnrun.Size({list(self)})"

    __str__ = __repr__

    def numel(self) -> int:
        return math.prod(self)

    def __getitem__(self, key: Any) -> Any:
        item = tuple.__getitem__(self, key)
        return Size(item) if isinstance(key, slice) else item

    def __add__(self, other: Any) -> Size:
        return Size(tuple.__add__(self, tuple(other)))
