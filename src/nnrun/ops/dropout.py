"""Dropout: zero elements (or whole channels) at random and scale the survivors by ``1 / (1 - p)``."""

from __future__ import annotations

import warnings
from typing import Any

from nnrun import _random
from nnrun.autograd.function import Function
from nnrun.autograd.inplace import apply_inplace


class Dropout(Function):
    """``y = x * mask`` with ``mask`` 0 or ``1/(1-p)``, drawn with shape ``mask_shape`` (broadcast to x)."""

    # torch's dropout on the CPU is a product with the mask, whose factor needs no gradient
    _edge_slots = (0, 1)

    def name(self) -> str:
        return "MulBackward0"

    @staticmethod
    def forward(ctx, x, p, mask_shape, rng):
        xp = ctx.xp
        if p == 1:
            mask = xp.zeros(mask_shape, dtype=x.dtype)
        else:
            keep = rng.random(mask_shape, dtype=x.dtype if x.dtype.itemsize >= 4 else "float32") >= p
            mask = keep * x.dtype.type(1 / (1 - p))
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad_out):
        (mask,) = ctx.saved_tensors
        return grad_out * mask, None, None, None


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _apply(input: Any, p: float, mask_shape: tuple[int, ...], inplace: bool) -> Any:
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"dropout expects a floating-point input, got {input.dtype}")
    rng = _random.default_generator.array_generator(input.device)
    if inplace:
        return apply_inplace(input, Dropout, p, mask_shape, rng)
    return Dropout.apply(input, p, mask_shape, rng)


def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``; identity in eval."""
    _check_p(p)
    if not training:
        return input
    return _apply(input, p, tuple(input.shape), inplace)


def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero whole channels of ``(N, C, H, W)`` (or ``(C, H, W)``) input with probability ``p``."""
    _check_p(p)
    ndim = input.ndim
    if ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: received a {ndim}-D input, but dropout2d expects (N, C, H, W) or (C, H, W); "
            "channels (dim 1) are dropped; use dropout for element-wise dropout",
            stacklevel=2,
        )
    elif ndim == 3:
        warnings.warn(
            "dropout2d: received a 3-D input, read as (N, C, L) as PyTorch currently does: whole length-L "
            "channels are dropped, not (C, H, W) planes",
            stacklevel=2,
        )
    if not training:
        return input
    shape = tuple(input.shape)
    return _apply(input, p, shape[:2] + (1,) * (ndim - 2), inplace)
