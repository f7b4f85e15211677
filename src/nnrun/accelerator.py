"""``nnrun.accelerator``: torch 2.x's device-agnostic view of the GPU (for nnrun, CUDA through CuPy)."""

from __future__ import annotations

from nnrun import _backend
from nnrun._backend import cuda_device_count as device_count
from nnrun._backend import cuda_is_available as is_available

__all__ = [
    "current_accelerator",
    "current_device_index",
    "device_count",
    "is_available",
    "set_device_index",
    "synchronize",
]

_NONE_AVAILABLE = "Cannot access accelerator device when none is available."


def current_accelerator(check_available: bool = False) -> _backend.device | None:
    """``device(type='cuda')`` when nnrun can drive a GPU (CuPy imports), else None; with
    ``check_available``, None also when no device is present."""
    if _backend._load_cupy() is None or (check_available and not is_available()):
        return None
    return _backend.device("cuda")


def _index(device: _backend.device | str | int | None) -> int:
    if not is_available():
        raise RuntimeError(_NONE_AVAILABLE)
    if device is None:
        return _backend.current_cuda_index()
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    return _backend.as_device(device).index or 0


def current_device_index() -> int:
    """The index of the current accelerator device (RuntimeError when there is none)."""
    return _index(None)


def set_device_index(device: _backend.device | str | int) -> None:
    """Make ``device`` (an index, ``"cuda:1"`` or a device) the current accelerator device."""
    index = _index(device)
    _backend.require_cupy().cuda.Device(index).use()


def synchronize(device: _backend.device | str | int | None = None) -> None:
    """Wait for all work queued on ``device`` (default: the current one) to finish."""
    index = _index(device)
    _backend.require_cupy().cuda.Device(index).synchronize()
