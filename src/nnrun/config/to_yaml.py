"""``to_yaml(module)``: the YAML model section of a module tree made of registered layers, containers
and YAML blocks."""

from __future__ import annotations

from typing import Any

from nnrun import nn
from nnrun._tensor import Tensor
from nnrun.config.blocks import BlockModule
from nnrun.config.document import CONFIG_ATTRIBUTE
from nnrun.config.signature import schema_for
from nnrun.config.yaml_source import dump_yaml
from nnrun.nn import LAYERS

_EMPTY = object()


def to_yaml(module: nn.Module) -> str:
    """YAML text that :func:`nnrun.config.build_model` turns back into an equal tree.

    A model built from a config returns that config. Otherwise each layer's arguments are read back from
    its attributes of the same names (as PyTorch layers store them); a layer whose class is not registered,
    or whose required argument is not stored, raises ``TypeError``."""
    config = getattr(module, CONFIG_ATTRIBUTE, None)
    if config is not None:
        return config.yaml
    blocks: dict[str, Any] = {}
    node = _node(module, "model", blocks)
    return dump_yaml({"blocks": blocks, "module": node} if blocks else {"module": node})


def _node(module: nn.Module, where: str, blocks: dict[str, Any]) -> Any:
    if isinstance(module, (nn.Sequential, nn.ModuleList, nn.ModuleDict)):
        return _container(module, where, blocks)
    if isinstance(module, BlockModule):
        block = type(module).block
        blocks.update(block.siblings)
        blocks[block.name] = block.plain
        return {block.name: module._block_args} if module._block_args else block.name
    name = LAYERS.name_of(type(module))
    if name is None:
        raise TypeError(
            f"{where}: {type(module).__qualname__} is not a registered layer "
            "(register it with @nnrun.register)"
        )
    kwargs = _arguments(module, where, blocks)
    return {name: kwargs} if kwargs else name


def _container(module: nn.Module, where: str, blocks: dict[str, Any]) -> Any:
    kind = type(module).__name__
    children = {key: _node(child, f"{where}.{key}", blocks) for key, child in module._modules.items()}
    if not children:
        return kind
    numbered = list(children) == [str(i) for i in range(len(children))]
    if isinstance(module, nn.ModuleList) or (isinstance(module, nn.Sequential) and numbered):
        return {kind: list(children.values())}
    return {kind: children}


def _arguments(module: nn.Module, where: str, blocks: dict[str, Any]) -> dict[str, Any]:
    schema = schema_for(type(module))
    kwargs = {}
    for name in schema.names:
        default = schema.model.model_fields[name].default
        required = schema.model.model_fields[name].is_required()
        value = module.__dict__.get(name, getattr(module, name, _EMPTY))
        if value is _EMPTY:
            if required:
                raise TypeError(f"{where}: cannot read argument '{name}' back from {type(module).__name__}")
            continue
        if name in schema.node_params:
            value = None if value is None else _node(value, f"{where}.{name}", blocks)
        elif isinstance(value, Tensor) or (value is None and schema.annotations.get(name) is bool):
            value = value is not None  # bias=True is stored as the bias Parameter
        value = _plain(value, f"{where}.{name}")
        if required or value != _plain(default, where):
            kwargs[name] = value
    return kwargs


def _plain(value: Any, where: str) -> Any:
    if isinstance(value, (tuple, list)):
        return [_plain(item, where) for item in value]
    if value is None or isinstance(value, (bool, int, float, str, dict)):
        return value
    raise TypeError(f"{where}: {type(value).__name__} values cannot be written as YAML")
