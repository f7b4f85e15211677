"""Gradient clipping, in place on ``.grad``, as ``torch.nn.utils``: by the total norm or by value."""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Iterable
from typing import Any

from nnrun import _backend
from nnrun._tensor import Tensor

Tensors = Tensor | Iterable[Tensor]


def _as_list(tensors: Tensors) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(xp: Any, array: Any, norm_type: float) -> Any:
    """The ``norm_type``-norm of all elements of ``array`` as a 0-d array of its dtype."""
    if array.size == 0:
        return xp.zeros((), array.dtype)
    if norm_type == 2:
        flat = array.ravel()
        return xp.sqrt(xp.dot(flat, flat))
    if norm_type == math.inf:
        return xp.abs(array).max()
    if norm_type == -math.inf:
        return xp.abs(array).min()
    if norm_type == 0:
        return xp.asarray(xp.count_nonzero(array), dtype=array.dtype)
    if norm_type == 1:
        return xp.abs(array).sum()
    return (xp.abs(array) ** norm_type).sum() ** (1 / norm_type)


def get_total_norm(
    tensors: Tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach: bool | None = None
) -> Tensor:
    """The norm of the norms of ``tensors``: their norm as if concatenated into one vector.

    ``norm_type`` may be ``inf`` (largest absolute value). ``foreach`` is accepted for compatibility.
    """
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor(0.0)
    xp = _backend.array_module(tensors[0]._data)
    norms = [_vector_norm(xp, t._data, norm_type) for t in tensors]
    total = _vector_norm(xp, xp.stack(norms), norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
            "anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._make(xp.asarray(total))


def clip_grads_with_norm_(
    parameters: Tensors, max_norm: float, total_norm: Tensor, foreach: bool | None = None
) -> None:
    """Scale every gradient by ``min(1, max_norm / (total_norm + 1e-6))``, in place."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    norm = total_norm._data
    xp = _backend.array_module(norm)
    coef = xp.minimum(max_norm / (norm + norm.dtype.type(1e-6)), 1.0).astype(norm.dtype)
    for grad in grads:
        grad._data *= coef
        grad._bump_version()


def clip_grad_norm_(
    parameters: Tensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Rescale the gradients of ``parameters`` in place so their total norm is at most ``max_norm``.

    Returns the total norm before clipping (a 0-d tensor); ``error_if_nonfinite`` raises on NaN/inf.
    """
    is_generator = isinstance(parameters, types.GeneratorType)
    parameters = _as_list(parameters)
    if is_generator and not parameters:
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_value_(parameters: Tensors, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient of ``parameters`` to ``[-clip_value, clip_value]``, in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        grad = p.grad
        if grad is not None:
            xp = _backend.array_module(grad._data)
            xp.clip(grad._data, -clip_value, clip_value, out=grad._data)
            grad._bump_version()
