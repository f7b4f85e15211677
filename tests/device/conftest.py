"""``fake_cuda``: nnrun's ``cuda`` device backed by the transfer-recording CuPy stand-in, no GPU needed."""

import sys
import types

import pytest
from _fake_cupy import FakeCupy, ndarray, scatter_add, scatter_max, scatter_min

from nnrun import _backend


@pytest.fixture
def fake_cuda(monkeypatch):
    fake = FakeCupy()
    monkeypatch.setattr(_backend, "_cupy", fake)
    monkeypatch.setattr(_backend, "_cupy_error", None)
    monkeypatch.setattr(_backend, "_cuda_devices", {})
    monkeypatch.setitem(
        sys.modules,
        "cupyx",
        types.SimpleNamespace(scatter_add=scatter_add, scatter_max=scatter_max, scatter_min=scatter_min),
    )
    monkeypatch.setattr(ndarray, "recorder", fake)
    return fake
