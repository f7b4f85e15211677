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
