"""Distances and similarities between vectors, and the losses built on them.

Each is a composition of differentiable tensor ops (torch composes them too), so gradients come from those
ops: ``normalize``, ``cosine_similarity``, ``pairwise_distance``, ``cdist``, and the ``margin_ranking``,
``cosine_embedding`` and ``triplet_margin`` losses.
"""

from __future__ import annotations

from typing import Any

from nnrun.ops.loss import check_reduction, resolve_reduction


def normalize(input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None) -> Any:
    """``input / max(||input||_p, eps)`` along ``dim``; output shaped like the input."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported by nnrun; assign the result instead")
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps).expand_as(input)


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Any:
    """``<x1, x2> / (max(||x1||, eps) max(||x2||, eps))`` along ``dim`` of the broadcast inputs; that
    dimension is removed from the output."""
    unit1 = x1 / x1.norm(2, dim, keepdim=True).clamp(min=eps)
    unit2 = x2 / x2.norm(2, dim, keepdim=True).clamp(min=eps)
    return (unit1 * unit2).sum(dim)


def pairwise_distance(x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Any:
    """``||x1 - x2 + eps||_p`` along the last dimension: ``(N, D)`` pairs → ``(N,)`` (``(N, 1)`` with
    ``keepdim``); ``(D,)`` vectors give a scalar."""
    dim = -1 if max(x1.ndim, x2.ndim) > 0 else 0
    return (x1 - x2 + eps).norm(p, dim, keepdim=keepdim)


def cdist(x1: Any, x2: Any, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Any:
    """All p-norm distances between the rows of ``x1`` ``(*, P, M)`` and of ``x2`` ``(*, R, M)``:
    ``(*, P, R)``. Computed exactly (``compute_mode`` is accepted; no matrix-product shortcut is taken)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}"
        )
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    return (x1.unsqueeze(-2) - x2.unsqueeze(-3)).norm(p, -1)


def _reduce(loss: Any, reduction: str) -> Any:
    check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def margin_ranking_loss(
    input1: Any,
    input2: Any,
    target: Any,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """``max(0, -target (input1 - input2) + margin)``, ``target`` of 1 or -1; inputs broadcast."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} "
        )
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def cosine_embedding_loss(
    input1: Any,
    input2: Any,
    target: Any,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """``1 - cos(x1, x2)`` where ``target`` is 1, ``max(0, cos(x1, x2) - margin)`` where it is -1; inputs
    ``(N, D)`` or ``(D,)``, target ``(N,)`` or ``()``."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    if input1.ndim not in (1, 2) or input1.shape != input2.shape:
        raise RuntimeError(
            f"cosine_embedding_loss: inputs must be 1-D or 2-D and of one shape, got {input1.shape} and "
            f"{input2.shape}"
        )
    if target.ndim != input1.ndim - 1:
        raise RuntimeError(
            f"{input1.ndim}D target tensor expects {input1.ndim}D input tensors, but found inputs with sizes "
            f"{input1.shape} and {input2.shape}."
        )
    # torch's form: the product over the root of the product of squared norms, each padded by 1e-12
    dot = (input1 * input2).sum(-1)
    squared = ((input1 * input1).sum(-1) + 1e-12) * ((input2 * input2).sum(-1) + 1e-12)
    cos = dot / squared.sqrt()
    zeros = cos * 0
    positive = (1 - cos).where(target == 1, zeros)
    negative = (cos - margin).clamp(min=0).where(target == -1, zeros)
    return _reduce(positive + negative, reduction)


def triplet_margin_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Any:
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the ``pairwise_distance``; with ``swap``,
    ``d(a, n)`` is the smaller of it and ``d(p, n)``. Inputs ``(N, D)`` or ``(D,)``."""
    reduction = resolve_reduction(size_average, reduce, reduction)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of dimensions, "
            f"but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative {negative.ndim}D inputs"
        )
    to_positive = pairwise_distance(anchor, positive, p, eps)
    to_negative = pairwise_distance(anchor, negative, p, eps)
    if swap:
        to_negative = to_negative.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((to_positive - to_negative + margin).clamp(min=0), reduction)
