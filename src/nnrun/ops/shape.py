"""Shape and layout ops: view/reshape, permute, expand, repeat, flip, roll, split, cat, stack."""

from __future__ import annotations

import math
from typing import Any

from nnrun._dims import normalize_dims
from nnrun.autograd.function import Function
from nnrun.ops import _out
from nnrun.ops._broadcast import unbroadcast


def sizes_from_args(args: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept sizes as varargs or as one tuple/list/Size, as torch does."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def infer_shape(shape: tuple[int, ...], numel: int) -> tuple[int, ...]:
    """Resolve one ``-1`` and check the element count, with torch's message."""
    unknown = [i for i, s in enumerate(shape) if s == -1]
    known = math.prod(s for s in shape if s != -1)
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"invalid shape dimension {min(shape)}")
    if unknown:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        resolved = list(shape)
        resolved[unknown[0]] = numel // known
        return tuple(resolved)
    if known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class Reshape(Function):
    is_view = True

    @staticmethod
    def forward(ctx, x, shape, must_view, node=None):
        ctx.in_shape = x.shape
        if shape and min(shape) < 0:
            shape = infer_shape(shape, x.size)
        try:
            out = x.reshape(shape)
        except ValueError:
            infer_shape(shape, x.size)  # raises torch's message for a wrong element count
            raise
        # a reshape that had to copy gives an array that shares no memory with x (its .base is the copy)
        owner = x if x.base is None else x.base
        if must_view and x.size > 0 and out.base is not owner and not ctx.xp.may_share_memory(out, x):
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one dimension "
                "spans across two contiguous subspaces). Use .reshape(...) instead."
            )
        # torch's name: the caller's (squeeze, unsqueeze), else a view, or a copy's _unsafe_view
        ctx.node = node or ("ViewBackward0" if must_view or out.base is owner else "UnsafeViewBackward0")
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.reshape(ctx.in_shape), None, None

    def name(self) -> str:
        return self.node


class Permute(Function):
    is_view = True

    @staticmethod
    def forward(ctx, x, dims, node="PermuteBackward0"):
        ctx.node = node  # transpose and t are permutations that torch names apart
        if len(dims) != x.ndim:
            raise RuntimeError(
                f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
                f"of the desired ordering of dimensions i.e. input.dim() = {x.ndim} is not equal to "
                f"len(dims) = {len(dims)}"
            )
        axes = normalize_dims(dims, x.ndim) or ()
        ctx.inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.transpose(ctx.inverse), None

    def name(self) -> str:
        return self.node


class Expand(Function):
    is_view = True

    @staticmethod
    def forward(ctx, x, sizes):
        lead = len(sizes) - x.ndim
        if lead < 0:
            raise RuntimeError(
                f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
                f"number of dimensions in the tensor ({x.ndim})"
            )
        target = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
        for i, size in enumerate(x.shape):
            if size != 1 and size != target[lead + i]:
                raise RuntimeError(
                    f"The expanded size of the tensor ({target[lead + i]}) must match the existing size "
                    f"({size}) at non-singleton dimension {lead + i}.  Target sizes: {list(sizes)}.  "
                    f"Tensor sizes: {list(x.shape)}"
                )
        ctx.in_shape = x.shape
        return ctx.xp.broadcast_to(x, target)

    @staticmethod
    def backward(ctx, grad_out):
        return unbroadcast(grad_out, ctx.in_shape), None


class Repeat(Function):
    @staticmethod
    def forward(ctx, x, repeats):
        if len(repeats) < x.ndim:
            raise RuntimeError(
                "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
            )
        ctx.x_shape = x.shape
        ctx.padded_shape = (1,) * (len(repeats) - x.ndim) + x.shape
        ctx.repeats = repeats
        return ctx.xp.tile(x.reshape(ctx.padded_shape), repeats)

    @staticmethod
    def backward(ctx, grad_out):
        # view the gradient as (r0, s0, r1, s1, ...) and sum the copies
        split = []
        for r, s in zip(ctx.repeats, ctx.padded_shape):
            split.extend((r, s))
        grad = grad_out.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return grad.reshape(ctx.x_shape), None


class Flip(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.axes = normalize_dims(dims, x.ndim) or ()
        return ctx.xp.flip(x, ctx.axes).copy()  # torch's flip returns a copy, not a view

    @staticmethod
    def backward(ctx, grad_out):
        return ctx.xp.flip(grad_out, ctx.axes), None


class Roll(Function):
    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        if dims is None:
            return ctx.xp.roll(x.reshape(-1), shifts).reshape(x.shape)
        return ctx.xp.roll(x, shifts, axis=dims)

    @staticmethod
    def backward(ctx, grad_out):
        xp, shifts = ctx.xp, ctx.shifts
        negated = -shifts if isinstance(shifts, int) else tuple(-s for s in shifts)
        if ctx.dims is None:
            return xp.roll(grad_out.reshape(-1), negated).reshape(grad_out.shape), None, None
        return xp.roll(grad_out, negated, axis=ctx.dims), None, None


class Split(Function):
    """Cut along one axis into consecutive pieces (views); backward concatenates the piece gradients."""

    is_view = True

    @staticmethod
    def forward(ctx, x, sizes, axis):
        ctx.axis = axis
        bounds, start = [], 0
        for size in sizes:
            start += size
            bounds.append(start)
        pieces = ctx.xp.split(x, bounds[:-1], axis=axis)
        return tuple(pieces)

    @staticmethod
    def backward(ctx, *grads):
        return ctx.xp.concatenate(grads, axis=ctx.axis), None, None


class Cat(Function):
    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        ctx.sizes = [a.shape[axis] for a in arrays]
        return ctx.xp.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        bounds, start = [], 0
        for size in ctx.sizes[:-1]:
            start += size
            bounds.append(start)
        return (None, *ctx.xp.split(grad_out, bounds, axis=ctx.axis))


class Stack(Function):
    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        return ctx.xp.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        index = [slice(None)] * grad_out.ndim
        grads = []
        for i in range(grad_out.shape[ctx.axis]):
            index[ctx.axis] = i
            grads.append(grad_out[tuple(index)])
        return (None, *grads)


# ----- public functions (also bound as Tensor methods) -----
def view(input: Any, *shape: Any) -> Any:
    return Reshape.apply(input, sizes_from_args(shape), True)


def reshape(input: Any, *shape: Any) -> Any:
    return Reshape.apply(input, sizes_from_args(shape), False)


def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    shape = input.shape
    if not shape:
        return Reshape.apply(input, (1,), False)
    start, end = (normalize_dims(d, len(shape))[0] for d in (start_dim, end_dim))
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    new_shape = (*shape[:start], math.prod(shape[start : end + 1]), *shape[end + 1 :])
    return Reshape.apply(input, new_shape, False)


def unflatten(input: Any, dim: int, sizes: Any) -> Any:
    (axis,) = normalize_dims(dim, input.ndim)
    shape = input.shape
    sizes = infer_shape(tuple(sizes), shape[axis])
    return Reshape.apply(input, (*shape[:axis], *sizes, *shape[axis + 1 :]), False)


def squeeze(input: Any, dim: Any = None) -> Any:
    shape = input.shape
    if dim is None:
        new_shape = tuple(s for s in shape if s != 1)
    else:
        axes = normalize_dims(dim, len(shape)) or ()
        new_shape = tuple(s for i, s in enumerate(shape) if not (i in axes and s == 1))
    node = (
        "SqueezeBackward0"
        if dim is None
        else "SqueezeBackward1"
        if isinstance(dim, int)
        else "SqueezeBackward2"
    )
    return Reshape.apply(input, new_shape, False, node=node)


def unsqueeze(input: Any, dim: int) -> Any:
    shape = input.shape
    (axis,) = normalize_dims(dim, len(shape) + 1)
    return Reshape.apply(input, (*shape[:axis], 1, *shape[axis:]), False, node="UnsqueezeBackward0")


def permute(input: Any, *dims: Any) -> Any:
    return Permute.apply(input, sizes_from_args(dims))


def transpose(input: Any, dim0: int, dim1: int) -> Any:
    ndim = input.ndim
    if ndim == 0:
        return input
    a, b = (normalize_dims(d, ndim)[0] for d in (dim0, dim1))
    order = list(range(ndim))
    order[a], order[b] = order[b], order[a]
    return Permute.apply(input, tuple(order), node="TransposeBackward0")


def t(input: Any) -> Any:
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return Permute.apply(input, (1, 0), node="TBackward0") if input.ndim == 2 else input


def expand(input: Any, *sizes: Any) -> Any:
    return Expand.apply(input, sizes_from_args(sizes))


def expand_as(input: Any, other: Any) -> Any:
    return Expand.apply(input, tuple(other.shape))


def repeat(input: Any, *repeats: Any) -> Any:
    return Repeat.apply(input, sizes_from_args(repeats))


def flip(input: Any, *dims: Any) -> Any:
    return Flip.apply(input, sizes_from_args(dims))


def roll(input: Any, shifts: Any, dims: Any = None) -> Any:
    if isinstance(shifts, (list, tuple)):
        shifts = tuple(shifts)
    if isinstance(dims, (list, tuple)):
        dims = tuple(dims)
    n_shifts = len(shifts) if isinstance(shifts, tuple) else 1
    n_dims = 0 if dims is None else len(dims) if isinstance(dims, tuple) else 1
    if (dims is None and n_shifts != 1) or (dims is not None and n_shifts != n_dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {n_shifts}, dims:{n_dims}")
    if dims is None and isinstance(shifts, tuple):
        shifts = shifts[0]
    return Roll.apply(input, shifts, dims)


def split(tensor: Any, split_size_or_sections: Any, dim: int = 0) -> tuple[Any, ...]:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the listed sizes."""
    (axis,) = normalize_dims(dim, tensor.ndim)
    length = tensor.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={step}")
        sizes = [min(step, length - start) for start in range(0, length, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {length} (input tensor's size at "
                f"dimension {dim}), but got split_sizes={sizes}"
            )
    pieces = Split.apply(tensor, tuple(sizes), axis)
    return pieces if isinstance(pieces, tuple) else (pieces,)


def chunk(input: Any, chunks: int, dim: int = 0) -> tuple[Any, ...]:
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    (axis,) = normalize_dims(dim, input.ndim)
    return split(input, max(math.ceil(input.shape[axis] / chunks), 1), dim)


def narrow(input: Any, dim: int, start: int, length: int) -> Any:
    (axis,) = normalize_dims(dim, input.ndim)
    size = input.shape[axis]
    if not -size <= start <= size:
        raise IndexError(
            f"start out of range (expected to be in range of [{-size}, {size}], but got {start})"
        )
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    index = [slice(None)] * input.ndim
    index[axis] = slice(start, start + length)
    return input[tuple(index)]


def cat(tensors: Any, dim: int = 0, *, out: Any = None) -> Any:
    tensors = list(tensors)
    if out is not None:
        return _out.into("cat", out, tuple(tensors), lambda: cat(tensors, dim))
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    (axis,) = normalize_dims(dim, tensors[0].ndim)
    reference = tensors[0].shape
    for i, t in enumerate(tensors[1:], 1):
        if t.ndim != len(reference):
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {len(reference)} and {t.ndim}"
            )
        if any(a != b for k, (a, b) in enumerate(zip(t.shape, reference)) if k != axis):
            raise RuntimeError(
                f"Sizes of tensors must match except in dimension {axis}. Expected size "
                f"{_first_mismatch(reference, t.shape, axis)} for tensor number {i} in the list."
            )
    return Cat.apply(axis, *tensors)


def _first_mismatch(reference: tuple[int, ...], shape: tuple[int, ...], axis: int) -> str:
    for k, (a, b) in enumerate(zip(reference, shape)):
        if k != axis and a != b:
            return f"{a} but got size {b}"  # torch's wording: the dimension is not named
    return f"{len(reference)} dimensions but got {len(shape)}"


def stack(tensors: Any, dim: int = 0, *, out: Any = None) -> Any:
    tensors = list(tensors)
    if out is not None:
        return _out.into("stack", out, tuple(tensors), lambda: stack(tensors, dim))
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    reference = tensors[0].shape
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != reference:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(reference)} at entry 0 and "
                f"{list(t.shape)} at entry {i}"
            )
    (axis,) = normalize_dims(dim, len(reference) + 1)
    return Stack.apply(axis, *tensors)


# ----- pixel shuffle: reshape, permute, reshape (differentiable through those three) -----
def _factor(name: str, arg: str, factor: Any) -> int:
    if isinstance(factor, bool) or not hasattr(factor, "__index__"):
        raise TypeError(f"{name}(): argument '{arg}' (position 2) must be int, not {type(factor).__name__}")
    factor = factor.__index__()
    if factor <= 0:
        raise RuntimeError(f"{name} expects a positive {arg}, but got {factor}")
    return factor


def _check_3d(name: str, input: Any) -> None:
    if input.ndim < 3:
        raise RuntimeError(
            f"{name} expects input to have at least 3 dimensions, but got input with {input.ndim} "
            "dimension(s)"
        )


def pixel_shuffle(input: Any, upscale_factor: int) -> Any:
    """``(*, C*r*r, H, W)`` → ``(*, C, H*r, W*r)`` for ``r = upscale_factor``: channel ``c*r*r + i*r + j``
    becomes the pixel at offset ``(i, j)`` of each ``r × r`` block of output channel ``c``."""
    r = _factor("pixel_shuffle", "upscale_factor", upscale_factor)
    _check_3d("pixel_shuffle", input)
    *batch, channels, height, width = input.shape
    if channels % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
            f"upscale_factor, but input.size(-3)={channels} is not divisible by {r * r}"
        )
    n = len(batch)
    blocks = Reshape.apply(input, (*batch, channels // (r * r), r, r, height, width), False)
    # (c, i, j, h, w) → (c, h, i, w, j)
    moved = Permute.apply(blocks, (*range(n), n, n + 3, n + 1, n + 4, n + 2))
    return Reshape.apply(moved, (*batch, channels // (r * r), height * r, width * r), False)


def pixel_unshuffle(input: Any, downscale_factor: int) -> Any:
    """``(*, C, H*r, W*r)`` → ``(*, C*r*r, H, W)`` for ``r = downscale_factor``: the inverse of
    ``pixel_shuffle``."""
    r = _factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    _check_3d("pixel_unshuffle", input)
    *batch, channels, height, width = input.shape
    for what, size, axis in (("height", height, -2), ("width", width, -1)):
        if size % r:
            raise RuntimeError(
                f"pixel_unshuffle expects {what} to be divisible by downscale_factor, but "
                f"input.size({axis})={size} is not divisible by {r}"
            )
    n = len(batch)
    blocks = Reshape.apply(input, (*batch, channels, height // r, r, width // r, r), False)
    # (c, h, i, w, j) → (c, i, j, h, w)
    moved = Permute.apply(blocks, (*range(n), n, n + 2, n + 4, n + 1, n + 3))
    return Reshape.apply(moved, (*batch, channels * r * r, height // r, width // r), False)


def channel_shuffle(input: Any, groups: int) -> Any:
    """``(N, C, *)`` with channels ``(groups, C/groups)`` transposed to ``(C/groups, groups)``: channel
    ``g·(C/groups) + k`` moves to ``k·groups + g`` (ShuffleNet)."""
    if input.ndim <= 2:
        raise RuntimeError(
            f"channel_shuffle expects input with > 2 dims, but got input with sizes {list(input.shape)}"
        )
    if groups <= 0:
        raise RuntimeError(
            f"Number of groups to divide channels in must be positive. Value of groups:{groups}"
        )
    channels = input.shape[1]
    if channels % groups:
        raise RuntimeError(
            f"Number of channels must be divisible by groups. Got {channels} channels and {groups} groups."
        )
    return ChannelShuffle.apply(input, groups)


class ChannelShuffle(Function):
    @staticmethod
    def forward(ctx, x, groups):
        ctx.groups = groups
        return _shuffle_channels(ctx.xp, x, groups)

    @staticmethod
    def backward(ctx, grad_out):
        # the inverse permutation: shuffling C/groups groups undoes shuffling groups ones
        return _shuffle_channels(ctx.xp, grad_out, grad_out.shape[1] // ctx.groups), None


def _shuffle_channels(xp: Any, x: Any, groups: int) -> Any:
    batch, channels, *rest = x.shape
    blocks = x.reshape(batch, groups, channels // groups, *rest)
    return xp.ascontiguousarray(blocks.swapaxes(1, 2)).reshape(x.shape)
