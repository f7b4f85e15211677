"""Array-library seam: NumPy for ``cpu``, CuPy for ``cuda``. The only module that imports cupy."""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import Any

import numpy as np

_DEVICE_PATTERN = re.compile(r"^(cpu|cuda)(?::(\d+))?$")
_cupy: ModuleType | None = None
_cupy_error: str | None = None


def _load_cupy() -> ModuleType | None:
    """Import CuPy once; remember why it failed so the error can be shown when a GPU is asked for."""
    global _cupy, _cupy_error
    if _cupy is None and _cupy_error is None:
        try:
            import cupy

            _cupy = cupy
        except Exception as exc:  # ImportError, or a CUDA driver error raised at import
            _cupy_error = f"{type(exc).__name__}: {exc}"
    return _cupy


class device:
    """Where a tensor's memory lives: ``device("cpu")``, ``device("cuda")``, ``device("cuda", 1)``."""

    __slots__ = ("index", "type")

    def __init__(self, type_or_spec: str | device, index: int | None = None) -> None:
        if isinstance(type_or_spec, device):
            self.type, self.index = type_or_spec.type, type_or_spec.index
            return
        if not isinstance(type_or_spec, str):
            raise TypeError(f"device() expects a string such as 'cpu' or 'cuda:0', got {type_or_spec!r}")
        match = _DEVICE_PATTERN.match(type_or_spec.strip())
        if match is None:
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type_or_spec}"
            )
        kind, parsed_index = match.group(1), match.group(2)
        if parsed_index is not None and index is not None:
            raise RuntimeError(f"device string {type_or_spec!r} already has an index; got index={index} too")
        if parsed_index is not None:
            index = int(parsed_index)
        if kind == "cpu" and index not in (None, 0):
            raise RuntimeError(f"cpu device index must be 0 or absent, got {index}")
        self.type = kind
        self.index = None if kind == "cpu" else index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False  # equality never raises, even for strings that name no device
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")
_cuda_devices: dict[int, device] = {}


def as_device(spec: str | device | None) -> device:
    """Normalise a device argument; a bare ``cuda`` means the current CUDA device."""
    if spec is None:
        return CPU
    dev = spec if isinstance(spec, device) else device(spec)
    if dev.type == "cuda" and dev.index is None:
        dev = device("cuda", current_cuda_index())
    return dev


_default_device: device | None = None  # set_default_device's choice; None: cpu


def set_default_device(spec: str | device | int | None) -> None:
    """The device the factories (``zeros``, ``tensor``, ``rand``…, and so new layers' weights) use when they
    are given none; ``None`` restores ``cpu``. An int is a CUDA index, as in torch. As in torch, a GPU that
    cannot be used is reported by the first factory that needs it, not here."""
    global _default_device
    if spec is None:
        _default_device = None
        return
    dev = device("cuda", spec) if isinstance(spec, int) and not isinstance(spec, bool) else device(spec)
    _default_device = None if dev.type == "cpu" else dev


def get_default_device() -> device:
    """The device factories use when given none (``cuda`` resolves to the current CUDA device)."""
    return CPU if _default_device is None else as_device(_default_device)


def creation_device(spec: str | device | None) -> device:
    """A factory's ``device`` argument, with ``None`` meaning the default device."""
    return as_device(_default_device if spec is None else spec)


def current_cuda_index() -> int:
    return require_cupy().cuda.runtime.getDevice()


def require_cupy() -> ModuleType:
    """CuPy, or a readable error explaining why the GPU cannot be used."""
    cupy = _load_cupy()
    if cupy is None:
        raise RuntimeError(
            "CUDA was requested but CuPy could not be imported "
            f"({_cupy_error}). Install the GPU extra: pip install 'nnrun[cuda]'."
        )
    if cuda_device_count() == 0:
        raise RuntimeError("CUDA was requested but no CUDA device is available on this machine.")
    return cupy


def cuda_is_available() -> bool:
    return cuda_device_count() > 0


def cuda_device_count() -> int:
    cupy = _load_cupy()
    if cupy is None:
        return 0
    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # no driver, or driver too old
        return 0


def array_module(array: Any) -> ModuleType:
    """NumPy or CuPy, whichever owns ``array`` (the ``get_array_module`` idea)."""
    if type(array) is np.ndarray or _cupy is None:
        return np
    return _cupy if isinstance(array, _cupy.ndarray) else np


def module_for(dev: device) -> ModuleType:
    return np if dev.type == "cpu" else require_cupy()


def device_of(array: Any) -> device:
    if type(array) is np.ndarray or _cupy is None or not isinstance(array, _cupy.ndarray):
        return CPU
    index = array.device.id
    dev = _cuda_devices.get(index)
    if dev is None:
        dev = _cuda_devices[index] = device("cuda", index)
    return dev


def transfer(array: Any, dev: device) -> Any:
    """Copy ``array`` to ``dev`` (returns it unchanged when already there)."""
    if device_of(array) == dev:
        return array
    if dev.type == "cpu":
        return array.get()
    cupy = require_cupy()
    with cupy.cuda.Device(dev.index):
        return cupy.asarray(array)


def nccl_module() -> ModuleType:
    """``cupy.cuda.nccl`` (CuPy built with NCCL), or a readable error."""
    require_cupy()
    try:
        return importlib.import_module("cupy.cuda.nccl")
    except ImportError as exc:
        raise RuntimeError(f"NCCL is not available in this CuPy installation ({exc})") from None


def scatter_add(target: Any, key: Any, values: Any) -> None:
    """``target[key] += values`` in place, accumulating over repeated indices."""
    if type(target) is np.ndarray:
        np.add.at(target, key, values)
    else:
        import cupyx  # only reached with a CuPy array, so CuPy is installed

        cupyx.scatter_add(target, key, values)


def scatter_extreme(target: Any, key: Any, values: Any, largest: bool) -> None:
    """``target[key] = max(target[key], values)`` (or min) in place, over repeated indices too."""
    if type(target) is np.ndarray:
        (np.maximum if largest else np.minimum).at(target, key, values)
    else:
        import cupyx  # only reached with a CuPy array, so CuPy is installed

        (cupyx.scatter_max if largest else cupyx.scatter_min)(target, key, values)
