"""A whole model in an ``nnrun.save`` file: a Module is stored as its model config (YAML text) plus its
``state_dict``, and ``nnrun.load`` rebuilds it from that config: the YAML equivalent of ``torch.save(model)``,
without pickle. :mod:`nnrun.serialization` writes and reads the file; these functions are the parts that
need the config layer, which ``nnrun.save``/``nnrun.load`` pass to it. A training checkpoint's model is
rebuilt the same way (:func:`rebuild_model`).

The stored text is parsed with :func:`load_stored`: data only (no imports of new modules, no ``!include``, no
paths, no dotted classes), so loading a model file runs no code and reads no other file.
"""

from __future__ import annotations

from typing import Any

from nnrun import _random, nn
from nnrun._tensor import Tensor
from nnrun.config.document import build_model, load_stored
from nnrun.config.errors import ConfigError
from nnrun.config.to_yaml import to_yaml
from nnrun.serialization import CheckpointError


def module_config(module: nn.Module, where: str) -> str:
    """The model config text ``module`` is saved as (``where``: its place in the saved object, for errors).

    Raises ``TypeError`` for a module that no config describes (an unregistered layer class)."""
    try:
        return to_yaml(module)
    except TypeError as exc:
        raise TypeError(
            f"cannot save the {type(module).__name__} at {where} as a module ({exc}); "
            "build it from a config (nnrun.config.build_model) or save its state_dict()"
        ) from None


def build_module(config: str, state: dict[str, Any], path: str, where: str) -> nn.Module:
    """The Module saved at ``where`` in the file ``path``: see :func:`rebuild_model`.

    Raises :class:`CheckpointError` naming the file when the stored config is invalid or not data."""
    return rebuild_model(
        config,
        state,
        source=f"{path}[{where}.config]",
        invalid=f"{path}: the model config saved at {where} is invalid",
    )


def rebuild_model(config: str, state: dict[str, Any], *, source: str, invalid: str) -> nn.Module:
    """A Module built from stored config text (parsed as data only; ``source`` names it in config errors)
    without touching the global random state, moved to the device its ``state`` tensors are on, with
    ``state`` loaded.

    Raises :class:`CheckpointError` ``"{invalid}:\n{the config errors}"`` when the config is invalid."""
    rng_state = _random.get_rng_state()
    try:
        model = build_model(load_stored(config, source))
    except ConfigError as exc:
        raise CheckpointError(f"{invalid}:\n{exc}") from None
    finally:
        _random.set_rng_state(rng_state)
    devices = {str(value.device) for value in state.values() if isinstance(value, Tensor)}
    if len(devices) == 1 and devices != {"cpu"}:
        model.to(devices.pop())
    model.load_state_dict(state)
    return model
