"""A nested dict of numbers and host arrays as bytes and back, to send metric states between ranks (no
pickle: a JSON header of paths, dtypes and shapes, then the arrays' raw bytes)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

_LENGTH = np.dtype("<u8")


def pack_state(state: dict[str, Any]) -> np.ndarray:
    """``state`` (str keys; values dicts, ints, floats or NumPy arrays) as a uint8 array."""
    header: list[list[Any]] = []
    arrays: list[bytes] = []

    def walk(value: Any, path: list[str]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, [*path, str(key)])
            return
        kind = "int" if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else "array"
        kind = "float" if isinstance(value, float) else kind
        array = np.array(value, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
        header.append([path, kind, array.dtype.str, list(array.shape)])
        arrays.append(array.tobytes())

    walk(state, [])
    text = json.dumps(header).encode()
    head = np.array([len(text)], dtype=_LENGTH).tobytes()
    return np.frombuffer(head + text + b"".join(arrays), dtype=np.uint8)


def unpack_state(blob: np.ndarray) -> dict[str, Any]:
    """The dict :func:`pack_state` packed."""
    data = np.ascontiguousarray(blob, dtype=np.uint8).tobytes()
    length = int(np.frombuffer(data[:8], dtype=_LENGTH)[0])
    header = json.loads(data[8 : 8 + length].decode())
    offset = 8 + length
    state: dict[str, Any] = {}
    for path, kind, dtype, shape in header:
        dtype = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        array = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape).copy()
        offset += count * dtype.itemsize
        value: Any = int(array) if kind == "int" else float(array) if kind == "float" else array
        node = state
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return state
