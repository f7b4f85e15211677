"""Devices and the NumPy/CuPy seam: device objects, readable errors without a GPU, and GPU parity."""

import numpy as np
import pytest

import nnrun
from nnrun import _backend

gpu = pytest.mark.skipif(not nnrun.cuda.is_available(), reason="needs CuPy and a CUDA device")


@pytest.fixture
def without_cupy(monkeypatch):
    """Behave as on a machine where ``import cupy`` fails."""
    monkeypatch.setattr(_backend, "_cupy", None)
    monkeypatch.setattr(_backend, "_cupy_error", "ModuleNotFoundError: No module named 'cupy'")


# ----- device objects (no GPU needed) -----
def test_cpu_device():
    dev = nnrun.device("cpu")
    assert dev.type == "cpu" and dev.index is None
    assert repr(dev) == "device(type='cpu')"
    assert str(dev) == "cpu"


@pytest.mark.parametrize(
    ("spec", "index", "text"),
    [(("cuda",), None, "cuda"), (("cuda:1",), 1, "cuda:1"), (("cuda", 1), 1, "cuda:1")],
)
def test_cuda_device_objects_need_no_gpu(without_cupy, spec, index, text):
    dev = nnrun.device(*spec)
    assert dev.type == "cuda" and dev.index == index
    assert str(dev) == text
    expected_repr = "device(type='cuda')" if index is None else f"device(type='cuda', index={index})"
    assert repr(dev) == expected_repr


def test_device_equality_and_hash():
    assert nnrun.device("cuda:1") == nnrun.device("cuda", 1)
    assert hash(nnrun.device("cuda:1")) == hash(nnrun.device("cuda", 1))
    assert nnrun.device("cuda:0") != nnrun.device("cuda:1")
    assert nnrun.device("cuda") != nnrun.device("cuda:0")
    assert nnrun.device("cpu") != nnrun.device("cuda")
    assert nnrun.device("cpu") == "cpu" and nnrun.device("cuda:1") == "cuda:1"
    assert nnrun.device("cpu") != "banana" and nnrun.device("cpu") != 3
    assert len({nnrun.device("cpu"), nnrun.device("cpu"), nnrun.device("cuda:0")}) == 2
    assert nnrun.device(nnrun.device("cuda:2")) == nnrun.device("cuda:2")


@pytest.mark.parametrize("bad", ["tpu", "cuda:x", "cuda:-1", "", "gpu:0"])
def test_invalid_device_strings_raise(bad):
    with pytest.raises(RuntimeError, match="device"):
        nnrun.device(bad)


def test_device_rejects_non_strings():
    with pytest.raises(TypeError, match="device"):
        nnrun.device(1.5)


def test_strings_and_devices_accepted_wherever_a_device_is():
    for dev in ("cpu", nnrun.device("cpu")):
        made = [
            nnrun.tensor([1.0], device=dev),
            nnrun.zeros(2, device=dev),
            nnrun.ones(2, device=dev),
            nnrun.empty(2, device=dev),
            nnrun.full((2,), 1.0, device=dev),
            nnrun.arange(3, device=dev),
            nnrun.linspace(0, 1, 3, device=dev),
            nnrun.eye(2, device=dev),
            nnrun.rand(2, device=dev),
            nnrun.randn(2, device=dev),
            nnrun.randint(0, 3, (2,), device=dev),
            nnrun.randperm(3, device=dev),
            nnrun.zeros_like(nnrun.ones(2), device=dev),
            nnrun.ones(2).to(dev),
            nnrun.ones(2).to(device=dev),
        ]
        assert all(t.device == nnrun.device("cpu") for t in made)
        assert nnrun.Generator(dev).device == nnrun.device("cpu")


# ----- without CuPy or a GPU -----
def test_cuda_queries_work_without_cupy(without_cupy):
    assert nnrun.cuda.is_available() is False
    assert nnrun.cuda.device_count() == 0


def test_cuda_queries_on_this_machine_do_not_raise():
    count = nnrun.cuda.device_count()
    assert isinstance(count, int) and count >= 0
    assert nnrun.cuda.is_available() == (count > 0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: nnrun.zeros(2, device="cuda"),
        lambda: nnrun.tensor([1.0], device="cuda:0"),
        lambda: nnrun.rand(2, device="cuda"),
        lambda: nnrun.ones(2).to("cuda"),
        lambda: nnrun.ones(2).cuda(),
        lambda: nnrun.arange(3, device=nnrun.device("cuda", 0)),
    ],
)
def test_asking_for_cuda_without_cupy_gives_a_readable_error(without_cupy, make):
    with pytest.raises(RuntimeError, match=r"CuPy could not be imported") as info:
        make()
    assert not isinstance(info.value, ImportError)
    assert "nnrun[cuda]" in str(info.value)


def test_asking_for_cuda_without_a_gpu_gives_a_readable_error(monkeypatch):
    monkeypatch.setattr(_backend, "_load_cupy", lambda: object())  # CuPy imports, but no device
    monkeypatch.setattr(_backend, "cuda_device_count", lambda: 0)
    with pytest.raises(RuntimeError, match="no CUDA device is available"):
        nnrun.zeros(2, device="cuda:0")


# ----- on a GPU -----
def _pair(values):
    """The same float64 leaf on the CPU and on the GPU."""
    return (
        nnrun.tensor(values, dtype=nnrun.float64, requires_grad=True),
        nnrun.tensor(values, dtype=nnrun.float64, device="cuda", requires_grad=True),
    )


@pytest.mark.gpu
@gpu
def test_cuda_tensor_device_and_round_trip():
    x = nnrun.tensor([1.0, 2.0], device="cuda")
    assert x.is_cuda and x.device == nnrun.device("cuda", 0) and x.device.type == "cuda"
    assert x.tolist() == [1.0, 2.0]
    back = x.cpu()
    assert back.device == nnrun.device("cpu") and back.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="cpu"):
        x.numpy()
    assert nnrun.zeros(2, 3, device="cuda").device.type == "cuda"
    assert nnrun.rand(4, device="cuda").device.type == "cuda"


@pytest.mark.gpu
@gpu
def test_cuda_ops_and_backward_match_cpu():
    rng = np.random.default_rng(0)
    a_values, b_values = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    a_cpu, a_gpu = _pair(a_values)
    b_cpu, b_gpu = _pair(b_values)
    results = []
    for a, b in ((a_cpu, b_cpu), (a_gpu, b_gpu)):
        out = ((a.exp() * a).matmul(b).tanh() + b.sum()).mean()
        out.backward()
        results.append((out.item(), a.grad.cpu().numpy(), b.grad.cpu().numpy()))
    assert a_gpu.grad.device.type == "cuda"
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-10)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-10)
    np.testing.assert_allclose(results[1][2], results[0][2], rtol=1e-10)


@pytest.mark.gpu
@gpu
def test_to_cuda_is_differentiable():
    x = nnrun.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cuda")
    assert y.requires_grad and y.device.type == "cuda"
    (y * y).sum().backward()
    assert x.grad.device == nnrun.device("cpu")
    assert x.grad.tolist() == [2.0, 4.0]


@pytest.mark.gpu
@gpu
def test_device_mismatch_error_names_both_devices():
    cpu = nnrun.ones(2)
    cuda = nnrun.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="same device") as info:
        _ = cpu + cuda
    assert "cpu" in str(info.value) and "cuda:0" in str(info.value)
    with pytest.raises(RuntimeError, match="same device"):
        _ = cuda > cpu
