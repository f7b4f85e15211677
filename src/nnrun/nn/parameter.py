"""``Parameter``: a tensor that a ``Module`` registers as learnable state; ``Buffer``: one it registers as
non-learnable state."""

from __future__ import annotations

from typing import Any

from nnrun._tensor import Tensor


def _checked(data: Any, kind: str) -> Tensor | None:
    if data is not None and not isinstance(data, Tensor):
        raise TypeError(f"{kind} data must be a Tensor, got {type(data).__name__}")
    return data


class Parameter(Tensor):
    """A leaf tensor that shares ``data``'s memory and, assigned to a ``Module`` attribute, becomes one of
    its parameters (listed by ``parameters()``, saved by ``state_dict()``)."""

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        super().__init__(_checked(data, "Parameter"))
        if data is not None:
            self._vc = data._version_counter()
        if requires_grad:
            self.requires_grad = True

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        copied = memo.get(id(self))
        if copied is None:
            copied = Parameter(Tensor._make(self._data.copy()), self._requires_grad)
            if self._grad is not None:
                copied._grad = Tensor._make(self._grad._data.copy())
            memo[id(self)] = copied
        return copied


class Buffer(Tensor):
    """Marks a tensor as a buffer: assigned to a ``Module`` attribute it is registered (as a plain tensor
    sharing ``data``'s memory) with ``register_buffer(name, data, persistent)``."""

    def __init__(self, data: Tensor, *, persistent: bool = True) -> None:
        super().__init__(_checked(data, "Buffer"))
        self._vc = data._version_counter()
        self.persistent = persistent

    def as_tensor(self) -> Tensor:
        """A plain tensor sharing this buffer's memory and version counter."""
        plain = Tensor._make(self._data)
        plain._vc = self._version_counter()
        return plain
