"""nnrun.accelerator and the default device of the factories, against torch where both run."""

import numpy as np
import pytest

import nnrun
from nnrun import nn

torch = pytest.importorskip("torch")


@pytest.fixture
def restore_default_device():
    yield
    nnrun.set_default_device(None)


def test_accelerator_api_answers_as_torch_on_this_machine():
    assert nnrun.accelerator.is_available() == nnrun.cuda.is_available()
    assert nnrun.accelerator.device_count() == nnrun.cuda.device_count()
    assert isinstance(nnrun.accelerator.device_count(), int)
    found = nnrun.accelerator.current_accelerator(check_available=True)
    if nnrun.cuda.is_available():
        assert found == nnrun.device("cuda") and found.type == "cuda"
        assert nnrun.accelerator.current_device_index() >= 0
        nnrun.accelerator.synchronize()
    else:
        assert found is None
        for ours, theirs in (
            (nnrun.accelerator.current_device_index, torch.accelerator.current_device_index),
            (nnrun.accelerator.synchronize, None),
        ):
            with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available"):
                ours()
            if theirs is not None and not torch.accelerator.is_available():
                with pytest.raises(
                    RuntimeError, match="Cannot access accelerator device when none is available"
                ):
                    theirs()
    if not torch.accelerator.is_available() and not nnrun.accelerator.is_available():
        assert nnrun.accelerator.current_accelerator(check_available=True) == (
            torch.accelerator.current_accelerator(check_available=True)
        )


def test_the_usual_device_pick_runs():
    accel = nnrun.accelerator.current_accelerator()
    device = accel if accel is not None and nnrun.accelerator.is_available() else nnrun.device("cpu")
    assert nnrun.ones(2, device=device).device == device


def test_default_device_is_cpu_and_set_none_restores_it(restore_default_device):
    assert repr(nnrun.get_default_device()) == repr(torch.get_default_device()) == "device(type='cpu')"
    nnrun.set_default_device("cpu")
    assert nnrun.get_default_device() == nnrun.device("cpu")
    nnrun.set_default_device(nnrun.device("cpu"))
    assert nnrun.zeros(2).device == nnrun.device("cpu")
    nnrun.set_default_device(None)
    assert nnrun.get_default_device() == nnrun.device("cpu")


def test_a_bad_device_string_is_refused(restore_default_device):
    with pytest.raises(RuntimeError):
        torch.set_default_device("cuda:x")
    with pytest.raises(RuntimeError):
        nnrun.set_default_device("cuda:x")
    assert nnrun.get_default_device() == nnrun.device("cpu")


@pytest.mark.skipif(nnrun.cuda.is_available(), reason="checks the error on a machine without a GPU")
def test_a_cuda_default_without_a_gpu_fails_at_the_first_factory(restore_default_device):
    nnrun.set_default_device("cuda")  # accepted, as in torch
    with pytest.raises(RuntimeError, match="CUDA was requested"):
        nnrun.zeros(2)


@pytest.mark.skipif(not nnrun.cuda.is_available(), reason="needs a CUDA device and CuPy")
def test_a_cuda_default_moves_every_factory_and_new_layers(restore_default_device):
    nnrun.set_default_device("cuda")
    cuda = nnrun.device("cuda", 0)
    assert nnrun.get_default_device() == cuda
    made = [
        nnrun.zeros(2),
        nnrun.ones(2),
        nnrun.empty(2),
        nnrun.full((2,), 3.0),
        nnrun.tensor([1.0, 2.0]),
        nnrun.tensor(np.arange(3)),
        nnrun.as_tensor(np.arange(3.0)),
        nnrun.arange(4),
        nnrun.linspace(0, 1, 5),
        nnrun.eye(3),
        nnrun.rand(2),
        nnrun.randn(2),
        nnrun.randint(0, 5, (3,)),
        nnrun.randperm(4),
    ]
    assert all(t.device == cuda for t in made)
    assert nnrun.zeros(2, device="cpu").device == nnrun.device("cpu")
    assert nnrun.rand(2, device="cpu").device == nnrun.device("cpu")
    layer = nn.Linear(3, 2)
    assert layer.weight.device == cuda
    assert layer(nnrun.ones(4, 3)).device == cuda
    lazy = nn.LazyLinear(2)
    lazy(nnrun.ones(4, 3))
    assert lazy.weight.device == cuda
    assert nnrun.from_numpy(np.zeros(2)).device == nnrun.device("cpu")  # shares NumPy memory, as torch


def test_factories_follow_a_cpu_default(restore_default_device):
    nnrun.set_default_device("cpu")
    for t in (nnrun.zeros(2), nnrun.rand(2), nnrun.arange(3), nnrun.tensor([1]), nn.Linear(2, 2).weight):
        assert t.device == nnrun.device("cpu")
    shared = np.zeros(3)
    assert np.shares_memory(nnrun.as_tensor(shared).numpy(), shared)
