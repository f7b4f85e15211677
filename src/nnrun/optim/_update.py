"""Steps that several update functions (``sgd``, ``adam``, …) share, on raw arrays; a name ending in ``_``
works in place."""

from __future__ import annotations

from typing import Any

from nnrun import _backend


def objective_grad(param: Any, grad: Any, weight_decay: float, maximize: bool) -> Any:
    """The gradient of the objective a step descends: ``g = ±grad + weight_decay·param`` (``-`` when
    ``maximize``). A new array when either term applies, else ``grad`` itself (then never write into it)."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    return grad


def lerp_(start: Any, end: Any, weight: float) -> Any:
    """``start += weight·(end - start)`` in place, evaluated from the nearer end as torch's ``lerp_`` does;
    returns the scratch array it used (free for reuse)."""
    scratch = end - start
    if weight < 0.5:
        scratch *= weight
        start += scratch
    else:
        scratch *= weight - 1
        _backend.array_module(start).add(end, scratch, out=start)
    return scratch
