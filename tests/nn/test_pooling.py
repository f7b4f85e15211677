"""Pooling: F.max_pool2d / avg_pool2d / adaptive_* and the MaxPool2d / AvgPool2d / Adaptive*Pool2d layers."""

import itertools

import numpy as np
import pytest
from close_to_torch import assert_close_to_torch

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")


def _rng(seed=0):
    return np.random.default_rng(seed)


def _parity(name, x, *args, indices=False):
    """Same input through nnrun and torch: outputs, indices (if returned) and input gradients agree."""
    ours, theirs = nnrun.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y_ours = getattr(F, name)(ours, *args)
    y_theirs = getattr(torch.nn.functional, name)(theirs, *args)
    if indices:
        np.testing.assert_array_equal(y_ours[1].numpy(), y_theirs[1].numpy())
        assert y_ours[1].dtype == nnrun.int64
        y_ours, y_theirs = y_ours[0], y_theirs[0]
    assert_close_to_torch(y_ours, y_theirs, rtol=1e-6)
    seed = _rng(1).standard_normal(tuple(y_theirs.shape)).astype(x.dtype)
    y_ours.backward(nnrun.tensor(seed))
    y_theirs.backward(torch.tensor(seed))
    assert_close_to_torch(ours.grad, theirs.grad, rtol=1e-6)


MAX_GRID = list(
    itertools.product([2, 3, (2, 3)], [None, 1, 2, 3], [0, 1], [1, 2], [False, True], [(7, 9), (8, 8)])
)


def _torch_accepts(fn):
    try:
        fn()
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode,size", MAX_GRID)
def test_max_pool2d_parity_grid(kernel, stride, padding, dilation, ceil_mode, size):
    x = _rng().standard_normal((2, 3, *size)).astype(np.float32)
    args = (kernel, stride, padding, dilation, ceil_mode, True)
    if not _torch_accepts(lambda: torch.nn.functional.max_pool2d(torch.tensor(x), *args)):
        with pytest.raises(RuntimeError):
            F.max_pool2d(nnrun.tensor(x), *args)
        return
    _parity("max_pool2d", x, *args, indices=True)


AVG_GRID = list(
    itertools.product([2, 3, (2, 3)], [None, 1, 2], [0, 1], [False, True], [False, True], [None, 5])
)


@pytest.mark.parametrize("kernel,stride,padding,ceil_mode,count_include_pad,divisor", AVG_GRID)
def test_avg_pool2d_parity_grid(kernel, stride, padding, ceil_mode, count_include_pad, divisor):
    x = _rng().standard_normal((2, 3, 7, 8)).astype(np.float32)
    args = (kernel, stride, padding, ceil_mode, count_include_pad, divisor)
    if not _torch_accepts(lambda: torch.nn.functional.avg_pool2d(torch.tensor(x), *args)):
        with pytest.raises(RuntimeError):
            F.avg_pool2d(nnrun.tensor(x), *args)
        return
    _parity("avg_pool2d", x, *args)


@pytest.mark.parametrize("padding", [0, 1], ids=["unpadded", "padded"])
def test_pooling_in_blocks_of_images(monkeypatch, padding):
    """Batches go in blocks of images on the CPU; here two images a block and a partial last block."""
    from nnrun.ops import pooling

    x = _rng().standard_normal((5, 3, 7, 8)).astype(np.float32)
    monkeypatch.setattr(pooling, "_CPU_BLOCK_BYTES", 2 * 4 * 3 * 11 * 11)  # 2-4 images of at most 11x11
    blocks, whole = [], pooling._Windows.blocks

    def recorded(self, x, fill):
        for n0, block in whole(self, x, fill):
            blocks.append(block.shape[0])
            yield n0, block

    monkeypatch.setattr(pooling._Windows, "blocks", recorded)
    _parity("max_pool2d", x, 3, 2, padding, 1, True, True, indices=True)
    _parity("avg_pool2d", x, 3, 2, padding, True, False)
    with nnrun.no_grad():  # inference: maxima without offsets
        ours = F.max_pool2d(nnrun.tensor(x), 3, 2, padding, 1, True)
    theirs = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, padding, 1, True)
    assert_close_to_torch(ours, theirs, rtol=1e-6)
    assert sum(blocks) == 3 * 5 and 1 < max(blocks) < 5 and blocks[-1] < max(blocks)  # a partial last block


def test_max_pool2d_ties_go_to_the_first_maximum():
    x = np.zeros((1, 1, 4, 4), dtype=np.float32)  # every window is a tie, as after a ReLU
    _parity("max_pool2d", x, 2, 2, 0, 1, False, True, indices=True)
    _parity("max_pool2d", x, 3, 1, 1, 1, False, True, indices=True)  # overlapping windows accumulate


def test_max_pool2d_unbatched_and_float64():
    x = _rng().standard_normal((3, 6, 5))
    _parity("max_pool2d", x, 2, 1, 1, 1, True, True, indices=True)
    _parity("avg_pool2d", x, 3, 2, 1)


@pytest.mark.parametrize("output_size", [1, 2, 3, (4, 5), (None, 2), (7, 3), (5, 9)])
@pytest.mark.parametrize("size", [(5, 6), (7, 9), (8, 6)])
def test_adaptive_pools_parity(output_size, size):
    x = _rng().standard_normal((2, 3, *size)).astype(np.float32)
    _parity("adaptive_avg_pool2d", x, output_size)
    _parity("adaptive_max_pool2d", x, output_size, True, indices=True)


# ----- float64 gradchecks -----
def _input(shape):
    return nnrun.tensor(_rng(3).standard_normal(shape), dtype=nnrun.float64, requires_grad=True)


def test_pooling_gradchecks():
    x = _input((1, 2, 5, 6))
    assert gradcheck(lambda x: F.max_pool2d(x, 2), (x,))
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, 1, True), (x,))
    assert gradcheck(lambda x: F.max_pool2d(x, 2, 1, 0, 2), (x,))
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), (x,))
    assert gradcheck(lambda x: F.avg_pool2d(x, 2), (x,))
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 4)), (x,))
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, 1), (x,))
    assert gradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 4)), (x,))
    assert gradcheck(lambda x: F.adaptive_max_pool2d(x, (5, 2)), (x,))


# ----- modules -----
@pytest.mark.parametrize(
    "text",
    [
        "MaxPool2d(2)",
        "MaxPool2d(3, 2, 1, ceil_mode=True)",
        "MaxPool2d((2, 3), stride=(1, 2), dilation=2)",
        "AvgPool2d(2)",
        "AvgPool2d(3, 2, 1, count_include_pad=False)",
        "AdaptiveAvgPool2d((1, 1))",
        "AdaptiveAvgPool2d(5)",
        "AdaptiveMaxPool2d((None, 3))",
        "AdaptiveMaxPool2d(2, return_indices=True)",
    ],
)
def test_pooling_modules_match_torch(text):
    ours, theirs = eval("nn." + text), eval("torch.nn." + text)
    assert str(ours) == str(theirs)
    x = _rng().standard_normal((2, 3, 8, 7)).astype(np.float32)
    y_ours, y_theirs = ours(nnrun.tensor(x)), theirs(torch.tensor(x))
    if isinstance(y_theirs, tuple):
        np.testing.assert_array_equal(y_ours[1].numpy(), y_theirs[1].numpy())
        y_ours, y_theirs = y_ours[0], y_theirs[0]
    assert_close_to_torch(y_ours, y_theirs, rtol=1e-6)
    assert list(ours.state_dict()) == []


def test_maxpool_printed_form_example_from_the_issue():
    assert (
        str(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    )


# ----- errors -----
@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: F.max_pool2d(nnrun.zeros(1, 1, 4, 4), 2, padding=2), "pad should be at most half"),
        (lambda: F.avg_pool2d(nnrun.zeros(1, 1, 4, 4), 2, padding=2), "pad should be at most half"),
        (lambda: F.max_pool2d(nnrun.zeros(1, 1, 2, 2), 3), "Output size is too small"),
        (lambda: F.max_pool2d(nnrun.zeros(4, 4), 2), "expected 3D or 4D input"),
        (lambda: F.max_pool2d(nnrun.zeros(1, 1, 4, 4), 0), "greater than zero"),
        (lambda: F.avg_pool2d(nnrun.zeros(1, 1, 4, 4), 2, divisor_override=0), "divisor must be not zero"),
    ],
)
def test_pooling_errors(call, match):
    with pytest.raises(RuntimeError, match=match):
        call()
