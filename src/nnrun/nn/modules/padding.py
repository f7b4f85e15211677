"""Padding layers: constant (and zero), reflection, replication and circular padding of the last 1, 2 or 3
dimensions, each a thin wrapper over ``F.pad``.

``padding`` is an int, the same amount on every side (``ZeroPad2d(1).padding == (1, 1, 1, 1)``), or a tuple
``(left, right, top, bottom, front, back)`` as long as the layer's dimensions need, kept as given (a shorter
one pads fewer dimensions, as in PyTorch); negative amounts crop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nnrun._tensor import Tensor
from nnrun.nn import functional as F
from nnrun.nn.module import Module


def _sides(padding: Any, count: int) -> tuple[Any, ...]:
    """``padding`` as a tuple: an iterable as it is, anything else repeated ``count`` times."""
    return tuple(padding) if isinstance(padding, Iterable) else (padding,) * count


class _ConstantPadNd(Module):
    """Pad with ``value``; ``(*, H, W)`` → ``(*, H + top + bottom, W + left + right)`` for the 2d form."""

    padding: tuple[int, ...]
    value: float
    _dims: int = 1

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__()
        self.padding = _sides(padding, 2 * self._dims)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dimension with ``value``: ``padding = (left, right)``."""


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dimensions with ``value``: ``padding = (left, right, top, bottom)``."""

    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dimensions with ``value``: ``padding = (left, right, top, bottom, front, back)``."""

    _dims = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dimension with zeros: ``padding = (left, right)``."""


class ZeroPad2d(_ZeroPadNd):
    """Pad the last two dimensions with zeros: ``padding = (left, right, top, bottom)``."""

    _dims = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last three dimensions with zeros: ``padding = (left, right, top, bottom, front, back)``."""

    _dims = 3


class _IndexPadNd(Module):
    """Pad by copying input values: ``mode`` is ``reflect``, ``replicate`` or ``circular``."""

    padding: tuple[int, ...]
    _dims: int = 1
    _mode: str = "reflect"

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _sides(padding, 2 * self._dims)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_IndexPadNd):
    """Mirror the last dimension about its edges (edge not repeated) of ``(C, W)`` or ``(N, C, W)`` input;
    each amount must be smaller than the input size."""


class ReflectionPad2d(_IndexPadNd):
    """Mirror the last two dimensions of ``(C, H, W)`` or ``(N, C, H, W)`` input about their edges."""

    _dims = 2


class ReflectionPad3d(_IndexPadNd):
    """Mirror the last three dimensions of ``(C, D, H, W)`` or ``(N, C, D, H, W)`` input about their edges."""

    _dims = 3


class ReplicationPad1d(_IndexPadNd):
    """Repeat the edge values of the last dimension of ``(C, W)`` or ``(N, C, W)`` input."""

    _mode = "replicate"


class ReplicationPad2d(_IndexPadNd):
    """Repeat the edge values of the last two dimensions of ``(C, H, W)`` or ``(N, C, H, W)`` input."""

    _dims = 2
    _mode = "replicate"


class ReplicationPad3d(_IndexPadNd):
    """Repeat the edge values of the last three dimensions of ``(C, D, H, W)`` or ``(N, C, D, H, W)``
    input."""

    _dims = 3
    _mode = "replicate"


class _CircularPadNd(_IndexPadNd):
    _mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (self._dims + 1, self._dims + 2):
            low = self._dims + 1
            raise ValueError(f"expected {low}D or {low + 1}D input (got {input.ndim}D input)")
        return F.pad(input, self.padding, self._mode)


class CircularPad1d(_CircularPadNd):
    """Wrap the last dimension of ``(C, W)`` or ``(N, C, W)`` input around: the left border copies the
    right end."""


class CircularPad2d(_CircularPadNd):
    """Wrap the last two dimensions of ``(C, H, W)`` or ``(N, C, H, W)`` input around."""

    _dims = 2


class CircularPad3d(_CircularPadNd):
    """Wrap the last three dimensions of ``(C, D, H, W)`` or ``(N, C, D, H, W)`` input around."""

    _dims = 3
