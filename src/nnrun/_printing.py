"""Tensor printing in PyTorch's format: ``tensor([[-0.0829,  0.3424]], requires_grad=True)``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnrun import _backend, _dtype


@dataclass
class PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_OPTIONS = PrintOptions()
_PROFILES = {
    "default": PrintOptions(),
    "short": PrintOptions(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": PrintOptions(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Change how tensors print (as ``torch.set_printoptions``)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"unknown print profile {profile!r}; expected one of {sorted(_PROFILES)}")
        base = _PROFILES[profile]
        _OPTIONS.precision, _OPTIONS.threshold = base.precision, base.threshold
        _OPTIONS.edgeitems, _OPTIONS.linewidth = base.edgeitems, base.linewidth
    if precision is not None:
        _OPTIONS.precision = precision
    if threshold is not None:
        _OPTIONS.threshold = threshold
    if edgeitems is not None:
        _OPTIONS.edgeitems = edgeitems
    if linewidth is not None:
        _OPTIONS.linewidth = linewidth
    _OPTIONS.sci_mode = sci_mode


class _Formatter:
    """Chooses one width and notation (integer-valued, fixed or scientific) for all printed elements."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        precision = _OPTIONS.precision
        flat = values.reshape(-1)
        if not self.floating:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(str(value)))
        else:
            finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
            if finite.size:
                magnitude = np.abs(finite)
                smallest, largest = float(magnitude.min()), float(magnitude.max())
                self.int_mode = bool(np.all(finite == np.ceil(finite)))
                self.sci_mode = (
                    largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
                    if _OPTIONS.sci_mode is None
                    else _OPTIONS.sci_mode
                )
                if self.sci_mode:
                    strings = [f"{v:.{precision}e}" for v in finite.tolist()]
                elif self.int_mode:
                    strings = [f"{v:.0f}." for v in finite.tolist()]
                else:
                    strings = [f"{v:.{precision}f}" for v in finite.tolist()]
                self.max_width = max(len(s) for s in strings)

    def format(self, value: Any) -> str:
        precision = _OPTIONS.precision
        if self.floating:
            if self.sci_mode:
                text = f"{value:{self.max_width}.{precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if math.isfinite(value):
                    text += "."
            else:
                text = f"{value:.{precision}f}"
        else:
            text = str(value)
        return " " * (self.max_width - len(text)) + text


def _summarized(values: np.ndarray, edgeitems: int) -> np.ndarray:
    """Only the edge items along every axis (what a summarized print shows)."""
    if values.ndim == 0:
        return values
    for axis in range(values.ndim):
        if values.shape[axis] > 2 * edgeitems:
            head = np.take(values, range(edgeitems), axis=axis)
            tail = np.take(values, range(values.shape[axis] - edgeitems, values.shape[axis]), axis=axis)
            values = np.concatenate([head, tail], axis=axis)
    return values


def _vector(values: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    edge = _OPTIONS.edgeitems
    per_line = max(1, math.floor((_OPTIONS.linewidth - indent) / (formatter.max_width + 2)))
    items = values.tolist()
    if summarize and not edge:
        data = ["..."]
    elif summarize and len(items) > 2 * edge:
        data = (
            [formatter.format(v) for v in items[:edge]]
            + [" ..."]
            + [formatter.format(v) for v in items[-edge:]]
        )
    else:
        data = [formatter.format(v) for v in items]
    lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(values: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    if values.ndim == 0:
        return formatter.format(values.item())
    if values.ndim == 1:
        return _vector(values, indent, summarize, formatter)
    edge = _OPTIONS.edgeitems
    count = values.shape[0]
    if summarize and count > 2 * edge:
        rows = [_nested(values[i], indent + 1, summarize, formatter) for i in range(edge)]
        rows.append("...")
        rows += [_nested(values[i], indent + 1, summarize, formatter) for i in range(count - edge, count)]
    else:
        rows = [_nested(values[i], indent + 1, summarize, formatter) for i in range(count)]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def array_str(values: np.ndarray, indent: int) -> str:
    """The bracketed body of a printed tensor."""
    if values.dtype == np.float16:
        values = values.astype(np.float32)
    summarize = values.size > _OPTIONS.threshold
    formatter = _Formatter(_summarized(values, _OPTIONS.edgeitems) if summarize else values)
    return _nested(values, indent, summarize, formatter)


def _with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    last_line_length = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_length + len(suffix) + 2 > _OPTIONS.linewidth:
            text += ",\n" + " " * indent + suffix
            last_line_length = indent + len(suffix)
        else:
            text += ", " + suffix
            last_line_length += len(suffix) + 2
    return text + ")"


def tensor_repr(tensor: Any, prefix: str = "tensor(") -> str:
    values = _backend.transfer(tensor._data, _backend.CPU)
    dtype = tensor.dtype
    indent = len(prefix)
    suffixes = []
    if tensor.device.type != "cpu":
        suffixes.append(f"device='{tensor.device}'")
    default_shown = dtype in (_dtype.get_default_dtype(), _dtype.int64, _dtype.bool_)
    if values.size == 0:
        if values.ndim != 1:
            suffixes.append(f"size={tuple(values.shape)}")
        if dtype is not _dtype.get_default_dtype():
            suffixes.append(f"dtype={dtype}")
        body = "[]"
    else:
        if not default_shown:
            suffixes.append(f"dtype={dtype}")
        body = array_str(values, indent)
    if tensor.grad_fn is not None:
        suffixes.append(f"grad_fn=<{tensor.grad_fn.name()}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)
