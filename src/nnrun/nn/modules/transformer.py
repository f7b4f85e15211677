"""The Transformer (Vaswani et al. 2017): encoder and decoder layers, their stacks, and ``Transformer``.

Sequences are ``(S, N, E)`` (``(N, S, E)`` with ``batch_first``; no ``N`` for one unbatched sequence).
Masks follow ``MultiheadAttention``: a boolean mask marks what may NOT be attended, a float one is added to
the scores. Children, parameter names and initialisation are PyTorch's, so its state dicts load.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from nnrun import _creation
from nnrun._tensor import Tensor
from nnrun.nn import functional as F
from nnrun.nn import init
from nnrun.nn.containers import ModuleList
from nnrun.nn.module import Module
from nnrun.nn.modules.attention import MultiheadAttention
from nnrun.nn.modules.dropout import Dropout
from nnrun.nn.modules.linear import Linear
from nnrun.nn.modules.normalization import LayerNorm


def _activation(activation: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if isinstance(activation, str) or not callable(activation):
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    return activation


def _clones(module: Module, count: int) -> ModuleList:
    return ModuleList([copy.deepcopy(module) for _ in range(count)])


class _LayerBlocks:
    """The blocks both layers share: self-attention ``dropout1(self_attn(x, x, x))`` and the position-wise
    feed-forward ``linear2(dropout(activation(linear1(x))))``."""

    self_attn: MultiheadAttention
    dropout1: Dropout
    linear1: Linear
    dropout: Dropout
    linear2: Linear
    activation: Callable[[Tensor], Tensor]

    def _build_feedforward(self, d_model, dim_feedforward, dropout, bias, device, dtype) -> None:
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, device=device, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, device=device, dtype=dtype)

    def _feedforward(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))

    def _self_attention(self, x: Tensor, mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        out = self.self_attn(
            x,
            x,
            x,
            attn_mask=mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(out)


class TransformerEncoderLayer(_LayerBlocks, Module):
    """Self-attention then a feed-forward block, each wrapped in a residual connection and a LayerNorm
    (after the sum, or before the block with ``norm_first``). ``(S, N, d_model)`` → same shape."""

    norm_first: bool

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, device=device, dtype=dtype
        )
        self._build_feedforward(d_model, dim_feedforward, dropout, bias, device, dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self.dropout2(self._feedforward(self.norm2(x)))
        x = self.norm1(x + self._self_attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self.dropout2(self._feedforward(x)))


class TransformerDecoderLayer(_LayerBlocks, Module):
    """Self-attention over the target, attention to the encoder's output (``memory``), then a feed-forward
    block; each with a residual connection and a LayerNorm. ``(T, N, d_model)`` → same shape."""

    norm_first: bool

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        options = {
            "dropout": dropout,
            "bias": bias,
            "batch_first": batch_first,
            "device": device,
            "dtype": dtype,
        }
        self.self_attn = MultiheadAttention(d_model, nhead, **options)
        self.multihead_attn = MultiheadAttention(d_model, nhead, **options)
        self._build_feedforward(d_model, dim_feedforward, dropout, bias, device, dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = tgt
        target = (tgt_mask, tgt_key_padding_mask, tgt_is_causal)
        source = (memory_mask, memory_key_padding_mask, memory_is_causal)
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), *target)
            x = x + self._memory_attention(self.norm2(x), memory, *source)
            return x + self.dropout3(self._feedforward(self.norm3(x)))
        x = self.norm1(x + self._self_attention(x, *target))
        x = self.norm2(x + self._memory_attention(x, memory, *source))
        return self.norm3(x + self.dropout3(self._feedforward(x)))

    def _memory_attention(
        self, x: Tensor, memory: Tensor, mask: Any, key_padding_mask: Any, is_causal: bool
    ) -> Tensor:
        out = self.multihead_attn(
            x, memory, memory, attn_mask=mask, key_padding_mask=key_padding_mask, is_causal=is_causal,
            need_weights=False,
        )[0]  # fmt: skip
        return self.dropout2(out)


def _is_causal_mask(mask: Tensor | None, is_causal: bool | None, size: int | None = None) -> bool:
    """``is_causal`` when given; otherwise whether ``mask`` is the square subsequent mask of its size."""
    if is_causal is not None:
        return is_causal
    if mask is None:
        return False
    size = mask.shape[-2] if size is None else size
    if tuple(mask.shape) != (size, size):
        return False
    causal = Transformer.generate_square_subsequent_mask(size, device=mask.device, dtype=mask.dtype)
    return bool((mask == causal).all().item())


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer`` (children ``layers.0``, …), then ``norm`` if given.
    ``enable_nested_tensor`` and ``mask_check`` are accepted for PyTorch's signature; nnrun has no nested
    tensors, so padded positions keep their computed values."""

    num_layers: int

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        is_causal = _is_causal_mask(mask, is_causal, _sequence_length(self, src))
        output = src
        for layer in self.layers:
            output = layer(
                output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask
            )
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """``num_layers`` deep copies of ``decoder_layer`` (children ``layers.0``, …), then ``norm`` if given."""

    num_layers: int

    def __init__(
        self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None
    ) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        tgt_is_causal = _is_causal_mask(tgt_mask, tgt_is_causal, _sequence_length(self, tgt))
        output = tgt
        for layer in self.layers:
            output = layer(
                output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal,
            )  # fmt: skip
        return output if self.norm is None else self.norm(output)


def _sequence_length(stack: Module, x: Tensor) -> int:
    """The length of ``x``'s sequence dim: 1 when the stack's first layer takes batch-first 3-D input."""
    attention = getattr(stack.layers[0], "self_attn", None) if len(stack.layers) else None
    batch_first = x.ndim == 3 and bool(getattr(attention, "batch_first", False))
    return x.shape[1 if batch_first else 0]


class Transformer(Module):
    """An encoder-decoder Transformer: ``src`` ``(S, N, E)`` and ``tgt`` ``(T, N, E)`` → ``(T, N, E)``
    (batch first with ``batch_first``). Every parameter of more than one dimension starts Xavier-uniform."""

    d_model: int
    nhead: int
    batch_first: bool

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = F.relu,
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        options = {
            "dim_feedforward": dim_feedforward, "dropout": dropout, "activation": activation,
            "layer_norm_eps": layer_norm_eps, "batch_first": batch_first, "norm_first": norm_first,
            "bias": bias, "device": device, "dtype": dtype,
        }  # fmt: skip
        norm = {"eps": layer_norm_eps, "bias": bias, "device": device, "dtype": dtype}
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, **options)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, LayerNorm(d_model, **norm))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, **options)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, LayerNorm(d_model, **norm))
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def _reset_parameters(self) -> None:
        for parameter in self.parameters():
            if parameter.ndim > 1:
                init.xavier_uniform_(parameter)

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        batched = src.ndim == 3
        batch_dim = 0 if self.batch_first else 1
        if batched and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal,
        )  # fmt: skip

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """A ``(sz, sz)`` float mask: 0 on and below the diagonal, ``-inf`` above (position i sees j <= i)."""
        return _creation.full((sz, sz), -math.inf, device=device, dtype=dtype).triu(diagonal=1)
