"""Rearranging dimensions, composed from the shape primitives: movedim, swapaxes, unbind, rot90, the
``*stack``/``*split`` family, ``atleast_Nd``, broadcasting, meshgrid, repeat_interleave, unfold (windows)."""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Sequence
from typing import Any

from nnrun import _backend
from nnrun._dims import normalize_dims
from nnrun._size import Size
from nnrun._tensor import Tensor
from nnrun.autograd.function import Function
from nnrun.ops import indexing, shape
from nnrun.ops._broadcast import check_broadcastable


def _axis(dim: int, ndim: int) -> int:
    (axis,) = normalize_dims(dim, ndim) or (0,)
    return axis


def _tensors(name: str, tensors: tuple[Any, ...]) -> list[Any]:
    """Varargs or one sequence of tensors, as torch's ``*stack``/``atleast``/``meshgrid`` accept."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): expected Tensor as element, but got {type(t).__name__}")
    return list(tensors)


# ----- moving and swapping dimensions -----
def movedim(input: Any, source: Any, destination: Any) -> Any:
    """``input`` with the dimensions ``source`` moved to the places ``destination``; the rest keep order."""
    if isinstance(source, int) != isinstance(destination, int):
        raise TypeError(
            f"movedim() received an invalid combination of arguments - got ({type(source).__name__}, "
            f"{type(destination).__name__}), but expected (int source, int destination) or (tuple of ints "
            "source, tuple of ints destination)"
        )
    sources = (source,) if isinstance(source, int) else tuple(source)
    destinations = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(sources) != len(destinations):
        raise RuntimeError(
            "movedim: Invalid source or destination dims: source "
            f"({list(sources)} dims) should contain the same number of dims as destination "
            f"({list(destinations)} dims)"
        )
    ndim = input.ndim
    for name, dims in (("source", sources), ("destination", destinations)):
        axes = [d % max(ndim, 1) for d in dims]
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(dims)})")
    sources = normalize_dims(sources, ndim) or ()
    destinations = normalize_dims(destinations, ndim) or ()
    order = [None] * ndim
    for s, d in zip(sources, destinations):
        order[d] = s
    rest = iter(d for d in range(ndim) if d not in sources)
    return shape.permute(input, tuple(next(rest) if o is None else o for o in order))


def swapaxes(input: Any, axis0: int, axis1: int) -> Any:
    """``transpose(input, axis0, axis1)`` under NumPy's name."""
    return shape.transpose(input, axis0, axis1)


def unbind(input: Any, dim: int = 0) -> tuple[Any, ...]:
    """The slices of ``input`` along ``dim``, each without that dimension."""
    axis = _axis(dim, input.ndim)
    if input.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    pieces = shape.split(input, 1, axis)
    return tuple(shape.squeeze(p, axis) for p in pieces)


def rot90(input: Any, k: int = 1, dims: Sequence[int] = (0, 1)) -> Any:
    """``input`` turned by ``k`` quarter turns in the plane of ``dims``, from the first axis to the second."""
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = normalize_dims(dims, input.ndim)
    k %= 4
    if k == 1:
        return shape.transpose(shape.flip(input, d1), d0, d1)
    if k == 2:
        return shape.flip(input, (d0, d1))
    if k == 3:
        return shape.transpose(shape.flip(input, d0), d0, d1)
    return input.clone()


def fliplr(input: Any) -> Any:
    """``input`` reversed along dimension 1 (left and right)."""
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return shape.flip(input, 1)


def flipud(input: Any) -> Any:
    """``input`` reversed along dimension 0 (up and down)."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return shape.flip(input, 0)


# ----- at least N dimensions, stacking -----
def _atleast(input: Any, n: int) -> Any:
    if input.ndim >= n:
        return input
    sizes = tuple(input.shape)
    # 1-D (k,) becomes (1, k) and (1, k, 1); 2-D (a, b) becomes (a, b, 1), as NumPy
    padded = {0: (1,) * n, 1: (1, *sizes, 1)[:n], 2: (*sizes, 1)}[input.ndim]
    return shape.reshape(input, padded)


def _atleast_nd(n: int) -> Any:
    def atleast(*tensors: Any) -> Any:
        if len(tensors) == 1 and isinstance(tensors[0], Tensor):
            return _atleast(tensors[0], n)
        return tuple(_atleast(t, n) for t in _tensors(f"atleast_{n}d", tensors))

    atleast.__name__ = f"atleast_{n}d"
    atleast.__doc__ = f"Each tensor viewed with at least {n} dimensions (size-1 dimensions added)."
    return atleast


atleast_1d = _atleast_nd(1)
atleast_2d = _atleast_nd(2)
atleast_3d = _atleast_nd(3)


def hstack(tensors: Any) -> Any:
    """Concatenated along dimension 1 (0 for 1-D tensors), after ``atleast_1d``."""
    ts = [_atleast(t, 1) for t in _tensors("hstack", (tensors,))]
    return shape.cat(ts, 0 if ts and ts[0].ndim == 1 else 1)


def vstack(tensors: Any) -> Any:
    """Concatenated along dimension 0 after ``atleast_2d``."""
    return shape.cat([_atleast(t, 2) for t in _tensors("vstack", (tensors,))], 0)


def dstack(tensors: Any) -> Any:
    """Concatenated along dimension 2 after ``atleast_3d``."""
    return shape.cat([_atleast(t, 3) for t in _tensors("dstack", (tensors,))], 2)


def column_stack(tensors: Any) -> Any:
    """Concatenated along dimension 1, with 0-d and 1-D tensors as columns."""
    ts = _tensors("column_stack", (tensors,))
    return shape.cat([shape.reshape(t, (t.numel(), 1)) if t.ndim < 2 else t for t in ts], 1)


row_stack = vstack


# ----- splitting -----
def tensor_split(input: Any, indices_or_sections: Any, dim: int = 0) -> tuple[Any, ...]:
    """``input`` cut along ``dim`` into ``n`` near-equal parts (the first ``size % n`` one longer), or at
    the given indices (views; an index past the end gives an empty part)."""
    axis = _axis(dim, input.ndim)
    size = input.shape[axis]
    if isinstance(indices_or_sections, Tensor):
        value = indices_or_sections
        if value.dtype.is_floating_point or value.ndim > 1:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                f"{str(value.dtype).split('.')[-1].capitalize()}"
                if value.ndim <= 1
                else "tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                f"one-dimensional tensor, but got a tensor with {value.ndim} dims"
            )
        indices_or_sections = value.item() if value.ndim == 0 else value.tolist()
    if isinstance(indices_or_sections, int):
        sections = indices_or_sections
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        base, extra = divmod(size, sections)
        sizes = [base + 1] * extra + [base] * (sections - extra)
        return tuple(shape.narrow(input, axis, builtins.sum(sizes[:i]), n) for i, n in enumerate(sizes))
    # at indices: piece i is input[indices[i-1]:indices[i]] along the axis, with Python's slice rules
    starts = [0, *indices_or_sections]
    ends = [*indices_or_sections, None]
    lead = (slice(None),) * axis
    return tuple(indexing.getitem(input, (*lead, slice(a, b))) for a, b in zip(starts, ends))


def _split_along(name: str, input: Any, sections: Any, axis: int) -> tuple[Any, ...]:
    if isinstance(sections, int):
        size = input.shape[axis]
        if sections == 0 or size % sections:
            raise RuntimeError(
                f"torch.{name} attempted to split along dimension {axis}, but the size of the dimension "
                f"{size} is not divisible by the split_size {sections}!"
            )
    return tensor_split(input, sections, axis)


def hsplit(input: Any, sections: Any) -> tuple[Any, ...]:
    """``tensor_split`` along dimension 1 (0 for 1-D); an int must divide that dimension."""
    if input.ndim < 1:
        raise RuntimeError(
            "torch.hsplit requires a tensor with at least 1 dimension, but got a tensor with 0 dimensions!"
        )
    return _split_along("hsplit", input, sections, 1 if input.ndim > 1 else 0)


def vsplit(input: Any, sections: Any) -> tuple[Any, ...]:
    """``tensor_split`` along dimension 0; an int must divide it."""
    if input.ndim < 2:
        raise RuntimeError(
            "torch.vsplit requires a tensor with at least 2 dimension, but got a tensor with "
            f"{input.ndim} dimensions!"
        )
    return _split_along("vsplit", input, sections, 0)


def dsplit(input: Any, sections: Any) -> tuple[Any, ...]:
    """``tensor_split`` along dimension 2; an int must divide it."""
    if input.ndim < 3:
        raise RuntimeError(
            "torch.dsplit requires a tensor with at least 3 dimension, but got a tensor with "
            f"{input.ndim} dimensions!"
        )
    return _split_along("dsplit", input, sections, 2)


# ----- broadcasting -----
def broadcast_shapes(*shapes: Any) -> Size:
    """The shape that tensors of ``shapes`` broadcast to (no tensors made)."""
    result: list[int] = []
    for arg, s in enumerate(shapes):
        s = (s,) if isinstance(s, int) else tuple(s)
        if len(s) > len(result):
            result = [1] * (len(s) - len(result)) + result
        for i, size in enumerate(s):
            j = len(result) - len(s) + i
            if result[j] == 1:
                result[j] = size
            elif size != 1 and size != result[j]:
                raise RuntimeError(
                    "Shape mismatch: objects cannot be broadcast to a single shape.  Mismatch is between "
                    f"arg 0 and arg {arg}."
                )
    return Size(result)


def broadcast_to(input: Any, size: Any) -> Any:
    """``input`` expanded (a view) to ``size``; -1 keeps a dimension."""
    return shape.expand(input, tuple(size))


def broadcast_tensors(*tensors: Any) -> tuple[Any, ...]:
    """The tensors expanded to their common shape."""
    ts = _tensors("broadcast_tensors", tensors)
    for t in ts[1:]:
        check_broadcastable(tuple(ts[0].shape), tuple(t.shape))
    common = tuple(broadcast_shapes(*(tuple(t.shape) for t in ts)))
    return tuple(t if tuple(t.shape) == common else shape.expand(t, common) for t in ts)


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Any, ...]:
    """Coordinate grids of 0-d or 1-D tensors: output ``i`` varies along dimension ``i`` (``'ij'``), or with
    the first two dimensions swapped (``'xy'``, Cartesian)."""
    ts = _tensors("meshgrid", tensors)
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(
                f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}D"
            )
    ts = [shape.reshape(t, (-1,)) for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    order = [1, 0, *range(2, len(ts))] if swap else list(range(len(ts)))
    sizes = [ts[i].shape[0] for i in order]
    grids = []
    for place, i in enumerate(order):
        view = [1] * len(ts)
        view[place] = sizes[place]
        grids.append((i, shape.expand(shape.reshape(ts[i], tuple(view)), tuple(sizes))))
    return tuple(g for _, g in sorted(grids, key=lambda pair: pair[0]))


def cartesian_prod(*tensors: Any) -> Any:
    """Every combination of one element from each 1-D tensor, as rows (a 1-D tensor stays itself)."""
    ts = _tensors("cartesian_prod", tensors)
    for t in ts:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(ts) == 1:
        return ts[0]
    return shape.stack([shape.reshape(g, (-1,)) for g in meshgrid(*ts, indexing="ij")], 1)


def combinations(input: Any, r: int = 2, with_replacement: bool = False) -> Any:
    """The length-``r`` combinations of a 1-D tensor's elements, as rows, in ``itertools`` order."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return Tensor._make(_backend.array_module(input._data).zeros((0,), dtype=input._data.dtype))
    choose = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(choose(range(input.shape[0]), r))
    xp = _backend.array_module(input._data)
    index = xp.asarray(rows, dtype=xp.int64).reshape(len(rows), r)
    return indexing.AdvancedIndex.apply(input, (index,))


# ----- repeating and windows -----
def _repeat_index(xp: Any, counts: Any, output_size: int | None) -> Any:
    """``arange(len(counts))`` with element ``i`` repeated ``counts[i]`` times, without a host loop: the
    place of output ``k`` is how many running totals are ``<= k``. The length is read back unless given."""
    totals = xp.cumsum(counts)
    size = output_size if output_size is not None else int(totals[-1]) if totals.size else 0
    return xp.searchsorted(totals, xp.arange(size), side="right")


def repeat_interleave(
    input: Any, repeats: Any = None, dim: int | None = None, *, output_size: int | None = None
) -> Any:
    """Each element (or slice along ``dim``) repeated ``repeats`` times in place (an int or one count per
    element); ``repeat_interleave(counts)`` alone repeats ``arange(len(counts))``."""
    if repeats is None:  # torch.repeat_interleave(repeats): the indices 0..n-1, each counts[i] times
        counts = input._data
        xp = _backend.array_module(counts)
        _check_counts(xp, counts)
        return Tensor._make(_repeat_index(xp, counts, output_size).astype(xp.int64))
    if dim is None:
        input, axis = shape.reshape(input, (-1,)), 0
    else:
        axis = _axis(dim, input.ndim)
    if input.ndim == 0:
        input = shape.reshape(input, (1,))
    xp = _backend.array_module(input._data)
    size = input.shape[axis]
    if isinstance(repeats, Tensor) and repeats.ndim > 0:
        counts = repeats._data
        if counts.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        if counts.shape[0] not in (1, size):
            raise RuntimeError("repeats must have the same size as input along dim")
        _check_counts(xp, counts)
        if counts.shape[0] == 1 and size != 1:
            counts = xp.broadcast_to(counts, (size,))
        index = _repeat_index(xp, counts, output_size)
    else:
        count = int(repeats.item() if isinstance(repeats, Tensor) else repeats)
        if count < 0:
            raise RuntimeError("repeats can not be negative")
        index = xp.repeat(xp.arange(size), count)
    if output_size is not None and index.shape[0] != output_size:
        raise RuntimeError("allocated size does not match required size")
    return indexing.IndexSelect.apply(input, axis, index.astype(xp.int64))


def _check_counts(xp: Any, counts: Any) -> None:
    if counts.dtype.kind not in "iu":
        raise RuntimeError("repeat_interleave: repeats has to be Long or Int tensor")
    # checked on the CPU only: on a GPU it would read the counts back (as the README says of such checks)
    if xp.__name__ == "numpy" and counts.size and int(counts.min()) < 0:
        raise RuntimeError("repeats can not be negative")


class Unfold(Function):
    """Windows of ``size`` every ``step`` along ``axis``: that axis becomes the window count, and a last axis
    of length ``size`` is added (a copy; torch's is a view). Backward adds each window's gradient back."""

    @staticmethod
    def forward(ctx, x, axis, size, step):
        xp = ctx.xp
        length = x.shape[axis] if x.ndim else 1
        if size > length:
            raise RuntimeError(f"maximum size for tensor at dimension {axis} is {length} but size is {size}")
        if step <= 0:
            raise RuntimeError(f"step is {step} but must be > 0")
        count = (length - size) // step + 1
        windows = xp.arange(count)[:, None] * step + xp.arange(size)[None, :]
        ctx.in_shape, ctx.axis, ctx.key = x.shape, axis, (slice(None),) * axis + (windows,)
        if x.ndim == 0:
            return x.reshape(1)
        return xp.moveaxis(x[ctx.key], axis + 1, -1)

    @staticmethod
    def backward(ctx, grad_out):
        xp = ctx.xp
        if not ctx.in_shape:
            return grad_out.reshape(()), None, None, None
        grad = xp.zeros(ctx.in_shape, dtype=grad_out.dtype)
        _backend.scatter_add(grad, ctx.key, xp.moveaxis(grad_out, -1, ctx.axis + 1))
        return grad, None, None, None

    def name(self) -> str:
        return "UnfoldBackward0"


def unfold(input: Any, dimension: int, size: int, step: int) -> Any:
    """``Tensor.unfold``: the windows of ``size`` every ``step`` along ``dimension``, in a new last axis."""
    return Unfold.apply(input, _axis(dimension, input.ndim), size, step)
