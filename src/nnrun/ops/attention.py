"""Scaled dot-product attention as one node: scores, mask, stable softmax, dropout and the weighted sum of
values in one forward, with one hand-written backward.

With ``s = scale q kᵀ + m`` (``m`` the additive mask; ``-inf`` where a boolean mask says no),
``p = softmax(s)``, ``d`` the dropout mask (0 or ``1/(1-p_drop)``) and ``o = (p d) v``:
``dv = (p d)ᵀ g``, ``dp = (g vᵀ) d``, ``ds = p (dp - sum(dp p))`` along the keys, ``dm = ds``,
``dq = scale ds k``, ``dk = scale dsᵀ q``. A row every key of which is masked gives zeros, as PyTorch does.
"""

from __future__ import annotations

import math
from typing import Any

from nnrun import _random
from nnrun._tensor import Tensor
from nnrun.autograd.function import Function
from nnrun.ops._broadcast import check_broadcastable, unbroadcast


class ScaledDotProductAttention(Function):
    """``softmax(scale q kᵀ + mask) v`` over ``(..., L, E)`` queries, ``(..., S, E)`` keys and
    ``(..., S, Ev)`` values; ``mask`` is None, boolean (True takes part) or additive; ``dropout`` None or an
    array shaped like the weights holding 0 or ``1/(1-p)``; each key/value head serves ``groups`` query heads
    (grouped-query attention)."""

    @staticmethod
    def forward(ctx, q, k, v, mask, dropout, scale, causal, groups):
        xp = ctx.xp
        shapes = (q.shape, k.shape, v.shape, None if mask is None else mask.shape)
        if groups > 1:  # grouped-query attention: each key/value head serves `groups` query heads
            k, v = xp.repeat(k, groups, axis=-3), xp.repeat(v, groups, axis=-3)
        q_scaled = q * q.dtype.type(scale)
        p = xp.matmul(q_scaled, k.swapaxes(-1, -2))
        may_empty = causal or mask is not None
        if causal:  # query i sees keys j <= i (the top-left aligned lower triangle)
            length, source = p.shape[-2:]
            keep = xp.tril(xp.ones((length, source), dtype=bool))
            p = xp.where(keep, p, p.dtype.type(-math.inf))
        if mask is not None:
            p = xp.where(mask, p, p.dtype.type(-math.inf)) if mask.dtype == bool else p + mask
        peak = p.max(axis=-1, keepdims=True)
        if may_empty:
            peak = xp.where(xp.isfinite(peak), peak, 0)  # a fully masked row: exp(-inf) = 0 everywhere
        p -= peak
        xp.exp(p, out=p)
        total = p.sum(axis=-1, keepdims=True)
        if may_empty:
            total = xp.where(total == 0, 1, total).astype(p.dtype, copy=False)
        p /= total
        weights = p if dropout is None else p * dropout
        ctx.save_for_backward(q_scaled, k, v, p, dropout)
        ctx.shapes, ctx.scale, ctx.groups = shapes, scale, groups
        ctx.mask_is_float = mask is not None and mask.dtype != bool
        return xp.matmul(weights, v)

    @staticmethod
    def backward(ctx, grad_out):
        q_scaled, k, v, p, dropout = ctx.saved_tensors
        xp = ctx.xp
        q_shape, k_shape, v_shape, mask_shape = ctx.shapes
        needs_q, needs_k, needs_v, needs_mask = ctx.needs_input_grad[:4]
        grad_q = grad_k = grad_v = grad_mask = None
        if needs_v:
            weights = p if dropout is None else p * dropout
            grad_v = ctx.gather(xp.matmul(weights.swapaxes(-1, -2), grad_out), v_shape)
        if not (needs_q or needs_k or needs_mask):
            return grad_q, grad_k, grad_v, None, None, None, None, None
        grad_p = xp.matmul(grad_out, v.swapaxes(-1, -2))
        if dropout is not None:
            grad_p *= dropout
        # softmax: ds = p (dp - sum(dp p))
        grad_s = grad_p
        grad_s -= (grad_p * p).sum(axis=-1, keepdims=True)
        grad_s *= p
        if needs_mask and ctx.mask_is_float:
            grad_mask = unbroadcast(grad_s, mask_shape)
        if needs_q:
            grad_q = unbroadcast(xp.matmul(grad_s, k), q_shape)
            grad_q *= grad_q.dtype.type(ctx.scale)
        if needs_k:
            grad_k = ctx.gather(xp.matmul(grad_s.swapaxes(-1, -2), q_scaled), k_shape)
        return grad_q, grad_k, grad_v, grad_mask, None, None, None, None

    def gather(self, grad: Any, shape: tuple[int, ...]) -> Any:
        """A key's or value's gradient: summed over the query heads that shared it, then over broadcasting."""
        if self.groups > 1:
            grad = grad.reshape(*grad.shape[:-3], -1, self.groups, *grad.shape[-2:]).sum(axis=-3)
        return unbroadcast(grad, shape)


def _check(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None, is_causal: bool) -> None:
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
            f"{query.ndim} key.dim: {key.ndim} and value.dim: {value.ndim} instead."
        )
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{query.dtype} key.dtype: {key.dtype} and value.dtype: {value.dtype} instead."
        )
    if query._data.dtype.kind != "f":
        raise RuntimeError(f"scaled_dot_product_attention expects floating-point inputs, got {query.dtype}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(
            "scaled_dot_product_attention: query and key need the same last dimension, got "
            f"{query.shape[-1]} and {key.shape[-1]}"
        )
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(
            f"scaled_dot_product_attention: key and value need the same length (dim -2), got {key.shape[-2]} "
            f"and {value.shape[-2]}"
        )
    if attn_mask is None:
        return
    if is_causal:
        raise RuntimeError(
            "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True"
        )
    if attn_mask.dtype.name != "bool" and attn_mask.dtype != query.dtype:
        raise RuntimeError(
            "Expected attn_mask dtype to be bool or float or to match query dtype, but got attn_mask.dtype: "
            f"{attn_mask.dtype} and  query.dtype: {query.dtype} instead."
        )


def _groups(query: Tensor, key: Tensor, value: Tensor, enable_gqa: bool) -> int:
    """How many query heads share one key/value head (1 unless ``enable_gqa``)."""
    if not enable_gqa or query.ndim < 3 or key.ndim < 3:
        return 1
    heads, key_heads, value_heads = query.shape[-3], key.shape[-3], value.shape[-3]
    if heads % key_heads or heads % value_heads or key_heads != value_heads:
        raise RuntimeError(
            "Number of heads in key and value must divide the number of heads in query, got query heads "
            f"{heads}, key heads {key_heads} and value heads {value_heads}"
        )
    return heads // key_heads


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """``softmax(query keyᵀ scale + mask) value``, dropout applied to the weights when ``dropout_p > 0``.

    Shapes: query ``(..., L, E)``, key ``(..., S, E)``, value ``(..., S, Ev)``, batch dims broadcast; output
    ``(..., L, Ev)``. ``attn_mask`` broadcasts to ``(..., L, S)``: boolean (True = may attend) or added to the
    scores. ``is_causal``: query ``i`` attends to keys ``j <= i``. ``scale`` defaults to ``1/sqrt(E)``.
    ``enable_gqa``: key/value heads (dim -3) may divide the query heads.
    """
    _check(query, key, value, attn_mask, is_causal)
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    groups = _groups(query, key, value, enable_gqa)
    key_batch = tuple(key.shape[:-2])
    check_broadcastable(key_batch, tuple(value.shape[:-2]))
    if groups > 1:
        key_batch = (*key_batch[:-1], key_batch[-1] * groups)
    check_broadcastable(tuple(query.shape[:-2]), key_batch)
    weights_shape = (*_broadcast_shape(tuple(query.shape[:-2]), key_batch), query.shape[-2], key.shape[-2])
    if attn_mask is not None:
        check_broadcastable(weights_shape, tuple(attn_mask.shape))
        weights_shape = _broadcast_shape(weights_shape, tuple(attn_mask.shape))
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    dropout = None
    if dropout_p > 0:
        dropout = _dropout_mask(query, weights_shape, dropout_p)
    return ScaledDotProductAttention.apply(query, key, value, attn_mask, dropout, scale, is_causal, groups)


def _broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    ndim = max(len(a), len(b))
    a, b = (1,) * (ndim - len(a)) + a, (1,) * (ndim - len(b)) + b
    return tuple(max(x, y) if min(x, y) != 0 else 0 for x, y in zip(a, b))


def _dropout_mask(query: Tensor, shape: tuple[int, ...], p: float) -> Any:
    """0 with probability ``p``, else ``1/(1-p)``, as an array on the query's device."""
    dtype = query._data.dtype
    rng = _random.default_generator.array_generator(query.device)
    keep = rng.random(shape, dtype=dtype if dtype.itemsize >= 4 else "float32") >= p  # all False when p = 1
    return keep * dtype.type(0 if p == 1 else 1 / (1 - p))
