"""``LAYERS``: the layers and losses a config names: ``nnrun.nn``'s layers, then classes users register."""

from nnrun.nn import modules
from nnrun.nn.module import Module
from nnrun.registry import Registry


def _builtin_layers() -> dict[str, type]:
    """Every public ``Module`` class of ``nnrun.nn.modules`` (containers are config syntax, not layers)."""
    found = {}
    for name in sorted(modules.__all__):
        obj = getattr(modules, name)
        if isinstance(obj, type) and issubclass(obj, Module):
            found[name] = obj
    return found


LAYERS = Registry("layer", base=Module, builtins=_builtin_layers)
