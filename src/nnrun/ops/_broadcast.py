"""Helpers shared by element-wise ops: undoing broadcasting in backward, and PyTorch dtype promotion."""

from __future__ import annotations

from typing import Any

from nnrun import _dtype


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``grad`` down to ``shape``, the shape of the input that was broadcast."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1
    )
    if axes:
        grad = grad.sum(axis=axes)
    return grad.reshape(shape)


def check_broadcastable(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> None:
    """Raise torch's error when two shapes don't broadcast (NumPy's ValueError names no dimension)."""
    if a_shape == b_shape:
        return
    ndim = max(len(a_shape), len(b_shape))
    for i in range(1, min(len(a_shape), len(b_shape)) + 1):
        size_a, size_b = a_shape[-i], b_shape[-i]
        if size_a != size_b and size_a != 1 and size_b != 1:
            raise RuntimeError(
                f"The size of tensor a ({size_a}) must match the size of tensor b ({size_b}) "
                f"at non-singleton dimension {ndim - i}"
            )


def promote(a: Any, b: Any) -> tuple[Any, Any]:
    """Cast the operands of a binary op to their common dtype by PyTorch's rules (not NumPy's)."""
    a_is_array, b_is_array = hasattr(a, "dtype"), hasattr(b, "dtype")
    if a_is_array and b_is_array:
        if a.dtype == b.dtype:
            return a, b
    elif a_is_array:
        if a.dtype.kind == "f":  # NumPy keeps a float array's dtype against a Python scalar, as torch does
            return a, b
    elif b_is_array and b.dtype.kind == "f":
        return a, b
    target = _dtype.result_type(a, b)
    # A Python scalar stays a scalar: NumPy then keeps the (cast) array's dtype, and CuPy accepts it.
    if a_is_array and a.dtype != target:
        a = a.astype(target)
    if b_is_array and b.dtype != target:
        b = b.astype(target)
    return a, b


def to_float(x: Any) -> Any:
    """``x`` itself when floating point, else ``x`` cast to the default float dtype (as torch's exp(int))."""
    if x.dtype.kind == "f":
        return x
    return x.astype(_dtype.get_default_dtype().np)


def shape_of(x: Any) -> tuple[int, ...]:
    return x.shape if hasattr(x, "shape") else ()
