"""Flatten parameters into one vector and back, as ``torch.nn.utils``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nnrun._tensor import Tensor
from nnrun.ops.shape import cat


def _check_same_device(param: Tensor, device: Any) -> Any:
    if device is not None and param.device != device:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return param.device


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All ``parameters`` flattened and concatenated in order: shape ``(total numel,)``.

    Differentiable: gradients flow back to the parameters.
    """
    device = None
    flat = []
    for param in parameters:
        device = _check_same_device(param, device)
        flat.append(param.reshape(-1))
    return cat(flat)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` ``(total numel,)`` into ``parameters`` (their ``.data`` then
    shares ``vec``'s memory, as in PyTorch)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected nnrun.Tensor, but got: {type(vec).__name__}")
    device = None
    start = 0
    for param in parameters:
        device = _check_same_device(param, device)
        count = param.numel()
        param.data = Tensor._make(vec._data[start : start + count].reshape(param.shape))
        start += count
