"""Reverse-mode automatic differentiation: ``Function``, ``backward``, ``grad``, grad modes, ``gradcheck``."""

from nnrun.autograd.engine import backward, grad
from nnrun.autograd.function import Function
from nnrun.autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from nnrun.autograd.gradcheck import GradcheckError, gradcheck
from nnrun.autograd.variable import Variable

__all__ = [
    "Function",
    "GradcheckError",
    "Variable",
    "backward",
    "enable_grad",
    "grad",
    "gradcheck",
    "inference_mode",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
]
