"""Neural-network building blocks shaped like ``torch.nn``: ``Module``, ``Parameter``, containers, layers."""

from nnrun.nn import functional, init
from nnrun.nn.containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from nnrun.nn.module import Module
from nnrun.nn.modules import Identity, Linear, ReLU
from nnrun.nn.parameter import Buffer, Parameter

__all__ = [
    "Buffer",
    "Identity",
    "Linear",
    "Module",
    "ModuleDict",
    "ModuleList",
    "Parameter",
    "ParameterDict",
    "ParameterList",
    "ReLU",
    "Sequential",
    "functional",
    "init",
]
