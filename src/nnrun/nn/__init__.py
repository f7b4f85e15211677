"""Neural-network building blocks shaped like ``torch.nn``: ``Module``, ``Parameter``, containers, layers."""

from nnrun.nn import functional, init, modules, parallel, utils
from nnrun.nn.containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from nnrun.nn.module import Module
from nnrun.nn.modules import *  # noqa: F403  (the layers; listed once, in modules.__all__)
from nnrun.nn.parallel import DataParallel
from nnrun.nn.parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter
from nnrun.nn.registry import LAYERS

__all__ = [
    *modules.__all__,
    "LAYERS",
    "Buffer",
    "DataParallel",
    "Module",
    "ModuleDict",
    "ModuleList",
    "Parameter",
    "ParameterDict",
    "ParameterList",
    "Sequential",
    "UninitializedBuffer",
    "UninitializedParameter",
    "functional",
    "init",
    "parallel",
    "utils",
]
