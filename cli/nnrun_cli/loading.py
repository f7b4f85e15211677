"""Turn a command-line argument into a model: a YAML config or a checkpoint saved with ``nnrun.save``."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nnrun
from nnrun_cli.errors import CLIError

# torch.save and pickle files too, so that they get the message that nnrun never loads them
CHECKPOINT_SUFFIXES = (".safetensors", ".st", ".ckpt", ".nnrun", ".pt", ".pth", ".pkl", ".pickle", ".bin")


@dataclass
class LoadedModel:
    """A model, the per-sample input shape its config declares (if any) and where it came from."""

    model: nnrun.nn.Module
    input_shape: tuple[int, ...] | None
    source: str
    kind: str  # "config" or "checkpoint"


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1,28,28"``, ``"1x28x28"`` or ``"[1, 28, 28]"`` → ``(1, 28, 28)``."""
    parts = [part for part in re.split(r"[,x×\s]+", text.strip().strip("[]()")) if part]
    if not parts or not all(part.isdigit() for part in parts):
        raise CLIError(f"--input-shape must be sizes separated by commas, like 1,28,28; got {text!r}")
    return tuple(int(part) for part in parts)


def is_checkpoint(path: Path) -> bool:
    """By suffix, or by content: a safetensors file starts with an 8-byte header length and then ``{``."""
    if path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return True
    if path.suffix.lower() in (".yaml", ".yml"):
        return False
    with path.open("rb") as handle:
        head = handle.read(9)
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 100_000_000


def config_api() -> Any:
    """``nnrun.config``, imported only when a config is read (it brings in pydantic and YAML)."""
    return importlib.import_module("nnrun.config")


def config_input_shape(cfg: Any) -> tuple[int, ...] | None:
    """The ``input_shape`` a config declares (one sample, without the batch dimension), if any."""
    shape = getattr(cfg, "input_shape", None)
    return None if shape is None else tuple(int(size) for size in shape)


def existing_file(target: str) -> Path:
    """``target`` as a path, or a ``CLIError`` saying why it cannot be read."""
    path = Path(target)
    if not path.exists():
        raise CLIError(f"{target}: no such file")
    if path.is_dir():
        raise CLIError(f"{target} is a directory; expected a YAML config or a checkpoint file")
    if not path.is_file():  # a FIFO or a device: reading it could wait or go on forever
        raise CLIError(f"{target} is not a regular file; expected a YAML config or a checkpoint file")
    return path


def load_model(target: str, input_shape: tuple[int, ...] | None = None) -> LoadedModel:
    """Build the model of a config, or load the model saved in a checkpoint. ``input_shape`` (one sample)
    is given to the config, which uses it for ``auto`` arguments and its shape check."""
    path = existing_file(target)
    if is_checkpoint(path):
        loaded = nnrun.load(path, map_location="cpu")
        if isinstance(loaded, dict) and loaded.get("format") == "nnrun-training-checkpoint":
            from nnrun.train.checkpoint import model_from_checkpoint

            loaded = model_from_checkpoint(path)  # verifies the checksum, rebuilds from the saved config
        if not isinstance(loaded, nnrun.nn.Module):
            raise CLIError(
                f"{target} holds a {type(loaded).__name__}, not a model; inspect needs a checkpoint of a "
                "config-built model saved with nnrun.save(model, path)"
            )
        cfg = getattr(loaded, config_api().CONFIG_ATTRIBUTE, None)
        shape = input_shape or (config_input_shape(cfg) if cfg is not None else None)
        return LoadedModel(loaded, shape, target, "checkpoint")
    config = config_api()
    cfg = config.load(path, input_shape=input_shape)
    return LoadedModel(config.build_model(cfg), config_input_shape(cfg), target, "config")
