"""Training checkpoints: one safetensors file (via ``nnrun.save``) holding everything a run needs to continue.

A checkpoint is a dict: ``model`` (state_dict), ``optimizer`` and ``scheduler`` states, ``progress`` (epoch,
batch index within it, global step, time), ``tracker`` (the running epoch metrics), ``best``, ``rng`` (the
global generator, which also drives dropout; the data order is a pure function of (seed, epoch)),
``config`` (the resolved config text), ``history`` (every metrics row so far), ``callbacks`` (the state of
each callback that has one, by its ``state_key``; only when one has), ``preprocessing`` (how the data's
inputs were encoded, fitted on the training rows; only when the data needs it), ``accumulated`` (the
gradients summed so far, by parameter name, only when it was written in the middle of a
``train.accumulate_batches`` group), ``nnrun_version``, and
``checksum``: SHA-256 over every tensor's dtype, shape and bytes and every other value, verified on load.
Because the model state is stored under ``model.<key>``, ``safetensors.torch.load_file(path)`` shows the
weights to PyTorch as ``model.<state_dict key>``.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np

import nnrun
from nnrun._tensor import Tensor
from nnrun.config.model_file import rebuild_model
from nnrun.serialization import CheckpointError

FORMAT = "nnrun-training-checkpoint"
CHECKSUM_KEY = "checksum"


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> None:
    """Write ``state`` plus its checksum to ``path`` atomically (a failed write keeps the previous file)."""
    payload = {"format": FORMAT, "nnrun_version": nnrun.__version__, **state}
    payload[CHECKSUM_KEY] = checksum(payload)
    nnrun.save(payload, path)


def load_checkpoint(path: str | os.PathLike, *, complete: bool = False) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors on the CPU) and verify its checksum;
    ``complete``: also check that it holds every entry, of the right type, that a trainer restores.

    Raises :class:`nnrun.serialization.CheckpointError` naming the file when it is unreadable, not a
    training checkpoint, or its content does not match the checksum (corrupted or modified)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        state = nnrun.load(path, map_location="cpu")
    except CheckpointError as exc:
        raise CheckpointError(f"{exc} (the checkpoint is corrupt; resume from another one)") from None
    except Exception as exc:  # any other failure to decode the file is corruption too
        raise CheckpointError(f"{path}: corrupt checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an nnrun training checkpoint (no '{FORMAT}' format entry)")
    stored = state.pop(CHECKSUM_KEY, None)
    actual = checksum(state)
    if stored != actual:
        raise CheckpointError(
            f"{path}: checksum mismatch: the file is corrupt or was modified after it was written "
            f"(stored {str(stored)[:16]}…, content {actual[:16]}…); resume from another checkpoint"
        )
    problem = _structure_problem(state) if complete else None
    if problem:
        raise CheckpointError(f"{path}: not a complete nnrun training checkpoint: {problem}")
    return state


#: What a training checkpoint holds, by key: the types its value may have.
_ENTRIES: dict[str, tuple[type, ...]] = {
    "model": (dict,),
    "optimizer": (dict,),
    "scheduler": (dict, type(None)),
    "progress": (dict,),
    "tracker": (dict,),
    "best": (dict, type(None)),
    "rng": (dict,),
    "config": (str, type(None)),
    "history": (list,),
}
_PROGRESS = (
    "epoch",
    "batch_index",
    "global_step",
    "samples_seen",
    "elapsed_s",
    "train_time_s",
    "epoch_time_s",
)


def _structure_problem(state: dict[str, Any]) -> str | None:
    for key, types in _ENTRIES.items():
        if not isinstance(state.get(key), types):
            return f"'{key}' is missing or a {type(state.get(key)).__name__}"
    for optional in ("callbacks", "preprocessing"):
        if not isinstance(state.get(optional, {}), dict):
            return f"'{optional}' is a {type(state[optional]).__name__}"
    accumulated = state.get("accumulated", {})
    if not isinstance(accumulated, dict) or not all(
        key in state["model"] and isinstance(value, Tensor) for key, value in accumulated.items()
    ):
        return "'accumulated' holds values that are not gradients of the model's parameters"
    for key in _PROGRESS:
        value = state["progress"].get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            return f"progress '{key}' is missing or invalid ({value!r})"
    if not all(isinstance(value, Tensor) for value in state["model"].values()):
        return "'model' holds values that are not tensors"
    if not isinstance(state["rng"].get("global"), Tensor):
        return "'rng' has no global generator state"
    return None


def model_from_checkpoint(path: str | os.PathLike) -> nnrun.nn.Module:
    """The model of a training checkpoint, rebuilt from the config saved in it, with its weights (on the CPU;
    the global random state is left as it was). Its ``_nnrun_config`` holds the model config."""
    path = os.fspath(path)
    state = load_checkpoint(path, complete=True)
    if not state.get("config"):
        raise CheckpointError(f"{path}: saved without a config; load state['model'] into your own model")
    return rebuild_model(
        state["config"],
        state["model"],
        source=f"{path}[config]",
        invalid=f"{path}: the config saved in it is invalid",
    )


def checksum(state: Any) -> str:
    """SHA-256 (hex) of a nested structure of tensors, containers and scalars, in a canonical encoding."""
    digest = hashlib.sha256()
    _feed(state, digest)
    return digest.hexdigest()


def _feed(value: Any, digest: Any) -> None:
    if isinstance(value, Tensor):
        array = np.ascontiguousarray(value.detach().cpu().numpy())
        digest.update(f"T{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    elif isinstance(value, dict):
        digest.update(f"D{len(value)}".encode())
        for key, item in value.items():
            digest.update(f"{type(key).__name__}:{key!r}".encode())
            _feed(item, digest)
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__}{len(value)}".encode())
        for item in value:
            _feed(item, digest)
    else:
        digest.update(f"{type(value).__name__}:{value!r};".encode())
