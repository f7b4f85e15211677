"""A training step on ``cuda`` moves nothing between host and device, and computes what the CPU computes.

Runs everywhere: ``fake_cuda`` (see ``_fake_cupy``) stands in for CuPy and records every transfer, so the
CUDA code path of every op, optimizer and the trainer is exercised without a GPU.
"""

import contextlib

import numpy as np
import pytest

import nnrun
from nnrun import nn, optim
from nnrun.models import MLP, LeNet5, resnet18, resnet20

MODELS = {
    "mlp": (MLP, (8, 1, 28, 28)),
    "lenet5": (LeNet5, (8, 1, 28, 28)),
    "resnet20": (resnet20, (4, 3, 32, 32)),
    "resnet18": (lambda: resnet18(num_classes=10, stem="cifar"), (2, 3, 32, 32)),
}


def _train(make, shape, device, fake=None, steps=2, dtype=nnrun.float32):
    """Weights after ``steps`` SGD-momentum steps and the eval-mode output, plus what moved in the steps."""
    nnrun.manual_seed(0)
    model = make().to(device, dtype)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    rng = np.random.default_rng(1)
    x = nnrun.tensor(rng.normal(size=shape), dtype=dtype, device=device)
    y = nnrun.tensor(rng.integers(0, 10, shape[0]), device=device)
    loss_fn = nn.CrossEntropyLoss()
    moved = []
    record = fake.during if fake else lambda: contextlib.nullcontext([])
    for _ in range(steps):
        with record() as window:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
        moved += window
    model.eval()
    with record() as window, nnrun.no_grad():
        output = model(x)
    moved += window
    weights = [p.detach().cpu().numpy() for p in model.parameters()]
    return weights, output.cpu().numpy(), moved


@pytest.mark.parametrize("name", MODELS)
def test_train_step_and_inference_move_nothing_and_match_the_cpu(fake_cuda, name):
    make, shape = MODELS[name]
    _, output, moved = _train(make, shape, "cuda", fake_cuda)
    assert moved == [], f"{name}: host<->device transfers inside a step: {moved}"
    assert output.dtype == np.float32
    # Compared in float64: the CPU's convolutions sum in other orders than the GPU's (cache-sized blocks of
    # images, kernel rows, channels-last patches), and in float32 such rounding flips the odd ReLU whose input
    # is within ~1e-6 of zero, which changes the next step's gradients by percents at these small batches.
    weights, output, _ = _train(make, shape, "cuda", fake_cuda, dtype=nnrun.float64)
    cpu_weights, cpu_output, _ = _train(make, shape, "cpu", dtype=nnrun.float64)
    for got, want in zip(weights, cpu_weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(output, cpu_output, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    ("make_optimizer", "loss_fn"),
    [
        (
            lambda p: optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
            nn.CrossEntropyLoss(label_smoothing=0.1),
        ),
        (
            lambda p: optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=1e-4),
            nn.CrossEntropyLoss(ignore_index=3),
        ),
        (lambda p: optim.AdamW(p, lr=0.01), nn.CrossEntropyLoss(weight=nnrun.ones(10))),
        (lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True), nn.CrossEntropyLoss()),
        (lambda p: optim.Adagrad(p, lr=0.01), nn.NLLLoss()),
        (lambda p: optim.Adadelta(p, weight_decay=1e-4), nn.CrossEntropyLoss()),
        (lambda p: optim.Adamax(p, lr=0.01, maximize=True), nn.CrossEntropyLoss()),
        (lambda p: optim.NAdam(p, lr=0.01, weight_decay=1e-4, decoupled_weight_decay=True), nn.NLLLoss()),
        (lambda p: optim.RAdam(p, lr=0.01, weight_decay=1e-4), nn.CrossEntropyLoss()),
    ],
)
def test_optimizers_schedulers_clipping_and_losses_move_nothing(fake_cuda, make_optimizer, loss_fn):
    nnrun.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.3),
        nn.AvgPool2d(2), nn.Flatten(), nn.Linear(128, 16), nn.LayerNorm(16), nn.GELU(), nn.Linear(16, 10),
        nn.LogSoftmax(dim=1) if isinstance(loss_fn, nn.NLLLoss) else nn.Identity(),
    ).to("cuda")  # fmt: skip
    loss_fn = loss_fn.to("cuda")
    optimizer = make_optimizer(model.parameters())
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    x = nnrun.randn(4, 3, 16, 16, device="cuda")
    y = nnrun.randint(0, 10, (4,), device="cuda")
    with fake_cuda.during() as moved:
        for _ in range(2):
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
    assert moved == []


def test_a_resumed_nadam_keeps_its_scalars_on_the_host(fake_cuda):
    """``step`` and ``mu_product`` stay on the host after loading, so resumed steps still move nothing."""
    nnrun.manual_seed(0)
    model = nn.Linear(4, 3).to("cuda")
    x = nnrun.randn(5, 4, device="cuda")
    optimizer = optim.NAdam(model.parameters(), lr=0.01)
    (model(x) ** 2).mean().backward()
    optimizer.step()
    resumed = optim.NAdam(model.parameters(), lr=0.01)
    resumed.load_state_dict(optimizer.state_dict())
    state = resumed.state[model.weight]
    assert state["mu_product"].device.type == "cpu" and state["step"].device.type == "cpu"
    assert state["exp_avg"].device.type == "cuda"
    with fake_cuda.during() as moved:
        for _ in range(2):
            resumed.zero_grad()
            (model(x) ** 2).mean().backward()
            resumed.step()
    assert moved == []


def test_the_recorder_sees_reads_and_copies(fake_cuda):
    x = nnrun.ones(3, device="cuda")  # created on the device: nothing moved
    with fake_cuda.during() as moved:
        x.sum().item()
        float(x[0])
        x.cpu()
        nnrun.tensor([1.0]).to("cuda")
        x[x > 0]
    kinds = [transfer.kind for transfer in moved]
    assert kinds[:3] == ["device->host"] * 3 and kinds[3] == "host->device"
    assert kinds[4].startswith("device->host (boolean mask")


def test_an_out_of_range_class_gives_nan_on_the_device_and_an_error_on_the_cpu(fake_cuda):
    logits = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    target = np.array([1, 7, 2])
    x = nnrun.tensor(logits, device="cuda", requires_grad=True)
    with fake_cuda.during() as moved:
        per_sample = nn.functional.cross_entropy(x, nnrun.tensor(target, device="cuda"), reduction="none")
        mean = nn.functional.cross_entropy(x, nnrun.tensor(target, device="cuda"))
        mean.backward()
    assert moved == [nnrun_transfer for nnrun_transfer in moved if nnrun_transfer.kind == "host->device"]
    values = per_sample.detach().cpu().numpy()
    assert np.isfinite(values[[0, 2]]).all() and np.isnan(values[1])
    assert np.isnan(mean.item()) and np.isnan(x.grad.cpu().numpy()).all()
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        nn.functional.cross_entropy(nnrun.tensor(logits), nnrun.tensor(target))
