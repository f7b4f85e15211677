"""Every layer and loss on ``cuda`` (the CuPy stand-in): forward and backward equal the CPU's, and move
nothing between host and device."""

import contextlib

import numpy as np
import pytest

import nnrun
from nnrun import nn


def _floats(*shape, low=-2.0, high=2.0):
    return lambda rng: rng.uniform(low, high, shape).astype(np.float32)


def _classes(*shape, classes=5):
    return lambda rng: rng.integers(0, classes, shape)


# name: (make the module, input makers); float inputs get gradients
LAYERS = {
    "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d((3, 2)), [_floats(2, 3, 7, 5)]),
    "AdaptiveMaxPool2d": (lambda: nn.AdaptiveMaxPool2d((3, 2)), [_floats(2, 3, 7, 5)]),
    "AvgPool2d": (lambda: nn.AvgPool2d(3, 2, padding=1, count_include_pad=False), [_floats(2, 3, 7, 6)]),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(4), [_floats(6, 4, 3)]),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), [_floats(4, 3, 5, 5)]),
    "Conv1d": (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), [_floats(2, 3, 9)]),
    "Conv2d": (lambda: nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2), [_floats(2, 4, 7, 6)]),
    "Conv2d 1x1 strided": (lambda: nn.Conv2d(3, 5, 1, stride=2, bias=False), [_floats(2, 3, 7, 7)]),
    "ConstantPad2d": (lambda: nn.ConstantPad2d((1, 2, -1, 1), 0.5), [_floats(2, 3, 4, 5)]),
    "CircularPad2d": (lambda: nn.CircularPad2d((1, 2, 2, 0)), [_floats(2, 3, 4, 5)]),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1), [_floats(2, 3, 4, 5)]),
    "ELU": (lambda: nn.ELU(0.7), [_floats(3, 5)]),
    "Embedding": (lambda: nn.Embedding(6, 3, padding_idx=0), [_classes(4, 5, classes=6)]),
    "Flatten": (lambda: nn.Flatten(), [_floats(2, 3, 4)]),
    "GELU": (lambda: nn.GELU(approximate="tanh"), [_floats(3, 5)]),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), [_floats(3, 4, 5)]),
    "Hardtanh": (lambda: nn.Hardtanh(-0.5, 1.0), [_floats(3, 5)]),
    "LayerNorm": (lambda: nn.LayerNorm([3, 4]), [_floats(2, 3, 4)]),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.1), [_floats(3, 5)]),
    "Linear": (lambda: nn.Linear(5, 3), [_floats(2, 4, 5)]),
    "LogSoftmax": (lambda: nn.LogSoftmax(dim=1), [_floats(3, 5)]),
    "MaxPool2d": (lambda: nn.MaxPool2d(3, 2, padding=1, ceil_mode=True), [_floats(2, 3, 7, 6)]),
    "PixelShuffle": (lambda: nn.PixelShuffle(2), [_floats(2, 8, 3, 4)]),
    "PixelUnshuffle": (lambda: nn.PixelUnshuffle(2), [_floats(2, 3, 4, 6)]),
    "ReLU": (lambda: nn.ReLU(), [_floats(3, 5)]),
    "ReLU6": (lambda: nn.ReLU6(), [_floats(3, 5, low=-3, high=9)]),
    "ReflectionPad2d": (lambda: nn.ReflectionPad2d((2, 1, 1, 3)), [_floats(2, 3, 4, 5)]),
    "ReplicationPad1d": (lambda: nn.ReplicationPad1d((3, 1)), [_floats(2, 3, 4)]),
    "SiLU": (lambda: nn.SiLU(), [_floats(3, 5)]),
    "Sigmoid": (lambda: nn.Sigmoid(), [_floats(3, 5)]),
    "Softmax": (lambda: nn.Softmax(dim=-1), [_floats(3, 5)]),
    "Softplus": (lambda: nn.Softplus(beta=2.0, threshold=3.0), [_floats(3, 5)]),
    "Tanh": (lambda: nn.Tanh(), [_floats(3, 5)]),
    "Unflatten": (lambda: nn.Unflatten(1, (2, 3)), [_floats(4, 6)]),
    "AdaptiveAvgPool1d": (lambda: nn.AdaptiveAvgPool1d(3), [_floats(2, 3, 7)]),
    "AdaptiveMaxPool1d": (lambda: nn.AdaptiveMaxPool1d(3), [_floats(2, 3, 7)]),
    "AvgPool1d": (lambda: nn.AvgPool1d(3, 2, padding=1), [_floats(2, 3, 7)]),
    "ConvTranspose1d": (lambda: nn.ConvTranspose1d(3, 4, 3, stride=2, padding=1), [_floats(2, 3, 5)]),
    "CosineSimilarity": (lambda: nn.CosineSimilarity(), [_floats(4, 3), _floats(4, 3)]),
    "EmbeddingBag max": (lambda: nn.EmbeddingBag(6, 3, mode="max"), [_classes(4, 5, classes=6)]),
    "EmbeddingBag mean": (lambda: nn.EmbeddingBag(6, 3, padding_idx=2), [_classes(4, 5, classes=6)]),
    "Hardswish": (lambda: nn.Hardswish(), [_floats(3, 5, low=-5, high=5)]),
    "MaxPool1d": (lambda: nn.MaxPool1d(3, 2, padding=1), [_floats(2, 3, 7)]),
    "Mish": (lambda: nn.Mish(), [_floats(3, 5)]),
    "PReLU": (lambda: nn.PReLU(3), [_floats(2, 3, 4)]),
    "PairwiseDistance": (lambda: nn.PairwiseDistance(), [_floats(4, 3), _floats(4, 3)]),
    "Softmax2d": (lambda: nn.Softmax2d(), [_floats(2, 3, 4, 4)]),
    "CosineEmbeddingLoss": (
        lambda: nn.CosineEmbeddingLoss(0.1),
        [_floats(4, 3), _floats(4, 3), lambda rng: np.array([1.0, -1.0, 1.0, -1.0], dtype=np.float32)],
    ),
    "HuberLoss": (lambda: nn.HuberLoss(delta=0.5), [_floats(4, 3), _floats(4, 3)]),
    "MarginRankingLoss": (
        lambda: nn.MarginRankingLoss(0.2),
        [_floats(4), _floats(4), lambda rng: np.array([1.0, -1.0, 1.0, -1.0], dtype=np.float32)],
    ),
    "TripletMarginLoss": (
        lambda: nn.TripletMarginLoss(swap=True),
        [_floats(4, 3), _floats(4, 3), _floats(4, 3)],
    ),
    "BCELoss": (lambda: nn.BCELoss(), [_floats(4, 3, low=0.05, high=0.95), _floats(4, 3, low=0, high=1)]),
    "BCEWithLogitsLoss": (
        lambda: nn.BCEWithLogitsLoss(pos_weight=nnrun.tensor([1.0, 2.0, 0.5])),
        [_floats(4, 3), _floats(4, 3, low=0, high=1)],
    ),
    "CrossEntropyLoss": (
        lambda: nn.CrossEntropyLoss(weight=nnrun.rand(5), label_smoothing=0.1, ignore_index=2),
        [_floats(4, 5, 3), _classes(4, 3)],
    ),
    "KLDivLoss": (
        lambda: nn.KLDivLoss(reduction="batchmean", log_target=True),
        [_floats(4, 5, low=-3, high=0), _floats(4, 5, low=-3, high=0)],
    ),
    "L1Loss": (lambda: nn.L1Loss(reduction="sum"), [_floats(4, 3), _floats(4, 3)]),
    "MSELoss": (lambda: nn.MSELoss(), [_floats(4, 3), _floats(4, 3)]),
    "NLLLoss": (lambda: nn.NLLLoss(reduction="none"), [_floats(4, 5, low=-3, high=0), _classes(4)]),
    "SmoothL1Loss": (lambda: nn.SmoothL1Loss(beta=0.5), [_floats(4, 3), _floats(4, 3)]),
}


def _run(name, device, fake=None):
    """Outputs and gradients (inputs, then parameters) of a forward and backward pass on ``device``."""
    make, makers = LAYERS[name]
    nnrun.manual_seed(0)
    module = make().to(device)
    rng = np.random.default_rng(1)
    inputs = []
    for maker in makers:
        array = maker(rng)
        inputs.append(nnrun.tensor(array, device=device, requires_grad=array.dtype.kind == "f"))
    with fake.during() if fake else contextlib.nullcontext([]) as moved:
        out = module(*inputs)
        upstream = nnrun.ones_like(out) * 0.5 + out.detach() * 0.1  # a gradient that is not all ones
        (out * upstream).sum().backward()
    grads = [t.grad for t in inputs if t.requires_grad] + [p.grad for p in module.parameters()]
    return [out, *grads], moved


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_on_the_device_matches_the_cpu_and_moves_nothing(fake_cuda, name):
    on_device, moved = _run(name, "cuda", fake_cuda)
    assert moved == [], f"{name}: host<->device transfers: {moved}"
    on_cpu, _ = _run(name, "cpu")
    for got, want in zip(on_device, on_cpu, strict=True):
        assert (got is None) == (want is None)
        if got is not None:
            assert got.device == nnrun.device("cuda", 0)
            got, want = got.detach().cpu().numpy(), want.detach().numpy()
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [lambda: nn.Dropout(0.4), lambda: nn.Dropout2d(0.4)])
def test_dropout_draws_its_mask_on_the_device(fake_cuda, make):
    module = make().to("cuda")
    x = nnrun.ones(4, 6, 3, 3, device="cuda", requires_grad=True)
    with fake_cuda.during() as moved:
        out = module(x)
        out.sum().backward()
    assert moved == []
    values, grad = out.detach().cpu().numpy(), x.grad.cpu().numpy()
    assert set(np.unique(values)) <= {0.0, np.float32(1 / 0.6)} and (grad == values).all()


def test_out_of_range_inputs_give_nan_on_the_device_instead_of_a_host_check(fake_cuda):
    weight = nnrun.randn(4, 3, device="cuda", requires_grad=True)
    with fake_cuda.during() as moved:
        rows = nn.functional.embedding(nnrun.tensor([[1, 7], [-1, 2]], device="cuda"), weight)
        probabilities = nnrun.tensor([0.5, 1.5], device="cuda")
        bce = nn.functional.binary_cross_entropy(probabilities, nnrun.tensor([1.0, 0.0], device="cuda"))
        rows.sum().backward()
    assert [t.kind for t in moved] == ["host->device"] * 3  # the three tensors made from Python lists
    values = rows.detach().cpu().numpy()
    assert np.isnan(values[0, 1]).all() and np.isnan(values[1, 0]).all()
    np.testing.assert_array_equal(values[0, 0], weight.detach().cpu().numpy()[1])
    assert np.isnan(bce.item())
    with pytest.raises(IndexError, match="index out of range"):
        nn.functional.embedding(nnrun.tensor([[1, 7]]), nnrun.randn(4, 3))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        nn.functional.binary_cross_entropy(nnrun.tensor([1.5]), nnrun.tensor([1.0]))
