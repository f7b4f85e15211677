"""``default_collate``: merge a list of samples into a batch, with torch's rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nnrun import _backend
from nnrun._tensor import Tensor


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples the way ``torch.utils.data.default_collate`` does.

    Tensors and arrays are stacked along a new first dimension; Python ints become an int64 tensor, floats a
    float64 tensor, bools a bool tensor; strings are returned as given; dicts and sequences are collated field
    by field (a sequence becomes a list, a namedtuple keeps its type).
    """
    if len(batch) == 0:
        raise ValueError("default_collate: the batch is empty")
    first = batch[0]
    if isinstance(first, Tensor):
        xp = _backend.array_module(first._data)
        return Tensor._make(xp.stack([sample._data for sample in batch]))
    if isinstance(first, np.ndarray):
        if first.dtype.kind in "OSU":
            raise TypeError(f"default_collate: arrays of dtype {first.dtype} cannot become a tensor")
        return Tensor._make(np.stack(batch))
    if isinstance(first, np.generic):
        return Tensor._make(np.array(batch))
    if isinstance(first, bool):
        return Tensor._make(np.array(batch, dtype=np.bool_))
    if isinstance(first, int):
        return Tensor._make(np.array(batch, dtype=np.int64))
    if isinstance(first, float):
        return Tensor._make(np.array(batch, dtype=np.float64))
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # namedtuple
        return type(first)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(first, Sequence):
        if any(len(sample) != len(first) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(field) for field in zip(*batch)]  # a list for tuples too, as in torch
    raise TypeError(
        f"default_collate: batch must contain tensors, arrays, numbers, dicts or lists; "
        f"found {type(first).__name__}"
    )
