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


def dropout1d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero whole channels of ``(N, C, L)`` (or ``(C, L)``) input with probability ``p``."""
    _check_p(p)
    ndim = input.ndim
    if ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {ndim}D input. Note that dropout1d exists "
            "to provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and an "
            "optional batch dimension (i.e. 2D or 3D inputs)."
        )
    if not training:
        return input
    shape = tuple(input.shape)
    return _apply(input, p, (*shape[: ndim - 1], 1), inplace)


def dropout3d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero whole channels of ``(N, C, D, H, W)`` (or ``(C, D, H, W)``) input with probability ``p``."""
    _check_p(p)
    ndim = input.ndim
    if ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {ndim}-D input to dropout3d, which is deprecated and will result in an "
            "error in a future release. To retain the behavior and silence this warning, please use dropout "
            "instead. Note that dropout3d exists to provide channel-wise dropout on inputs with 3 spatial "
            "dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).",
            stacklevel=2,
        )
    if not training:
        return input
    shape = tuple(input.shape)
    channels = 2 if ndim == 5 else 1  # other than 5-D, read as one unbatched sample, as torch does
    return _apply(input, p, shape[:channels] + (1,) * (ndim - channels), inplace)


#: -scale * alpha of SELU: the value SELU tends to at minus infinity, which alpha dropout drops to.
_SELU_NEGATIVE_LIMIT = 1.7580993408473766


class AlphaDropout(Function):
    """``y = a (x·keep + alpha'·(1 - keep)) + b``: dropped values set to SELU's negative saturation, then an
    affine map that keeps zero mean and unit variance (``keep`` drawn with shape ``mask_shape``)."""

    _edge_slots = (0, 1)

    def name(self) -> str:
        return "AddBackward0"

    @staticmethod
    def forward(ctx, x, p, mask_shape, rng):
        alpha = _SELU_NEGATIVE_LIMIT
        keep = (rng.random(mask_shape, dtype=x.dtype if x.dtype.itemsize >= 4 else "float32") >= p).astype(
            x.dtype
        )
        a = 1.0 / ((alpha * alpha * p + 1) * (1 - p)) ** 0.5
        shift = (keep - 1) * x.dtype.type(alpha * a) + x.dtype.type(alpha * a * p)
        scale = keep * x.dtype.type(a)
        ctx.save_for_backward(scale)
        return x * scale + shift

    @staticmethod
    def backward(ctx, grad_out):
        (scale,) = ctx.saved_tensors
        return grad_out * scale, None, None, None


def _alpha(input: Any, p: float, training: bool, inplace: bool, mask_shape: tuple[int, ...]) -> Any:
    _check_p(p)
    if not training or p == 0:
        return input
    if p == 1:  # every value dropped: torch returns zeros
        return input.mul_(0) if inplace else input * 0
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"alpha dropout expects a floating-point input, got {input.dtype}")
    rng = _random.default_generator.array_generator(input.device)
    if inplace:
        return apply_inplace(input, AlphaDropout, p, mask_shape, rng)
    return AlphaDropout.apply(input, p, mask_shape, rng)


def alpha_dropout(input: Any, p: float = 0.5, training: bool = False, inplace: bool = False) -> Any:
    """Dropout for SELU networks: each element dropped with probability ``p`` to SELU's negative saturation,
    then an affine map that keeps the input's mean and variance; the identity unless ``training``."""
    return _alpha(input, p, training, inplace, tuple(input.shape))


def feature_alpha_dropout(input: Any, p: float = 0.5, training: bool = False, inplace: bool = False) -> Any:
    """``alpha_dropout`` of whole channels (dimension 1) of ``(N, C, *)`` input."""
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    shape = tuple(input.shape)
    return _alpha(input, p, training, inplace, shape[:2] + (1,) * (len(shape) - 2))
