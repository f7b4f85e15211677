"""``Variable``: the legacy wrapper, now a name for building a ``Tensor`` (as in torch since 0.4)."""

from __future__ import annotations

from typing import Any

from nnrun._tensor import Tensor


class _VariableMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """``Variable(tensor, requires_grad=False)``: a new leaf ``Tensor`` sharing ``tensor``'s memory (its
    ``detach()``); ``isinstance(t, Variable)`` holds for every tensor."""

    def __new__(cls, data: Any = None, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # type: ignore[misc]
        if data is None:
            return Tensor(requires_grad=requires_grad)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(requires_grad)
