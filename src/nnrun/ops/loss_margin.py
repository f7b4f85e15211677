"""Margin and likelihood losses, composed of differentiable ops (so each records torch's parts): soft margin,
multi-label soft margin, multi-class margin, multi-label margin, hinge embedding, Poisson and Gaussian
negative log-likelihood, and the triplet margin loss with any distance function.

Reductions as in ``loss.py``: ``'none'``, ``'sum'``, or ``'mean'`` over the elements of the unreduced loss.
"""

from __future__ import annotations

import math
from typing import Any

from nnrun import _backend
from nnrun._tensor import Tensor
from nnrun.autograd.grad_mode import no_grad
from nnrun.ops.activation_extra import logsigmoid
from nnrun.ops.distance import _reduce, pairwise_distance
from nnrun.ops.loss import check_reduction, resolve_reduction


def _mask(array: Any, dtype: Any) -> Tensor:
    """A constant (no gradient) tensor of ``array`` cast to ``dtype``."""
    return Tensor._make(array.astype(dtype, copy=False))


def soft_margin_loss(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """``log(1 + exp(-target * input))``, ``target`` of 1 or -1; input and target of one shape."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    return _reduce(-logsigmoid(target * input), reduction)


def multilabel_soft_margin_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """Binary cross-entropy on logits per class, averaged over the classes (the last dimension), then
    reduced over the samples; ``target`` of 0 and 1 shaped like ``input`` ``(N, C)``; ``weight`` per class."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(dim=class_dim) / input.shape[class_dim]
    return _reduce(loss, reduction)


def hinge_embedding_loss(
    input: Any,
    target: Any,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """``input`` where ``target`` is 1, ``max(0, margin - input)`` where it is -1."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    xp = _backend.array_module(input._data)
    dtype = input._data.dtype
    t = target._data if isinstance(target, Tensor) else xp.asarray(target)
    margin_part = (margin - input).clamp(min=0) * _mask(t != 1, dtype)
    self_part = input * _mask(t != -1, dtype)
    return _reduce(margin_part + self_part, reduction)


def poisson_nll_loss(
    input: Any,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """Poisson negative log-likelihood of ``target`` with rate ``exp(input)`` (``log_input``) or ``input``:
    ``exp(input) - target * input``, or ``input - target * log(input + eps)``; ``full`` adds Stirling's
    approximation of ``log(target!)`` where ``target > 1``."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        t = target._data
        xp = _backend.array_module(t)
        safe = xp.where(t > 1, t, 1)  # the term is 0 (and not NaN) where it is masked out
        stirling = safe * xp.log(safe) - safe + 0.5 * xp.log(2 * math.pi * safe)
        loss = loss + _mask(xp.where(t > 1, stirling, 0), loss._data.dtype)
    return _reduce(loss, reduction)


def gaussian_nll_loss(
    input: Any, target: Any, var: Any, full: bool = False, eps: float = 1e-6, reduction: str = "mean"
) -> Any:
    """Gaussian negative log-likelihood ``0.5 (log(var) + (input - target)² / var)``, ``var`` clamped to at
    least ``eps`` (the gradient passes the clamp); ``var`` shaped like ``input``, one dimension short of
    it, or differing from it in one dimension of size 1; ``full`` adds ``0.5 log(2 pi)``."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = input.detach() * 0 + var
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (
            input.ndim == var.ndim
            and sum(v for i, v in zip(input.shape, var.shape, strict=True) if i != v) == 1
        ):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def _check_vector_or_matrix(input: Any) -> None:
    if input.ndim > 2 or (input.numel() == 0 and input.ndim != 2):
        raise RuntimeError(
            "Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
            f"{list(input.shape)}"
        )


def multi_margin_loss(
    input: Any,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """Multi-class hinge loss: ``sum over j != y of max(0, margin - x[y] + x[j])^p / C`` per sample, times
    ``weight[y]`` when given; input ``(N, C)`` or ``(C,)``, target ``(N,)`` or ``()`` class indices."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    _check_vector_or_matrix(input)
    single = input.ndim <= 1
    x = input.reshape(1, -1) if single else input
    y = target._data.reshape(-1)
    classes = x.shape[1]
    if y.shape[0] != x.shape[0]:
        raise RuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of input samples "
            f"(batch size). Expected target size [{x.shape[0]}], but got {list(target.shape)}. "
            f"Input has shape {list(input.shape)}."
        )
    xp = _backend.array_module(y)
    if y.size and (int(y.min()) < 0 or int(y.max()) >= classes):
        raise RuntimeError("target out of range")
    rows = xp.arange(x.shape[0])
    picked = x[Tensor._make(rows), Tensor._make(y)].unsqueeze(1)  # x[y] per sample
    hinge = (margin - picked + x).clamp(min=0)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight[Tensor._make(y)].unsqueeze(1)
    others = xp.arange(classes)[None, :] != y[:, None]
    loss = (hinge * _mask(others, x._data.dtype)).sum(1) / classes
    if single:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_margin_loss(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """Multi-label hinge loss: ``sum over target classes j and other classes i of max(0, 1 - (x[j] - x[i]))
    / C`` per sample; ``target`` shaped like ``input`` ``(N, C)`` or ``(C,)``, holding the target classes
    first and ``-1`` after the last one."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    _check_vector_or_matrix(input)
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(
            f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}"
        )
    single = input.ndim <= 1
    x = input.reshape(1, -1) if single else input
    t = target._data.reshape(x.shape)
    xp = _backend.array_module(t)
    classes = x.shape[1]
    if t.size and (int(t.min()) < -1 or int(t.max()) >= classes):
        raise RuntimeError("argument #2 'target' is out of range")
    valid = xp.cumprod(t >= 0, axis=1).astype(bool)  # the slots before the first -1
    slot_class = xp.where(valid, t, 0)
    is_target = ((slot_class[:, :, None] == xp.arange(classes)) & valid[:, :, None]).any(axis=1)
    picked = x.gather(1, Tensor._make(slot_class))  # x[j] for each target slot, (N, slots)
    hinge = (1 - picked.unsqueeze(2) + x.unsqueeze(1)).clamp(min=0)  # (N, slots, C)
    pairs = valid[:, :, None] & ~is_target[:, None, :]
    loss = (hinge * _mask(pairs, x._data.dtype)).sum((1, 2)) / classes
    if single:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def triplet_margin_with_distance_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    *,
    distance_function: Any = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Any:
    """``max(0, margin + d(a, p) - d(a, n))`` with ``d`` any distance function (``pairwise_distance`` by
    default); ``swap`` uses the smaller of ``d(a, n)`` and ``d(p, n)``."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of dimensions, "
            f"but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative {negative.ndim}D inputs"
        )
    distance = pairwise_distance if distance_function is None else distance_function
    to_positive = distance(anchor, positive)
    to_negative = distance(anchor, negative)
    if swap:
        to_negative = to_negative.minimum(distance(positive, negative))
    return _reduce((margin + to_positive - to_negative).clamp(min=0), reduction)
