"""The ``out=`` argument: an op's result written into a given tensor's memory, checked as torch checks it."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from nnrun import _backend
from nnrun._tensor import Tensor
from nnrun.autograd.grad_mode import is_grad_enabled, no_grad

# torch's scalar-type names, as its messages spell them
SCALAR_NAMES = {
    "float16": "Half",
    "float32": "Float",
    "float64": "Double",
    "uint8": "Byte",
    "int8": "Char",
    "int16": "Short",
    "int32": "Int",
    "int64": "Long",
    "bool": "Bool",
}
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _check_out(name: str, out: Any, inputs: tuple[Any, ...]) -> None:
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if is_grad_enabled() and (out.requires_grad or any(getattr(t, "requires_grad", False) for t in inputs)):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic differentiation, but one of "
            "the arguments requires grad."
        )


def write(out: Tensor, result: Any, warn: bool = True) -> Tensor:
    """Put the array ``result`` into ``out``, resizing it when the shape differs (with torch's warning if
    ``warn`` and ``out`` had elements; the factories ``zeros``/``ones`` resize without one)."""
    data = out._data
    if result.dtype != data.dtype and _CATEGORY[result.dtype.kind] > _CATEGORY[data.dtype.kind]:
        raise RuntimeError(
            f"result type {SCALAR_NAMES[str(result.dtype)]} can't be cast to the desired output type "
            f"{SCALAR_NAMES[str(data.dtype)]}"
        )
    if _backend.device_of(result) != out.device:
        raise RuntimeError(
            f"Expected out tensor to have device {_backend.device_of(result)}, but got {out.device} instead"
        )
    if tuple(data.shape) == tuple(result.shape):
        data[...] = result
    else:
        if out._view_of is not None:
            raise RuntimeError(
                f"cannot resize the out tensor, a view, from shape {list(data.shape)} to {list(result.shape)}"
            )
        if warn and data.size:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape {list(data.shape)}, "
                f"which does not match the required output shape {list(result.shape)}. This behavior is "
                "deprecated, and in a future release outputs will not be resized unless they have zero "
                "elements.",
                UserWarning,
                stacklevel=4,
            )
        out._data = result.astype(data.dtype, copy=True)
    out._bump_version()
    return out


def into(name: str, out: Any, inputs: tuple[Any, ...], compute: Callable[[], Tensor]) -> Tensor:
    """Run ``compute`` (without recording a graph) and write its result into ``out``; returns ``out``."""
    _check_out(name, out, inputs)
    with no_grad():
        result = compute()
    return write(out, result._data)
