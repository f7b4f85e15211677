"""Recurrent layers on ``cuda`` (the CuPy stand-in): outputs, final states and gradients equal the CPU's,
padded and packed, and a step moves nothing between host and device."""

import contextlib

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.nn.utils import rnn

LAYERS = {
    "LSTM": lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2),
    "GRU": lambda: nn.GRU(3, 4, num_layers=2, batch_first=True),
    "RNN relu": lambda: nn.RNN(3, 4, nonlinearity="relu", bidirectional=True),
    "LSTMCell": lambda: nn.LSTMCell(3, 4),
    "GRUCell": lambda: nn.GRUCell(3, 4),
}


def _run(name, device, packed, fake=None):
    nnrun.manual_seed(0)
    module = LAYERS[name]().to(device)
    shape = (3, 3) if "Cell" in name else (5, 3, 3)
    x = nnrun.tensor(np.random.default_rng(1).standard_normal(shape).astype(np.float32), device=device)
    x.requires_grad_()
    source = rnn.pack_padded_sequence(x, [2, 5, 3], enforce_sorted=False) if packed else x
    with fake.during() if fake else contextlib.nullcontext([]) as moved:
        out = module(source)
        outputs = [out] if isinstance(out, nnrun.Tensor) else [out[0], *out[1]] if name == "LSTM" else [*out]
        outputs = [o.data if isinstance(o, rnn.PackedSequence) else o for o in outputs]
        loss = sum((o * (o.detach() * 0.1 + 0.5)).sum() for o in outputs)
        loss.backward()
    grads = [x.grad] + [p.grad for p in module.parameters()]
    return [*outputs, *grads], moved


CASES = [(name, False) for name in LAYERS] + [("LSTM", True), ("RNN relu", True)]


@pytest.mark.parametrize("name, packed", CASES, ids=str)
def test_recurrent_layer_on_the_device_matches_the_cpu_and_moves_nothing(fake_cuda, name, packed):
    on_device, moved = _run(name, "cuda", packed, fake_cuda)
    assert moved == [], f"{name}: host<->device transfers: {moved}"
    on_cpu, _ = _run(name, "cpu", packed)
    for got, want in zip(on_device, on_cpu, strict=True):
        assert got.device == nnrun.device("cuda", 0)
        np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)
