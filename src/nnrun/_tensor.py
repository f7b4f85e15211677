"""``Tensor``: an array (NumPy or CuPy) plus what autograd needs; methods and operators route to ``ops``."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from nnrun import _backend, _dtype
from nnrun._size import Size
from nnrun.autograd import grad_mode, views
from nnrun.ops import arithmetic, comparison, conversion, indexing, linalg, reduction, unary
from nnrun.ops import shape as shape_ops

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


def type_name(array: Any) -> str:
    """torch-style type name of an array, e.g. ``nnrun.FloatTensor`` or ``nnrun.cuda.FloatTensor``."""
    prefix = "nnrun." if _backend.device_of(array).type == "cpu" else "nnrun.cuda."
    return prefix + _TYPE_NAMES.get(str(array.dtype), "Tensor")


class Tensor:
    """A multi-dimensional array with optional gradient tracking, shaped like ``torch.Tensor``."""

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

    def __init__(self, data: Any = None, requires_grad: bool = False) -> None:
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
        (axis,) = reduction.normalize_dims(dim, self._data.ndim) or (0,)
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

    def backward(self, gradient: Any = None, retain_graph: bool | None = None, inputs: Any = None) -> None:
        from nnrun.autograd import engine

        engine.backward(self, gradient, retain_graph, inputs)

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

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other)``; self if nothing changes."""
        device, dtype, copy = _parse_to(args, kwargs)
        result = self
        if dtype is not None and dtype.np != self._data.dtype:
            result = conversion.Cast.apply(result, dtype.np)
        if device is not None:
            device = _backend.as_device(device)
            if device != self.device:
                result = conversion.ToDevice.apply(result, device)
        if copy and result is self:
            result = conversion.Clone.apply(self)
        return result

    def cpu(self) -> Tensor:
        return self.to(_backend.CPU)

    def cuda(self, device: Any = None) -> Tensor:
        if device is None:
            return self.to("cuda")
        return self.to(device if not isinstance(device, int) else f"cuda:{device}")

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(_dtype.float32)

    def double(self) -> Tensor:
        return self.to(_dtype.float64)

    def half(self) -> Tensor:
        return self.to(_dtype.float16)

    def long(self) -> Tensor:
        return self.to(_dtype.int64)

    def int(self) -> Tensor:
        return self.to(_dtype.int32)

    def bool(self) -> Tensor:
        return self.to(_dtype.bool_)

    def clone(self) -> Tensor:
        return conversion.Clone.apply(self)

    def contiguous(self) -> Tensor:
        return self if self._data.flags.c_contiguous else conversion.Clone.apply(self)

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

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        from nnrun._printing import tensor_repr

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

    # ----- operators -----
    __add__ = arithmetic.add
    __radd__ = arithmetic.add
    __sub__ = arithmetic.sub
    __mul__ = arithmetic.mul
    __rmul__ = arithmetic.mul
    __truediv__ = arithmetic.div
    __floordiv__ = arithmetic.floor_divide
    __mod__ = arithmetic.remainder
    __pow__ = arithmetic.pow
    __matmul__ = linalg.matmul
    __neg__ = unary.neg
    __abs__ = unary.abs
    __getitem__ = indexing.getitem
    __eq__ = comparison.eq  # type: ignore[assignment]
    __ne__ = comparison.ne  # type: ignore[assignment]
    __lt__ = comparison.lt
    __le__ = comparison.le
    __gt__ = comparison.gt
    __ge__ = comparison.ge

    def __rsub__(self, other: Any) -> Tensor:
        return arithmetic.Sub.apply(other, self)

    def __rtruediv__(self, other: Any) -> Tensor:
        return arithmetic.Div.apply(other, self)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return arithmetic.floor_divide(other, self)

    def __rmod__(self, other: Any) -> Tensor:
        return arithmetic.remainder(other, self)

    def __rpow__(self, other: Any) -> Tensor:
        return arithmetic.Pow.apply(other, self)

    def __rmatmul__(self, other: Any) -> Tensor:
        return linalg.MatMul.apply(other, self)

    def __pos__(self) -> Tensor:
        return self

    def __invert__(self) -> Tensor:
        if self._data.dtype.kind not in "biu":
            raise TypeError("~ (bitwise not) is only supported for integer and bool tensors")
        return Tensor._make(~self._data)

    def __and__(self, other: Any) -> Tensor:
        return Tensor._make(self._data & _array_of(other))

    def __or__(self, other: Any) -> Tensor:
        return Tensor._make(self._data | _array_of(other))

    def __xor__(self, other: Any) -> Tensor:
        return Tensor._make(self._data ^ _array_of(other))

    # ----- math methods -----
    add = arithmetic.add
    sub = arithmetic.sub
    mul = arithmetic.mul
    div = arithmetic.div
    divide = arithmetic.div
    floor_divide = arithmetic.floor_divide
    remainder = arithmetic.remainder
    pow = arithmetic.pow
    maximum = arithmetic.maximum
    minimum = arithmetic.minimum
    neg = unary.neg
    negative = unary.neg
    abs = unary.abs
    exp = unary.exp
    log = unary.log
    log1p = unary.log1p
    sqrt = unary.sqrt
    rsqrt = unary.rsqrt
    sin = unary.sin
    cos = unary.cos
    tanh = unary.tanh
    sigmoid = unary.sigmoid
    relu = unary.relu
    clamp = unary.clamp
    clip = unary.clamp
    matmul = linalg.matmul
    mm = linalg.mm
    bmm = linalg.bmm

    # reductions
    sum = reduction.sum
    mean = reduction.mean
    prod = reduction.prod
    max = reduction.max
    min = reduction.min
    amax = reduction.amax
    amin = reduction.amin
    argmax = reduction.argmax
    argmin = reduction.argmin
    var = reduction.var
    std = reduction.std
    logsumexp = reduction.logsumexp
    norm = reduction.norm

    # shape
    view = shape_ops.view
    reshape = shape_ops.reshape
    flatten = shape_ops.flatten
    unflatten = shape_ops.unflatten
    squeeze = shape_ops.squeeze
    unsqueeze = shape_ops.unsqueeze
    permute = shape_ops.permute
    transpose = shape_ops.transpose
    t = shape_ops.t
    expand = shape_ops.expand
    expand_as = shape_ops.expand_as
    repeat = shape_ops.repeat
    flip = shape_ops.flip
    roll = shape_ops.roll
    split = shape_ops.split
    chunk = shape_ops.chunk
    narrow = shape_ops.narrow

    def view_as(self, other: Tensor) -> Tensor:
        return shape_ops.view(self, tuple(other.shape))

    def reshape_as(self, other: Tensor) -> Tensor:
        return shape_ops.reshape(self, tuple(other.shape))

    @property
    def T(self) -> Tensor:
        return shape_ops.permute(self, tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        if self._data.ndim < 2:
            raise RuntimeError(
                "tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor."
            )
        return shape_ops.transpose(self, -2, -1)

    # indexing
    gather = indexing.gather
    scatter = indexing.scatter
    index_select = indexing.index_select
    masked_fill = indexing.masked_fill

    def where(self, condition: Any, other: Any) -> Tensor:
        return indexing.where(condition, self, other)

    # comparisons and predicates
    eq = comparison.eq
    ne = comparison.ne
    lt = comparison.lt
    le = comparison.le
    gt = comparison.gt
    ge = comparison.ge
    isnan = comparison.isnan
    isinf = comparison.isinf
    isfinite = comparison.isfinite
    all = comparison.all
    any = comparison.any
    equal = comparison.equal
    allclose = comparison.allclose
    isclose = comparison.isclose

    # ----- in-place ops -----
    def add_(self, other: Any, *, alpha: float = 1) -> Tensor:
        return _inplace(self, arithmetic.Add, other if alpha == 1 else other * alpha)

    def sub_(self, other: Any, *, alpha: float = 1) -> Tensor:
        return _inplace(self, arithmetic.Sub, other if alpha == 1 else other * alpha)

    def mul_(self, other: Any) -> Tensor:
        return _inplace(self, arithmetic.Mul, other)

    def div_(self, other: Any) -> Tensor:
        return _inplace(self, arithmetic.Div, other)

    def pow_(self, exponent: Any) -> Tensor:
        return _inplace(self, arithmetic.Pow, exponent)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return _inplace(self, unary.Clamp, unary.bound_value(min), unary.bound_value(max))

    clip_ = clamp_

    def relu_(self) -> Tensor:
        data = self._data
        if (
            not grad_mode.is_grad_enabled()
            and data.dtype.kind == "f"
            and getattr(data.flags, "writeable", True)
        ):
            # nothing to record: clamp the memory itself (no temporary, no copy back)
            unary.relu_array(_backend.array_module(data), data, out=data)
            self._bump_version()
            return self
        if data.dtype.kind == "f" and self._view_of is None and getattr(data.flags, "writeable", True):
            return _inplace(self, unary.ReluInPlace)  # no temporary, and the node saves this memory
        return _inplace(self, unary.Relu)

    def neg_(self) -> Tensor:
        return _inplace(self, unary.Neg)

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        return _inplace(self, indexing.MaskedFill, mask._data if isinstance(mask, Tensor) else mask, value)

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        return _inplace(self, _Fill, value)

    def copy_(self, src: Any) -> Tensor:
        return _inplace(self, _Copy, src)

    def __setitem__(self, key: Any, value: Any) -> None:
        key, _ = indexing.prepare_key(key)
        _inplace(self, indexing.SetItem, value, key)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def __ipow__(self, other: Any) -> Tensor:
        return self.pow_(other)


def _array_of(value: Any) -> Any:
    return value._data if isinstance(value, Tensor) else value


def _parse_to(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, bool]:
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


# ----- in-place machinery -----
from nnrun.autograd.function import Function  # noqa: E402  (after Tensor: function.py imports this module)


class _Fill(Function):
    @staticmethod
    def forward(ctx, x, value):
        ctx.value_shape = getattr(value, "shape", ())
        return (
            ctx.xp.full_like(x, value) if not hasattr(value, "shape") else ctx.xp.broadcast_to(value, x.shape)
        )

    @staticmethod
    def backward(ctx, grad_out):
        grad_value = grad_out.sum().reshape(ctx.value_shape) if ctx.needs_input_grad[1] else None
        return None, grad_value


class _Copy(Function):
    @staticmethod
    def forward(ctx, x, src):
        if not hasattr(src, "shape"):
            return ctx.xp.full_like(x, src)
        ctx.src_shape, ctx.src_dtype = src.shape, src.dtype
        src = _backend.transfer(src, _backend.device_of(x))
        return ctx.xp.broadcast_to(src, x.shape).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        if not ctx.needs_input_grad[1]:
            return None, None
        from nnrun.ops._broadcast import unbroadcast

        return None, unbroadcast(grad_out, ctx.src_shape).astype(ctx.src_dtype, copy=False)


def _inplace(target: Tensor, function: type[Function], *args: Any) -> Tensor:
    """Run ``function`` on ``target`` and write the result into ``target``'s memory, recording it in autograd
    (the tensor's history is rebased onto the new node) when a gradient is needed."""
    recording = grad_mode.is_grad_enabled()
    if recording and target._requires_grad and target.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    view_of = target._view_of if recording else None
    if view_of is not None and view_of[0]._requires_grad and view_of[0].grad_fn is None:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )
    data = target._data
    result = function.apply(target, *args)
    node = result.grad_fn
    out = result._data
    if out is not data:
        if out.shape != data.shape:
            raise RuntimeError(
                f"output with shape {list(data.shape)} doesn't match the broadcast shape {list(out.shape)}"
            )
        if out.dtype != data.dtype and not np.can_cast(out.dtype, data.dtype, casting="same_kind"):
            raise RuntimeError(
                f"result type {_dtype.from_numpy_dtype(out.dtype).name} can't be cast to the desired output "
                f"type {_dtype.from_numpy_dtype(data.dtype).name}"
            )
        if node is not None and node._saved:
            _protect_saved(node, data)
        if not data.flags.writeable:
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers to a single "
                "memory location. Please clone() the tensor before performing the operation."
            )
        _backend.array_module(data).copyto(data, out, casting="unsafe")
    target._bump_version()
    if out is data and node is not None and node._saved_versions:
        _saved_after_write(node, data, target)
    if node is not None:
        retained = target.retains_grad
        if retained:  # retain_grad follows the tensor to its new value, as in torch
            del target.grad_fn._retained[target._output_nr]
        target.grad_fn = node
        target._output_nr = 0
        target._requires_grad = True
        if retained:
            target.retain_grad()
        if view_of is not None:  # the root changed too: its new value is its old one with the view replaced
            root, steps, _ = view_of
            target._view_of = (root, steps, target._vc[0])  # the view's own history is current
            root.grad_fn = _CopySlices.apply(root, target, steps).grad_fn
            root._output_nr = 0
            root._requires_grad = True
    return target


class _CopySlices(Function):
    """The base of a view after an in-place op on the view (the memory is already written)."""

    @staticmethod
    def forward(ctx, root, view, steps):
        ctx.steps = steps
        return root

    @staticmethod
    def backward(ctx, grad_out):
        # a C-contiguous copy, on which replaying the view ops always gives a writable view
        grad_base = ctx.xp.array(grad_out, copy=True, order="C")
        region = views.replay(ctx.steps, ctx.xp, grad_base)
        grad_view = region.copy()
        region[...] = 0  # the old values there were overwritten: no gradient flows to them
        return grad_base, grad_view, None


def _saved_after_write(node: Function, written: Any, target: Tensor) -> None:
    """The node wrote into ``target``'s memory and saved it: the saved value is the one after this write."""
    counter = target._version_counter()
    node._saved_versions = [
        (counter, counter[0]) if array is written and record is not None else record
        for array, record in zip(node._saved, node._saved_versions)
    ]


def _protect_saved(node: Function, overwritten: Any) -> None:
    """The node saved the value about to be overwritten: keep a private copy of it instead."""
    saved = list(node._saved)
    versions = node._saved_versions
    for i, array in enumerate(saved):
        if array is overwritten:
            saved[i] = array.copy()
            if versions is not None:
                versions[i] = None
    node._saved = tuple(saved)
