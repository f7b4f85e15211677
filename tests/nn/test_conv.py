"""Convolutions: F.conv1d / F.conv2d / F.conv_transpose2d and the Conv1d / Conv2d / ConvTranspose2d layers."""

import itertools
import math

import numpy as np
import pytest
from close_to_torch import assert_close_to_torch

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F
from nnrun.ops import _conv_dispatch

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _seed():
    nnrun.manual_seed(0)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _parity(fn_ours, fn_theirs, arrays, rtol=1e-5):
    """Run both with the same arrays, compare the output and every input's gradient."""
    ours = [None if a is None else nnrun.tensor(a, requires_grad=True) for a in arrays]
    theirs = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    y_ours, y_theirs = fn_ours(*ours), fn_theirs(*theirs)
    assert_close_to_torch(y_ours, y_theirs, rtol)
    seed = _rng(1).standard_normal(tuple(y_theirs.shape)).astype(arrays[0].dtype)
    y_ours.backward(nnrun.tensor(seed))
    y_theirs.backward(torch.tensor(seed))
    for a, b in zip(ours, theirs):
        if a is not None:
            assert_close_to_torch(a.grad, b.grad, rtol)


CONV2D_GRID = [
    (stride, padding, dilation, groups, bias, size)
    for stride, padding, dilation, groups, bias, size in itertools.product(
        [1, 2], [0, 1, "same", "valid", (2, 0)], [1, 2], [1, 2, 4], [True, False], [(7, 9), (8, 8)]
    )
    if not (padding == "same" and stride != 1)
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's own warning
@pytest.mark.parametrize("stride,padding,dilation,groups,bias,size", CONV2D_GRID)
def test_conv2d_parity_grid(stride, padding, dilation, groups, bias, size):
    rng = _rng()
    x = rng.standard_normal((2, 4, *size)).astype(np.float32)
    w = rng.standard_normal((4, 4 // groups, 3, 2)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32) if bias else None

    def run(lib):
        return lambda x, w, b: lib.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups)

    _parity(run(nnrun), run(torch), [x, w, b])


@pytest.mark.parametrize("max_waste", [-1.0, 1e9])  # strided grids / rows (forward) and flat or rows
@pytest.mark.parametrize("block_bytes", [1, 1 << 30])  # one image per block / the whole batch at once
@pytest.mark.parametrize("out_channels", [4, 2])  # input gradient by col2im / by flipped-kernel patches
@pytest.mark.parametrize("kept_bytes", [0, 1 << 30])  # weight gradient from rebuilt / from kept patches
def test_conv2d_blocking_and_grid_modes(monkeypatch, max_waste, block_bytes, out_channels, kept_bytes):
    monkeypatch.setattr(_conv_dispatch, "kernel_rows_fit", lambda geo: False)  # im2col throughout
    monkeypatch.setattr(_conv_dispatch, "KEPT_PATCH_BYTES", kept_bytes)
    monkeypatch.setattr(_conv_dispatch, "MAX_GRID_WASTE", max_waste)
    monkeypatch.setattr(_conv_dispatch, "CPU_BLOCK_BYTES", block_bytes)
    rng = _rng()
    x = rng.standard_normal((5, 3, 6, 7)).astype(np.float32)
    w = rng.standard_normal((out_channels, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(out_channels).astype(np.float32)
    for padding, dilation in [(1, 1), (2, 2), (0, 1)]:
        _parity(
            lambda x, w, b, p=padding, d=dilation: F.conv2d(x, w, b, 1, p, d),
            lambda x, w, b, p=padding, d=dilation: torch.nn.functional.conv2d(x, w, b, 1, p, d),
            [x, w, b],
        )


KERNEL_ROWS_GRID = [(p, d, b, s) for stride, p, d, groups, b, s in CONV2D_GRID if stride == groups == 1]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's own warning
@pytest.mark.parametrize("padding,dilation,bias,size", KERNEL_ROWS_GRID)
def test_conv2d_parity_by_kernel_rows(monkeypatch, padding, dilation, bias, size):
    monkeypatch.setattr(
        _conv_dispatch, "MAX_KERNEL_ROWS_TRAFFIC", math.inf
    )  # every stride-1 ungrouped convolution
    rng = _rng()
    x = rng.standard_normal((3, 4, *size)).astype(np.float32)
    w = rng.standard_normal((5, 4, 3, 2)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32) if bias else None

    def run(lib):
        return lambda x, w, b: lib.nn.functional.conv2d(x, w, b, 1, padding, dilation)

    _parity(run(nnrun), run(torch), [x, w, b])


CHANNELS_LAST_GRID = [(st, p, b, s) for st, p, d, groups, b, s in CONV2D_GRID if d == groups == 1]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's own warning
@pytest.mark.parametrize("stride,padding,bias,size", CHANNELS_LAST_GRID)
def test_conv2d_parity_channels_last(monkeypatch, stride, padding, bias, size):
    monkeypatch.setattr(_conv_dispatch, "CHANNELS_LAST_MIN_RUN", 0)  # every ungrouped convolution without
    monkeypatch.setattr(_conv_dispatch, "CHANNELS_LAST_MAX_POSITIONS", math.inf)  # column dilation
    rng = _rng()
    x = rng.standard_normal((3, 4, *size)).astype(np.float32)
    w = rng.standard_normal((5, 4, 3, 2)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32) if bias else None

    def run(lib):
        return lambda x, w, b: lib.nn.functional.conv2d(x, w, b, stride, padding)

    _parity(run(nnrun), run(torch), [x, w, b])


@pytest.mark.parametrize("out_channels", [5, 2])  # input gradient by col2im / by flipped-kernel patches
def test_conv2d_block_boundaries_with_partial_last_block(monkeypatch, out_channels):
    # a block size that does not divide the batch
    monkeypatch.setattr(_conv_dispatch, "CPU_BLOCK_BYTES", 3 * 3 * 9 * 10 * 10 * 4)
    monkeypatch.setattr(_conv_dispatch, "kernel_rows_fit", lambda geo: False)  # im2col throughout
    rng = _rng()
    x = rng.standard_normal((7, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((out_channels, 3, 3, 3)).astype(np.float32)
    _parity(
        lambda x, w: F.conv2d(x, w, padding=1),
        lambda x, w: torch.nn.functional.conv2d(x, w, padding=1),
        [x, w],
    )


@pytest.mark.parametrize("stride,groups", [(1, 1), (2, 1), (1, 3), (2, 3), (3, 1)])
def test_conv2d_pointwise(stride, groups):
    rng = _rng()
    x = rng.standard_normal((3, 6, 7, 5)).astype(np.float32)
    w = rng.standard_normal((9, 6 // groups, 1, 1)).astype(np.float32)
    b = rng.standard_normal(9).astype(np.float32)
    _parity(
        lambda x, w, b: F.conv2d(x, w, b, stride, groups=groups),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride, groups=groups),
        [x, w, b],
    )


def test_conv2d_depthwise():
    rng = _rng()
    x = rng.standard_normal((2, 6, 9, 9)).astype(np.float32)
    w = rng.standard_normal((12, 1, 3, 3)).astype(np.float32)
    _parity(
        lambda x, w: F.conv2d(x, w, stride=2, padding=1, groups=6),
        lambda x, w: torch.nn.functional.conv2d(x, w, stride=2, padding=1, groups=6),
        [x, w],
    )


def test_conv2d_unbatched_and_float64():
    rng = _rng()
    x = rng.standard_normal((3, 6, 6))
    w = rng.standard_normal((2, 3, 3, 3))
    _parity(
        lambda x, w: F.conv2d(x, w, padding=1),
        lambda x, w: torch.nn.functional.conv2d(x, w, padding=1),
        [x, w],
        1e-10,
    )


def test_conv2d_only_weight_grad_when_input_is_constant():
    rng = _rng()
    x = nnrun.tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32))
    conv = nn.Conv2d(3, 4, 3)
    conv(x).sum().backward()
    assert x.grad is None and conv.weight.grad is not None and conv.bias.grad is not None


@pytest.mark.parametrize(
    "stride,padding,dilation,groups",
    [(1, 0, 1, 1), (2, 1, 1, 2), (1, "same", 2, 1), (3, 2, 2, 4), (1, "valid", 1, 1)],
)
def test_conv1d_parity(stride, padding, dilation, groups):
    rng = _rng()
    x = rng.standard_normal((3, 4, 11)).astype(np.float32)
    w = rng.standard_normal((8, 4 // groups, 3)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)

    def run(lib):
        return lambda x, w, b: lib.nn.functional.conv1d(x, w, b, stride, padding, dilation, groups)

    _parity(run(nnrun), run(torch), [x, w, b])
    _parity(run(nnrun), run(torch), [x[0], w, b])  # unbatched (C, L)


@pytest.mark.parametrize(
    "stride,padding,output_padding,dilation,groups",
    [
        (1, 0, 0, 1, 1),
        (2, 1, 1, 1, 1),
        (2, 0, 1, 2, 2),
        (3, 1, 2, 1, 1),
        (1, 1, 1, 2, 1),
        ((2, 1), (1, 0), (1, 0), 1, 2),
    ],
)
def test_conv_transpose2d_parity(stride, padding, output_padding, dilation, groups):
    rng = _rng()
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)
    w = rng.standard_normal((4, 6 // groups, 3, 2)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)

    def run(lib):
        return lambda x, w, b: lib.nn.functional.conv_transpose2d(
            x, w, b, stride, padding, output_padding, groups, dilation
        )

    _parity(run(nnrun), run(torch), [x, w, b])


# ----- float64 gradchecks -----
def _inputs(*shapes):
    rng = _rng(3)
    return [nnrun.tensor(rng.standard_normal(s), dtype=nnrun.float64, requires_grad=True) for s in shapes]


@pytest.mark.parametrize(
    "stride,padding,dilation,groups", [(1, 1, 1, 1), (2, 0, 1, 2), (1, "same", 2, 1), (2, 1, 1, 2)]
)
def test_conv2d_gradcheck(stride, padding, dilation, groups):
    x, w, b = _inputs((2, 2, 5, 4), (2, 2 // groups, 3, 2), (2,))
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), (x, w, b))


def test_conv2d_pointwise_gradcheck():
    x, w, b = _inputs((2, 2, 3, 3), (3, 2, 1, 1), (3,))
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2), (x, w, b))


def test_conv1d_gradcheck():
    x, w, b = _inputs((2, 2, 7), (3, 2, 3), (3,))
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2), (x, w, b))


def test_conv_transpose2d_gradcheck():
    x, w, b = _inputs((1, 2, 3, 3), (2, 2, 3, 2), (4,))
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1, 2, 1), (x, w, b))


# ----- modules -----
def test_conv2d_module_structure_and_init_bounds():
    layer = nn.Conv2d(6, 32, 3)
    assert layer.weight.shape == nnrun.Size([32, 6, 3, 3]) and layer.bias.shape == nnrun.Size([32])
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    bound = 1 / math.sqrt(6 * 9)  # kaiming_uniform_(a=sqrt(5)) and the bias both give 1/sqrt(fan_in)
    for p in (layer.weight, layer.bias):
        values = p.detach().numpy()
        assert values.min() >= -bound and values.max() <= bound and values.max() > 0.8 * bound
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert nn.Conv2d(4, 6, 3, groups=2, bias=False).weight.shape == nnrun.Size([6, 2, 3, 3])
    assert nn.Conv2d(4, 6, 3, bias=False).bias is None
    assert nn.ConvTranspose2d(4, 6, (3, 2), groups=2).weight.shape == nnrun.Size([4, 3, 3, 2])
    assert nn.Conv1d(4, 6, 5).weight.shape == nnrun.Size([6, 4, 5])


@pytest.mark.parametrize(
    "cls,args,kwargs",
    [
        ("Conv2d", (3, 5, 3), {"stride": 2, "padding": 1}),
        ("Conv2d", (4, 4, (3, 2)), {"padding": "same", "dilation": 2, "groups": 2, "bias": False}),
        ("Conv1d", (3, 5, 3), {"stride": 2}),
        ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
        ("Conv2d", (3, 5, 4), {"stride": 2, "padding": 1, "padding_mode": "reflect"}),
        ("Conv2d", (3, 5, 3), {"padding": (2, 1), "padding_mode": "replicate", "bias": False}),
        (
            "Conv2d",
            (4, 4, (3, 2)),
            {"padding": "same", "dilation": 2, "groups": 2, "padding_mode": "circular"},
        ),
        ("Conv1d", (3, 5, 3), {"padding": 2, "padding_mode": "reflect"}),
    ],
)
def test_conv_modules_match_torch(cls, args, kwargs):
    ours, theirs = getattr(nn, cls)(*args, **kwargs), getattr(torch.nn, cls)(*args, **kwargs)
    assert str(ours) == str(theirs)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    shape = (2, args[0], 7) if cls == "Conv1d" else (2, args[0], 7, 6)
    x = _rng().standard_normal(shape).astype(np.float32)
    assert_close_to_torch(ours(nnrun.tensor(x)), theirs(torch.tensor(x)))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv2d_padding_modes_float64_forward_and_backward_match_torch(mode):
    ours = nn.Conv2d(2, 3, 3, stride=2, padding=(1, 2), padding_mode=mode, dtype=nnrun.float64)
    theirs = torch.nn.Conv2d(2, 3, 3, stride=2, padding=(1, 2), padding_mode=mode, dtype=torch.float64)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = _rng().standard_normal((2, 2, 5, 6))
    a, b = nnrun.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y_ours, y_theirs = ours(a), theirs(b)
    np.testing.assert_allclose(y_ours.detach().numpy(), y_theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    (y_ours * y_ours).sum().backward()
    (y_theirs * y_theirs).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert str(ours) == str(theirs)


def test_conv2d_reflect_padding_gradcheck():
    layer = nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect", dtype=nnrun.float64)
    x = nnrun.randn(1, 2, 4, 5, dtype=nnrun.float64, requires_grad=True)
    assert gradcheck(lambda a, w: F.conv2d(F.pad(a, [1, 1, 1, 1], mode="reflect"), w), (x, layer.weight))
    assert gradcheck(layer, (x,))


@pytest.mark.parametrize(
    "text",
    [
        "Conv2d(3, 32, 3, padding=1)",
        "Conv2d(3, 32, (3, 5), stride=2, bias=False)",
        "Conv2d(4, 8, 3, groups=2, dilation=2, padding='same')",
        "Conv1d(4, 8, 3, padding='valid')",
        "ConvTranspose2d(4, 8, 3, stride=2, padding=1, output_padding=1)",
        "ConvTranspose2d(4, 8, 3, groups=2, bias=False, dilation=2)",
    ],
)
def test_conv_printed_forms(text):
    assert str(eval("nn." + text)) == str(eval("torch.nn." + text))


def test_conv_printed_form_example_from_the_issue():
    assert (
        str(nn.Conv2d(3, 32, 3, padding=1))
        == "Conv2d(3, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    )


def test_conv_transpose2d_output_size_argument():
    ours, theirs = (
        nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1),
        torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1),
    )
    x = _rng().standard_normal((1, 2, 4, 4)).astype(np.float32)
    assert (
        ours(nnrun.tensor(x), output_size=[8, 8]).shape == theirs(torch.tensor(x), output_size=[8, 8]).shape
    )


# ----- errors -----
def test_conv2d_wrong_input_channels_message():
    conv = nn.Conv2d(3, 32, 3)
    with pytest.raises(RuntimeError) as ours:
        conv(nnrun.zeros(1, 4, 8, 8))
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.Conv2d(3, 32, 3)(torch.zeros(1, 4, 8, 8))
    assert str(ours.value) == str(theirs.value)
    assert "[32, 3, 3, 3]" in str(ours.value) and "input[1, 4, 8, 8]" in str(ours.value)


@pytest.mark.parametrize(
    "call,error,match",
    [
        (
            lambda: F.conv2d(nnrun.zeros(1, 2, 4, 4), nnrun.zeros(2, 2, 3, 3), stride=2, padding="same"),
            ValueError,
            "padding='same' is not supported for strided",
        ),
        (
            lambda: F.conv2d(nnrun.zeros(1, 2, 4, 4), nnrun.zeros(2, 2, 3, 3), padding="full"),
            ValueError,
            "Invalid padding string",
        ),
        (
            lambda: F.conv2d(nnrun.zeros(1, 2, 2, 2), nnrun.zeros(2, 2, 3, 3)),
            RuntimeError,
            "Kernel size can't be greater",
        ),
        (
            lambda: F.conv2d(nnrun.zeros(2, 4), nnrun.zeros(2, 2, 3, 3)),
            RuntimeError,
            "Expected 3D .unbatched. or 4D",
        ),
        (
            lambda: F.conv2d(nnrun.zeros(1, 4, 5, 5), nnrun.zeros(3, 2, 3, 3), groups=2),
            RuntimeError,
            "divisible by 2",
        ),
        (
            lambda: F.conv2d(nnrun.zeros(1, 2, 5, 5), nnrun.zeros(3, 2, 3, 3), nnrun.zeros(2)),
            RuntimeError,
            "bias",
        ),
        (
            lambda: F.conv2d(nnrun.zeros(1, 2, 5, 5), nnrun.zeros(3, 2, 3, 3), stride=0),
            RuntimeError,
            "non-positive stride",
        ),
        (
            lambda: F.conv2d(nnrun.zeros(1, 2, 5, 5, dtype=nnrun.float64), nnrun.zeros(3, 2, 3, 3)),
            RuntimeError,
            "should be the same",
        ),
        (
            lambda: F.conv_transpose2d(
                nnrun.zeros(1, 2, 5, 5), nnrun.zeros(2, 2, 3, 3), stride=2, output_padding=2
            ),
            RuntimeError,
            "output padding must be smaller",
        ),
        (
            lambda: F.conv_transpose2d(nnrun.zeros(1, 3, 5, 5), nnrun.zeros(2, 2, 3, 3)),
            RuntimeError,
            "to have 2 channels",
        ),
        (
            lambda: nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect"),
            ValueError,
            'Only "zeros" padding mode is supported for ConvTranspose2d',
        ),
        (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), ValueError, "padding_mode must be one of"),
        (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, "in_channels must be divisible by groups"),
        (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), ValueError, "not supported for strided"),
    ],
)
def test_conv_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(
    "cls,name,value",
    [
        (nn.Conv2d, "kernel_size", (3,)),
        (nn.Conv2d, "kernel_size", (3, 3, 3)),
        (nn.Conv2d, "kernel_size", (3, 3.0)),
        (nn.Conv2d, "stride", (2,)),
        (nn.Conv2d, "padding", (1,)),
        (nn.Conv2d, "dilation", (1,)),
        (nn.ConvTranspose2d, "output_padding", (1,)),
        (nn.Conv1d, "kernel_size", (3, 3)),
        (nn.Conv1d, "stride", (2.0,)),
    ],
)
def test_conv_layers_refuse_tuples_of_the_wrong_length_when_built(cls, name, value):
    # F.conv* repeat a 1-tuple as PyTorch's do; a layer keeps its arguments, so it refuses one when built
    kwargs = {"kernel_size": 3, "stride": 2 if cls is nn.ConvTranspose2d else 1, name: value}
    with pytest.raises(ValueError, match=rf"^{name} must be an int or a (pair of|tuple of 1) ints, got"):
        cls(2, 2, **kwargs)


def test_conv_functional_repeats_a_one_tuple():
    x, w = nnrun.randn(1, 2, 6, 6), nnrun.randn(3, 2, 3, 3)
    expected = F.conv2d(x, w, stride=2, padding=1, dilation=1).numpy()
    np.testing.assert_array_equal(F.conv2d(x, w, stride=(2,), padding=(1,), dilation=(1,)).numpy(), expected)


def test_conv_layers_take_numpy_integers_as_plain_ints():
    # sizes often come from NumPy shapes; they are stored as Python ints, so reprs and configs stay plain
    size = np.int64(3)
    layer = nn.Conv2d(2, 4, kernel_size=(size, size), stride=np.int32(1), padding=(np.int64(1), 1))
    assert layer.kernel_size == (3, 3) and layer.stride == (1, 1) and layer.padding == (1, 1)
    assert all(type(v) is int for v in (*layer.kernel_size, *layer.stride, *layer.padding))
    assert layer(nnrun.randn(1, 2, 5, 5)).shape == (1, 4, 5, 5)
