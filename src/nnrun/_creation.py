"""Tensor factories: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``rand``, ``*_like``…"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun import _backend, _dtype, _random
from nnrun._tensor import Tensor
from nnrun.autograd.grad_mode import is_grad_enabled
from nnrun.ops import _out
from nnrun.ops.shape import sizes_from_args


def _finish(array: Any, device: Any, requires_grad: bool) -> Tensor:
    if device is None:
        device = _backend._default_device  # set_default_device's choice (None: leave it where it is)
    if device is not None:
        array = _backend.transfer(array, _backend.creation_device(device))
    t = Tensor._make(array)
    if requires_grad:
        t.requires_grad = True
    return t


def _float_dtype(dtype: Any) -> np.dtype:
    return (_dtype.get_default_dtype() if dtype is None else _dtype.to_dtype(dtype)).np


def _infer_dtype(data: Any) -> np.dtype:
    """dtype of Python data by torch's rules: floats -> default dtype, ints -> int64, bools -> bool."""
    array = np.asarray(data)
    kind = array.dtype.kind
    if kind == "f":
        return _dtype.get_default_dtype().np
    if kind in "iu":
        return np.dtype(np.int64)
    if kind == "b":
        return np.dtype(np.bool_)
    raise TypeError(f"can't build a tensor from {type(data).__name__} data of dtype {array.dtype}")


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, scalars, arrays or tensors)."""
    if isinstance(data, Tensor):
        array = data._data.copy()
        if device is None:
            device = data.device
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data)  # a copy that keeps NumPy's dtype, for scalars too (as torch does)
    elif hasattr(data, "__cuda_array_interface__"):
        array = data.copy()
    else:
        array = np.array(data, dtype=_infer_dtype(data) if dtype is None else None)
    if dtype is not None:
        array = array.astype(_dtype.to_dtype(dtype).np, copy=False)
    else:
        _dtype.from_numpy_dtype(array.dtype)  # rejects unsupported dtypes with a clear message
    return _finish(array, device, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory with a tensor or array when no conversion is needed."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (dtype or device) else data
    if isinstance(data, np.ndarray) and dtype is None and device is None and _backend._default_device is None:
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray``."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dtype.from_numpy_dtype(ndarray.dtype)
    return Tensor._make(ndarray)


def _sizes(name: str, sizes: tuple[Any, ...], size: Any) -> tuple[Any, ...]:
    """The shape given as varargs, one sequence, or the ``size=`` keyword (not both)."""
    if size is None:
        return sizes
    if sizes:
        raise TypeError(f"{name}() got multiple values for argument 'size'")
    return (tuple(size),)


def _filled(fill: Any, size: tuple[Any, ...], dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    shape = sizes_from_args(size)
    np_dtype = _float_dtype(dtype)
    xp = _backend.module_for(_backend.creation_device(device))
    array = xp.empty(shape, dtype=np_dtype) if fill is None else xp.full(shape, fill, dtype=np_dtype)
    return _finish(array, device, requires_grad)


def _filled_into(name: str, out: Any, fill: Any, size: tuple[Any, ...], dtype: Any) -> Tensor:
    """``zeros(..., out=t)``: ``t`` resized to ``size`` and filled (its dtype must be ``dtype`` if given)."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if dtype is not None and _dtype.to_dtype(dtype) is not out.dtype:
        want, have = (_out.SCALAR_NAMES[d.name] for d in (_dtype.to_dtype(dtype), out.dtype))
        raise RuntimeError(f"dtype {want} does not match dtype of out parameter ({have})")
    if out.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic differentiation, but one of "
            "the arguments requires grad."
        )
    shape = sizes_from_args(size)
    xp = _backend.array_module(out._data)
    return _out.write(out, xp.full(shape, fill, dtype=out._data.dtype), warn=False)


def zeros(
    *sizes: Any,
    size: Any = None,
    out: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Zeros of the shape given as ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    sizes = _sizes("zeros", sizes, size)
    if out is not None:
        return _filled_into("zeros", out, 0, sizes, dtype)
    return _filled(0, sizes, dtype, device, requires_grad)


def ones(
    *sizes: Any,
    size: Any = None,
    out: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Ones of the shape given as ``ones(2, 3)``, ``ones((2, 3))`` or ``ones(size=(2, 3))``."""
    sizes = _sizes("ones", sizes, size)
    if out is not None:
        return _filled_into("ones", out, 1, sizes, dtype)
    return _filled(1, sizes, dtype, device, requires_grad)


def empty(
    *sizes: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return _filled(None, _sizes("empty", sizes, size), dtype, device, requires_grad)


def full(
    size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    if dtype is None:
        dtype = _dtype.from_numpy_dtype(_infer_dtype(fill_value))
    return _filled(fill_value, (tuple(size),), dtype, device, requires_grad)


def _like(input: Tensor, dtype: Any, device: Any) -> tuple[Any, Any]:
    return (input.dtype if dtype is None else dtype), (input.device if device is None else device)


def zeros_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return _filled(0, (input.shape,), dtype, device, requires_grad)


def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return _filled(1, (input.shape,), dtype, device, requires_grad)


def empty_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return _filled(None, (input.shape,), dtype, device, requires_grad)


def full_like(
    input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return _filled(fill_value, (input.shape,), dtype, device, requires_grad)


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless a bound is a float."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        is_float = any(
            isinstance(v, float) or (isinstance(v, Tensor) and v.is_floating_point())
            for v in (start, end, step)
        )
        dtype = _dtype.get_default_dtype() if is_float else _dtype.int64
    np_dtype = _dtype.to_dtype(dtype).np
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    count = max(int(np.ceil((end - start) / step)), 0)
    array = (
        (start + step * np.arange(count, dtype=np.float64)).astype(np_dtype)
        if np_dtype.kind == "f"
        else (np.arange(start, end, step).astype(np_dtype))
    )
    return _finish(array, device, requires_grad)


def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    array = np.linspace(start, end, steps).astype(_float_dtype(dtype))
    return _finish(array, device, requires_grad)


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    exponents = np.linspace(start, end, steps)
    array = np.power(float(base), exponents).astype(_float_dtype(dtype))
    return _finish(array, device, requires_grad)


def eye(
    n: int, m: int | None = None, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    xp = _backend.module_for(_backend.creation_device(device))
    return _finish(xp.eye(n, n if m is None else m, dtype=_float_dtype(dtype)), device, requires_grad)


# ----- random -----
def _triangle_indices(lower: bool, row: int, col: int, offset: int, dtype: Any, device: Any) -> Tensor:
    rows, cols = (np.tril_indices if lower else np.triu_indices)(row, offset, col)
    return tensor(np.stack([rows, cols]), dtype=dtype or _dtype.int64, device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None) -> Tensor:
    """The (row, column) indices of a ``row`` x ``col`` matrix's lower triangle, as a ``(2, N)`` tensor."""
    return _triangle_indices(True, row, col, offset, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None) -> Tensor:
    """The (row, column) indices of a ``row`` x ``col`` matrix's upper triangle, as a ``(2, N)`` tensor."""
    return _triangle_indices(False, row, col, offset, dtype, device)


def _random_array(kind: str, shape: tuple[int, ...], np_dtype: np.dtype, generator: Any, device: Any) -> Any:
    if np_dtype.kind != "f":
        raise RuntimeError(f"{kind} random numbers need a floating-point dtype, got {np_dtype}")
    dev = _backend.creation_device(device)
    rng = _random.generator_or_default(generator).array_generator(dev)
    draw_dtype = np_dtype if np_dtype in (np.float32, np.float64) else np.float32
    if kind == "uniform":
        array = rng.random(shape, dtype=draw_dtype)
    else:
        array = rng.standard_normal(shape, dtype=draw_dtype)
    return array.astype(np_dtype, copy=False)


def rand(
    *sizes: Any,
    size: Any = None,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform samples from [0, 1)."""
    shape = sizes_from_args(_sizes("rand", sizes, size))
    array = _random_array("uniform", shape, _float_dtype(dtype), generator, device)
    return _finish(array, device, requires_grad)


def randn(
    *sizes: Any,
    size: Any = None,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples."""
    shape = sizes_from_args(_sizes("randn", sizes, size))
    array = _random_array("normal", shape, _float_dtype(dtype), generator, device)
    return _finish(array, device, requires_grad)


def rand_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return rand(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return randn(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randint(
    low: int,
    high: Any = None,
    size: Any = None,
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    """Integers uniform in [low, high); ``randint(high, size)`` as in torch."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    rng = _random.generator_or_default(generator).array_generator(_backend.creation_device(device))
    np_dtype = _dtype.int64.np if dtype is None else _dtype.to_dtype(dtype).np
    return Tensor._make(rng.integers(low, high, size=tuple(size)).astype(np_dtype, copy=False))


def randperm(n: int, *, generator: Any = None, dtype: Any = None, device: Any = None) -> Tensor:
    """A random permutation of ``0 .. n-1``."""
    rng = _random.generator_or_default(generator).numpy_generator
    np_dtype = _dtype.int64.np if dtype is None else _dtype.to_dtype(dtype).np
    return _finish(rng.permutation(n).astype(np_dtype), device, False)


# ----- the legacy typed constructors: nnrun.FloatTensor(2, 3), nnrun.LongTensor([1, 2]) -----
class _LegacyTensorType(type):
    """The type of ``FloatTensor`` and its kin: calling one builds a CPU tensor of its dtype, and
    ``isinstance(t, nnrun.FloatTensor)`` holds for a float32 CPU tensor, as torch has it."""

    dtype: _dtype.dtype

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == "cpu"

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:  # type: ignore[override]
        if not args:
            return empty(0, dtype=cls.dtype, device=device)
        if len(args) == 1 and isinstance(args[0], Tensor):
            other = args[0]
            if other.dtype is not cls.dtype:
                raise TypeError(f"expected {cls.dtype} (got {other.dtype})")
            return other
        if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            return empty(*args, dtype=cls.dtype, device=device)
        if len(args) == 1:
            if isinstance(args[0], tuple) and all(isinstance(a, int) for a in args[0]):
                return empty(args[0], dtype=cls.dtype, device=device)  # a Size or tuple of ints: a shape
            return tensor(args[0], dtype=cls.dtype, device=device)
        names = ", ".join(type(a).__name__ for a in args)
        raise TypeError(
            f"new() received an invalid combination of arguments - got ({names}), but expected one of: "
            "(*, device), (Tensor other), (tuple of ints size, *, device), (object data, *, device)"
        )

    def __repr__(cls) -> str:
        return f"<class 'nnrun.{cls.__name__}'>"


def _legacy(name: str, dtype: _dtype.dtype) -> type:
    doc = f"``nnrun.{name}(data)`` or ``nnrun.{name}(*sizes)``: a CPU tensor of dtype ``{dtype}``."
    return _LegacyTensorType(name, (), {"dtype": dtype, "__doc__": doc})


FloatTensor = _legacy("FloatTensor", _dtype.float32)
DoubleTensor = _legacy("DoubleTensor", _dtype.float64)
HalfTensor = _legacy("HalfTensor", _dtype.float16)
LongTensor = _legacy("LongTensor", _dtype.int64)
IntTensor = _legacy("IntTensor", _dtype.int32)
ShortTensor = _legacy("ShortTensor", _dtype.int16)
CharTensor = _legacy("CharTensor", _dtype.int8)
ByteTensor = _legacy("ByteTensor", _dtype.uint8)
BoolTensor = _legacy("BoolTensor", _dtype.bool_)
