"""Spatial transformers: ``affine_grid`` (the sampling grid of a batch of affine maps) and ``grid_sample``
(an image read at the grid's points, bilinear or nearest, with ``zeros``/``border``/``reflection`` padding).

Both are composed of differentiable ops: the gradient reaches the image through the reads (a gather), and the
grid through the bilinear weights and the coordinate transforms, as torch's kernels compute it.
"""

from __future__ import annotations

import warnings
from typing import Any

from nnrun import _backend
from nnrun._tensor import Tensor

_ALIGN_CORNERS_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. Please "
    "specify align_corners=True if the old behavior is desired. See the documentation of grid_sample for "
    "details."
)


def _constant(array: Any) -> Tensor:
    return Tensor._make(array)


def _base_coordinates(xp: Any, steps: int, align_corners: bool, dtype: Any) -> Any:
    """``steps`` points spanning [-1, 1] (pixel corners) or the pixel centres within it."""
    if steps <= 1:
        return xp.zeros((steps,), dtype=dtype)
    points = xp.linspace(-1, 1, steps, dtype=dtype)
    return points if align_corners else points * dtype.type((steps - 1) / steps)


def affine_grid(theta: Any, size: Any, align_corners: bool | None = None) -> Any:
    """The sampling grid ``(N, H, W, 2)`` (or ``(N, D, H, W, 3)``) of the affine maps ``theta`` ``(N, 2, 3)``
    (or ``(N, 3, 4)``) applied to the normalised output coordinates of ``size`` ``(N, C, H, W)`` (or
    ``(N, C, D, H, W)``); each point is ``(x, y[, z])`` in [-1, 1] image space."""
    if align_corners is None:
        warnings.warn(_ALIGN_CORNERS_WARNING, UserWarning, stacklevel=2)
        align_corners = False
    if theta._data.dtype.kind != "f":
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = list(size)
    spatial = len(size) - 2
    if spatial not in (2, 3):
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, respectively. "
            f"Got size {size}."
        )
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (spatial, spatial + 1):
        shape = "Nx2x3" if spatial == 2 else "Nx3x4"
        raise ValueError(
            f"Expected a batch of {spatial}D affine matrices of shape {shape} for size {size}. Got "
            f"{theta.shape}."
        )
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if align_corners and min(size[2:]) == 1:
        warnings.warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
            "align_corners=True. This is not an intended use case of affine_grid. See the documentation of "
            "affine_grid for details.",
            UserWarning,
            stacklevel=2,
        )
    xp = _backend.array_module(theta._data)
    dtype = theta._data.dtype
    axes = [_base_coordinates(xp, n, align_corners, dtype) for n in size[:1:-1]]  # x (width) first
    mesh = xp.meshgrid(*axes[::-1], indexing="ij")[::-1]  # over (D,) H, W; listed x, y (, z)
    base = xp.stack([*mesh, xp.ones_like(mesh[0])], axis=-1).reshape(-1, spatial + 1)
    grid = _constant(base) @ theta.transpose(1, 2)  # (N, points, spatial)
    return grid.reshape(size[0], *size[2:], spatial)


def _reflect(coordinate: Any, twice_low: float, twice_high: float) -> Any:
    """Fold ``coordinate`` into [low, high] by reflection at the ends (torch's ``reflect_coordinates``)."""
    if twice_low == twice_high:
        return coordinate * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    distance = (coordinate - low).abs()
    data = distance._data
    xp = _backend.array_module(data)
    flips = xp.floor(data / span)
    extra = distance - _constant(flips * span)  # fmod(distance, span), its slope 1
    even = flips % 2 == 0
    sign = xp.where(even, 1, -1).astype(data.dtype)
    offset = xp.where(even, low, span + low).astype(data.dtype)
    return extra * _constant(sign) + _constant(offset)


def _source_coordinate(coordinate: Any, size: int, padding_mode: str, align_corners: bool) -> Any:
    """A normalised coordinate in [-1, 1] as a pixel position, padded by ``padding_mode``."""
    # -1 and 1 are the centres of the corner pixels (align_corners) or the outer edges of the corner pixels
    position = (coordinate + 1) / 2 * (size - 1) if align_corners else ((coordinate + 1) * size - 1) / 2
    if padding_mode == "border":
        position = position.clamp(0, size - 1)
    elif padding_mode == "reflection":
        if align_corners:
            position = _reflect(position, 0, 2 * (size - 1))
        else:
            position = _reflect(position, -1, 2 * size - 1)
        position = position.clamp(0, size - 1)
    return position


def _read(input: Any, batch: Any, rows: Any, cols: Any, height: int, width: int) -> Any:
    """``input[n, :, row, col]`` at each point ``(N, Ho, Wo)`` as ``(N, C, Ho, Wo)``, 0 outside the image."""
    xp = _backend.array_module(rows)
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    values = input[
        _constant(batch), :, _constant(xp.clip(rows, 0, height - 1)), _constant(xp.clip(cols, 0, width - 1))
    ]
    return values.permute(0, 3, 1, 2) * _constant(inside[:, None].astype(input._data.dtype))


def grid_sample(
    input: Any,
    grid: Any,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Any:
    """``input`` ``(N, C, H, W)`` read at the points of ``grid`` ``(N, Ho, Wo, 2)`` (``(x, y)`` in [-1, 1],
    -1 the left/top edge): ``(N, C, Ho, Wo)``. ``mode`` ``'bilinear'`` or ``'nearest'``; points outside read
    0 (``'zeros'``), the nearest edge (``'border'``) or the image mirrored (``'reflection'``)."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(
            "nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: "
            f"'{mode}'"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or 'reflection', "
            f"but got: '{padding_mode}'"
        )
    if align_corners is None:
        warnings.warn(_ALIGN_CORNERS_WARNING, UserWarning, stacklevel=2)
        align_corners = False
    if input.ndim != 4 or mode == "bicubic":
        raise NotImplementedError(
            "nnrun's grid_sample reads 4-D (N, C, H, W) input with mode 'bilinear' or 'nearest'; got "
            f"{input.ndim}-D input and mode '{mode}'"
        )
    if grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise RuntimeError(
            "grid_sampler(): expected grid to have size 2 in last dimension and the batch size of input, but "
            f"got grid with sizes {list(grid.shape)} for input with sizes {list(input.shape)}"
        )
    height, width = input.shape[2:]
    xs = _source_coordinate(grid[..., 0], width, padding_mode, align_corners)
    ys = _source_coordinate(grid[..., 1], height, padding_mode, align_corners)
    xp = _backend.array_module(xs._data)
    batch = xp.broadcast_to(xp.arange(input.shape[0])[:, None, None], xs.shape)
    if mode == "nearest":  # round half to even, as torch's nearbyint; no gradient to the grid
        cols, rows = xp.rint(xs._data).astype(xp.int64), xp.rint(ys._data).astype(xp.int64)
        return _read(input, batch, rows, cols, height, width)
    left, top = xp.floor(xs._data), xp.floor(ys._data)
    east, south = xs - _constant(left), ys - _constant(top)  # the weights of the right and bottom pixels
    west, north = 1 - east, 1 - south
    left, top = left.astype(xp.int64), top.astype(xp.int64)
    out = None
    for rows, cols, weight in (
        (top, left, north * west),
        (top, left + 1, north * east),
        (top + 1, left, south * west),
        (top + 1, left + 1, south * east),
    ):
        term = _read(input, batch, rows, cols, height, width) * weight.unsqueeze(1)
        out = term if out is None else out + term
    return out
