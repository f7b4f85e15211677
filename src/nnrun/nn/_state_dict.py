"""Loading a ``state_dict`` into a module tree: key matching, shape checks and PyTorch's error report.

``Module.load_state_dict`` and ``Module._load_from_state_dict`` delegate here; subclasses may still override
``_load_from_state_dict`` (it is called once per module, with the keys under that module's prefix).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from nnrun._tensor import Tensor
from nnrun.autograd.grad_mode import no_grad
from nnrun.nn.parameter import Parameter


class _IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns: keys the model expected but did not get, and keys it did not use."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


def load_own_entries(
    module: Any,
    state_dict: Mapping[str, Any],
    prefix: str,
    local_metadata: dict[str, Any],
    strict: bool,
    missing_keys: list[str],
    unexpected_keys: list[str],
    error_msgs: list[str],
) -> None:
    """Copy ``module``'s own parameters and persistent buffers from ``state_dict``, recording problems."""
    for hook in module._load_state_dict_pre_hooks.values():
        hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
    local_state = {k: v for k, v in module._parameters.items() if v is not None}
    for name, buffer in module._buffers.items():
        if buffer is not None and name not in module._non_persistent_buffers_set:
            local_state[name] = buffer
    assign = local_metadata.get("assign_to_params_buffers", False)
    for name, current in local_state.items():
        key = prefix + name
        if key not in state_dict:
            if strict:
                missing_keys.append(key)
            continue
        incoming = state_dict[key]
        if not isinstance(incoming, Tensor):
            error_msgs.append(
                f'While copying the parameter named "{key}", expected nnrun.Tensor or Tensor-like object '
                f"from checkpoint but received {type(incoming)}"
            )
            continue
        if incoming.shape != current.shape:
            error_msgs.append(
                f"size mismatch for {key}: copying a param with shape {incoming.shape} from checkpoint, "
                f"the shape in current model is {current.shape}."
            )
            continue
        try:
            with no_grad():
                if assign:
                    _assign(module, name, current, incoming)
                else:
                    current.copy_(incoming)
        except Exception as exc:
            error_msgs.append(
                f'While copying the parameter named "{key}", whose dimensions in the model are '
                f"{current.shape} and whose dimensions in the checkpoint are {incoming.shape}, an "
                f"exception occurred : {exc.args}."
            )
    extra_key = prefix + "_extra_state"
    if module._has_extra_state():
        if extra_key in state_dict:
            module.set_extra_state(state_dict[extra_key])
        elif strict:
            missing_keys.append(extra_key)
    elif strict and extra_key in state_dict:
        unexpected_keys.append(extra_key)
    if strict:
        for key in state_dict:
            if not key.startswith(prefix) or key == extra_key:
                continue
            first, dot, _ = key[len(prefix) :].partition(".")
            known = module._modules if dot else local_state
            if first not in known:
                unexpected_keys.append(key)


def _assign(module: Any, name: str, current: Tensor, incoming: Tensor) -> None:
    """``assign=True``: take the checkpoint's tensor itself, keeping ``requires_grad`` of the current one."""
    if isinstance(current, Parameter):
        if isinstance(incoming, Parameter):
            incoming.requires_grad_(current.requires_grad)
        else:
            incoming = Parameter(incoming, requires_grad=current.requires_grad)
    setattr(module, name, incoming)


def load_tree(root: Any, state_dict: Mapping[str, Any], strict: bool, assign: bool) -> _IncompatibleKeys:
    """Load ``state_dict`` into ``root`` and its descendants; raise one error listing every problem."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    missing_keys: list[str] = []
    unexpected_keys: list[str] = []
    error_msgs: list[str] = []

    def load(module: Any, local: dict[str, Any], prefix: str) -> None:
        metadata = {"version": module._version, "assign_to_params_buffers": assign}
        module._load_from_state_dict(local, prefix, metadata, True, missing_keys, unexpected_keys, error_msgs)
        for name, child in module._modules.items():
            if child is not None:
                child_prefix = prefix + name + "."
                load(child, {k: v for k, v in local.items() if k.startswith(child_prefix)}, child_prefix)
        incompatible = _IncompatibleKeys(missing_keys, unexpected_keys)
        for hook in module._load_state_dict_post_hooks.values():
            hook(module, incompatible)

    load(root, dict(state_dict), "")
    if strict:
        if unexpected_keys:
            keys = ", ".join(f'"{k}"' for k in unexpected_keys)
            error_msgs.insert(0, f"Unexpected key(s) in state_dict: {keys}. ")
        if missing_keys:
            keys = ", ".join(f'"{k}"' for k in missing_keys)
            error_msgs.insert(0, f"Missing key(s) in state_dict: {keys}. ")
    if error_msgs:
        details = "\n\t".join(error_msgs)
        raise RuntimeError(f"Error(s) in loading state_dict for {type(root).__name__}:\n\t{details}")
    return _IncompatibleKeys(missing_keys, unexpected_keys)
