"""``Tensor``'s methods and operators that run ops, bound once, here, after the ops exist.

``_tensor.py`` holds the data class and imports no op; ``nnrun/__init__.py`` imports this module before
anything else, so ``a + b`` dispatches straight to ``arithmetic.add`` and ``Tensor.add is nnrun.add``.
"""

from __future__ import annotations

from typing import Any

from nnrun import _backend, _creation, _dtype, _tensor
from nnrun._tensor import Tensor, array_of, parse_to
from nnrun.autograd import engine
from nnrun.autograd.grad_mode import is_grad_enabled
from nnrun.autograd.inplace import apply_inplace
from nnrun.ops import (
    activation,
    activation_extra,
    arithmetic,
    comparison,
    conversion,
    indexing,
    linalg,
    matrix,
    reduction,
    sorting,
    unary,
)
from nnrun.ops import shape as shape_ops
from nnrun.ops.shape import sizes_from_args


def backward(
    self: Tensor, gradient: Any = None, retain_graph: bool | None = None, inputs: Any = None
) -> None:
    """Accumulate the gradient of this tensor into the ``.grad`` of the leaves it depends on."""
    engine.backward(self, gradient, retain_graph, inputs)


# ----- conversions -----
def to(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other)``; self if nothing changes."""
    device, dtype, copy = parse_to(args, kwargs)
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


def cpu(self: Tensor) -> Tensor:
    return self.to(_backend.CPU)


def cuda(self: Tensor, device: Any = None) -> Tensor:
    if device is None:
        return self.to("cuda")
    return self.to(device if not isinstance(device, int) else f"cuda:{device}")


def type_as(self: Tensor, other: Tensor) -> Tensor:
    return self.to(other.dtype)


def _to_dtype(dtype: _dtype.dtype) -> Any:
    def cast(self: Tensor) -> Tensor:
        return self.to(dtype)

    cast.__doc__ = f"``self.to(nnrun.{dtype.name})``"
    return cast


_TYPE_STRINGS = {
    prefix + name: dtype for name, dtype in _tensor.TYPE_DTYPES.items() for prefix in ("nnrun.", "torch.")
}


def type_(self: Tensor, dtype: Any = None, non_blocking: bool = False) -> Any:
    """No argument: the type string (``'nnrun.FloatTensor'``, ``'nnrun.cuda.FloatTensor'``); with a dtype or
    a type string (``'nnrun.DoubleTensor'``, ``'torch.cuda.LongTensor'``): this tensor cast to it."""
    if dtype is None:
        return _tensor.type_name(self._data)
    if isinstance(dtype, str):
        cuda = ".cuda." in dtype
        found = _TYPE_STRINGS.get(dtype.replace(".cuda.", ".", 1))
        if found is None:
            raise ValueError(f"invalid type: {dtype!r}")
        device = ("cuda" if self.device.type == "cpu" else self.device) if cuda else _backend.CPU
        return self.to(device=device, dtype=found)
    if hasattr(dtype, "dtype") and not isinstance(dtype, _dtype.dtype):  # FloatTensor and its kin
        return self.to(device=_backend.CPU, dtype=dtype.dtype)
    return self.to(_dtype.to_dtype(dtype))


def _new(fill: Any) -> Any:
    def new(
        self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        dtype = self.dtype if dtype is None else dtype
        device = self.device if device is None else device
        if fill is None:
            return _creation.empty(*size, dtype=dtype, device=device, requires_grad=requires_grad)
        return _creation.full(
            sizes_from_args(size), fill, dtype=dtype, device=device, requires_grad=requires_grad
        )

    what = "uninitialised" if fill is None else f"filled with {fill}"
    new.__doc__ = f"A new tensor of ``size``, {what}, of this tensor's dtype and device unless given."
    return new


def new_full(
    self: Tensor,
    size: Any,
    fill_value: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    dtype = self.dtype if dtype is None else dtype
    device = self.device if device is None else device
    return _creation.full(size, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def new_tensor(
    self: Tensor, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A copy of ``data`` as a tensor of this tensor's dtype and device unless given."""
    dtype = self.dtype if dtype is None else dtype
    device = self.device if device is None else device
    if isinstance(data, Tensor):
        data = data.detach()
    return _creation.tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def clone(self: Tensor) -> Tensor:
    return conversion.Clone.apply(self)


def contiguous(self: Tensor) -> Tensor:
    return self if self._data.flags.c_contiguous else conversion.Clone.apply(self)


# ----- operators with the tensor on the right -----
def rsub(self: Tensor, other: Any) -> Tensor:
    return arithmetic.Sub.apply(other, self)


def rtruediv(self: Tensor, other: Any) -> Tensor:
    return arithmetic.Div.apply(other, self)


def rfloordiv(self: Tensor, other: Any) -> Tensor:
    return arithmetic.floor_divide(other, self)


def rmod(self: Tensor, other: Any) -> Tensor:
    return arithmetic.remainder(other, self)


def rpow(self: Tensor, other: Any) -> Tensor:
    return arithmetic.Pow.apply(other, self)


def rmatmul(self: Tensor, other: Any) -> Tensor:
    return linalg.MatMul.apply(other, self)


# ----- shape and indexing -----
def view_as(self: Tensor, other: Tensor) -> Tensor:
    return shape_ops.view(self, tuple(other.shape))


def reshape_as(self: Tensor, other: Tensor) -> Tensor:
    return shape_ops.reshape(self, tuple(other.shape))


def softmax(self: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """``x.softmax(dim)``: as ``nn.functional.softmax``, with ``dim`` required as in torch."""
    return activation.softmax(self, dim, dtype=dtype)


def log_softmax(self: Tensor, dim: int, dtype: Any = None) -> Tensor:
    return activation.log_softmax(self, dim, dtype=dtype)


def transposed(self: Tensor) -> Tensor:
    """``T``: all dimensions reversed."""
    return shape_ops.permute(self, tuple(range(self._data.ndim - 1, -1, -1)))


def matrix_transposed(self: Tensor) -> Tensor:
    """``mT``: the last two dimensions swapped."""
    if self._data.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
    return shape_ops.transpose(self, -2, -1)


def where(self: Tensor, condition: Any, other: Any) -> Tensor:
    return indexing.where(condition, self, other)


# ----- in-place ops -----
def add_(self: Tensor, other: Any, *, alpha: float = 1) -> Tensor:
    return apply_inplace(self, arithmetic.Add, other if alpha == 1 else other * alpha)


def sub_(self: Tensor, other: Any, *, alpha: float = 1) -> Tensor:
    return apply_inplace(self, arithmetic.Sub, other if alpha == 1 else other * alpha)


def mul_(self: Tensor, other: Any) -> Tensor:
    return apply_inplace(self, arithmetic.Mul, other)


def div_(self: Tensor, other: Any) -> Tensor:
    return apply_inplace(self, arithmetic.Div, other)


def pow_(self: Tensor, exponent: Any) -> Tensor:
    return apply_inplace(self, arithmetic.Pow, exponent)


def ipow(self: Tensor, other: Any) -> Tensor:
    return self.pow_(other)


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
    return apply_inplace(self, unary.Clamp, array_of(min), array_of(max))


def relu_(self: Tensor) -> Tensor:
    data = self._data
    if not is_grad_enabled() and data.dtype.kind == "f" and getattr(data.flags, "writeable", True):
        # nothing to record: clamp the memory itself (no temporary, no copy back)
        unary.relu_array(_backend.array_module(data), data, out=data)
        self._bump_version()
        return self
    if data.dtype.kind == "f" and self._view_of is None and getattr(data.flags, "writeable", True):
        return apply_inplace(self, unary.ReluInPlace)  # no temporary, and the node saves this memory
    return apply_inplace(self, unary.Relu)


def neg_(self: Tensor) -> Tensor:
    return apply_inplace(self, unary.Neg)


def masked_fill_(self: Tensor, mask: Any, value: Any) -> Tensor:
    return apply_inplace(self, indexing.MaskedFill, array_of(mask), value)


def fill_(self: Tensor, value: Any) -> Tensor:
    return apply_inplace(self, conversion.Fill, value)


def zero_(self: Tensor) -> Tensor:
    return self.fill_(0)


def copy_(self: Tensor, src: Any) -> Tensor:
    return apply_inplace(self, conversion.Copy, src)


def setitem(self: Tensor, key: Any, value: Any) -> None:
    key, _ = indexing.prepare_key(key)
    apply_inplace(self, indexing.SetItem, value, key)


_METHODS: dict[str, Any] = {
    "backward": backward,
    # conversions
    "to": to,
    "cpu": cpu,
    "cuda": cuda,
    "type_as": type_as,
    "float": _to_dtype(_dtype.float32),
    "double": _to_dtype(_dtype.float64),
    "half": _to_dtype(_dtype.float16),
    "long": _to_dtype(_dtype.int64),
    "int": _to_dtype(_dtype.int32),
    "bool": _to_dtype(_dtype.bool_),
    "clone": clone,
    "contiguous": contiguous,
    "type": type_,
    "new_zeros": _new(0),
    "new_ones": _new(1),
    "new_empty": _new(None),
    "new_full": new_full,
    "new_tensor": new_tensor,
    # operators
    "__add__": arithmetic.add,
    "__radd__": arithmetic.add,
    "__sub__": arithmetic.sub,
    "__rsub__": rsub,
    "__mul__": arithmetic.mul,
    "__rmul__": arithmetic.mul,
    "__truediv__": arithmetic.div,
    "__rtruediv__": rtruediv,
    "__floordiv__": arithmetic.floor_divide,
    "__rfloordiv__": rfloordiv,
    "__mod__": arithmetic.remainder,
    "__rmod__": rmod,
    "__pow__": arithmetic.pow,
    "__rpow__": rpow,
    "__matmul__": linalg.matmul,
    "__rmatmul__": rmatmul,
    "__neg__": unary.neg,
    "__abs__": unary.abs,
    "__getitem__": indexing.getitem,
    "__setitem__": setitem,
    "__eq__": comparison.eq,
    "__ne__": comparison.ne,
    "__lt__": comparison.lt,
    "__le__": comparison.le,
    "__gt__": comparison.gt,
    "__ge__": comparison.ge,
    "__iadd__": add_,
    "__isub__": sub_,
    "__imul__": mul_,
    "__itruediv__": div_,
    "__ipow__": ipow,
    # math
    "add": arithmetic.add,
    "sub": arithmetic.sub,
    "mul": arithmetic.mul,
    "div": arithmetic.div,
    "divide": arithmetic.div,
    "floor_divide": arithmetic.floor_divide,
    "remainder": arithmetic.remainder,
    "pow": arithmetic.pow,
    "maximum": arithmetic.maximum,
    "minimum": arithmetic.minimum,
    "neg": unary.neg,
    "negative": unary.neg,
    "abs": unary.abs,
    "exp": unary.exp,
    "log": unary.log,
    "log1p": unary.log1p,
    "sqrt": unary.sqrt,
    "rsqrt": unary.rsqrt,
    "sin": unary.sin,
    "cos": unary.cos,
    "tanh": unary.tanh,
    "sigmoid": unary.sigmoid,
    "relu": unary.relu,
    "hardshrink": activation_extra.hardshrink,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "clamp": unary.clamp,
    "clip": unary.clamp,
    "matmul": linalg.matmul,
    "mm": linalg.mm,
    "bmm": linalg.bmm,
    # reductions
    "sum": reduction.sum,
    "mean": reduction.mean,
    "prod": reduction.prod,
    "max": reduction.max,
    "min": reduction.min,
    "amax": reduction.amax,
    "amin": reduction.amin,
    "argmax": reduction.argmax,
    "argmin": reduction.argmin,
    "var": reduction.var,
    "std": reduction.std,
    "logsumexp": reduction.logsumexp,
    "norm": reduction.norm,
    "cumsum": matrix.cumsum,
    # sorting and matrix structure
    "sort": sorting.sort,
    "argsort": sorting.argsort,
    "topk": sorting.topk,
    "tril": matrix.tril,
    "triu": matrix.triu,
    "diag": matrix.diag,
    # shape
    "view": shape_ops.view,
    "reshape": shape_ops.reshape,
    "flatten": shape_ops.flatten,
    "unflatten": shape_ops.unflatten,
    "squeeze": shape_ops.squeeze,
    "unsqueeze": shape_ops.unsqueeze,
    "permute": shape_ops.permute,
    "transpose": shape_ops.transpose,
    "t": shape_ops.t,
    "expand": shape_ops.expand,
    "expand_as": shape_ops.expand_as,
    "repeat": shape_ops.repeat,
    "flip": shape_ops.flip,
    "roll": shape_ops.roll,
    "split": shape_ops.split,
    "chunk": shape_ops.chunk,
    "narrow": shape_ops.narrow,
    "view_as": view_as,
    "reshape_as": reshape_as,
    "T": property(transposed),
    "mT": property(matrix_transposed),
    # indexing
    "gather": indexing.gather,
    "scatter": indexing.scatter,
    "index_select": indexing.index_select,
    "masked_fill": indexing.masked_fill,
    "where": where,
    # comparisons and predicates
    "eq": comparison.eq,
    "ne": comparison.ne,
    "lt": comparison.lt,
    "le": comparison.le,
    "gt": comparison.gt,
    "ge": comparison.ge,
    "isnan": comparison.isnan,
    "isinf": comparison.isinf,
    "isfinite": comparison.isfinite,
    "all": comparison.all,
    "any": comparison.any,
    "equal": comparison.equal,
    "allclose": comparison.allclose,
    "isclose": comparison.isclose,
    # in-place
    "add_": add_,
    "sub_": sub_,
    "mul_": mul_,
    "div_": div_,
    "pow_": pow_,
    "clamp_": clamp_,
    "clip_": clamp_,
    "relu_": relu_,
    "neg_": neg_,
    "masked_fill_": masked_fill_,
    "zero_": zero_,
    "fill_": fill_,
    "copy_": copy_,
}

for _name, _method in _METHODS.items():
    setattr(Tensor, _name, _method)
