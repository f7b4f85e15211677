"""``Parameter``: a tensor that a ``Module`` registers as learnable state; ``Buffer``: one it registers as
non-learnable state."""

from __future__ import annotations

from typing import Any

from nnrun import _creation
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


_UNINITIALIZED_MESSAGE = (
    "Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
    "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call "
    "`forward` to initialize the parameters before accessing their attributes."
)


def _refused(name: str) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(
            f"Attempted to use an uninitialized parameter in Tensor.{name}. This error happens when you are "
            f"using a `LazyModule` or explicitly manipulating `nnrun.nn.{type(self).__name__}` objects. When "
            "using LazyModules Call `forward` with a dummy batch to initialize the parameters before calling "
            "nnrun functions"
        )

    method.__name__ = name
    return method


# what a placeholder refuses, as torch does (it has no values): counting, copying and arithmetic
_REFUSED = (
    "numel", "dim", "__len__", "detach", "clone", "item", "tolist", "numpy", "__getitem__", "__setitem__",
    "__neg__", "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
    "__rtruediv__", "__matmul__", "__rmatmul__", "__pow__",
)  # fmt: skip


class UninitializedTensorMixin:
    """A placeholder whose shape is not known yet (lazy modules): its ``dtype`` and ``device`` are those of
    the empty array it holds; ``materialize(shape)`` gives it memory and turns it into ``cls_to_become``."""

    __slots__ = ()
    cls_to_become: type

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Allocate uninitialised memory of ``shape`` (on this placeholder's device and dtype unless given)
        and become a regular ``Parameter`` (or plain tensor, for a buffer), keeping this object's identity."""
        if isinstance(shape, int):
            shape = (shape,)
        placeholder: Any = self
        device = placeholder.device if device is None else device
        dtype = placeholder.dtype if dtype is None else dtype
        placeholder._data = _creation.empty(tuple(shape), device=device, dtype=dtype)._data
        placeholder._bump_version()
        placeholder.__class__ = self.cls_to_become

    @property
    def shape(self) -> Any:
        raise RuntimeError(_UNINITIALIZED_MESSAGE)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        copied = memo.get(id(self))
        if copied is None:
            placeholder: Any = self
            copied = type(self)(placeholder.requires_grad, placeholder.device, placeholder.dtype)  # type: ignore[call-arg]
            memo[id(self)] = copied
        return copied


for _name in _REFUSED:
    setattr(UninitializedTensorMixin, _name, _refused(_name))


def _placeholder(device: Any, dtype: Any) -> Tensor:
    return _creation.empty(0, device=device, dtype=dtype)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A ``Parameter`` of a lazy module before its first forward (``parameters()`` lists it; an optimizer
    may hold it: it is the same object after it materializes)."""

    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(_placeholder(device, dtype), requires_grad)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer of a lazy module before its first forward; it materializes into a plain tensor."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__(_placeholder(device, dtype), requires_grad=requires_grad)


def is_lazy(value: Any) -> bool:
    """Whether ``value`` is an uninitialized parameter or buffer."""
    return isinstance(value, UninitializedTensorMixin)
