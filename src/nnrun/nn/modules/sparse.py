"""``Embedding``: a lookup table of ``num_embeddings`` learnable vectors."""

from __future__ import annotations

from typing import Any

from nnrun import _creation
from nnrun._tensor import Tensor
from nnrun.autograd.grad_mode import no_grad
from nnrun.nn import functional as F
from nnrun.nn import init
from nnrun.nn.module import Module
from nnrun.nn.parameter import Parameter


def _padding_row(
    padding_idx: int | None, num_embeddings: int, error: type[Exception], message: str
) -> int | None:
    """``padding_idx`` as a row of the table (negative counts from the end); ``error(message)`` outside it."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise error(message)
    return padding_idx % num_embeddings


def _table(
    num_embeddings: int,
    embedding_dim: int,
    _weight: Tensor | None,
    requires_grad: bool,
    error: type[Exception],
    device: Any,
    dtype: Any,
) -> Parameter:
    """The ``(num_embeddings, embedding_dim)`` weight: ``_weight`` when given (checked), else empty."""
    if _weight is None:
        data = _creation.empty((num_embeddings, embedding_dim), device=device, dtype=dtype)
        return Parameter(data, requires_grad=requires_grad)
    if tuple(_weight.shape) != (num_embeddings, embedding_dim):
        raise error("Shape of weight does not match num_embeddings and embedding_dim")
    return Parameter(_weight, requires_grad=requires_grad)


class _EmbeddingTable(Module):
    """What Embedding and EmbeddingBag share: ``weight`` starts as N(0, 1), its ``padding_idx`` row zero."""

    padding_idx: int | None
    weight: Parameter

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)


class Embedding(_EmbeddingTable):
    """Integer indices ``(*)`` → rows of ``weight`` ``(num_embeddings, dim)``, ``(*, dim)``.

    ``weight`` starts as N(0, 1), with the ``padding_idx`` row zero (and kept out of training).
    """

    num_embeddings: int
    embedding_dim: int
    padding_idx: int | None
    max_norm: float | None
    norm_type: float
    scale_grad_by_freq: bool
    sparse: bool
    weight: Parameter

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        padding_idx = _padding_row(
            padding_idx, num_embeddings, ValueError, "Padding_idx must be within num_embeddings"
        )
        if sparse:
            raise NotImplementedError(
                "Embedding: sparse gradients are not supported by nnrun; use sparse=False"
            )
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        self.weight = _table(num_embeddings, embedding_dim, _weight, not _freeze, ValueError, device, dtype)
        if _weight is None:
            self.reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += ", scale_grad_by_freq=True"
        return text

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An ``Embedding`` whose weight is ``embeddings`` ``(num_embeddings, dim)``, frozen by default."""
        if embeddings.dim() != 2:
            raise ValueError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return cls(
            rows,
            cols,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
            _weight=embeddings,
            _freeze=freeze,
        )


class EmbeddingBag(_EmbeddingTable):
    """Bags of indices → the sum, mean or max of their rows of ``weight`` ``(num_embeddings, dim)``.

    ``forward(input, offsets=None, per_sample_weights=None)``: ``input`` ``(B, L)``, or ``(N,)`` with
    ``offsets`` ``(B,)`` (see ``nn.functional.embedding_bag``); output ``(B, dim)``. ``weight`` starts as
    N(0, 1), with the ``padding_idx`` row zero (its indices are left out of every bag).
    """

    num_embeddings: int
    embedding_dim: int
    max_norm: float | None
    norm_type: float
    scale_grad_by_freq: bool
    mode: str
    sparse: bool
    include_last_offset: bool
    padding_idx: int | None
    weight: Parameter

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Tensor | None = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        padding_idx = _padding_row(
            padding_idx, num_embeddings, AssertionError, "padding_idx must be within num_embeddings"
        )
        if sparse:
            raise NotImplementedError(
                "EmbeddingBag: sparse gradients are not supported by nnrun; use sparse=False"
            )
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.padding_idx = padding_idx
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset
        self.weight = _table(num_embeddings, embedding_dim, _weight, True, AssertionError, device, dtype)
        if _weight is None:
            self.reset_parameters()

    def forward(
        self, input: Tensor, offsets: Tensor | None = None, per_sample_weights: Tensor | None = None
    ) -> Tensor:
        return F.embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.mode,
            self.sparse,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += ", scale_grad_by_freq=True"
        text += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:
        """An ``EmbeddingBag`` whose weight is ``embeddings`` ``(num_embeddings, dim)``, frozen by default."""
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        bag = cls(
            rows,
            cols,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            mode=mode,
            sparse=sparse,
            _weight=embeddings,
            include_last_offset=include_last_offset,
            padding_idx=padding_idx,
        )
        bag.weight.requires_grad = not freeze
        return bag
