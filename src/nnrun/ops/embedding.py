"""Index lookups: ``embedding`` (rows of a weight matrix, gradient scattered back) and ``one_hot``."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun import _backend
from nnrun._tensor import Tensor, type_name
from nnrun.autograd.function import Function
from nnrun.autograd.grad_mode import no_grad


class Embedding(Function):
    """``y = weight[indices]``; backward adds each output row's gradient onto the row it came from."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        ctx.options = (weight.shape, padding_idx, scale_grad_by_freq)
        if ctx.xp is np:  # indices checked by embedding()
            ctx.save_for_backward(indices)
            return weight[indices]
        # on a GPU an index out of range is not checked on the host (that would wait for the device every
        # step): its row comes out NaN, in the spirit of PyTorch's device-side assert
        outside = (indices < 0) | (indices >= weight.shape[0])
        indices = ctx.xp.where(outside, 0, indices)
        ctx.save_for_backward(indices)
        return ctx.xp.where(outside[..., None], np.nan, weight[indices]).astype(weight.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        xp = ctx.xp
        (indices,) = ctx.saved_tensors
        shape, padding_idx, scale_grad_by_freq = ctx.options
        flat = indices.reshape(-1)
        rows = grad_out.reshape(-1, shape[1])
        if scale_grad_by_freq:  # each row's gradient divided by how often its index occurs in the batch
            counts = xp.bincount(flat, minlength=shape[0])
            rows = rows / counts[flat][:, None].astype(rows.dtype)
        grad_weight = xp.zeros(shape, dtype=grad_out.dtype)
        _backend.scatter_add(grad_weight, flat, rows)
        if padding_idx is not None:
            grad_weight[padding_idx] = 0  # the padding row never learns
        return grad_weight, None, None, None


def _check_indices(input: Any, name: str) -> None:
    if input._data.dtype.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, "
            f"Int; but got {type_name(input._data)} instead (while checking arguments for {name})"
        )


def _renorm_(weight: Any, indices: Any, max_norm: float, norm_type: float) -> None:
    """Rescale, in place and outside autograd, the looked-up rows whose norm exceeds ``max_norm``."""
    xp = weight.xp_module()
    rows = xp.unique(indices._data)
    data = weight._data
    norms = (xp.abs(data[rows]) ** norm_type).sum(axis=1) ** (1 / norm_type)
    too_long = norms > max_norm
    scale = max_norm / (norms[too_long] + 1e-7)
    data[rows[too_long]] *= scale[:, None].astype(data.dtype)
    weight._bump_version()


def embedding(
    input: Any,
    weight: Any,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Any:
    """Rows of ``weight`` ``(num_embeddings, dim)`` picked by integer ``input`` ``(*)``; output ``(*, dim)``.

    ``padding_idx``'s row gets no gradient; ``max_norm`` renormalises the looked-up rows of ``weight`` in
    place first.
    """
    _check_indices(input, "embedding")
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported by nnrun; use sparse=False")
    if weight.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D, got {weight.ndim}-D")
    num_embeddings = weight.shape[0]
    if padding_idx is not None:
        if not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError("Padding_idx must be within num_embeddings")
        padding_idx %= num_embeddings
    index = input._data
    on_cpu = type(index) is np.ndarray
    if on_cpu and index.size and (int(index.min()) < 0 or int(index.max()) >= num_embeddings):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        with no_grad():
            _renorm_(weight, input, max_norm, norm_type)
    return Embedding.apply(weight, input, padding_idx, scale_grad_by_freq)


def one_hot(tensor: Any, num_classes: int = -1) -> Any:
    """``(*)`` int64 class indices → ``(*, num_classes)`` int64 rows of zeros with a one at each index."""
    index = tensor._data
    if index.dtype.name != "int64":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = tensor.xp_module()
    if num_classes == -1:
        if index.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(index.max()) + 1
    if index.size:
        if int(index.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(index.max()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = xp.zeros((index.size, num_classes), dtype=index.dtype)
    out[xp.arange(index.size), index.reshape(-1)] = 1
    return Tensor._make(out.reshape(*index.shape, num_classes))


class EmbeddingBag(Function):
    """Bags of rows of ``weight`` reduced to one row each; ``bags[i]`` is the bag of ``indices[i]``.

    With ``s_i`` the per-sample weight (1 without), ``n_b`` the size of bag ``b`` and ``g`` the gradient of
    the output, summed over the ``i`` of bag ``b`` (an index equal to ``padding_idx`` counts in none):

    - sum:  ``out[b] = sum_i s_i W[idx_i]``; ``dW[idx_i] += s_i g[b]``, ``ds_i = <g[b], W[idx_i]>``
    - mean: ``out[b] = sum_i W[idx_i] / n_b``; ``dW[idx_i] += g[b] / n_b``
    - max:  ``out[b, d] = max_i W[idx_i, d]``; ``g[b, d]`` goes to the row that gave the maximum

    An empty bag gives zeros. ``starts`` holds each bag's first position; a last entry past ``num_bags``
    (``include_last_offset``) starts a bag that collects the indices after the last offset, then dropped.
    """

    _edge_slots = (0, 4)  # weight, per_sample_weights

    @staticmethod
    def forward(ctx, weight, indices, bags, starts, per_sample_weights, options):
        xp = ctx.xp
        num_bags, mode, padding_idx, scale_grad_by_freq, longest = options
        all_bags, width = starts.shape[0], weight.shape[1]
        keep = xp.ones(indices.shape, dtype=bool) if padding_idx is None else indices != padding_idx
        kept = keep.astype(weight.dtype)
        counts = xp.zeros(all_bags, dtype=weight.dtype)
        _backend.scatter_add(counts, bags, kept)
        looked_up = weight[indices]
        ctx.mode, ctx.num_bags, ctx.all_bags, ctx.weight_shape = mode, num_bags, all_bags, weight.shape
        ctx.indices, ctx.bags, ctx.kept = indices, bags, kept
        ctx.frequency = None
        if scale_grad_by_freq:  # each index's gradient divided by how often it occurs in the bags
            frequency = xp.zeros(weight.shape[0], dtype=weight.dtype)
            _backend.scatter_add(frequency, indices, kept)
            ctx.frequency = xp.maximum(frequency[indices], 1)
        if mode == "max":
            return _bag_max(ctx, xp, looked_up, keep, counts, starts, longest)[:num_bags]
        scale = kept if per_sample_weights is None else kept * per_sample_weights.astype(weight.dtype)
        if mode == "mean":
            scale = scale / xp.maximum(counts, 1)[bags]
        ctx.scale = scale
        if ctx.needs_input_grad[4]:
            ctx.save_for_backward(weight)
        out = xp.zeros((all_bags, width), dtype=weight.dtype)
        _backend.scatter_add(out, bags, looked_up * scale[:, None])
        return out[:num_bags]

    @staticmethod
    def backward(ctx, grad_out):
        xp = ctx.xp
        if ctx.all_bags > ctx.num_bags:  # the bag after the last offset gets no gradient
            grad_out = xp.concatenate([grad_out, xp.zeros((1, grad_out.shape[1]), dtype=grad_out.dtype)])
        grad_weight = grad_samples = None
        if ctx.mode == "max":
            grad = xp.where(ctx.filled, grad_out, 0)
            if ctx.frequency is not None:
                grad = grad / ctx.frequency[ctx.source]
            grad_weight = xp.zeros(ctx.weight_shape, dtype=grad_out.dtype)
            columns = xp.broadcast_to(xp.arange(grad.shape[1]), grad.shape)
            _backend.scatter_add(grad_weight, (ctx.indices[ctx.source], columns), grad)
            return grad_weight, None, None, None, None, None
        bag_grad = grad_out[ctx.bags]  # (N, dim): the gradient of each index's bag
        if ctx.needs_input_grad[0]:
            scale = ctx.scale if ctx.frequency is None else ctx.scale / ctx.frequency
            grad_weight = xp.zeros(ctx.weight_shape, dtype=grad_out.dtype)
            _backend.scatter_add(grad_weight, ctx.indices, bag_grad * scale[:, None])
        if ctx.needs_input_grad[4]:
            (weight,) = ctx.saved_tensors
            grad_samples = (bag_grad * weight[ctx.indices]).sum(axis=1) * ctx.kept
        return grad_weight, None, None, None, grad_samples, None


def _bag_max(
    ctx: Function, xp: Any, looked_up: Any, keep: Any, counts: Any, starts: Any, longest: int | None
) -> Any:
    """Per bag and column the largest looked-up value, via a dense ``(bags, longest bag, dim)`` block;
    ``longest`` is known for a 2-D input, else read from the positions (one number back from a GPU)."""
    positions = looked_up.shape[0]
    all_bags, width = starts.shape[0], looked_up.shape[1]
    position = xp.arange(positions) - starts[ctx.bags]
    if longest is None:
        longest = int(position.max()) + 1 if positions else 1
    longest = max(longest, 1)
    dense = xp.full((all_bags, longest, width), -xp.inf, dtype=looked_up.dtype)
    dense[ctx.bags, position] = xp.where(keep[:, None], looked_up, -xp.inf)
    best = dense.argmax(axis=1)  # (bags, dim)
    out = xp.take_along_axis(dense, best[:, None, :], axis=1)[:, 0, :]
    ctx.filled = counts[:, None] > 0
    ctx.source = xp.minimum(starts[:, None] + best, max(positions - 1, 0))  # each maximum's position
    if positions == 0:
        ctx.indices = xp.zeros(1, dtype=ctx.indices.dtype)
    return xp.where(ctx.filled, out, 0).astype(looked_up.dtype, copy=False)


_BAG_MODES = ("sum", "mean", "max")


def embedding_bag(
    input: Any,
    weight: Any,
    offsets: Any = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Any = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Any:
    """Sums, means or maxima of bags of ``weight``'s rows ``(num_embeddings, dim)``: ``(bags, dim)``.

    ``input`` is ``(B, L)`` (B bags of L indices) or ``(N,)`` with ``offsets`` ``(B,)``, each bag's first
    position (``(B + 1,)`` with ``include_last_offset``, its last entry the end of the last bag).
    ``per_sample_weights`` (input's shape, mode ``'sum'`` only) scales each row; indices equal to
    ``padding_idx`` are left out (a bag of only those gives zeros, as an empty one).
    """
    _check_indices(input, "embedding_bag")
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a mini-batch of fixed "
                f"length sequences. However, found offsets of type {_class_text(offsets)}"
            )
        xp = input.xp_module()
        bags, length = input.shape
        starts = xp.arange(0, bags * length, length, dtype=xp.int64) if length else xp.zeros(bags, xp.int64)
        indices = input._data.reshape(-1)
        include_last_offset = False
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts, indices = offsets._data.astype("int64", copy=False), input._data
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    if mode not in _BAG_MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for "
                f"mode='sum' (got mode='{mode}'). Please open a feature request on GitHub."
            )
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(
                f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it "
                f"must have the same shape as the input ({input.shape})"
            )
        if input.ndim == 2:
            per_sample_weights = per_sample_weights.reshape(-1)
    if sparse:
        raise NotImplementedError(
            "embedding_bag: sparse gradients are not supported by nnrun; use sparse=False"
        )
    num_embeddings = weight.shape[0]
    if padding_idx is not None:
        if not -num_embeddings <= padding_idx < num_embeddings:
            raise RuntimeError(
                f"padding_idx must be within the number of embeddings, -{num_embeddings} through "
                f"{num_embeddings - 1}, but got {padding_idx}"
            )
        padding_idx %= num_embeddings
    if type(indices) is np.ndarray:  # checked on the CPU only (on a GPU it would wait for the device)
        _check_bags(indices, starts, num_embeddings)
    num_bags = starts.shape[0] - 1 if include_last_offset else starts.shape[0]
    if include_last_offset and num_bags < 0:
        raise ValueError("include_last_offset: number of offsets should be at least 1")
    xp = _backend.array_module(indices)
    # each index's bag: the last bag starting at or before its position
    bags = xp.searchsorted(starts, xp.arange(indices.shape[0]), side="right") - 1
    if max_norm is not None:
        with no_grad():
            _renorm_(weight, Tensor._make(indices), max_norm, norm_type)
    longest = input.shape[1] if input.ndim == 2 else None
    options = (num_bags, mode, padding_idx, bool(scale_grad_by_freq), longest)
    return EmbeddingBag.apply(weight, indices, bags, starts, per_sample_weights, options)


def _check_bags(indices: Any, starts: Any, num_embeddings: int) -> None:
    if starts.size:
        if starts[0] != 0:
            raise RuntimeError(
                "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                f"position 0. However, got {int(starts[0])}"
            )
        if starts[-1] > indices.shape[0]:
            raise RuntimeError(
                f"offsets[-1] can not be greater than input's length {indices.shape[0]} but got "
                f"offsets[-1] of {int(starts[-1])}"
            )
        if (np.diff(starts) < 0).any():
            raise RuntimeError(f"offsets must be non-decreasing, got {starts.tolist()}")
    outside = np.flatnonzero((indices < 0) | (indices >= num_embeddings))
    if outside.size:
        i = int(outside[0])
        raise RuntimeError(
            f"Index {i} of input takes value {int(indices[i])} which is not in the valid range "
            f"[0, {num_embeddings})"
        )


def _class_text(value: Any) -> str:
    """How torch's messages show a value's class, ``<class 'nnrun.Tensor'>`` for a tensor."""
    return "<class 'nnrun.Tensor'>" if isinstance(value, Tensor) else str(type(value))
