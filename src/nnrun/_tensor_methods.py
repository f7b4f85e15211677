"""``Tensor``'s methods and operators that run ops, bound once, here, after the ops exist.

``_tensor.py`` holds the data class and imports no op; ``nnrun/__init__.py`` imports this module before
anything else, so ``a + b`` dispatches straight to ``arithmetic.add`` and ``Tensor.add is nnrun.add``.
"""

from __future__ import annotations

from typing import Any

from nnrun import _backend, _creation, _dtype, _sampling, _tensor
from nnrun import linalg as linalg_api
from nnrun._tensor import Tensor, array_of, parse_to
from nnrun.autograd import engine
from nnrun.autograd.grad_mode import is_grad_enabled
from nnrun.autograd.inplace import apply_inplace
from nnrun.ops import (
    activation,
    activation_extra,
    arithmetic,
    binary_math,
    comparison,
    conversion,
    counting,
    elementwise,
    indexing,
    linalg,
    matrix,
    products,
    rearrange,
    reduction,
    scan,
    scatter,
    sorting,
    statistics,
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


def bfloat16(self: Tensor) -> Tensor:
    raise TypeError(
        "nnrun has no bfloat16 dtype: its arrays are NumPy/CuPy arrays, which have none; "
        "use .half() (float16) or .float()"
    )


def _address(array: Any) -> int:
    """The address of an array's first element (NumPy or CuPy)."""
    memory = array.data
    return int(memory.ptr) if hasattr(memory, "ptr") else int(array.__array_interface__["data"][0])


def data_ptr(self: Tensor) -> int:
    """The address of the first element."""
    return _address(self._data)


def storage_offset(self: Tensor) -> int:
    """How many elements into its underlying memory this tensor starts (a view's offset into its base)."""
    data = base = self._data
    while isinstance(getattr(base, "base", None), type(data)):
        base = base.base
    return (_address(data) - _address(base)) // data.itemsize


def ndimension(self: Tensor) -> int:
    return self._data.ndim


def nbytes(self: Tensor) -> int:
    """The size of the elements in bytes: ``numel() * itemsize``."""
    return int(self._data.size * self._data.itemsize)


def itemsize(self: Tensor) -> int:
    return int(self._data.itemsize)


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


def _inplace(function: Any) -> Any:
    """``x.name_()`` for the element-wise ``function``: its result written into ``x``'s memory."""

    def method(self: Tensor) -> Tensor:
        return apply_inplace(self, function)

    method.__doc__ = f"In place: {function.__name__.lower()} of this tensor written into its own memory."
    return method


def round_(self: Tensor, *, decimals: int = 0) -> Tensor:
    if decimals != 0:
        elementwise.require_float("round_cpu", self)
    return apply_inplace(self, elementwise.Round, int(decimals))


def logit_(self: Tensor, eps: float | None = None) -> Tensor:
    return apply_inplace(self, elementwise.Logit, None if eps is None else float(eps))


def nan_to_num_(
    self: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    return apply_inplace(self, elementwise.NanToNum, nan, posinf, neginf)


def frac_(self: Tensor) -> Tensor:
    elementwise.require_float("frac_cpu", self)
    return apply_inplace(self, elementwise.Frac)


def square_(self: Tensor) -> Tensor:
    return apply_inplace(self, arithmetic.Pow, 2)


def clamp_min_(self: Tensor, min: Any) -> Tensor:
    return apply_inplace(self, unary.Clamp, array_of(min), None)


def clamp_max_(self: Tensor, max: Any) -> Tensor:
    return apply_inplace(self, unary.Clamp, None, array_of(max))


def _binary_inplace(function: Any) -> Any:
    def method(self: Tensor, other: Any) -> Tensor:
        return apply_inplace(self, function, other)

    method.__doc__ = f"In place: {function.__name__.lower()} of this tensor and ``other``."
    return method


def fmod_(self: Tensor, other: Any) -> Tensor:
    arithmetic.check_integer_divisor(self, other)
    return apply_inplace(self, binary_math.Fmod, other)


def remainder_(self: Tensor, other: Any) -> Tensor:
    arithmetic.check_integer_divisor(self, other)
    return apply_inplace(self, arithmetic.Remainder, other)


def hypot_(self: Tensor, other: Any) -> Tensor:
    elementwise.require_float("hypot_cpu", self, other)
    return apply_inplace(self, binary_math.Hypot, other)


def heaviside_(self: Tensor, values: Any) -> Tensor:
    return self.copy_(binary_math.heaviside(self, values))


def lerp_(self: Tensor, end: Any, weight: Any) -> Tensor:
    """``self += weight * (end - self)``."""
    elementwise.require_float("lerp_kernel_scalar", self)
    return apply_inplace(self, binary_math.Lerp, end, weight)


def addcmul_(self: Tensor, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """``self += value * tensor1 * tensor2``."""
    return apply_inplace(self, binary_math.Addcmul, tensor1, tensor2, value)


def addcdiv_(self: Tensor, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
    """``self += value * tensor1 / tensor2``."""
    binary_math.check_addcdiv(tensor1, tensor2)
    return apply_inplace(self, binary_math.Addcdiv, tensor1, tensor2, value)


def cumprod_(self: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return self.copy_(scan.cumprod(self, dim, dtype=dtype))


def renorm_(self: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    return self.copy_(statistics.renorm(self, p, dim, maxnorm))


def scatter_(
    self: Tensor, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None
) -> Tensor:
    if reduce is not None:
        return self.copy_(scatter.scatter(self, dim, index, src, value=value, reduce=reduce))
    if (src is None) == (value is None):
        raise TypeError("scatter_() expects exactly one of src or value")
    axis = scatter._axis(dim, self.ndim)
    return apply_inplace(self, indexing.Scatter, axis, index._data, src if src is not None else value)


def scatter_add_(self: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    axis = scatter._axis(dim, self.ndim)
    return apply_inplace(self, scatter.ScatterReduce, axis, index._data, src, "sum", True)


def scatter_reduce_(
    self: Tensor, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True
) -> Tensor:
    scatter.check_reduction(reduce)
    axis = scatter._axis(dim, self.ndim)
    return apply_inplace(self, scatter.ScatterReduce, axis, index._data, src, reduce, include_self)


def index_add_(self: Tensor, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
    axis = scatter._axis(dim, self.ndim)
    return apply_inplace(self, scatter.IndexAdd, axis, index._data, source, alpha)


def index_copy_(self: Tensor, dim: int, index: Any, source: Any) -> Tensor:
    axis = scatter._axis(dim, self.ndim)
    return apply_inplace(self, scatter.IndexCopy, axis, index._data, source)


def index_fill_(self: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    return apply_inplace(self, scatter.IndexFill, scatter._axis(dim, self.ndim), index._data, value)


def masked_scatter_(self: Tensor, mask: Any, source: Any) -> Tensor:
    return apply_inplace(self, scatter.MaskedScatter, array_of(mask), source)


def put_(self: Tensor, index: Any, source: Any, accumulate: bool = False) -> Tensor:
    return apply_inplace(self, scatter.Put, index._data, source, accumulate)


def fill_diagonal_(self: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    return apply_inplace(self, scatter.FillDiagonal, fill_value, wrap)


def _reshaped_in_place(view_op: Any) -> Any:
    """``t_``, ``transpose_``, ``squeeze_``…: the tensor itself becomes ``view_op``'s view of its memory
    (same memory and version, new shape and strides; its history gains the view op, as in torch)."""

    def reshape_(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if is_grad_enabled() and self._requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        result = view_op(self, *args, **kwargs)
        self._data = result._data
        if result.grad_fn is not None:
            self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
        if self._view_of is not None and result._view_of is not None:
            self._view_of = result._view_of  # still a view of the same root, one view op further
        return self

    reshape_.__name__ = view_op.__name__ + "_"
    reshape_.__doc__ = f"In-place ``{view_op.__name__}``: this tensor takes the new shape, same memory."
    return reshape_


def _add_product_(function: Any) -> Any:
    def add_product_(self: Tensor, *args: Any, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return self.copy_(function(self, *args, beta=beta, alpha=alpha))

    add_product_.__name__ = function.__name__ + "_"
    add_product_.__doc__ = f"In-place ``{function.__name__}``: ``self = beta * self + alpha * product``."
    return add_product_


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
    "byte": _to_dtype(_dtype.uint8),
    "char": _to_dtype(_dtype.int8),
    "short": _to_dtype(_dtype.int16),
    "bfloat16": bfloat16,
    "data_ptr": data_ptr,
    "storage_offset": storage_offset,
    "ndimension": ndimension,
    "nbytes": property(nbytes),
    "itemsize": property(itemsize),
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
    "true_divide": arithmetic.true_divide,
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
    # more element-wise math
    "floor": elementwise.floor,
    "ceil": elementwise.ceil,
    "trunc": elementwise.trunc,
    "fix": elementwise.trunc,
    "round": elementwise.round,
    "frac": elementwise.frac,
    "sign": elementwise.sign,
    "sgn": elementwise.sgn,
    "signbit": elementwise.signbit,
    "absolute": unary.abs,
    "square": elementwise.square,
    "reciprocal": elementwise.reciprocal,
    "expm1": elementwise.expm1,
    "exp2": elementwise.exp2,
    "log2": elementwise.log2,
    "log10": elementwise.log10,
    "tan": elementwise.tan,
    "asin": elementwise.asin,
    "arcsin": elementwise.asin,
    "acos": elementwise.acos,
    "arccos": elementwise.acos,
    "atan": elementwise.atan,
    "arctan": elementwise.atan,
    "sinh": elementwise.sinh,
    "cosh": elementwise.cosh,
    "asinh": elementwise.asinh,
    "arcsinh": elementwise.asinh,
    "acosh": elementwise.acosh,
    "arccosh": elementwise.acosh,
    "atanh": elementwise.atanh,
    "arctanh": elementwise.atanh,
    "erf": elementwise.erf,
    "erfc": elementwise.erfc,
    "erfinv": elementwise.erfinv,
    "logit": elementwise.logit,
    "nan_to_num": elementwise.nan_to_num,
    "atan2": binary_math.atan2,
    "arctan2": binary_math.atan2,
    "hypot": binary_math.hypot,
    "fmod": binary_math.fmod,
    "logaddexp": binary_math.logaddexp,
    "xlogy": binary_math.xlogy,
    "fmax": binary_math.fmax,
    "fmin": binary_math.fmin,
    "clamp_min": binary_math.clamp_min,
    "clamp_max": binary_math.clamp_max,
    "lerp": binary_math.lerp,
    "addcmul": binary_math.addcmul,
    "addcdiv": binary_math.addcdiv,
    "heaviside": binary_math.heaviside,
    "matmul": linalg.matmul,
    "mm": linalg.mm,
    "bmm": linalg.bmm,
    "dot": products.dot,
    "vdot": products.vdot,
    "outer": products.outer,
    "ger": products.outer,
    "mv": products.mv,
    "addmm": products.addmm,
    "addmv": products.addmv,
    "addr": products.addr,
    "baddbmm": linalg.baddbmm,
    "addbmm": products.addbmm,
    "kron": products.kron,
    "inverse": linalg_api.inv,
    "det": linalg_api.det,
    "slogdet": linalg_api.slogdet,
    "logdet": linalg_api.logdet,
    "matrix_power": linalg_api.matrix_power,
    "pinverse": linalg_api.pinverse,
    "cross": products.cross,
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
    "cumprod": scan.cumprod,
    "cummax": scan.cummax,
    "cummin": scan.cummin,
    "logcumsumexp": scan.logcumsumexp,
    "diff": scan.diff,
    "median": statistics.median,
    "nanmedian": statistics.nanmedian,
    "mode": statistics.mode,
    "kthvalue": statistics.kthvalue,
    "quantile": statistics.quantile,
    "nanquantile": statistics.nanquantile,
    "nansum": statistics.nansum,
    "nanmean": statistics.nanmean,
    "count_nonzero": statistics.count_nonzero,
    "aminmax": statistics.aminmax,
    "dist": statistics.dist,
    "renorm": statistics.renorm,
    # sorting and matrix structure
    "sort": sorting.sort,
    "argsort": sorting.argsort,
    "topk": sorting.topk,
    "unique": counting.unique,
    "unique_consecutive": counting.unique_consecutive,
    "bincount": counting.bincount,
    "histc": counting.histc,
    "tril": matrix.tril,
    "triu": matrix.triu,
    "diag": matrix.diag,
    "diagonal": matrix.diagonal,
    "diag_embed": matrix.diag_embed,
    "trace": matrix.trace,
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
    "movedim": rearrange.movedim,
    "moveaxis": rearrange.movedim,
    "swapaxes": rearrange.swapaxes,
    "swapdims": rearrange.swapaxes,
    "unbind": rearrange.unbind,
    "rot90": rearrange.rot90,
    "fliplr": rearrange.fliplr,
    "flipud": rearrange.flipud,
    "tensor_split": rearrange.tensor_split,
    "hsplit": rearrange.hsplit,
    "vsplit": rearrange.vsplit,
    "dsplit": rearrange.dsplit,
    "broadcast_to": rearrange.broadcast_to,
    "repeat_interleave": rearrange.repeat_interleave,
    "unfold": rearrange.unfold,
    "view_as": view_as,
    "reshape_as": reshape_as,
    "T": property(transposed),
    "mT": property(matrix_transposed),
    # indexing
    "gather": indexing.gather,
    "scatter": scatter.scatter,
    "index_select": indexing.index_select,
    "masked_fill": indexing.masked_fill,
    "where": where,
    "scatter_add": scatter.scatter_add,
    "scatter_reduce": scatter.scatter_reduce,
    "index_add": scatter.index_add,
    "index_copy": scatter.index_copy,
    "index_fill": scatter.index_fill,
    "masked_scatter": scatter.masked_scatter,
    "masked_select": scatter.masked_select,
    "take": scatter.take,
    "take_along_dim": scatter.take_along_dim,
    "nonzero": scatter.nonzero,
    "argwhere": scatter.argwhere,
    "put": scatter.put,
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
    "true_divide_": div_,
    "pow_": pow_,
    "clamp_": clamp_,
    "clip_": clamp_,
    "abs_": _inplace(unary.Abs),
    "absolute_": _inplace(unary.Abs),
    "sqrt_": _inplace(unary.Sqrt),
    "rsqrt_": _inplace(unary.Rsqrt),
    "exp_": _inplace(unary.Exp),
    "log_": _inplace(unary.Log),
    "log1p_": _inplace(unary.Log1p),
    "sin_": _inplace(unary.Sin),
    "cos_": _inplace(unary.Cos),
    "tanh_": _inplace(unary.Tanh),
    "sigmoid_": _inplace(unary.Sigmoid),
    "floor_": _inplace(elementwise.Floor),
    "ceil_": _inplace(elementwise.Ceil),
    "trunc_": _inplace(elementwise.Trunc),
    "fix_": _inplace(elementwise.Trunc),
    "round_": round_,
    "frac_": frac_,
    "sign_": _inplace(elementwise.Sign),
    "sgn_": _inplace(elementwise.Sign),
    "square_": square_,
    "reciprocal_": _inplace(elementwise.Reciprocal),
    "expm1_": _inplace(elementwise.Expm1),
    "exp2_": _inplace(elementwise.Exp2),
    "log2_": _inplace(elementwise.Log2),
    "log10_": _inplace(elementwise.Log10),
    "tan_": _inplace(elementwise.Tan),
    "asin_": _inplace(elementwise.Asin),
    "arcsin_": _inplace(elementwise.Asin),
    "acos_": _inplace(elementwise.Acos),
    "arccos_": _inplace(elementwise.Acos),
    "atan_": _inplace(elementwise.Atan),
    "arctan_": _inplace(elementwise.Atan),
    "sinh_": _inplace(elementwise.Sinh),
    "cosh_": _inplace(elementwise.Cosh),
    "asinh_": _inplace(elementwise.Asinh),
    "arcsinh_": _inplace(elementwise.Asinh),
    "acosh_": _inplace(elementwise.Acosh),
    "arccosh_": _inplace(elementwise.Acosh),
    "atanh_": _inplace(elementwise.Atanh),
    "arctanh_": _inplace(elementwise.Atanh),
    "erf_": _inplace(elementwise.Erf),
    "erfc_": _inplace(elementwise.Erfc),
    "erfinv_": _inplace(elementwise.Erfinv),
    "logit_": logit_,
    "nan_to_num_": nan_to_num_,
    "clamp_min_": clamp_min_,
    "clamp_max_": clamp_max_,
    "atan2_": _binary_inplace(binary_math.Atan2),
    "arctan2_": _binary_inplace(binary_math.Atan2),
    "hypot_": hypot_,
    "fmod_": fmod_,
    "remainder_": remainder_,
    "xlogy_": _binary_inplace(binary_math.Xlogy),
    "heaviside_": heaviside_,
    "lerp_": lerp_,
    "addcmul_": addcmul_,
    "addcdiv_": addcdiv_,
    "cumprod_": cumprod_,
    "renorm_": renorm_,
    # random fills
    "normal_": _sampling.normal_,
    "uniform_": _sampling.uniform_,
    "exponential_": _sampling.exponential_,
    "log_normal_": _sampling.log_normal_,
    "cauchy_": _sampling.cauchy_,
    "geometric_": _sampling.geometric_,
    "bernoulli_": _sampling.bernoulli_,
    "random_": _sampling.random_,
    "bernoulli": _sampling.bernoulli,
    "multinomial": _sampling.multinomial,
    "relu_": relu_,
    "neg_": neg_,
    "masked_fill_": masked_fill_,
    "scatter_": scatter_,
    "scatter_add_": scatter_add_,
    "scatter_reduce_": scatter_reduce_,
    "index_add_": index_add_,
    "index_copy_": index_copy_,
    "index_fill_": index_fill_,
    "masked_scatter_": masked_scatter_,
    "put_": put_,
    "fill_diagonal_": fill_diagonal_,
    "t_": _reshaped_in_place(shape_ops.t),
    "transpose_": _reshaped_in_place(shape_ops.transpose),
    "swapaxes_": _reshaped_in_place(rearrange.swapaxes),
    "swapdims_": _reshaped_in_place(rearrange.swapaxes),
    "squeeze_": _reshaped_in_place(shape_ops.squeeze),
    "unsqueeze_": _reshaped_in_place(shape_ops.unsqueeze),
    "addmm_": _add_product_(products.addmm),
    "addmv_": _add_product_(products.addmv),
    "addr_": _add_product_(products.addr),
    "baddbmm_": _add_product_(linalg.baddbmm),
    "addbmm_": _add_product_(products.addbmm),
    "zero_": zero_,
    "fill_": fill_,
    "copy_": copy_,
}

for _name, _method in _METHODS.items():
    setattr(Tensor, _name, _method)
