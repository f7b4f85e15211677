"""Which convolution algorithm runs for which shapes: every rule that chooses one, and every tuned constant.

Three algorithms (shapes as in ``ConvGeometry``; the measurements behind each rule and constant are in
``benchmarks/README.md``, "Convolution paths"):

* im2col (``_conv_kernels``): a patch matrix ``(C*kh*kw, positions)`` and one GEMM per block of images. Any
  shape, and the only algorithm on a GPU (the others pay off through the CPU's caches and per-copy costs). A
  1x1 kernel without padding skips the patches: a matmul over channels.
* kernel rows (``_conv_rows``): stride 1, one group; patches of the kernel's columns only and one GEMM with
  the kernel's rows stacked.
* channels last (``_conv_channels_last``): one group; patch rows of ``kw*C`` contiguous floats.

``conv_plan`` names the algorithm for each of a convolution's three results; the functions below it choose
within an algorithm (its grid of positions, how it takes the input gradient).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # for annotations only: the geometry imports this module
    from nnrun.ops._conv_geometry import ConvGeometry

# Bytes of patch matrix per block of images on the CPU: a block's patches stay in the last-level cache.
CPU_BLOCK_BYTES = 4 << 20
# The largest whole-batch patch matrix that the forward pass keeps for the weight gradient, which saves
# building it again in backward; small layers (LeNet-5, the ResNet stems) trade this memory for speed.
KEPT_PATCH_BYTES = 16 << 20
# im2col's rows and flat grids compute positions that are dropped, but copy long contiguous runs; the
# strided grid copies runs of only Wo. A row grid is used while its wasted GEMM work per run,
# (positions / (Ho*Wo) - 1) * O * Wo, stays at most this.
MAX_GRID_WASTE = 400
# Kernel rows compute every padded position and a GEMM result kh times the output, but copy a third of
# im2col's patches: used while the floats they move, (C*kw + kh*O) * Hp*Wp, stay below this share of
# im2col's, (C*kh*kw + O) * Ho*Wo.
MAX_KERNEL_ROWS_TRAFFIC = 0.9
# Channels last transposes every input and output block, which pays only where im2col's runs are short:
# at most this many output positions per image,
CHANNELS_LAST_MAX_POSITIONS = 64
# and patch runs (kernel rows, kw*C floats) at least this long.
CHANNELS_LAST_MIN_RUN = 96
# Channels last's stride-1 input gradient goes by the flipped kernel's forward pass (one patch copy and a
# GEMM) up to this many output channels; beyond, the GEMM costs more than the kh*kw strided adds it replaces.
CHANNELS_LAST_MAX_FLIPPED_CHANNELS = 128

Algorithm = Literal["im2col", "kernel_rows", "channels_last"]


@dataclass(frozen=True)
class ConvPlan:
    """The algorithm for each result of one convolution. ``weight_grad`` is ``"kept_patches"`` where the
    im2col forward pass keeps its patch matrix for the weight gradient (when the weight needs one)."""

    output: Algorithm
    input_grad: Algorithm
    weight_grad: Algorithm | Literal["kept_patches"]


def conv_plan(geo: ConvGeometry, itemsize: int) -> ConvPlan:
    """The algorithms for a convolution of elements ``itemsize`` bytes wide."""
    if uses_channels_last(geo):
        return ConvPlan("channels_last", "channels_last", "channels_last")
    if uses_kernel_rows(geo):
        return ConvPlan("kernel_rows", "kernel_rows", "kernel_rows")
    input_grad: Algorithm = "kernel_rows" if input_gradient_by_rows(geo) else "im2col"
    return ConvPlan("im2col", input_grad, "kept_patches" if keeps_patches(geo, itemsize) else "im2col")


def uses_channels_last(geo: ConvGeometry) -> bool:
    """All three results by channels last: on the CPU, one group, no column dilation, more than one tap, few
    output positions and long runs."""
    return (
        not geo.on_gpu
        and geo.groups == 1
        and geo.dilation_w == 1
        and geo.kh * geo.kw > 1
        and geo.out_h * geo.out_w <= CHANNELS_LAST_MAX_POSITIONS
        and geo.kw * geo.C >= CHANNELS_LAST_MIN_RUN
    )


def kernel_rows_fit(geo: ConvGeometry) -> bool:
    """Kernel rows can run it: on the CPU, stride 1, one group, a kernel taller than one row."""
    return not geo.on_gpu and geo.groups == 1 and (geo.stride_h, geo.stride_w) == (1, 1) and geo.kh > 1


def uses_kernel_rows(geo: ConvGeometry) -> bool:
    """All three results by kernel rows: they fit, and move less memory than im2col."""
    if not kernel_rows_fit(geo):
        return False
    by_rows = (geo.C * geo.kw + geo.kh * geo.O) * geo.padded_h * geo.padded_w
    by_im2col = (geo.C * geo.kh * geo.kw + geo.O) * geo.out_h * geo.out_w
    return by_rows <= MAX_KERNEL_ROWS_TRAFFIC * by_im2col


def input_gradient_by_rows(geo: ConvGeometry) -> bool:
    """The input gradient by kernel rows wherever they fit: faster than im2col's in every shape measured
    (their weight gradient was not, so it stays by im2col)."""
    return kernel_rows_fit(geo)


def keeps_patches(geo: ConvGeometry, itemsize: int) -> bool:
    """The im2col forward pass keeps the whole batch's patch matrix for the weight gradient: a kernel with
    patches, whose matrix on the forward grid takes at most ``KEPT_PATCH_BYTES``."""
    geo = geo.in_mode(im2col_grid(geo))
    size = geo.C * geo.kh * geo.kw * geo.N * geo.positions * itemsize
    return not is_pointwise(geo) and size <= KEPT_PATCH_BYTES


def is_pointwise(geo: ConvGeometry) -> bool:
    """A 1x1 kernel without padding: im2col runs it as a matmul over channels (after subsampling)."""
    return geo.kh == geo.kw == 1 and geo.padded_h == geo.H and geo.padded_w == geo.W


def _affordable(geo: ConvGeometry, positions: int) -> bool:
    """Stride 1, and ``positions`` per image waste little enough GEMM work (``MAX_GRID_WASTE``)."""
    waste = (positions / (geo.out_h * geo.out_w) - 1) * geo.O * geo.out_w
    return (geo.stride_h, geo.stride_w) == (1, 1) and waste <= MAX_GRID_WASTE


def im2col_grid(geo: ConvGeometry) -> str:
    """im2col's forward grid: "rows" (output rows at padded width) where affordable, else "strided"."""
    return "rows" if _affordable(geo, geo.out_h * geo.padded_w) else "strided"


def im2col_backward_grid(geo: ConvGeometry, need_input: bool) -> str:
    """im2col's backward grid: "flat" where the input gradient goes by flipped-kernel patches, else the
    forward grid. Flipped patches
    (one group, ``O <= C``) make the input gradient a "full" convolution of the gradient with the flipped
    kernel, whose patches (``O*kh*kw`` rows, plain copies) are no larger than the patch gradient that col2im
    would accumulate (``C*kh*kw`` rows, read-add-write per tap)."""
    flipped = need_input and geo.groups == 1 and geo.O <= geo.C
    return "flat" if flipped and _affordable(geo, geo.padded_h * geo.padded_w) else im2col_grid(geo)


def kernel_rows_grid(geo: ConvGeometry) -> str:
    """Kernel rows' grid: "narrow" (rows ``W`` wide: copies over whole images, fewer GEMM columns) where
    there are padding columns and every output column lies within the input's width (left plus right
    padding at most ``dw*(kw - 1)``, as for "same" padding), else "flat" (the same layout where there are no
    padding columns, without taps to zero)."""
    return "narrow" if 0 < geo.padded_w - geo.W <= geo.dilation_w * (geo.kw - 1) else "flat"


def channels_last_flips_kernel(geo: ConvGeometry) -> bool:
    """Channels last takes the input gradient by the flipped kernel's forward pass, not by tap adds: stride
    1, padding within the kernel's extent (so the "full" padding is not negative), and at most
    ``CHANNELS_LAST_MAX_FLIPPED_CHANNELS`` output channels."""
    reach_h, reach_w = (geo.kh - 1) * geo.dilation_h, (geo.kw - 1) * geo.dilation_w
    return (
        (geo.stride_h, geo.stride_w) == (1, 1)
        and geo.O <= CHANNELS_LAST_MAX_FLIPPED_CHANNELS
        and max(geo.pad_top, geo.pad_bottom) <= reach_h
        and max(geo.pad_left, geo.pad_right) <= reach_w
    )


def images_per_block(geo: ConvGeometry, bytes_per_image: int) -> int:
    """Images per block: on the CPU as many as ``CPU_BLOCK_BYTES`` hold (at least one); a GPU takes the
    whole batch."""
    return geo.N if geo.on_gpu else max(1, min(geo.N, CPU_BLOCK_BYTES // max(bytes_per_image, 1)))
