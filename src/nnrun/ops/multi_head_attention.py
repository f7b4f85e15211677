"""``multi_head_attention_forward``: what ``nn.MultiheadAttention`` computes, as a function of its weights.

Shapes (sequence first, as PyTorch's function takes them): query ``(L, N, E)``, key ``(S, N, kdim)``, value
``(S, N, vdim)``, or the same without ``N`` for one unbatched sequence. Boolean masks mark what may NOT be
attended (True = masked), the opposite of ``scaled_dot_product_attention``'s; float masks are added to the
scores. With ``need_weights`` the weights are computed explicitly (a fully masked row gives NaN, as in
PyTorch); without, the fused attention op runs (a fully masked row gives zeros).
"""

from __future__ import annotations

import math
import warnings

from nnrun._tensor import Tensor
from nnrun.ops import activation, attention, dropout, linalg, linear, padding, shape


def canonical_mask(mask: Tensor | None, name: str, target_dtype: object) -> Tensor | None:
    """A boolean mask (True = masked) as an additive float mask (``-inf`` where masked); a float one as is."""
    if mask is None:
        return None
    if mask.dtype.name == "bool":
        return mask.new_zeros(mask.shape, dtype=target_dtype).masked_fill_(mask, -math.inf)
    if not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def _check_shapes(
    query: Tensor, key: Tensor, value: Tensor, key_padding_mask, attn_mask, num_heads: int
) -> bool:
    """Whether the input is batched; raise as PyTorch does on shapes that fit neither form."""
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                f"{key.ndim}-D and {value.ndim}-D tensors respectively"
            )
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but found "
                f"{key_padding_mask.ndim}-D tensor instead"
            )
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError(
                "For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                f"{attn_mask.ndim}-D tensor instead"
            )
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                f"{key.ndim}-D and {value.ndim}-D tensors respectively"
            )
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D but found "
                f"{key_padding_mask.ndim}-D tensor instead"
            )
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise AssertionError(
                    "For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                    f"{attn_mask.ndim}-D tensor instead"
                )
            if attn_mask.ndim == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise AssertionError(
                        f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}"
                    )
        return False
    raise AssertionError(
        f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query tensor"
    )


def _project(query, key, value, in_proj_weight, in_proj_bias, separate, q_weight, k_weight, v_weight):
    """The query, key and value projections (one matmul for self-attention with the packed weight)."""
    embed_dim = query.shape[-1]
    biases = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
    if separate:
        return (
            linear.linear(query, q_weight, biases[0]),
            linear.linear(key, k_weight, biases[1]),
            linear.linear(value, v_weight, biases[2]),
        )
    if query is key and key is value:
        packed = linear.linear(query, in_proj_weight, in_proj_bias)
        return tuple(packed[..., i * embed_dim : (i + 1) * embed_dim] for i in range(3))
    weights = in_proj_weight.chunk(3)
    return tuple(linear.linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))


def _pad_last(mask: Tensor | None) -> Tensor | None:
    return None if mask is None else padding.pad(mask, (0, 1))


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
    *,
    _batch_first: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention; returns ``(output (L, N, E), weights or None)``, the weights ``(N, L, S)`` when
    averaged over heads, ``(N, num_heads, L, S)`` when not (no ``N`` for unbatched input).

    ``_batch_first`` (nnrun's ``MultiheadAttention`` only): batched inputs and the output are ``(N, L, E)``;
    the projections then run on the inputs as they are laid out instead of on transposed views."""
    batched = _check_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = _unsqueeze_keep_identity(query, key, value)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    batch_first = _batch_first and batched
    seq_dim = 1 if batch_first else 0
    tgt_len, bsz, embed_dim = query.shape[seq_dim], query.shape[1 - seq_dim], query.shape[2]
    src_len = key.shape[seq_dim]
    if key_padding_mask is not None and attn_mask is not None and key_padding_mask.dtype != attn_mask.dtype:
        warnings.warn(
            "Support for mismatched key_padding_mask and attn_mask is deprecated. Use same type for both "
            "instead.",
            stacklevel=2,
        )
    key_padding_mask = canonical_mask(key_padding_mask, "key_padding_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer module method "
            "`generate_square_subsequent_mask` to create this mask."
        )
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the hint stands for the mask: the fused op applies it itself
    else:
        attn_mask = canonical_mask(attn_mask, "attn_mask", query.dtype)
        if key_padding_mask is not None:
            is_causal = False  # merged with the padding mask, the mask is no longer causal
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}"
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(
                f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                f"{tuple(value.shape[:2])}"
            )
    elif key.shape != value.shape:
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
    q, k, v = _project(
        query, key, value, in_proj_weight, in_proj_bias, use_separate_proj_weight,
        q_proj_weight, k_proj_weight, v_proj_weight,
    )  # fmt: skip
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be {(tgt_len, src_len)}."
                )
            attn_mask = attn_mask.unsqueeze(0)
        elif tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
            raise RuntimeError(
                f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                f"{(bsz * num_heads, tgt_len, src_len)}."
            )
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key or value.")
        repeats = (bsz, 1, 1) if batch_first else (1, bsz, 1)
        k = shape.cat([k, bias_k.repeat(*repeats)], dim=seq_dim)
        v = shape.cat([v, bias_v.repeat(*repeats)], dim=seq_dim)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    heads = bsz * num_heads
    q = _split_heads(q, num_heads, batch_first)
    k = _split_heads(k, num_heads, batch_first) if static_k is None else static_k
    v = _split_heads(v, num_heads, batch_first) if static_v is None else static_v
    if add_zero_attn:
        k = shape.cat([k, k.new_zeros((heads, 1, head_dim))], dim=1)
        v = shape.cat([v, v.new_zeros((heads, 1, head_dim))], dim=1)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(
                f"expecting key_padding_mask shape of {(bsz, src_len)}, but got {key_padding_mask.shape}"
            )
        padding_mask = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1)
        padding_mask = padding_mask.reshape(heads, 1, src_len)
        attn_mask = padding_mask if attn_mask is None else attn_mask + padding_mask
    if not training:
        dropout_p = 0.0
    if need_weights:
        scores = linalg.bmm(q * math.sqrt(1.0 / head_dim), k.transpose(-2, -1))
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = activation.softmax(scores, dim=-1)
        if dropout_p > 0.0:
            weights = dropout.dropout(weights, p=dropout_p)
        out = linalg.bmm(weights, v).reshape(bsz, num_heads, tgt_len, head_dim)
        out = _project_out(out, out_proj_weight, out_proj_bias, batch_first)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights
    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.ndim == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = attention.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = _project_out(out, out_proj_weight, out_proj_bias, batch_first)
    if not batched:
        out = out.squeeze(1)
    return out, None


def _split_heads(x: Tensor, num_heads: int, batch_first: bool) -> Tensor:
    """``(L, N, E)`` (``(N, L, E)`` when ``batch_first``) → ``(N * num_heads, L, E / num_heads)``."""
    if batch_first:
        batch, length, embed_dim = x.shape
        x = x.reshape(batch, length, num_heads, embed_dim // num_heads).transpose(1, 2)
        return x.reshape(batch * num_heads, length, embed_dim // num_heads)
    length, batch, embed_dim = x.shape
    return x.reshape(length, batch * num_heads, embed_dim // num_heads).transpose(0, 1)


def _project_out(heads: Tensor, weight: Tensor, bias: Tensor | None, batch_first: bool) -> Tensor:
    """The heads ``(N, num_heads, L, head_dim)`` joined and projected: ``(L, N, E)`` or ``(N, L, E)``."""
    num_heads, head_dim = heads.shape[1], heads.shape[3]
    joined = heads.transpose(1, 2) if batch_first else heads.permute(2, 0, 1, 3)
    joined = joined.reshape(*joined.shape[:2], num_heads * head_dim)
    return linear.linear(joined, weight, bias)


def _unsqueeze_keep_identity(query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(L, E)`` → ``(L, 1, E)`` for each, keeping ``query is key`` and ``key is value`` where they held (the
    packed projection of self-attention depends on it)."""
    q = query.unsqueeze(1)
    k = q if key is query else key.unsqueeze(1)
    v = k if value is key else value.unsqueeze(1)
    return q, k, v
