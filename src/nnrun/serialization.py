"""Tensors and trees of them as one safetensors file, never pickle: what ``nnrun.save``/``nnrun.load`` run.

File format: a standard safetensors file. Every tensor occurrence is stored as a safetensors tensor; the
Python structure around the tensors (containers, key order, numbers, strings, tensor flags and devices) is
one JSON document in the safetensors header metadata under the key ``"nnrun"``. A tensor's name in the file
is the ``.``-joined path of keys/indices leading to it, so a flat ``state_dict`` is stored under exactly its
own keys and opens with ``safetensors.torch.load_file`` for ``torch.nn.Module.load_state_dict``.

A Module is stored as one ``"module"`` entry: its model config text plus its ``state_dict``. Turning a
Module into config text and back is the config layer's work (:mod:`nnrun.config.model_file`), which sits
above this module: the caller passes it in (``module_config``, ``build_module``); without it a Module is
refused. Loading reads only JSON and raw tensor bytes here; it cannot execute code.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import safetensors
import safetensors.numpy

from nnrun import _backend, _dtype
from nnrun._atomic import replace_atomically
from nnrun._tensor import Tensor
from nnrun.nn.module import Module
from nnrun.nn.parameter import Parameter

FORMAT_VERSION = 1
_METADATA_KEY = "nnrun"
_RESERVED_NAMES = frozenset({"__metadata__"})
# safetensors dtype codes nnrun can hold; any other code in a file is refused by name.
_SAFETENSORS_DTYPES = {
    "F16": _dtype.float16,
    "F32": _dtype.float32,
    "F64": _dtype.float64,
    "U8": _dtype.uint8,
    "I8": _dtype.int8,
    "I16": _dtype.int16,
    "I32": _dtype.int32,
    "I64": _dtype.int64,
    "BOOL": _dtype.bool_,
}
_SUPPORTED = "Tensor, dict, OrderedDict, list, tuple, str, int, float, bool and None"

MapLocation = str | _backend.device | dict | Callable[[Tensor, str], Tensor] | None
#: ``module_config(module, where)``: the config text a Module is saved as (``where``: its place in the tree).
ModuleConfig = Callable[[Module, str], str]
#: ``build_module(config, state, path, where)``: the Module saved as ``config`` and ``state`` at ``where``.
BuildModule = Callable[[str, dict, str, str], Module]


class CheckpointError(RuntimeError):
    """A checkpoint file is not a valid nnrun/safetensors file, or cannot be loaded as asked."""


def save(obj: Any, f: str | os.PathLike, *, module_config: ModuleConfig | None = None) -> None:
    """Save ``obj`` to the path ``f`` as a safetensors file, atomically.

    ``obj`` is a Tensor (or Parameter), a ``state_dict``, or nested dict/OrderedDict/list/tuple holding
    tensors, str, int, float, bool and None (dict keys: str or int); with ``module_config``, Modules too.
    Tensors are copied to the host; their dtype, shape, ``requires_grad``, Parameter-ness and device are
    recorded. The file is written to a temporary file in the same folder and renamed over ``f``, so ``f`` is
    never left half written.
    """
    path = _as_path(f, "save")
    writer = _Writer(module_config)
    tree = writer.encode(obj, ())
    header = json.dumps({"format_version": FORMAT_VERSION, "object": tree}, allow_nan=False)
    _write_atomic(path, writer.arrays, {_METADATA_KEY: header})


def load(
    f: str | os.PathLike, map_location: MapLocation = None, *, build_module: BuildModule | None = None
) -> Any:
    """Load an object written by :func:`save`, or a plain safetensors file.

    A plain safetensors file (e.g. from ``safetensors.torch.save_file``) loads as an ``OrderedDict`` of
    tensors in the file's (sorted) key order. ``map_location``: ``None`` restores each tensor to the device
    it was saved from; a device or string (``"cpu"``, ``"cuda:0"``) puts every tensor there; a dict maps
    saved device strings to new ones; a callable ``fn(tensor_on_cpu, saved_device) -> Tensor`` decides.
    ``build_module`` rebuilds a saved Module; without it a file holding one is refused.
    Raises :class:`CheckpointError` for a file that is not valid, truncated or tampered with.
    """
    path = _as_path(f, "load")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a directory, not a checkpoint file")
    if not isinstance(map_location, (str, _backend.device, dict, type(None))) and not callable(map_location):
        raise TypeError(f"map_location must be a device, str, dict or callable, got {map_location!r}")
    reader = _Reader(path, map_location, build_module)
    try:
        with safetensors.safe_open(path, framework="np") as handle:
            return reader.read(handle)
    except safetensors.SafetensorError as exc:
        raise _not_safetensors(path, exc) from None
    except RecursionError:
        raise CheckpointError(f"{path}: nnrun metadata is nested too deeply") from None


# ----- saving -----
class _Writer:
    """The JSON tree of an object; its tensors' host arrays are collected in ``arrays`` under unique names."""

    def __init__(self, module_config: ModuleConfig | None) -> None:
        self.module_config = module_config
        self.arrays: dict[str, np.ndarray] = {}
        self.active: set[int] = set()  # the containers being encoded, to refuse a self-reference

    def encode(self, obj: Any, where: tuple[Any, ...]) -> Any:
        if obj is None or isinstance(obj, (bool, str)) or type(obj) is int:
            return obj
        if type(obj) is float:
            return obj if math.isfinite(obj) else {"type": "float", "value": repr(obj)}
        if isinstance(obj, Tensor):
            return self.encode_tensor(obj, where)
        if type(obj) in (list, tuple, dict) or isinstance(obj, OrderedDict):
            if id(obj) in self.active:
                raise ValueError(f"cannot save a self-referencing container (at {_describe(where)})")
            self.active.add(id(obj))
            try:
                return self.encode_container(obj, where)
            finally:
                self.active.discard(id(obj))
        if isinstance(obj, Module):
            return self.encode_module(obj, where)
        raise TypeError(
            f"cannot save object of type {type(obj).__name__} at {_describe(where)}; "
            f"nnrun.save supports {_SUPPORTED}"
        )

    def encode_module(self, module: Module, where: tuple[Any, ...]) -> dict[str, Any]:
        """A Module as its config text plus its ``state_dict``; loading rebuilds it (``build_module``)."""
        if self.module_config is None:
            raise TypeError(
                f"cannot save the {type(module).__name__} at {_describe(where)}: saving a Module needs "
                "module_config (nnrun.save passes it)"
            )
        config = self.module_config(module, _describe(where))
        return {"type": "module", "config": config, "state": self.encode(module.state_dict(), where)}

    def encode_container(self, obj: Any, where: tuple[Any, ...]) -> dict[str, Any]:
        if not isinstance(obj, dict):
            items = [self.encode(value, (*where, i)) for i, value in enumerate(obj)]
            return {"type": type(obj).__name__, "items": items}
        for key in obj:
            if type(key) not in (str, int):
                raise TypeError(
                    f"cannot save dict key {key!r} ({type(key).__name__}) at {_describe(where)}: "
                    "keys must be str or int"
                )
        items = [[key, self.encode(value, (*where, key))] for key, value in obj.items()]
        return {"type": "OrderedDict" if isinstance(obj, OrderedDict) else "dict", "items": items}

    def encode_tensor(self, tensor: Tensor, where: tuple[Any, ...]) -> dict[str, Any]:
        base = ".".join(str(part) for part in where) if where else "tensor"
        name, n = base, 0
        while name in self.arrays or name in _RESERVED_NAMES:
            n += 1
            name = f"{base}#{n}"
        # A host copy for CUDA; a C-contiguous array always (safetensors 0.8 writes strided arrays wrongly).
        host = _backend.transfer(tensor._data, _backend.CPU)
        self.arrays[name] = np.ascontiguousarray(host).reshape(host.shape)  # ascontiguousarray makes 0-d 1-d
        return {
            "type": "tensor",
            "name": name,
            "dtype": tensor.dtype.name,
            "shape": list(tensor.shape),
            "device": str(tensor.device),
            "requires_grad": tensor.requires_grad,
            "parameter": isinstance(tensor, Parameter),
        }


def _write_atomic(path: str, arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write the safetensors file through a temporary file beside ``path`` (:mod:`nnrun._atomic`)."""

    def write(temporary: str) -> None:
        try:
            safetensors.numpy.save_file(arrays, temporary, metadata=metadata)
        except safetensors.SafetensorError as exc:  # the Rust writer's I/O errors: disk full, file too large
            code = re.search(r"os error (\d+)", str(exc))
            if code is None:
                raise
            raise OSError(int(code.group(1)), os.strerror(int(code.group(1))), path) from None

    replace_atomically(path, write)


# ----- loading -----
class _Reader:
    """Rebuild the saved object from an open safetensors handle, checking the metadata as it goes."""

    def __init__(self, path: str, map_location: MapLocation, build_module: BuildModule | None) -> None:
        self.path = path
        self.map_location = map_location
        self.build_module = build_module
        self.handle: Any = None
        self.names: set[str] = set()
        self.used: set[str] = set()

    def read(self, handle: Any) -> Any:
        self.handle = handle
        names = handle.keys()
        header = (handle.metadata() or {}).get(_METADATA_KEY)
        if header is None:  # a plain safetensors file
            return OrderedDict((name, self.plain_tensor(name)) for name in names)
        document = self.parse_header(header)
        self.names = set(names)
        result = self.decode(document["object"], "object")
        unused = sorted(self.names - self.used)
        if unused:
            raise self.corrupt(f"tensors {unused} are not referenced by the nnrun metadata")
        return result

    def parse_header(self, header: str) -> dict[str, Any]:
        try:
            document = json.loads(header)
        except ValueError as exc:
            raise self.corrupt(f"nnrun metadata is not valid JSON ({exc})") from None
        if not isinstance(document, dict) or "object" not in document:
            raise self.corrupt("nnrun metadata has no 'object' entry")
        version = document.get("format_version")
        if type(version) is not int:
            raise self.corrupt(f"nnrun metadata has an invalid format_version {version!r}")
        if version > FORMAT_VERSION:
            raise CheckpointError(
                f"{self.path}: written in nnrun checkpoint format {version}; "
                f"this nnrun reads format {FORMAT_VERSION} or older — upgrade nnrun"
            )
        return document

    def decode(self, node: Any, where: str) -> Any:
        if node is None or isinstance(node, (bool, str, int, float)):
            return node
        if not isinstance(node, dict):
            raise self.corrupt(f"unexpected {type(node).__name__} at {where}")
        kind = node.get("type")
        if kind == "float":
            value = node.get("value")
            if value not in ("inf", "-inf", "nan"):
                raise self.corrupt(f"invalid float {value!r} at {where}")
            return float(value)
        if kind == "tensor":
            return self.decode_tensor(node, where)
        if kind == "module":
            return self.decode_module(node, where)
        items = node.get("items")
        if kind in ("list", "tuple") and isinstance(items, list):
            values = [self.decode(value, f"{where}[{i}]") for i, value in enumerate(items)]
            return values if kind == "list" else tuple(values)
        if kind in ("dict", "OrderedDict") and isinstance(items, list):
            result = {} if kind == "dict" else OrderedDict()
            for item in items:
                if not (isinstance(item, list) and len(item) == 2 and type(item[0]) in (str, int)):
                    raise self.corrupt(f"invalid dict item {item!r} at {where}")
                key, value = item
                result[key] = self.decode(value, f"{where}[{key!r}]")
            return result
        raise self.corrupt(f"invalid entry {_preview(node)} at {where}")

    def decode_module(self, node: dict[str, Any], where: str) -> Module:
        """A saved Module, rebuilt by ``build_module`` from its config text and decoded ``state_dict``."""
        config, state = node.get("config"), self.decode(node.get("state"), f"{where}.state")
        if not isinstance(config, str) or not isinstance(state, dict):
            raise self.corrupt(f"module entry at {where} lacks its config or state")
        if self.build_module is None:
            raise CheckpointError(
                f"{self.path}: holds a Module at {where}; loading it needs build_module "
                "(nnrun.load passes it)"
            )
        return self.build_module(config, state, self.path, where)

    def decode_tensor(self, node: dict[str, Any], where: str) -> Tensor:
        name, device = node.get("name"), node.get("device")
        requires_grad, parameter = node.get("requires_grad"), node.get("parameter")
        if not (isinstance(name, str) and isinstance(device, str)):
            raise self.corrupt(f"tensor entry at {where} lacks a name or device")
        if not (isinstance(requires_grad, bool) and isinstance(parameter, bool)):
            raise self.corrupt(f"tensor entry at {where} lacks requires_grad/parameter flags")
        if name not in self.names:
            raise self.corrupt(f"tensor {name!r} (at {where}) is missing from the file")
        if name in self.used:
            raise self.corrupt(f"tensor {name!r} is referenced twice")
        self.used.add(name)
        dtype, shape = self.header_entry(name)
        if dtype.name != node.get("dtype") or shape != node.get("shape"):
            raise self.corrupt(
                f"tensor {name!r} is {dtype.name}{shape} in the file but "
                f"{node.get('dtype')}{node.get('shape')} in the nnrun metadata"
            )
        return self.tensor(name, device, requires_grad, parameter)

    def header_entry(self, name: str) -> tuple[_dtype.dtype, list[int]]:
        """The dtype and shape that the safetensors header gives tensor ``name``."""
        entry = self.handle.get_slice(name)
        code = entry.get_dtype()
        if code not in _SAFETENSORS_DTYPES:
            raise CheckpointError(
                f"{self.path}: tensor {name!r} has dtype {code}, which nnrun does not support "
                f"(supported: {', '.join(_SAFETENSORS_DTYPES)})"
            )
        return _SAFETENSORS_DTYPES[code], list(entry.get_shape())

    def plain_tensor(self, name: str) -> Tensor:
        self.header_entry(name)
        return self.tensor(name, "cpu", False, False)

    def tensor(self, name: str, saved_device: str, requires_grad: bool, parameter: bool) -> Tensor:
        array = self.handle.get_tensor(name)
        if not array.flags.writeable:
            array = array.copy()
        tensor = self.place(Tensor(array), saved_device)
        requires_grad = requires_grad and tensor.dtype.is_floating_point  # only float tensors can hold it
        tensor.requires_grad = requires_grad
        if parameter:
            tensor = Parameter(tensor, requires_grad=requires_grad)
        return tensor

    def place(self, tensor: Tensor, saved_device: str) -> Tensor:
        target: Any = self.map_location
        if callable(target):
            placed = target(tensor, saved_device)
            if not isinstance(placed, Tensor):
                raise TypeError(f"map_location callable must return a Tensor, got {type(placed).__name__}")
            return placed.detach()
        if isinstance(target, dict):
            target = target.get(saved_device, saved_device)
        elif target is None:
            target = saved_device
        try:
            device = _backend.device(target)
        except (RuntimeError, TypeError) as exc:
            raise CheckpointError(f"{self.path}: invalid device {target!r} ({exc})") from None
        if device.type == "cuda" and not _backend.cuda_is_available():
            raise CheckpointError(
                f"{self.path}: cannot put a tensor saved on {saved_device} on {device}: CUDA is not "
                "available here; load with map_location='cpu'"
            )
        return Tensor(_backend.transfer(tensor._data, _backend.as_device(device)))

    def corrupt(self, what: str) -> CheckpointError:
        return CheckpointError(f"{self.path}: corrupt or tampered nnrun checkpoint: {what}")


# ----- helpers -----
def _as_path(f: Any, verb: str) -> str:
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    raise TypeError(f"nnrun.{verb} expects a file path (str or os.PathLike), got {type(f).__name__}")


def _describe(where: tuple[Any, ...]) -> str:
    return "obj" + "".join(f"[{part!r}]" for part in where)


def _preview(node: Any) -> str:
    text = json.dumps(node)
    return text if len(text) <= 80 else text[:77] + "..."


def _not_safetensors(path: str, exc: Exception) -> CheckpointError:
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic == b"PK\x03\x04" or magic[:1] == b"\x80":
        hint = "it looks like a pickle/torch.save file, which nnrun never loads (it could run code)"
    else:
        hint = f"not a valid safetensors file ({exc})"
    return CheckpointError(f"{path}: cannot load: {hint}")
