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
    def name(self) -> str:
        return "ConstantPadNdBackward0"

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

    def name(self) -> str:
        kind = {"reflect": "Reflection", "replicate": "Replication"}.get(self.mode)
        # torch builds circular padding from slices and copies; this one node keeps its own name
        return f"{kind}Pad{self.dims}DBackward0" if kind else "CircularPadBackward0"

    @staticmethod
    def forward(ctx, x, pairs, mode):
        xp = ctx.xp
        ctx.mode, ctx.dims = mode, len(pairs)
        lead = x.ndim - len(pairs)
        maps = []
        y = x
        for i, (left, right) in enumerate(pairs):
            axis, size = lead + i, x.shape[lead + i]
            index = _source_index(mode, size, left, right)
            maps.append((axis, left, index, size))
            y = _gather(xp, y, axis, index)
        ctx.maps = maps
        return y

    @staticmethod
    def backward(ctx, grad_out):
        xp = ctx.xp
        g = grad_out
        for axis, left, index, size in reversed(ctx.maps):
            g = _fold_back(xp, g, axis, left, index, size)
        return g, None, None


def _gather(xp: Any, x: Any, axis: int, index: np.ndarray) -> Any:
    """``take(x, index, axis)`` built from slices of ``x``: ``index`` is a few runs of step 1, -1 or 0, and
    slicing keeps the index on the host (no transfer to a GPU)."""

    def part(start: int, stop: int) -> Any:
        where = [slice(None)] * x.ndim
        where[axis] = slice(start, stop)
        return x[tuple(where)]

    pieces, start = [], 0
    while start < len(index):
        stop = start + 1
        step = int(index[stop] - index[start]) if stop < len(index) else 1
        step = step if step in (-1, 0, 1) else 1  # a jump: this piece is one position
        while stop < len(index) and index[stop] - index[stop - 1] == step:
            stop += 1
        first, last = int(index[start]), int(index[stop - 1])
        if step == 1:
            pieces.append(part(first, last + 1))
        elif step == -1:
            pieces.append(xp.flip(part(last, first + 1), axis))
        else:
            pieces.append(xp.repeat(part(first, first + 1), stop - start, axis=axis))
        start = stop
    return xp.concatenate(pieces, axis=axis) if pieces else part(0, 0).copy()


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
            if shape[ndim - count + i] + min(left, 0) + min(right, 0) < 0:  # cropping more than there is
                raise RuntimeError("narrow(): length must be non-negative.")
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
        if mode == "circular" and (left > size or right > size):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if mode == "circular" and size + left + right < 0:
            raise RuntimeError("Negative padding value is resulting in an empty dimension")
    if mode == "circular":
        # torch checks the amounts against the input size only: a wrap longer than what cropping keeps
        # reads unset memory there, and is refused here
        for i, (left, right) in enumerate(pairs):
            if max(left, right) > shape[ndim - count + i] + min(left, 0) + min(right, 0):
                raise RuntimeError("Padding value causes wrapping around more than once.")
    else:
        _check_output_size(shape[ndim - count :], pairs, shape[: ndim - count])
    return IndexPad.apply(input, pairs, mode)


def _check_output_size(
    sizes: tuple[int, ...], pairs: tuple[tuple[int, int], ...], lead: tuple[int, ...]
) -> None:
    """Torch's reflect and replicate kernels: 1d and 2d refuse an output whose padded sizes are all below 1,
    and all refuse a negative size."""
    outs = [size + left + right for size, (left, right) in zip(sizes, pairs)]
    names = "DHW"[-len(sizes) :]
    if len(sizes) < 3 and all(out < 1 for out in outs):
        given = ", ".join(f"{n}: {size}" for n, size in zip(names, sizes))
        calculated = " ".join(f"{n}: {out}" for n, out in zip(names, outs))
        raise RuntimeError(f"input ({given}) is too small. Calculated output {calculated}")
    negative = [out for out in outs if out < 0]
    if negative:
        raise RuntimeError(f"Trying to create tensor with negative dimension {negative[0]}: {[*lead, *outs]}")
