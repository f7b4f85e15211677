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


def decoupled_objective_grad(
    param: Any, grad: Any, lr: float, weight_decay: float, maximize: bool, decoupled: bool
) -> Any:
    """``objective_grad``, or with ``decoupled`` (AdamW's decay) ``param *= 1 - lr·weight_decay`` in place and
    ``g = ±grad`` without the decay term."""
    if not decoupled:
        return objective_grad(param, grad, weight_decay, maximize)
    if weight_decay != 0:
        param *= 1 - lr * weight_decay
    return objective_grad(param, grad, 0.0, maximize)


def ema_square_(avg: Any, x: Any, decay: float, scratch: Any = None) -> Any:
    """``avg = decay·avg + (1 - decay)·x²`` in place; returns the scratch array it used (``scratch`` if given,
    else a new one), free for reuse."""
    scratch = _backend.array_module(avg).multiply(x, x, out=scratch)
    scratch *= 1 - decay
    avg *= decay
    avg += scratch
    return scratch


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
