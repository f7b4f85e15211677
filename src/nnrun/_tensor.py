"""``Tensor``: an array (NumPy or CuPy) plus what autograd needs.

This module imports no op: the methods and operators that run ops are bound to ``Tensor`` in one place,
``_tensor_methods.py``, once the ops exist.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from nnrun import _backend, _dtype
from nnrun._dims import normalize_dims
from nnrun._printing import tensor_repr
from nnrun._size import Size

_NDARRAY = np.ndarray
_GENERIC = np.generic

_TYPE_NAMES = {
    "float32": "FloatTensor",
    "float64": "DoubleTensor",
    "float16": "HalfTensor",
    "int64": "LongTensor",
    "int32": "IntTensor",
    "int16": "ShortTensor",
    "int8": "CharTensor",
    "uint8": "ByteTensor",
    "bool": "BoolTensor",
}


def scalar_type_name(np_dtype: Any) -> str:
    """torch's name of an element type in messages: ``Float``, ``Long``, ``Bool``."""
    return _TYPE_NAMES.get(np.dtype(np_dtype).name, "Tensor")[: -len("Tensor")] or str(np_dtype)


# the legacy type names' dtypes: "FloatTensor" -> float32
TYPE_DTYPES = {name: _dtype.to_dtype(dtype) for dtype, name in _TYPE_NAMES.items()}


def type_name(array: Any) -> str:
    """torch-style type name of an array, e.g. ``nnrun.FloatTensor`` or ``nnrun.cuda.FloatTensor``."""
    prefix = "nnrun." if _backend.device_of(array).type == "cpu" else "nnrun.cuda."
    return prefix + _TYPE_NAMES.get(str(array.dtype), "Tensor")


class Tensor:
    """A multi-dimensional array with optional gradient tracking, shaped like ``torch.Tensor``.

    Methods that run an op (``add``, ``sum``, ``to``, ``add_``, ``+``, ``[]``, ...) are bound in
    ``_tensor_methods.py``.
    """

    __slots__ = (
        "__weakref__",
        "_data",
        "_grad",
        "_hooks",
        "_output_nr",
        "_requires_grad",
        "_vc",
        "_view_of",  # (root, view steps, version) for views, else None: see autograd/views.py
        "grad_fn",
    )

    def __init__(self, data: Any = None, *sizes: int, requires_grad: bool = False) -> None:
        # torch.Tensor(2, 3) and torch.Tensor(torch.Size([2, 3])) give a tensor of that shape (its values
        # unspecified: zeros here); torch.Tensor([2, 3]) gives the data
        if (isinstance(data, int) and not isinstance(data, bool)) or sizes or isinstance(data, Size):
            shape = tuple(data) if isinstance(data, Size) else (data, *sizes)
            if not all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
                names = ", ".join(type(a).__name__ for a in (data, *sizes))
                raise TypeError(
                    f"new() received an invalid combination of arguments - got ({names}), but expected "
                    "one of: (*, device), (Tensor other), (tuple of ints size, *, device), "
                    "(object data, *, device)"
                )
            data = np.zeros(shape, dtype=_dtype.get_default_dtype().np)
        if data is None:
            data = np.zeros((0,), dtype=_dtype.get_default_dtype().np)
        elif isinstance(data, Tensor):
            data = data._data
        elif not hasattr(data, "shape") or isinstance(data, _GENERIC):
            data = np.asarray(data, dtype=_dtype.get_default_dtype().np)
        self._data = data
        self._grad = None
        self._output_nr = 0
        self._vc = None
        self._hooks = None
        self._view_of = None
        self.grad_fn = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, data: Any, requires_grad: bool = False, grad_fn: Any = None, output_nr: int = 0) -> Tensor:
        """Wrap an array without checks (the fast path used by every op)."""
        t = object.__new__(cls)
        if type(data) is not _NDARRAY and isinstance(data, _GENERIC):
            data = np.asarray(data)  # NumPy returns scalars from 0-d operations
        t._data = data
        t._grad = None
        t._requires_grad = requires_grad
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._vc = None
        t._hooks = None
        t._view_of = None
        return t

    # ----- basic properties -----
    @property
    def data(self) -> Tensor:
        """The same memory as a tensor outside autograd (changes to it are not tracked)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be set to a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return Size(self._data.shape)
        (axis,) = normalize_dims(dim, self._data.ndim) or (0,)
        return self._data.shape[axis]

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> _backend.device:
        return _backend.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    # nnrun's tensors live on cpu or cuda, dense and unquantized: these are False, as torch's are there
    @property
    def is_xpu(self) -> bool:
        return False

    @property
    def is_mps(self) -> bool:
        return False

    @property
    def is_sparse(self) -> bool:
        return False

    @property
    def is_quantized(self) -> bool:
        return False

    @property
    def is_meta(self) -> bool:
        return False

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim: int | None = None) -> Any:
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[dim]

    # ----- autograd state -----
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None and not value:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a computed "
                "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
            )
        if value and self._data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got {type(value).__name__}"
                )
            if value.shape != self.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: {list(value.shape)} vs {list(self.shape)}"
                )
        self._grad = value

    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc[0]

    def _version_counter(self) -> list[int]:
        """The counter shared with views; in-place ops bump it so stale saved arrays are detected."""
        if self._vc is None:
            self._vc = [0]
        return self._vc

    def _bump_version(self) -> None:
        if self._vc is not None:
            self._vc[0] += 1

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None:
            return
        node = self.grad_fn
        if node._retained is None:
            node._retained = {}
        node._retained[self._output_nr] = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        node = self.grad_fn
        return node is not None and node._retained is not None and self._output_nr in node._retained

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Callable[[], None]:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a replacement."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self.grad_fn
            if node._pre_hooks is None:
                node._pre_hooks = {}
            hooks = node._pre_hooks.setdefault(self._output_nr, [])
        hooks.append(hook)
        return lambda: hooks.remove(hook) if hook in hooks else None

    def detach(self) -> Tensor:
        t = Tensor._make(self._data)
        t._vc = self._version_counter()
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    # ----- conversions -----
    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return _backend.transfer(self._data, _backend.CPU).tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        if type(self._data) is not _NDARRAY:
            if not force:
                raise TypeError(
                    f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to copy the "
                    "tensor to host memory first."
                )
            return _backend.transfer(self._data, _backend.CPU)
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = _backend.transfer(self._data, _backend.CPU)
        return array if dtype is None else array.astype(dtype)

    def xp_module(self) -> Any:
        """The array module (NumPy or CuPy) holding this tensor."""
        return _backend.array_module(self._data)

    # ----- Python protocol -----
    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
                if self._data.size
                else "Boolean value of Tensor with no values is ambiguous"
            )
        return bool(self._data.reshape(()).item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    __hash__ = object.__hash__  # identity: == is element-wise (bound with the other operators)

    def __repr__(self) -> str:
        return tensor_repr(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("nnrun tensors are not picklable; use nnrun.save/nnrun.load")

    def __deepcopy__(self, memo: dict[int, Any]) -> Tensor:
        """``copy.deepcopy``: a new leaf with copied memory (and ``.grad``), so modules can be deep-copied."""
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol"
            )
        copied = memo.get(id(self))
        if copied is None:
            copied = Tensor._make(self._data.copy(), self._requires_grad)
            if self._grad is not None:
                copied._grad = Tensor._make(self._grad._data.copy())
            memo[id(self)] = copied
        return copied

    # ----- operators that need no op -----
    def __pos__(self) -> Tensor:
        return self

    def __invert__(self) -> Tensor:
        if self._data.dtype.kind not in "biu":
            raise TypeError("~ (bitwise not) is only supported for integer and bool tensors")
        return Tensor._make(~self._data)

    def __and__(self, other: Any) -> Tensor:
        return Tensor._make(self._data & array_of(other))

    def __or__(self, other: Any) -> Tensor:
        return Tensor._make(self._data | array_of(other))

    def __xor__(self, other: Any) -> Tensor:
        return Tensor._make(self._data ^ array_of(other))


def array_of(value: Any) -> Any:
    """The array inside a ``Tensor``; anything else (an array, a scalar, None) as it is."""
    return value._data if isinstance(value, Tensor) else value


def parse_to(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, bool]:
    """``(device, dtype, copy)`` from the arguments of ``Tensor.to`` and ``Module.to``."""
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    copy = bool(kwargs.pop("copy", False))
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, (str, _backend.device)):
            device = arg
        elif arg is not None:
            dtype = arg
    return device, None if dtype is None else _dtype.to_dtype(dtype), copy
