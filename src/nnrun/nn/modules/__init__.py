"""Layers, one family per file."""

from nnrun.nn.modules.activation import ReLU
from nnrun.nn.modules.linear import Identity, Linear

__all__ = ["Identity", "Linear", "ReLU"]
