"""Which convolution path runs for which shapes. The table was recorded from the code before the paths'
rules moved into one dispatcher (``nnrun.ops._conv_dispatch``), so that the move kept every choice: a
change here changes performance, and needs new measurements in benchmarks/README.md.

Each entry: the algorithms for the output, the input gradient and the weight gradient (``kept_patches``: from
the float32 forward pass's patch matrix), whether float64 keeps its patches too, whether the kernel is
pointwise, im2col's grid and images per block for the forward pass and for a backward pass with an input
gradient, and, where used, kernel rows' grid and block and channels-last's input gradient and block.
"""

import numpy as np
import pytest

from nnrun.ops import conv as conv_ops
from nnrun.ops._conv_channels_last import _Block
from nnrun.ops._conv_dispatch import (
    channels_last_flips_kernel,
    conv_plan,
    im2col_backward_grid,
    im2col_grid,
    is_pointwise,
    kernel_rows_grid,
)
from nnrun.ops._conv_geometry import ConvGeometry
from nnrun.ops._conv_rows import _blocked

# name: (batch, in channels, out channels, H, W, kernel (kh, kw), stride, padding (top, bottom, left, right),
# dilation, groups)
CASES = {
    "lenet conv1 1->6 5x5 pad 2": (128, 1, 6, 28, 28, (5, 5), (1, 1), (2, 2, 2, 2), (1, 1), 1),
    "lenet conv2 6->16 5x5": (128, 6, 16, 14, 14, (5, 5), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    "resnet20 stem 3->16": (128, 3, 16, 32, 32, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "resnet20 16->16 32px": (128, 16, 16, 32, 32, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "resnet20 16->32 s2": (128, 16, 32, 32, 32, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1),
    "resnet20 32->32 16px": (128, 32, 32, 16, 16, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "resnet20 32->64 s2": (128, 32, 64, 16, 16, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1),
    "resnet20 64->64 8px": (128, 64, 64, 8, 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "resnet20 shortcut 16->32 1x1 s2": (128, 16, 32, 32, 32, (1, 1), (2, 2), (0, 0, 0, 0), (1, 1), 1),
    "resnet20 shortcut 32->64 1x1 s2": (128, 32, 64, 16, 16, (1, 1), (2, 2), (0, 0, 0, 0), (1, 1), 1),
    "resnet18 cifar stem 3->64": (32, 3, 64, 32, 32, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "resnet18 64->64 32px": (32, 64, 64, 32, 32, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "resnet18 64->128 s2": (32, 64, 128, 32, 32, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1),
    "resnet18 128->128 16px": (32, 128, 128, 16, 16, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "resnet18 128->256 s2": (32, 128, 256, 16, 16, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1),
    "resnet18 256->256 8px": (32, 256, 256, 8, 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "resnet18 256->512 s2": (32, 256, 512, 8, 8, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1),
    "resnet18 512->512 4px": (32, 512, 512, 4, 4, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "resnet18 shortcut 256->512 1x1 s2": (32, 256, 512, 8, 8, (1, 1), (2, 2), (0, 0, 0, 0), (1, 1), 1),
    "resnet imagenet stem 7x7 s2": (8, 3, 64, 224, 224, (7, 7), (2, 2), (3, 3, 3, 3), (1, 1), 1),
    "1x1 16->32": (16, 16, 32, 16, 16, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    "1x1 padded": (8, 8, 4, 6, 6, (1, 1), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "1x1 grouped": (16, 32, 32, 8, 8, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 4),
    "3x3 'same' even kernel 4x4": (8, 16, 16, 32, 32, (4, 4), (1, 1), (1, 2, 1, 2), (1, 1), 1),
    "3x3 s2 unpadded 16px": (16, 32, 32, 16, 16, (3, 3), (2, 2), (0, 0, 0, 0), (1, 1), 1),
    "dilated 2 16->16 32px": (8, 16, 16, 32, 32, (3, 3), (1, 1), (2, 2, 2, 2), (2, 2), 1),
    "dilated 2 64->64 8px": (8, 64, 64, 8, 8, (3, 3), (1, 1), (2, 2, 2, 2), (2, 2), 1),
    "dilated rows only 64 8px": (8, 64, 64, 8, 8, (3, 3), (1, 1), (2, 2, 1, 1), (2, 1), 1),
    "grouped 4 16->16 32px": (8, 16, 16, 32, 32, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 4),
    "grouped 2 64->64 8px": (8, 64, 64, 8, 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 2),
    "depthwise 32 16px": (8, 32, 32, 16, 16, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 32),
    "depthwise 64 s2": (8, 64, 64, 16, 16, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 64),
    "more in than out 64->16 8px": (8, 64, 16, 8, 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "more in than out 32->8 32px": (8, 32, 8, 32, 32, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "conv1d 4->4 k3 len 64": (8, 4, 4, 1, 64, (1, 3), (1, 1), (0, 0, 1, 1), (1, 1), 1),
    "conv1d 64->64 k3 len 32": (8, 64, 64, 1, 32, (1, 3), (1, 1), (0, 0, 1, 1), (1, 1), 1),
    "conv1d 64->128 k5 s2 len 64": (8, 64, 128, 1, 64, (1, 5), (1, 2), (0, 0, 2, 2), (1, 1), 1),
    "conv1d 16->16 k3 dilated 4": (8, 16, 16, 1, 100, (1, 3), (1, 1), (0, 0, 4, 4), (1, 4), 1),
}
# Transposed convolutions, as the convolution they transpose: name: (batch, in channels, out channels of the
# transposed convolution, H, W of its input, kernel, stride, padding, output padding, dilation, groups)
TRANSPOSED = {
    "transposed 64->32 4x4 s2 8px": (16, 64, 32, 8, 8, (4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 1),
    "transposed 16->8 3x3 16px": (16, 16, 8, 16, 16, (3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 1),
    "transposed 8->16 3x3 s2 op1": (16, 8, 16, 16, 16, (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1),
    "transposed 32->32 3x3 grouped 4": (16, 32, 32, 8, 8, (3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 4),
    "transposed 16->16 1x1": (16, 16, 16, 8, 8, (1, 1), (1, 1), (0, 0), (0, 0), (1, 1), 1),
}

EXPECTED = {  # name: (on the CPU, on a GPU)
    "lenet conv1 1->6 5x5 pad 2": (
        "im2col/kernel_rows/kept_patches kept64=no pointwise=no im2col=rows:46/rows:46 rows=narrow:34 cl=-",
        "im2col/im2col/kept_patches kept64=no pointwise=no im2col=rows:128/rows:128 rows=- cl=-",
    ),
    "lenet conv2 6->16 5x5": (
        "im2col/kernel_rows/kept_patches kept64=no pointwise=no im2col=rows:49/rows:49 rows=flat:66 cl=-",
        "im2col/im2col/kept_patches kept64=no pointwise=no im2col=rows:128/rows:128 rows=- cl=-",
    ),
    "resnet20 stem 3->16": (
        "im2col/kernel_rows/kept_patches kept64=no pointwise=no im2col=rows:35/rows:35 rows=narrow:18 cl=-",
        "im2col/im2col/kept_patches kept64=no pointwise=no im2col=rows:128/rows:128 rows=- cl=-",
    ),
    "resnet20 16->16 32px": (
        "kernel_rows kept64=no pointwise=no im2col=rows:6/flat:6 rows=narrow:18 cl=-",
        "im2col kept64=no pointwise=no im2col=rows:128/flat:128 rows=- cl=-",
    ),
    "resnet20 16->32 s2": (
        "im2col kept64=no pointwise=no im2col=strided:28/strided:28 rows=- cl=-",
        "im2col kept64=no pointwise=no im2col=strided:128/strided:128 rows=- cl=-",
    ),
    "resnet20 32->32 16px": (
        "kernel_rows kept64=no pointwise=no im2col=rows:12/flat:11 rows=narrow:33 cl=-",
        "im2col kept64=no pointwise=no im2col=rows:128/flat:128 rows=- cl=-",
    ),
    "resnet20 32->64 s2": (
        "channels_last kept64=no pointwise=no im2col=strided:56/strided:56 rows=- cl=taps:56",
        "im2col/im2col/kept_patches kept64=no pointwise=no im2col=strided:128/strided:128 rows=- cl=-",
    ),
    "resnet20 64->64 8px": (
        "channels_last kept64=no pointwise=no im2col=rows:22/flat:18 rows=- cl=flipped:28",
        "im2col kept64=no pointwise=no im2col=rows:128/flat:128 rows=- cl=-",
    ),
    "resnet20 shortcut 16->32 1x1 s2": (
        "im2col kept64=no pointwise=yes im2col=strided:128/strided:128 rows=- cl=-",
        "im2col kept64=no pointwise=yes im2col=strided:128/strided:128 rows=- cl=-",
    ),
    "resnet20 shortcut 32->64 1x1 s2": (
        "im2col kept64=no pointwise=yes im2col=strided:128/strided:128 rows=- cl=-",
        "im2col kept64=no pointwise=yes im2col=strided:128/strided:128 rows=- cl=-",
    ),
    "resnet18 cifar stem 3->64": (
        "im2col/kernel_rows/kept_patches kept64=yes pointwise=no im2col=rows:32/rows:32 rows=narrow:4 cl=-",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:32/rows:32 rows=- cl=-",
    ),
    "resnet18 64->64 32px": (
        "kernel_rows kept64=no pointwise=no im2col=rows:1/flat:1 rows=narrow:4 cl=-",
        "im2col kept64=no pointwise=no im2col=rows:32/flat:32 rows=- cl=-",
    ),
    "resnet18 64->128 s2": (
        "im2col kept64=no pointwise=no im2col=strided:7/strided:7 rows=- cl=-",
        "im2col kept64=no pointwise=no im2col=strided:32/strided:32 rows=- cl=-",
    ),
    "resnet18 128->128 16px": (
        "kernel_rows kept64=no pointwise=no im2col=rows:3/rows:3 rows=narrow:8 cl=-",
        "im2col kept64=no pointwise=no im2col=rows:32/rows:32 rows=- cl=-",
    ),
    "resnet18 128->256 s2": (
        "channels_last kept64=no pointwise=no im2col=strided:14/strided:14 rows=- cl=taps:14",
        "im2col/im2col/kept_patches kept64=no pointwise=no im2col=strided:32/strided:32 rows=- cl=-",
    ),
    "resnet18 256->256 8px": (
        "channels_last kept64=no pointwise=no im2col=strided:7/strided:7 rows=- cl=taps:7",
        "im2col kept64=no pointwise=no im2col=strided:32/strided:32 rows=- cl=-",
    ),
    "resnet18 256->512 s2": (
        "channels_last kept64=no pointwise=no im2col=strided:28/strided:28 rows=- cl=taps:28",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=strided:32/strided:32 rows=- cl=-",
    ),
    "resnet18 512->512 4px": (
        "channels_last kept64=no pointwise=no im2col=strided:14/strided:14 rows=- cl=taps:14",
        "im2col/im2col/kept_patches kept64=no pointwise=no im2col=strided:32/strided:32 rows=- cl=-",
    ),
    "resnet18 shortcut 256->512 1x1 s2": (
        "im2col kept64=no pointwise=yes im2col=strided:32/strided:32 rows=- cl=-",
        "im2col kept64=no pointwise=yes im2col=strided:32/strided:32 rows=- cl=-",
    ),
    "resnet imagenet stem 7x7 s2": (
        "im2col kept64=no pointwise=no im2col=strided:1/strided:1 rows=- cl=-",
        "im2col kept64=no pointwise=no im2col=strided:8/strided:8 rows=- cl=-",
    ),
    "1x1 16->32": (
        "im2col kept64=no pointwise=yes im2col=rows:16/rows:16 rows=- cl=-",
        "im2col kept64=no pointwise=yes im2col=rows:16/rows:16 rows=- cl=-",
    ),
    "1x1 padded": (
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/flat:8 rows=- cl=-",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/flat:8 rows=- cl=-",
    ),
    "1x1 grouped": (
        "im2col kept64=no pointwise=yes im2col=rows:16/rows:16 rows=- cl=-",
        "im2col kept64=no pointwise=yes im2col=rows:16/rows:16 rows=- cl=-",
    ),
    "3x3 'same' even kernel 4x4": (
        "kernel_rows kept64=no pointwise=no im2col=rows:3/flat:3 rows=narrow:8 cl=-",
        "im2col/im2col/kept_patches kept64=no pointwise=no im2col=rows:8/flat:8 rows=- cl=-",
    ),
    "3x3 s2 unpadded 16px": (
        "channels_last kept64=no pointwise=no im2col=strided:16/strided:16 rows=- cl=taps:16",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=strided:16/strided:16 rows=- cl=-",
    ),
    "dilated 2 16->16 32px": (
        "kernel_rows kept64=no pointwise=no im2col=rows:6/flat:5 rows=narrow:8 cl=-",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/flat:8 rows=- cl=-",
    ),
    "dilated 2 64->64 8px": (
        "im2col/kernel_rows/kept_patches kept64=yes pointwise=no im2col=rows:8/rows:8 rows=narrow:8 cl=-",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/rows:8 rows=- cl=-",
    ),
    "dilated rows only 64 8px": (
        "channels_last kept64=no pointwise=no im2col=rows:8/rows:8 rows=- cl=flipped:8",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/rows:8 rows=- cl=-",
    ),
    "grouped 4 16->16 32px": (
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:6/rows:6 rows=- cl=-",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/rows:8 rows=- cl=-",
    ),
    "grouped 2 64->64 8px": (
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/rows:8 rows=- cl=-",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/rows:8 rows=- cl=-",
    ),
    "depthwise 32 16px": (
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/rows:8 rows=- cl=-",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/rows:8 rows=- cl=-",
    ),
    "depthwise 64 s2": (
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=strided:8/strided:8 rows=- cl=-",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=strided:8/strided:8 rows=- cl=-",
    ),
    "more in than out 64->16 8px": (
        "channels_last kept64=no pointwise=no im2col=rows:8/flat:8 rows=- cl=flipped:8",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/flat:8 rows=- cl=-",
    ),
    "more in than out 32->8 32px": (
        "kernel_rows kept64=no pointwise=no im2col=rows:3/flat:3 rows=narrow:8 cl=-",
        "im2col/im2col/kept_patches kept64=no pointwise=no im2col=rows:8/flat:8 rows=- cl=-",
    ),
    "conv1d 4->4 k3 len 64": (
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/flat:8 rows=- cl=-",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/flat:8 rows=- cl=-",
    ),
    "conv1d 64->64 k3 len 32": (
        "channels_last kept64=no pointwise=no im2col=rows:8/flat:8 rows=- cl=flipped:8",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/flat:8 rows=- cl=-",
    ),
    "conv1d 64->128 k5 s2 len 64": (
        "channels_last kept64=no pointwise=no im2col=strided:8/strided:8 rows=- cl=taps:8",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=strided:8/strided:8 rows=- cl=-",
    ),
    "conv1d 16->16 k3 dilated 4": (
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/flat:8 rows=- cl=-",
        "im2col/im2col/kept_patches kept64=yes pointwise=no im2col=rows:8/flat:8 rows=- cl=-",
    ),
    "transposed 64->32 4x4 s2 8px": (
        "pointwise=no im2col=strided:16/strided:16",
        "pointwise=no im2col=strided:16/strided:16",
    ),
    "transposed 16->8 3x3 16px": (
        "pointwise=no im2col=rows:16/rows:16",
        "pointwise=no im2col=rows:16/rows:16",
    ),
    "transposed 8->16 3x3 s2 op1": (
        "pointwise=no im2col=strided:16/strided:16",
        "pointwise=no im2col=strided:16/strided:16",
    ),
    "transposed 32->32 3x3 grouped 4": (
        "pointwise=no im2col=rows:16/rows:16",
        "pointwise=no im2col=rows:16/rows:16",
    ),
    "transposed 16->16 1x1": ("pointwise=yes im2col=rows:16/flat:16", "pointwise=yes im2col=rows:16/flat:16"),
}


def _geometry(case, on_gpu):
    n, c, o, h, w, (kh, kw), stride, padding, dilation, groups = case
    ho = conv_ops.conv_output_size(h, kh, stride[0], padding[0], padding[1], dilation[0])
    wo = conv_ops.conv_output_size(w, kw, stride[1], padding[2], padding[3], dilation[1])
    return ConvGeometry(
        (n, c, h, w), (o, c // groups, kh, kw), stride, padding, dilation, groups, (ho, wo), on_gpu
    )


def _transposed_geometry(case, on_gpu):
    """The geometry of the convolution whose input gradient the transposed convolution's output is."""
    n, cin, cout, h, w, (kh, kw), (sh, sw), (ph, pw), (oph, opw), (dh, dw), groups = case
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    wo = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    padding = (ph, ph, pw, pw)
    return ConvGeometry(
        (n, cout, ho, wo), (cin, cout // groups, kh, kw), (sh, sw), padding, (dh, dw), groups, (h, w), on_gpu
    )


def _yes(flag):
    return "yes" if flag else "no"


def _im2col_grids(geo):
    forward = geo.in_mode(im2col_grid(geo))
    backward = geo.in_mode(im2col_backward_grid(geo, True))
    return f"{forward.mode}:{forward.block}/{backward.mode}:{backward.block}"


def _describe(geo):
    plan = conv_plan(geo, np.dtype(np.float32).itemsize)
    algorithms = [plan.output, plan.input_grad, plan.weight_grad]
    kept64 = conv_plan(geo, np.dtype(np.float64).itemsize).weight_grad == "kept_patches"
    rows = channels_last = "-"
    if "kernel_rows" in algorithms:
        grid = _blocked(geo, kernel_rows_grid(geo))
        rows = f"{grid.mode}:{grid.block}"
    if "channels_last" in algorithms:
        flipped = "flipped" if channels_last_flips_kernel(geo) else "taps"
        channels_last = f"{flipped}:{_Block(geo, np, np.float32).geo.block}"
    path = algorithms[0] if len(set(algorithms)) == 1 else "/".join(algorithms)
    return (
        f"{path} kept64={_yes(kept64)} pointwise={_yes(is_pointwise(geo))} "
        f"im2col={_im2col_grids(geo)} rows={rows} cl={channels_last}"
    )


@pytest.mark.parametrize("on_gpu", [False, True])
@pytest.mark.parametrize("name", list(CASES))
def test_conv_path_for_each_shape_is_the_recorded_one(name, on_gpu):
    assert _describe(_geometry(CASES[name], on_gpu)) == EXPECTED[name][on_gpu]


@pytest.mark.parametrize("on_gpu", [False, True])
@pytest.mark.parametrize("name", list(TRANSPOSED))
def test_transposed_conv_path_for_each_shape_is_the_recorded_one(name, on_gpu):
    geo = _transposed_geometry(TRANSPOSED[name], on_gpu)  # always im2col: only its grids vary
    assert f"pointwise={_yes(is_pointwise(geo))} im2col={_im2col_grids(geo)}" == EXPECTED[name][on_gpu]
