"""Pooling as autograd nodes: max_pool2d, avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d.

Windowed pooling loops over the ``kh*kw`` kernel offsets, never over pixels: offset ``(i, j)`` contributes the
strided view ``x[:, :, i*d : : s, j*d : : s]`` of the (padded) input, one whole-tensor operation per offset.
Max pooling keeps, per output, the first offset holding the maximum (as PyTorch does), and backward adds the
gradient through that offset only. Adaptive average pooling is separable: ``y = P_h @ x @ P_w.T`` with
averaging matrices. Adaptive max pooling gathers the ``kmax_h*kmax_w`` candidates of every bin.

Shapes: input ``(N, C, H, W)`` or ``(C, H, W)``; output ``(N, C, Ho, Wo)``; indices are flat positions
``h * W + w`` within each input plane, as PyTorch returns them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from nnrun import _backend
from nnrun.autograd.function import Function
from nnrun.ops._window_args import Pair, int_tuple


def _batched(x: Any, name: str) -> Any:
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{name}: expected 3D or 4D input, but got input of size: {list(x.shape)}")
    return x if x.ndim == 4 else x[None]


def pool_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool) -> int:
    """PyTorch's output length: a last window (in ceil mode) must start inside the input or left padding."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _check_window(
    x: Any, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, ceil_mode: bool, name: str
) -> Pair:
    if min(kernel) <= 0 or min(stride) <= 0 or min(dilation) <= 0:
        raise RuntimeError(
            f"{name}: kernel_size, stride and dilation must be greater than zero, but got "
            f"kernel_size={kernel} stride={stride} dilation={dilation}"
        )
    for k, p, d in zip(kernel, padding, dilation):
        if p < 0 or p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={p}, kernel_size={k} and "
                f"dilation={d}"
            )
    h, w = x.shape[-2:]
    out = tuple(
        pool_output_size(n, k, s, p, d, ceil_mode)
        for n, k, s, p, d in zip((h, w), kernel, stride, padding, dilation)
    )
    if min(out) <= 0:
        size = "x".join(map(str, x.shape[-3:]))
        raise RuntimeError(
            f"Given input size: ({size}). Calculated output size: ({x.shape[-3]}x{out[0]}x{out[1]}). "
            "Output size is too small"
        )
    return out  # type: ignore[return-value]


# Bytes of (padded) input per block of images on the CPU: the per-offset passes then reread the block from
# cache instead of memory (timings in benchmarks/README.md); a GPU takes the whole batch.
_CPU_BLOCK_BYTES = 2 << 20


class _Windows:
    """The padded input of a windowed pooling and its per-offset strided views."""

    def __init__(self, xp: Any, shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair,
                 dilation: Pair, out: Pair) -> None:  # fmt: skip
        self.xp, self.shape, self.kernel, self.stride, self.padding, self.dilation, self.out = (
            xp, shape, kernel, stride, padding, dilation, out,
        )  # fmt: skip
        # Padded extent that covers every window, including ceil-mode windows past the right edge.
        self.extent = tuple(
            max(n + p, (o - 1) * s + d * (k - 1) + 1) + p
            for n, p, o, s, d, k in zip(shape[2:], padding, out, stride, dilation, kernel)
        )
        self.padded = self.extent != tuple(shape[2:])

    def blocks(self, x: Any, fill: float) -> Iterator[tuple[int, Any]]:
        """``(first image, padded block)`` over the batch ``x``, in cache-sized blocks on the CPU; the padded
        blocks share one buffer."""
        n = x.shape[0]
        per_image = x.itemsize * math.prod(self.shape[1:2] + self.extent)
        block = n if self.xp is not np else max(1, min(n, _CPU_BLOCK_BYTES // max(per_image, 1)))
        if not self.padded:
            yield from ((n0, x[n0 : n0 + block]) for n0 in range(0, n, block))
            return
        buffer = self.xp.full((min(n, block), *self.shape[1:2], *self.extent), fill, dtype=x.dtype)
        for n0 in range(0, n, block):
            images = x[n0 : n0 + block]
            padded = buffer[: images.shape[0]]
            self.interior(padded)[...] = images
            yield n0, padded

    def interior(self, buffer: Any) -> Any:
        (pt, pl), (h, w) = self.padding, self.shape[2:]
        return buffer[:, :, pt : pt + h, pl : pl + w] if self.padded else buffer

    def views(self, buffer: Any) -> list[Any]:
        """One ``(N, C, Ho, Wo)`` view per kernel offset, in row-major kernel order."""
        (kh, kw), (sh, sw), (dh, dw), (ho, wo) = self.kernel, self.stride, self.dilation, self.out
        return [
            buffer[:, :, i * dh : i * dh + (ho - 1) * sh + 1 : sh, j * dw : j * dw + (wo - 1) * sw + 1 : sw]
            for i in range(kh)
            for j in range(kw)
        ]


def _chosen_positions(xp: Any, offset: Any, win: _Windows, width: int, origin: Pair, dtype: Any) -> Any:
    """Flat positions ``row * width + column`` of the chosen kernel offsets, one per output, on a grid of
    rows ``width`` long whose first window starts at ``(-origin[0], -origin[1])``."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = win.kernel, win.stride, win.dilation, win.out
    taps = xp.arange(kh * kw, dtype=dtype)
    positions = ((taps // kw) * (dh * width) + (taps % kw) * dw)[offset]
    positions += ((xp.arange(ho, dtype=dtype) * sh - origin[0]) * width)[:, None]
    positions += xp.arange(wo, dtype=dtype) * sw - origin[1]
    return positions


def _flat_indices(xp: Any, offset: Any, win: _Windows) -> Any:
    """PyTorch's indices: flat positions ``h * W + w`` of the maxima within each input plane (int64)."""
    return _chosen_positions(xp, offset, win, win.shape[3], win.padding, xp.int64)


def _padded_positions(xp: Any, offset: Any, win: _Windows) -> Any:
    """Flat positions of the maxima in the whole padded ``(N, C, *extent)`` buffer."""
    (n, c), (eh, ew) = win.shape[:2], win.extent
    dtype = xp.int32 if n * c * eh * ew < 2**31 else xp.int64
    positions = _chosen_positions(xp, offset, win, ew, (0, 0), dtype)
    positions += (xp.arange(n * c, dtype=dtype) * (eh * ew)).reshape(n, c, 1, 1)
    return positions


def _first_maximum(xp: Any, views: list[Any], y: Any, offset: Any) -> None:
    """``y`` = the maximum over ``views`` (NaN propagates) and, unless ``offset`` is None, ``offset`` = the
    first view holding it."""
    xp.copyto(y, views[0])
    if offset is not None:
        offset[...] = 0
    for q, view in enumerate(views[1:], 1):
        if offset is not None:
            # offset = q where view > y, before y takes it in (strictly: ties keep the first maximum, as in
            # PyTorch); q exceeds every earlier offset, so a maximum does it, far faster than a masked copy
            xp.maximum(offset, (view > y) * offset.dtype.type(q), out=offset)
        xp.maximum(y, view, out=y)


class MaxPool2d(Function):
    def name(self) -> str:
        return self.node

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode, return_indices, node=None):
        ctx.node = node or "MaxPool2DWithIndicesBackward0"  # the adaptive form names itself
        x4 = _batched(x, "max_pool2d")
        xp = ctx.xp
        out = _check_window(x4, kernel, stride, padding, dilation, ceil_mode, "max_pool2d")
        win = _Windows(xp, x4.shape, kernel, stride, padding, dilation, out)
        y = xp.empty(x4.shape[:2] + out, dtype=x4.dtype)
        track = ctx.needs_input_grad[0] or return_indices  # inference wants the maxima alone
        offset = (
            xp.empty(y.shape, dtype=xp.uint8 if math.prod(kernel) <= 256 else xp.int32) if track else None
        )
        for n0, block in win.blocks(x4, -math.inf):
            images = slice(n0, n0 + block.shape[0])
            _first_maximum(xp, win.views(block), y[images], None if offset is None else offset[images])
        if not track:
            return y if x.ndim == 4 else y[0]
        ctx.win, ctx.offset, ctx.shape = win, offset, x.shape
        y = y if x.ndim == 4 else y[0]
        if not return_indices:
            return y
        indices = _flat_indices(xp, offset, win)
        return y, indices if x.ndim == 4 else indices[0]

    @staticmethod
    def backward(ctx, grad_out, grad_indices=None):
        xp, win, offset = ctx.xp, ctx.win, ctx.offset
        g = grad_out.reshape(offset.shape)
        grad = xp.zeros(win.shape[:2] + win.extent, dtype=g.dtype)
        # the gradient goes to the first maximum of each window; disjoint windows need no accumulation,
        # overlapping ones a scatter-add (one pass, where masking per offset took kh*kw)
        if all(s >= d * (k - 1) + 1 for s, d, k in zip(win.stride, win.dilation, win.kernel)):
            for q, view in enumerate(win.views(grad)):
                xp.multiply(g, offset == q, out=view)
        else:
            _backend.scatter_add(
                grad.reshape(-1), _padded_positions(xp, offset, win).reshape(-1), g.reshape(-1)
            )
        grad_x = win.interior(grad).reshape(ctx.shape)
        return grad_x, None, None, None, None, None, None


def _avg_divisor(xp: Any, win: _Windows, count_include_pad: bool, divisor_override: int | None) -> Any:
    """``(Ho, Wo)`` window sizes, clipped to the padded input (or to the input without count_include_pad)."""
    if divisor_override:
        return divisor_override
    sizes = []
    for n, k, s, p, o in zip(win.shape[2:], win.kernel, win.stride, win.padding, win.out):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, n + p)
        if count_include_pad:
            sizes.append(end - start)
        else:
            sizes.append(xp.minimum(end, n) - xp.maximum(start, 0))
    return sizes[0][:, None] * sizes[1][None, :]


class AvgPool2d(Function):
    def name(self) -> str:
        return self.node

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, node=None):
        ctx.node = node or "AvgPool2DBackward0"  # the adaptive form names itself
        if divisor_override is not None and divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
        x4 = _batched(x, "avg_pool2d")
        xp = ctx.xp
        out = _check_window(x4, kernel, stride, padding, (1, 1), ceil_mode, "avg_pool2d")
        win = _Windows(xp, x4.shape, kernel, stride, padding, (1, 1), out)
        y = xp.empty(x4.shape[:2] + out, dtype=x4.dtype)
        for n0, block in win.blocks(x4, 0.0):
            views, total = win.views(block), y[n0 : n0 + block.shape[0]]
            xp.copyto(total, views[0])
            for view in views[1:]:
                total += view
        divisor = _avg_divisor(xp, win, count_include_pad, divisor_override)
        y /= divisor if isinstance(divisor, int) else divisor.astype(y.dtype)
        ctx.win, ctx.divisor, ctx.shape = win, divisor, x.shape
        return y if x.ndim == 4 else y[0]

    @staticmethod
    def backward(ctx, grad_out):
        xp, win, divisor = ctx.xp, ctx.win, ctx.divisor
        g = grad_out.reshape(win.shape[:2] + win.out)
        g = g / (divisor if isinstance(divisor, int) else divisor.astype(g.dtype))
        grad = xp.zeros(win.shape[:2] + win.extent, dtype=g.dtype)
        for view in win.views(grad):
            view += g
        return win.interior(grad).reshape(ctx.shape), None, None, None, None, None, None


# ----- adaptive pooling -----
def adaptive_bins(size: int, out: int) -> tuple[list[int], list[int]]:
    """Bin ``i`` of ``out`` covers ``[floor(i*size/out), ceil((i+1)*size/out))``."""
    starts = [(i * size) // out for i in range(out)]
    ends = [-(-((i + 1) * size) // out) for i in range(out)]
    return starts, ends


def _averaging_matrix(xp: Any, size: int, out: int, dtype: Any) -> Any:
    """``(out, size)``: row ``i`` holds ``1/len`` over bin ``i``."""
    matrix = xp.zeros((out, size), dtype=dtype)
    for i, (start, end) in enumerate(zip(*adaptive_bins(size, out))):
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


class AdaptiveAvgPool2d(Function):
    def name(self) -> str:
        return self.node

    @staticmethod
    def forward(ctx, x, output_size):
        # torch takes the mean for a (1, 1) output
        ctx.node = "MeanBackward1" if tuple(output_size) == (1, 1) else "AdaptiveAvgPool2DBackward0"
        x4 = _batched(x, "adaptive_avg_pool2d")
        xp = ctx.xp
        (n, c, h, w), (oh, ow) = x4.shape, output_size
        if (oh, ow) == (1, 1):
            y = x4.mean(axis=(2, 3), keepdims=True)
            ctx.mats = None
        else:
            ph, pw = _averaging_matrix(xp, h, oh, x.dtype), _averaging_matrix(xp, w, ow, x.dtype)
            y = ph @ (x4.reshape(n * c, h, w) @ pw.T)  # P_h @ x @ P_w.T per plane
            y = y.reshape(n, c, oh, ow)
            ctx.mats = (ph, pw)
        ctx.shape4, ctx.shape = x4.shape, x.shape
        return y if x.ndim == 4 else y[0]

    @staticmethod
    def backward(ctx, grad_out):
        n, c, h, w = ctx.shape4
        if ctx.mats is None:
            g = grad_out.reshape(n, c, 1, 1) / (h * w)
            grad_x = ctx.xp.broadcast_to(g, ctx.shape4).copy()
        else:
            ph, pw = ctx.mats
            g = grad_out.reshape(n * c, ph.shape[0], pw.shape[0])
            grad_x = ph.T @ g @ pw  # adjoint of P_h @ x @ P_w.T
        return grad_x.reshape(ctx.shape), None


def _bin_bounds(xp: Any, size: int, out: int) -> tuple[Any, Any]:
    """``adaptive_bins`` as arrays, computed where ``xp`` computes (no host-to-device copy)."""
    i = xp.arange(out)
    return i * size // out, ((i + 1) * size + out - 1) // out


def _widest_bin(size: int, out: int) -> int:
    starts, ends = adaptive_bins(size, out)
    return max(end - start for start, end in zip(starts, ends))


class AdaptiveMaxPool2d(Function):
    def name(self) -> str:
        return "AdaptiveMaxPool2DBackward0"

    @staticmethod
    def forward(ctx, x, output_size, return_indices):
        x4 = _batched(x, "adaptive_max_pool2d")
        xp = ctx.xp
        h, w = x4.shape[2:]
        oh, ow = output_size
        candidates = []  # (flat positions (oh, ow), values (n, c, oh, ow)) per offset inside a bin
        rows_s, rows_e = _bin_bounds(xp, h, oh)
        cols_s, cols_e = _bin_bounds(xp, w, ow)
        for a in range(_widest_bin(h, oh)):
            rows = xp.minimum(rows_s + a, rows_e - 1)  # clipped offsets repeat a real candidate
            for b in range(_widest_bin(w, ow)):
                cols = xp.minimum(cols_s + b, cols_e - 1)
                candidates.append((rows[:, None] * w + cols[None, :], x4[:, :, rows[:, None], cols[None, :]]))
        y = candidates[0][1].copy()
        for _, values in candidates[1:]:
            xp.maximum(y, values, out=y)
        indices = xp.broadcast_to(candidates[0][0], y.shape).copy()
        for positions, values in reversed(candidates[1:]):
            xp.copyto(indices, xp.broadcast_to(positions, y.shape), where=values == y)
        xp.copyto(indices, xp.broadcast_to(candidates[0][0], y.shape), where=candidates[0][1] == y)
        indices = indices.astype(xp.int64)
        ctx.indices, ctx.shape4, ctx.shape = indices, x4.shape, x.shape
        y = y if x.ndim == 4 else y[0]
        if not return_indices:
            return y
        return y, indices if x.ndim == 4 else indices[0]

    @staticmethod
    def backward(ctx, grad_out, grad_indices=None):
        xp = ctx.xp
        n, c, h, w = ctx.shape4
        planes = ctx.indices.reshape(n * c, -1) + (xp.arange(n * c) * (h * w))[:, None]
        g = grad_out.reshape(n * c, -1)
        # bins may overlap, so positions can repeat: accumulate with bincount
        grad_x = xp.bincount(planes.ravel(), weights=g.ravel(), minlength=n * c * h * w).astype(g.dtype)
        return grad_x.reshape(ctx.shape), None, None


# ----- argument normalisation shared by the functional forms -----
def max_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over ``kernel_size`` windows. ``(N, C, H, W)`` → ``(N, C, Ho, Wo)``; stride defaults to the
    kernel, padding counts as -inf; with ``return_indices`` also the flat ``h * W + w`` of each maximum."""
    kernel = int_tuple(kernel_size, 2, "kernel_size")
    stride = kernel if stride is None or stride == [] or stride == () else int_tuple(stride, 2, "stride")
    pads, dil = int_tuple(padding, 2, "padding"), int_tuple(dilation, 2, "dilation")
    return MaxPool2d.apply(input, kernel, stride, pads, dil, bool(ceil_mode), bool(return_indices))


def avg_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Any:
    """Mean over ``kernel_size`` windows. ``(N, C, H, W)`` → ``(N, C, Ho, Wo)``; stride defaults to the
    kernel; zero padding counts in the divisor unless ``count_include_pad=False``."""
    kernel = int_tuple(kernel_size, 2, "kernel_size")
    stride = kernel if stride is None or stride == [] or stride == () else int_tuple(stride, 2, "stride")
    return AvgPool2d.apply(
        input,
        kernel,
        stride,
        int_tuple(padding, 2, "padding"),
        bool(ceil_mode),
        bool(count_include_pad),
        divisor_override,
    )


def _adaptive_size(input: Any, output_size: Any) -> Pair:
    sizes = (output_size, output_size) if isinstance(output_size, int) or output_size is None else output_size
    sizes = tuple(sizes)
    if len(sizes) != 2:
        raise ValueError(f"output_size must be an int or a pair, got {output_size!r}")
    resolved = tuple(input.shape[-2 + i] if s is None else int(s) for i, s in enumerate(sizes))
    if min(resolved) < 0 or (min(resolved) == 0 and input.numel() > 0):
        raise RuntimeError(f"adaptive pooling: output_size must be positive, got {resolved}")
    return resolved  # type: ignore[return-value]


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Any:
    """Average over ``output_size`` near-equal bins: ``(N, C, H, W)`` → ``(N, C, *output_size)``; ``None``
    keeps that input size."""
    size = _adaptive_size(input, output_size)
    h, w = input.shape[-2:]
    if h % size[0] == 0 and w % size[1] == 0 and size != (1, 1):
        kernel = (h // size[0], w // size[1])
        return AvgPool2d.apply(
            input, kernel, kernel, (0, 0), False, True, None, node="AdaptiveAvgPool2DBackward0"
        )
    return AdaptiveAvgPool2d.apply(input, size)


def adaptive_max_pool2d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """Max over ``output_size`` near-equal bins: ``(N, C, H, W)`` → ``(N, C, *output_size)``; with
    ``return_indices`` also the flat ``h * W + w`` of each maximum."""
    size = _adaptive_size(input, output_size)
    h, w = input.shape[-2:]
    if h % size[0] == 0 and w % size[1] == 0:
        kernel = (h // size[0], w // size[1])
        return MaxPool2d.apply(
            input,
            kernel,
            kernel,
            (0, 0),
            (1, 1),
            False,
            bool(return_indices),
            node="AdaptiveMaxPool2DBackward0",
        )
    return AdaptiveMaxPool2d.apply(input, size, bool(return_indices))


# ----- the 1-D forms: as torch, the 2-D pools over a height of one -----
def _one_int(value: Any, name: str, op: str) -> int:
    """An int, or a 1-tuple of one, as the 1-D pools take their sizes."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise RuntimeError(f"{op}() argument '{name}' should contain one int (got {len(value)})")
        value = value[0]
    return int_tuple(value, 1, name)[0]


def _as_rows(input: Any, op: str, message: str) -> Any:
    """``(N, C, L)`` or ``(C, L)`` → a height-one image ``(..., 1, L)``."""
    if input.ndim not in (2, 3):
        raise RuntimeError(message.format(op=op, ndim=input.ndim, shape=list(input.shape)))
    return input.unsqueeze(-2)


_POOL_DIMS = (
    "{op}: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:{shape}"
)
_ARG_DIMS = (
    "Expected 2 to 3 dimensions, but got {ndim}-dimensional tensor for argument #1 'self' "
    "(while checking arguments for {op})"
)


def _squeeze_rows(result: Any) -> Any:
    if isinstance(result, tuple):
        return tuple(r.squeeze(-2) for r in result)
    return result.squeeze(-2)


def max_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over ``kernel_size`` windows along the last axis: ``(N, C, L)`` → ``(N, C, L_out)``."""
    kernel = _one_int(kernel_size, "kernel_size", "max_pool1d")
    step = (
        kernel if stride is None or stride == [] or stride == () else _one_int(stride, "stride", "max_pool1d")
    )
    pad, dil = _one_int(padding, "padding", "max_pool1d"), _one_int(dilation, "dilation", "max_pool1d")
    rows = _as_rows(input, "max_pool1d", _POOL_DIMS)
    return _squeeze_rows(
        max_pool2d(rows, (1, kernel), (1, step), (0, pad), (1, dil), ceil_mode, return_indices)
    )


def avg_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Any:
    """Mean over ``kernel_size`` windows along the last axis: ``(N, C, L)`` → ``(N, C, L_out)``."""
    kernel = _one_int(kernel_size, "kernel_size", "avg_pool1d")
    step = (
        kernel if stride is None or stride == [] or stride == () else _one_int(stride, "stride", "avg_pool1d")
    )
    rows = _as_rows(input, "avg_pool1d", _ARG_DIMS)
    pad = _one_int(padding, "padding", "avg_pool1d")
    return avg_pool2d(rows, (1, kernel), (1, step), (0, pad), ceil_mode, count_include_pad).squeeze(-2)


def adaptive_avg_pool1d(input: Any, output_size: Any) -> Any:
    """Average over ``output_size`` near-equal bins of the last axis: ``(N, C, L)`` → ``(N, C, size)``."""
    size = _one_int(output_size, "output_size", "adaptive_avg_pool1d")
    rows = _as_rows(input, "adaptive_avg_pool1d", _ARG_DIMS)
    return adaptive_avg_pool2d(rows, (1, size)).squeeze(-2)


def adaptive_max_pool1d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """Max over ``output_size`` near-equal bins of the last axis; ``return_indices`` adds their positions."""
    size = _one_int(output_size, "output_size", "adaptive_max_pool1d")
    rows = _as_rows(input, "adaptive_max_pool1d", _ARG_DIMS)
    return _squeeze_rows(adaptive_max_pool2d(rows, (1, size), return_indices))
