"""A NumPy-backed stand-in for CuPy that records every device↔host transfer, for tests without a GPU.

Its arrays are an ``ndarray`` subclass that nnrun's backend takes for CuPy arrays (``device: cuda``). What
would cross the PCIe bus on a real GPU is recorded in ``FakeCupy.transfers`` with the line of nnrun that
asked for it: ``asarray`` of host data (host→device), ``get`` and every implicit conversion to a Python
scalar or list (``float``, ``int``, ``bool``, ``item``, ``tolist``; device→host, and each one a device
synchronisation on CuPy). NumPy functions called on the arrays keep them on the "device", as CuPy's
``__array_ufunc__`` and ``__array_function__`` do; a NumPy array among a ufunc's operands is a TypeError,
as in CuPy. ``FakeCupy.operations`` counts the array operations by
name (ufunc calls and reductions, ``cupy.*`` functions, copies, casts and item assignments): each one is at
least one kernel launch on a GPU.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import traceback
import types
from collections.abc import Iterator
from typing import Any

import numpy as np


class Transfer:
    """One recorded transfer: its direction and the nnrun source lines that caused it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.where = " <- ".join(_caller_lines())

    def __repr__(self) -> str:
        return f"{self.kind} at {self.where}"


def _caller_lines() -> list[str]:
    """Where in nnrun a transfer was asked for: the innermost frame, then the first one outside the
    tensor and backend modules (which only pass a caller's request on)."""
    frames = [f for f in traceback.extract_stack()[:-3] if "/src/nnrun/" in f.filename.replace("\\", "/")]
    if not frames:
        return ["test code"]
    callers = [f for f in frames if not f.filename.endswith(("_tensor.py", "_backend.py"))]
    chosen = [frames[-1]] + ([callers[-1]] if callers and callers[-1] is not frames[-1] else [])
    return [f"{f.filename.rsplit('/src/', 1)[-1]}:{f.lineno} ({f.line})" for f in chosen]


class _Device:
    """``cupy.cuda.Device(0)``, the one fake device."""

    id = 0


_DEVICE = _Device()


class ndarray(np.ndarray):
    """A "device" array: NumPy memory, CuPy's transfer semantics."""

    recorder: FakeCupy | None = None

    @property
    def device(self) -> _Device:
        return _DEVICE

    def _sync(self, kind: str = "device->host") -> np.ndarray:
        if ndarray.recorder is not None:
            ndarray.recorder.transfers.append(Transfer(kind))
        return self.view(np.ndarray)

    def get(self) -> np.ndarray:
        return self._sync().copy()

    def item(self, *args: Any) -> Any:
        return self._sync().item(*args)

    def tolist(self) -> Any:
        return self._sync().tolist()

    def __float__(self) -> float:
        return float(self._sync())

    def __int__(self) -> int:
        return int(self._sync())

    def __index__(self) -> int:
        return self._sync().__index__()

    def __bool__(self) -> bool:
        return bool(self._sync())

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """Runs ``ufunc`` on the NumPy memory (one kernel launch on CuPy); results stay on the device."""
        _count(ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}")
        operands = (*inputs, *kwargs.get("out", ()))
        if any(type(x) is np.ndarray and x.ndim for x in operands):  # CuPy: TypeError, no implicit copy
            raise TypeError(f"{ufunc.__name__}: a host (NumPy) array mixed with device arrays")
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_host_view(array) for array in out)
        if "where" in kwargs:
            kwargs["where"] = _host_view(kwargs["where"])
        result = getattr(ufunc, method)(*(_host_view(x) for x in inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _to_device(result)

    def copy(self, order: str = "C") -> ndarray:
        _count("copy")
        return super().copy(order)

    def astype(self, dtype: Any, *args: Any, **kwargs: Any) -> ndarray:
        if kwargs.get("copy", True) or np.dtype(dtype) != self.dtype:
            _count("astype")
        return super().astype(dtype, *args, **kwargs)

    def __setitem__(self, key: Any, value: Any) -> None:
        _count("setitem")
        super().__setitem__(key, value)

    def __getitem__(self, key: Any) -> Any:
        keys = key if isinstance(key, tuple) else (key,)
        if any(getattr(getattr(k, "dtype", None), "kind", "") == "b" for k in keys):
            self._sync("device->host (boolean mask: the result's size)")
        return _to_device(super().__getitem__(key))  # a 0-d device array, not a host scalar, as on CuPy


def _host_view(value: Any) -> Any:
    return value.view(np.ndarray) if isinstance(value, ndarray) else value


def _on_host(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Arguments of a ``cupy.*`` function as NumPy views (inside lists and tuples too); a NumPy array among
    them is a TypeError, as in CuPy."""
    converted = []
    for value in values:
        if type(value) is np.ndarray and value.ndim:
            raise TypeError("a host (NumPy) array passed to a device (cupy.*) function")
        if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray) for v in value):
            value = type(value)(_on_host(tuple(value)))
        converted.append(_host_view(value))
    return tuple(converted)


def _count(operation: str) -> None:
    if ndarray.recorder is not None:
        ndarray.recorder.operations[operation] += 1


def _to_device(value: Any) -> Any:
    """NumPy results (arrays, scalars, tuples and lists of them) as device arrays; anything else unchanged."""
    if type(value) is np.ndarray:
        return value.view(ndarray)
    if isinstance(value, np.generic):
        return np.asarray(value).view(ndarray)
    if isinstance(value, (tuple, list)):
        items = [_to_device(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)  # named tuples too
    return value


# functions that only make a view or allocate: no kernel runs
_NO_KERNEL = frozenset({"as_strided", "empty", "empty_like", "broadcast_to", "reshape", "swapaxes"})


def _on_device(function: Any) -> Any:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if function.__name__ not in _NO_KERNEL:
            _count(function.__name__)
        # a CuPy function sees device arrays only: NumPy's runs on their memory (its internals may make
        # NumPy temporaries, which CuPy's own implementation would not)
        return _to_device(function(*_on_host(args), **dict(zip(kwargs, _on_host(tuple(kwargs.values()))))))

    return wrapper


class _Namespace(types.SimpleNamespace):
    """A submodule of NumPy (``lib.stride_tricks``, ``random``…) whose functions return device arrays."""

    def __init__(self, source: Any, **overrides: Any) -> None:
        super().__init__(**overrides)
        self._source = source

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._source, name)
        return _on_device(value) if callable(value) and not isinstance(value, type) else value


class _Generator:
    """``cupy.random.Generator``: NumPy's generator, drawing straight into device arrays."""

    def __init__(self, seed: int) -> None:
        self._numpy = np.random.default_rng(seed)

    def __getattr__(self, name: str) -> Any:
        return _on_device(getattr(self._numpy, name))


class FakeCupy(types.ModuleType):
    """The ``cupy`` module as nnrun uses it: NumPy's functions plus ``cuda``, ``random`` and ``asarray``."""

    ndarray = ndarray

    def __init__(self) -> None:
        super().__init__("cupy")
        self.transfers: list[Transfer] = []
        self.operations: collections.Counter[str] = collections.Counter()  # array operations, by name
        runtime = types.SimpleNamespace(getDevice=lambda: 0, getDeviceCount=lambda: 1)
        self.cuda = types.SimpleNamespace(runtime=runtime, Device=lambda index=0: contextlib.nullcontext())
        self.random = _Namespace(np.random, default_rng=_Generator)
        self.lib = types.SimpleNamespace(stride_tricks=_Namespace(np.lib.stride_tricks))
        self.linalg = _Namespace(np.linalg)

    def __getattr__(self, name: str) -> Any:
        value = getattr(np, name)
        if callable(value) and not isinstance(value, type) and not isinstance(value, np.ufunc):
            return _on_device(value)
        return value

    def asarray(self, array: Any, dtype: Any = None) -> ndarray:
        if not isinstance(array, ndarray):
            self.transfers.append(Transfer("host->device"))
        return np.asarray(array, dtype=dtype).view(ndarray)

    def array(self, array: Any, dtype: Any = None, copy: bool = True, order: str = "K") -> ndarray:
        if isinstance(array, ndarray):  # a copy on the device
            return np.array(_host_view(array), dtype=dtype, copy=copy, order=order).view(ndarray)
        return self.asarray(np.array(array, dtype=dtype, copy=copy, order=order), dtype)

    @contextlib.contextmanager
    def during(self) -> Iterator[list[Transfer]]:
        """``with fake.during() as moved:`` — the transfers made inside the block."""
        start, moved = len(self.transfers), []
        try:
            yield moved
        finally:
            moved.extend(self.transfers[start:])


def scatter_add(target: Any, key: Any, values: Any) -> None:
    """``cupyx.scatter_add``."""
    np.add.at(target, key, values)


def scatter_max(target: Any, key: Any, values: Any) -> None:
    """``cupyx.scatter_max``."""
    np.maximum.at(target, key, values)


def scatter_min(target: Any, key: Any, values: Any) -> None:
    """``cupyx.scatter_min``."""
    np.minimum.at(target, key, values)
