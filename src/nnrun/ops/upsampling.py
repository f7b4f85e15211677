"""Resampling of the spatial dimensions of ``(N, C, L)`` and ``(N, C, H, W)`` input: ``interpolate``.

Every supported mode is linear in the input and separable: along each spatial axis output ``i`` blends
the source elements ``lo[i]`` and ``hi[i]`` with weights ``1 - λ[i]`` and ``λ[i]`` (the nearest modes take
``lo[i]`` alone). That is ``x @ A.T`` for an ``(out, in)`` matrix ``A`` of those weights, so the backward
is ``g @ A``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnrun.autograd.function import Function

_SUPPORTED = "nearest | linear | bilinear | nearest-exact"
_LINEAR_MODES = {"linear": 3, "bilinear": 4}
_NEAREST_MODES = ("nearest", "nearest-exact")


class Interpolate(Function):
    """Resamples spatial axis ``2 + k`` by ``axes[k] = (lo, hi, lam, in_size)``: output ``i`` along it is
    ``(1 - lam[i]) x[lo[i]] + lam[i] x[hi[i]]``, or ``x[lo[i]]`` where ``lam`` is None (the nearest modes).

    The forward gathers; the backward multiplies by each axis's ``(out, in)`` matrix of those weights.
    """

    def name(self) -> str:
        kind = {
            "nearest": "Nearest",
            "nearest-exact": "NearestExact",
            "linear": "Linear",
            "bilinear": "Bilinear",
        }
        return f"Upsample{kind[self.mode]}{len(self.axes)}DBackward0"

    @staticmethod
    def forward(ctx, x, axes, mode="nearest"):
        xp = ctx.xp
        ctx.axes, ctx.mode = axes, mode
        y = x
        for axis, (lo, hi, lam, _) in enumerate(axes, start=2):
            below = xp.take(y, xp.asarray(lo), axis=axis)
            if lam is not None:
                weight = xp.asarray(lam.astype(x.dtype)).reshape((-1,) + (1,) * (x.ndim - 1 - axis))
                above = xp.take(y, xp.asarray(hi), axis=axis)
                below *= 1 - weight
                above *= weight
                below += above
            y = below
        return xp.ascontiguousarray(y)

    @staticmethod
    def backward(ctx, grad_out):
        xp = ctx.xp
        g = grad_out
        for axis, (lo, hi, lam, in_size) in enumerate(ctx.axes, start=2):
            a = xp.asarray(_axis_matrix(lo, hi, lam, in_size, grad_out.dtype))
            g = xp.moveaxis(xp.moveaxis(g, axis, -1) @ a, -1, axis)
        return xp.ascontiguousarray(g), None


def _axis_matrix(lo: Any, hi: Any, lam: Any, in_size: int, dtype: Any) -> Any:
    """The ``(out, in)`` matrix of one axis's resampling (on the host)."""
    a = np.zeros((len(lo), in_size), dtype=dtype)
    rows = np.arange(len(lo))
    if lam is None:
        a[rows, lo] = 1
        return a
    np.add.at(a, (rows, lo), 1 - lam.astype(dtype))
    np.add.at(a, (rows, hi), lam.astype(dtype))
    return a


def _source_indices(
    mode: str, in_size: int, out_size: int, scale: float | None, align_corners: bool, dtype: Any
) -> tuple[Any, Any, Any, int]:
    """``(lo, hi, lam, in_size)`` of one axis, with PyTorch's source-coordinate rules (on the host).

    ``scale`` is the user's scale factor (or None when sizes were given); coordinates are computed in the
    input's precision (float32 for float32 input), as PyTorch's CPU kernels do.
    """
    real = np.float32 if np.dtype(dtype) == np.float32 else np.float64
    dst = np.arange(out_size, dtype=real)
    if mode in _NEAREST_MODES:
        ratio = np.float32(1.0 / scale if scale else in_size / out_size)
        offset = np.float32(0.5 if mode == "nearest-exact" else 0.0)
        src = np.floor((dst.astype(np.float32) + offset) * ratio).astype(np.int64)
        return np.minimum(src, in_size - 1), None, None, in_size
    if align_corners:
        ratio = real((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
        src = ratio * dst
    else:
        ratio = real(1.0 / scale if scale else in_size / out_size)
        src = np.maximum(ratio * (dst + real(0.5)) - real(0.5), real(0))
    lo = src.astype(np.int64)
    lam = np.clip(src - lo, 0, 1)
    hi = np.where(lo < in_size - 1, lo + 1, lo)
    return lo, hi, lam, in_size


def _per_axis(value: Any, dims: int, spatial: list[int], what: str, fmt: str) -> list[Any]:
    if isinstance(value, (list, tuple)):
        if len(value) != dims:
            raise ValueError(
                f"Input and {what} must have the same number of spatial dimensions, but got input with "
                f"spatial dimensions of {spatial} and {fmt} {value}. Please provide input tensor in "
                f"(N, C, d1, d2, ...,dK) format and {what} in ({what[0]}1, {what[0]}2, ...,{what[0]}K) "
                "format."
            )
        return list(value)
    return [value] * dims


def interpolate(
    input: Any,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
) -> Any:
    """Resize ``(N, C, L)`` (modes ``nearest``, ``nearest-exact``, ``linear``) or ``(N, C, H, W)``
    (``nearest``, ``nearest-exact``, ``bilinear``) input to ``size``, or by ``scale_factor``
    (output ``floor(in · scale_factor)``); ``align_corners`` maps corner pixel centres onto each other."""
    if mode in _NEAREST_MODES:
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear"
            )
    elif align_corners is None:
        align_corners = False
    dims = input.ndim - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        out_sizes = [int(s) for s in _per_axis(size, dims, spatial, "output", "output size of")]
        scales: list[float | None] = [None] * dims
    elif scale_factor is not None:
        scales = [
            float(s) for s in _per_axis(scale_factor, dims, spatial, "scale_factor", "scale_factor of shape")
        ]
        out_sizes = [math.floor(n * s) for n, s in zip(spatial, scales, strict=True)]
        if recompute_scale_factor:
            scales = [None] * dims
    else:
        raise ValueError("either size or scale_factor should be defined")
    if mode in _LINEAR_MODES and input.ndim in (3, 4) and _LINEAR_MODES[mode] != input.ndim:
        raise NotImplementedError(
            f"Got {input.ndim}D input, but {mode} mode needs {_LINEAR_MODES[mode]}D input"
        )
    if input.ndim not in (3, 4) or (mode not in _NEAREST_MODES and mode not in _LINEAR_MODES):
        raise NotImplementedError(
            f"Input Error: Only 3D and 4D input Tensors supported (got {input.ndim}D) for the modes: "
            f"{_SUPPORTED} (got {mode})"
        )
    if any(s <= 0 for s in out_sizes):
        names = "HW" if dims == 2 else "W"
        shown_in = ", ".join(f"{k}: {n}" for k, n in zip(names, spatial, strict=True))
        shown_out = ", ".join(f"{k}: {n}" for k, n in zip(names, out_sizes, strict=True))
        raise RuntimeError(
            "Input and output sizes should be greater than 0, but got "
            f"input ({shown_in}) and output ({shown_out})"
        )
    dtype = input.dtype.np
    axes = [
        _source_indices(mode, n, m, s, bool(align_corners), dtype)
        for n, m, s in zip(spatial, out_sizes, scales, strict=True)
    ]
    return Interpolate.apply(input, axes, mode=mode)
