"""Batches of variable-length sequences, as ``torch.nn.utils.rnn``: padding and packing.

A ``PackedSequence`` holds ``data`` ``(N, *)``: the first step of every sequence, then the second step of
every sequence that has one, and so on, the longest sequences first; ``batch_sizes[t]`` is the number of
sequences with a step ``t``. ``sorted_indices[k]`` is the batch position of the ``k``-th longest sequence
(None when the batch came sorted) and ``unsorted_indices`` its inverse. Every conversion here is one row
gather (``index_select``), so gradients flow back through packing and padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from nnrun import _creation
from nnrun._tensor import Tensor
from nnrun.ops import indexing as _indexing
from nnrun.ops import shape as _shape


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceFields):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)``; build it with ``pack_padded_sequence`` or
    ``pack_sequence`` rather than by hand. ``batch_sizes`` is an int64 CPU tensor."""

    def __new__(
        cls,
        data: Any,
        batch_sizes: Tensor | None = None,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes)), as torch also accepts
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise TypeError("PackedSequence expects data and batch_sizes, or a (data, batch_sizes) pair")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """The same sequence with ``data`` moved or cast as ``Tensor.to``; the indices follow its device."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        device = data.device
        sorted_indices = None if self.sorted_indices is None else self.sorted_indices.to(device)
        unsorted_indices = None if self.unsorted_indices is None else self.unsorted_indices.to(device)
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, device: Any = None) -> PackedSequence:
        return self.to("cuda" if device is None else device)

    def double(self) -> PackedSequence:
        return self.to("float64")

    def float(self) -> PackedSequence:
        return self.to("float32")

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def _invert_permutation(permutation: Tensor) -> Tensor:
    xp = permutation.xp_module()
    order = permutation._data
    inverse = xp.empty_like(order)
    inverse[order] = xp.arange(order.shape[0], dtype=order.dtype)
    return Tensor._make(inverse)


def _host_lengths(lengths: Any) -> np.ndarray:
    if isinstance(lengths, Tensor):
        lengths = lengths.tolist()
    return np.asarray(lengths, dtype=np.int64).reshape(-1)


def _rows(table: Tensor, index: np.ndarray, shape: tuple[int, ...]) -> Tensor:
    """``table[index]`` (a differentiable row gather) reshaped to ``shape + table.shape[1:]``."""
    picked = _indexing.index_select(table, 0, _creation.tensor(index.reshape(-1), device=table.device))
    return picked.reshape(*shape, *table.shape[1:])


def _with_padding_row(rows: list[Tensor], padding_value: float) -> Tensor:
    """The rows stacked with one more row of ``padding_value`` at the end (its index: the row count)."""
    first = rows[0]
    pad = _creation.full((1, *first.shape[1:]), padding_value, dtype=first.dtype, device=first.device)
    return _shape.cat([*rows, pad], 0)


def pack_padded_sequence(
    input: Tensor, lengths: Any, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences of ``lengths``.

    With ``enforce_sorted`` the lengths must be decreasing; otherwise the batch is sorted here and the
    permutation kept in ``sorted_indices``.
    """
    lengths = _host_lengths(lengths)
    batch = input.shape[0 if batch_first else 1]
    steps = input.shape[1 if batch_first else 0]
    if len(lengths) != batch:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} (batch_size={batch})"
        )
    if enforce_sorted:
        if np.any(lengths[1:] > lengths[:-1]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can "
                "pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this "
                "requirement if you do not need ONNX exportability."
            )
        order = np.arange(batch)
        sorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = _creation.tensor(order, device=input.device)
    lengths = lengths[order]
    if batch and lengths[-1] <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0"
        )
    if batch and lengths[0] > steps:
        raise RuntimeError(f"a sequence length {lengths[0]} exceeds the {steps} steps of the padded input")
    time, rank = np.nonzero(np.arange(lengths[0] if batch else 0)[:, None] < lengths[None, :])
    position = order[rank] * steps + time if batch_first else time * batch + order[rank]
    table = input.reshape(steps * batch, *input.shape[2:])
    data = _rows(table, position, (len(position),))
    batch_sizes = _creation.tensor(np.bincount(time, minlength=0).astype(np.int64))
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Undo ``pack_padded_sequence``: ``(padded, lengths)``, padded ``(T, B, *)`` (``(B, T, *)`` with
    ``batch_first``) in the original batch order, ``lengths`` an int64 CPU tensor."""
    data = sequence.data
    batch_sizes = _host_lengths(sequence.batch_sizes)
    max_length = len(batch_sizes)
    if total_length is not None:
        if total_length < max_length:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in input, but got "
                f"total_length={total_length} and max sequence length being {max_length}"
            )
        max_length = total_length
    batch = int(batch_sizes[0])
    rank = np.arange(batch)
    if sequence.unsorted_indices is not None:
        rank = np.asarray(sequence.unsorted_indices.tolist(), dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)])
    steps = np.arange(max_length)[:, None]
    sizes = np.zeros(max_length, dtype=np.int64)
    sizes[: len(batch_sizes)] = batch_sizes
    inside = rank[None, :] < sizes[:, None]
    index = np.where(inside, offsets[np.minimum(steps, len(batch_sizes) - 1)] + rank[None, :], data.shape[0])
    if batch_first:
        index = index.T
    padded = _rows(_with_padding_row([data], padding_value), index, index.shape)
    lengths = (rank[:, None] < batch_sizes[None, :]).sum(axis=1)
    return padded, _creation.tensor(lengths.astype(np.int64))


def pad_sequence(
    sequences: Sequence[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences ``(L_i, *)`` into ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``), ``T`` the longest
    length, filling with ``padding_value`` on ``padding_side`` ("right" or "left")."""
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    trailing = tuple(sequences[0].shape[1:])
    for seq in sequences[1:]:
        for dim, (a, b) in enumerate(zip(trailing, seq.shape[1:]), start=1):
            if a != b:
                raise RuntimeError(
                    f"The size of tensor a ({a}) must match the size of tensor b ({b}) at non-singleton "
                    f"dimension {dim}"
                )
    lengths = np.array([seq.shape[0] for seq in sequences], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    total = int(lengths.max())
    steps = np.arange(total)[:, None]
    first = steps if padding_side == "right" else steps - (total - lengths[None, :])  # step in the sequence
    inside = (first >= 0) & (first < lengths[None, :])
    index = np.where(inside, starts[None, :] + first, int(lengths.sum()))
    if batch_first:
        index = index.T
    return _rows(_with_padding_row(sequences, padding_value), index, index.shape)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences ``(L_i, *)`` (decreasing lengths unless ``enforce_sorted=False``)."""
    lengths = [seq.shape[0] for seq in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Any, batch_first: bool = False) -> list[Tensor]:
    """The list of sequences ``(L_i, *)`` in a padded batch, the inverse of ``pad_sequence``."""
    lengths = _host_lengths(lengths)
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[i, : int(length)] for i, length in enumerate(lengths)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences in a ``PackedSequence``, the inverse of ``pack_sequence``."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
