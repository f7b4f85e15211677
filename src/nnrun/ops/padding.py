"""``pad``: constant, reflect, replicate and circular padding of the trailing dimensions, differentiable.

``pad = (left_last, right_last, left_second_last, right_second_last, ...)``, as in PyTorch; negative
amounts crop. Non-constant modes work one padded dimension at a time through an index map from output
positions to input positions; backward adds the gradient of each border position back onto its source.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.autograd.function import Function

_MODES = ("constant", "reflect", "replicate", "circular")


def _source_index(mode: str, size: int, left: int, right: int) -> np.ndarray:
    """For each output position along one dimension, the input position it copies."""
    j = np.arange(-left, size + right)
    if mode == "reflect":
        period = 2 * (size - 1)
        j = np.abs(j) % period if period else np.zeros_like(j)
        return np.where(j >= size, period - j, j)
    if mode == "replicate":
        return np.clip(j, 0, size - 1)
    # circular wraps around what is left after cropping any negative side
    start, stop = max(-left, 0), size - max(-right, 0)
    return start + np.arange(-max(left, 0), stop - start + max(right, 0)) % (stop - start)


class ConstantPad(Function):
    @staticmethod
    def forward(ctx, x, pairs, value):
        lead = x.ndim - len(pairs)
        out_shape = list(x.shape)
        source, target = [slice(None)] * x.ndim, [slice(None)] * x.ndim
        for i, (left, right) in enumerate(pairs):
            axis, size = lead + i, x.shape[lead + i]
            out_shape[axis] = size + left + right
            start, stop = max(-left, 0), size - max(-right, 0)
            source[axis] = slice(start, max(stop, start))
            target[axis] = slice(max(left, 0), max(left, 0) + max(stop - start, 0))
        y = ctx.xp.full(out_shape, value, dtype=x.dtype)
        y[tuple(target)] = x[tuple(source)]
        ctx.slices = (tuple(source), tuple(target))
        ctx.input_shape = x.shape
        return y

    @staticmethod
    def backward(ctx, grad_out):
        source, target = ctx.slices
        grad_in = ctx.xp.zeros(ctx.input_shape, dtype=grad_out.dtype)
        grad_in[source] = grad_out[target]
        return grad_in, None, None


class IndexPad(Function):
    """Reflect, replicate or circular padding: ``y = x`` gathered along each padded axis."""

    @staticmethod
    def forward(ctx, x, pairs, mode):
        xp = ctx.xp
        lead = x.ndim - len(pairs)
        maps = []
        y = x
        for i, (left, right) in enumerate(pairs):
            axis, size = lead + i, x.shape[lead + i]
            index = _source_index(mode, size, left, right)
            maps.append((axis, left, index, size))
            y = xp.take(y, xp.asarray(index), axis=axis)
        ctx.maps = maps
        return y

    @staticmethod
    def backward(ctx, grad_out):
        xp = ctx.xp
        g = grad_out
        for axis, left, index, size in reversed(ctx.maps):
            g = _fold_back(xp, g, axis, left, index, size)
        return g, None, None


def _fold_back(xp: Any, g: Any, axis: int, left: int, index: np.ndarray, size: int) -> Any:
    """Sum ``g`` along ``axis`` onto the ``size`` input positions that ``index`` copied from."""
    moved = xp.moveaxis(g, axis, 0)
    out = xp.zeros((size, *moved.shape[1:]), dtype=g.dtype)
    inner = np.arange(len(index)) - left  # where each output would sit without padding
    direct = (inner >= 0) & (inner < size)
    if direct.any():
        first, last = int(np.argmax(direct)), len(direct) - int(np.argmax(direct[::-1]))
        out[int(inner[first]) : int(inner[last - 1]) + 1] = moved[first:last]
    for j in np.flatnonzero(~direct):  # border positions only: at most the padding width per side
        out[int(index[j])] += moved[j]
    return xp.moveaxis(out, 0, axis)


def pad(input: Any, pad: Any, mode: str = "constant", value: float | None = None) -> Any:
    """Pad the trailing ``len(pad) // 2`` dimensions of ``input``; ``value`` fills ``constant`` padding."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    count = len(pad) // 2
    ndim = input.ndim
    if count > ndim:
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension but got padding "
            f"length {len(pad)} and input of dimension {ndim}"
        )
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    # (left, right) per padded dimension, outermost first
    pairs = tuple((pad[2 * k], pad[2 * k + 1]) for k in reversed(range(count)))
    shape = tuple(input.shape)
    if mode == "constant":
        for i, (left, right) in enumerate(pairs):
            axis = ndim - count + i
            if shape[axis] + left + right < 0:
                raise RuntimeError(
                    f"The input size {shape[axis]}, plus negative padding {left} and {right} resulted in a "
                    f"negative output size, which is invalid. Check dimension {axis} of your input."
                )
        return ConstantPad.apply(input, pairs, 0.0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if count not in (1, 2, 3) or ndim not in (count + 1, count + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
        )
    for i, (left, right) in enumerate(pairs):
        axis = ndim - count + i
        size = shape[axis]
        if size == 0:
            raise RuntimeError(f"{mode} padding needs a non-empty dimension {axis}, got input {list(shape)}")
        if mode == "reflect" and (left >= size or right >= size):
            raise RuntimeError(
                "Padding size should be less than the corresponding input dimension, but got: padding "
                f"({left}, {right}) at dimension {axis} of input {list(shape)}"
            )
        if mode == "circular" and (left > size or right > size or size + min(left, 0) + min(right, 0) <= 0):
            raise RuntimeError("Padding value causes wrapping around more than once.")
    return IndexPad.apply(input, pairs, mode)
