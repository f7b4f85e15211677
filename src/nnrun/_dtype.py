"""dtype objects (``nnrun.float32`` …), the default float dtype, and PyTorch's type-promotion rules."""

from __future__ import annotations

from typing import Any

import numpy as np


class dtype:
    """A tensor element type; wraps a NumPy dtype."""

    __slots__ = ("is_floating_point", "is_signed", "itemsize", "name", "np")

    def __init__(self, name: str, np_dtype: np.dtype) -> None:
        self.name = name
        self.np = np_dtype
        self.itemsize = np_dtype.itemsize
        self.is_floating_point = np_dtype.kind == "f"
        self.is_signed = np_dtype.kind in "fi"

    def __repr__(self) -> str:
        return f"nnrun.{self.name}"


float16 = dtype("float16", np.dtype(np.float16))
float32 = dtype("float32", np.dtype(np.float32))
float64 = dtype("float64", np.dtype(np.float64))
uint8 = dtype("uint8", np.dtype(np.uint8))
int8 = dtype("int8", np.dtype(np.int8))
int16 = dtype("int16", np.dtype(np.int16))
int32 = dtype("int32", np.dtype(np.int32))
int64 = dtype("int64", np.dtype(np.int64))
bool_ = dtype("bool", np.dtype(np.bool_))

ALL_DTYPES = (float16, float32, float64, uint8, int8, int16, int32, int64, bool_)
_BY_NUMPY = {d.np: d for d in ALL_DTYPES}
_BY_NAME = {d.name: d for d in ALL_DTYPES}

_default_float = float32


def set_default_dtype(d: dtype) -> None:
    """Set the dtype of floating-point tensors made from Python floats (float32 or float64)."""
    global _default_float
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def get_default_dtype() -> dtype:
    return _default_float


def to_dtype(value: Any) -> dtype:
    """Accept an nnrun dtype, a NumPy dtype/type, or a name such as ``"float32"``."""
    if isinstance(value, dtype):
        return value
    if isinstance(value, str):
        found = _BY_NAME.get(value.removeprefix("nnrun.").removeprefix("torch."))
        if found is None:
            raise TypeError(f"unknown dtype name {value!r}; expected one of {sorted(_BY_NAME)}")
        return found
    try:
        return _BY_NUMPY[np.dtype(value)]
    except (KeyError, TypeError):
        raise TypeError(f"unsupported dtype {value!r}") from None


def from_numpy_dtype(np_dtype: np.dtype) -> dtype:
    found = _BY_NUMPY.get(np_dtype)
    if found is None:
        raise TypeError(
            f"can't convert an array of type {np_dtype}; supported: " + ", ".join(d.name for d in ALL_DTYPES)
        )
    return found


# Promotion categories: bool < integer < floating.
def _category(np_dtype: np.dtype) -> int:
    kind = np_dtype.kind
    return 2 if kind == "f" else 0 if kind == "b" else 1


def _scalar_category(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)):
        return 0
    if isinstance(value, (int, np.integer)):
        return 1
    return 2


def result_type(a: Any, b: Any) -> np.dtype:
    """The result dtype of a binary op, by PyTorch's rules.

    ``a``/``b`` are arrays (0-d arrays rank below arrays with dims) or Python scalars (rank lowest):
    within the highest category present the highest-ranked participant decides; a Python float that
    lifts an integer tensor gives the default float dtype.
    """
    a_is_array, b_is_array = hasattr(a, "dtype"), hasattr(b, "dtype")
    if a_is_array and b_is_array:
        if a.dtype == b.dtype:
            return a.dtype
        cat_a, cat_b = _category(a.dtype), _category(b.dtype)
        if cat_a != cat_b:
            return a.dtype if cat_a > cat_b else b.dtype
        dims_a, dims_b = a.ndim > 0, b.ndim > 0
        if dims_a != dims_b:
            return a.dtype if dims_a else b.dtype
        return np.promote_types(a.dtype, b.dtype)
    array, scalar = (a, b) if a_is_array else (b, a)
    cat_array, cat_scalar = _category(array.dtype), _scalar_category(scalar)
    if cat_scalar <= cat_array:
        return array.dtype
    return _default_float.np if cat_scalar == 2 else np.dtype(np.int64)
