"""``SGD``: stochastic gradient descent with optional momentum (heavy-ball or Nesterov) and weight decay."""

from __future__ import annotations

from typing import Any

from nnrun._tensor import Tensor
from nnrun.optim._update import objective_grad
from nnrun.optim.optimizer import Optimizer, ParamsT, group_options


def sgd(
    param: Any,
    grad: Any,
    momentum_buffer: Any,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> Any:
    """One SGD step on raw arrays: updates ``param`` in place and returns the momentum buffer (``None``
    without momentum; a new array on the first step).

    g = ±grad + weight_decay·param;  b = momentum·b + (1 - dampening)·g  (b = g on the first step);
    param -= lr·(g + momentum·b if nesterov else b)
    """
    g = objective_grad(param, grad, weight_decay, maximize)
    if momentum != 0:
        if momentum_buffer is None:  # never keep (and later write into) the caller's gradient
            momentum_buffer = g if g is not grad else g.copy()
        else:
            momentum_buffer *= momentum
            momentum_buffer += g if dampening == 0 else (1 - dampening) * g
        g = g + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= lr * g
    return momentum_buffer


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD``.

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate.
        momentum: momentum factor (0 disables it).
        dampening: dampening of the momentum.
        weight_decay: L2 penalty added to the gradient.
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: maximize the objective instead of minimizing it.
        foreach, differentiable, fused: kept for PyTorch compatibility; only their defaults are supported.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        # PyTorch's SGD checks with ``<`` (a NaN passes), unlike the others' check_non_negative
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        options = group_options(
            group, "lr", "momentum", "dampening", "weight_decay", flags=("nesterov", "maximize")
        )
        momentum = options["momentum"]
        for p in params:
            if momentum == 0:
                sgd(p._data, p._grad._data, None, **options)
                continue
            state = self.state[p]
            buf = state.get("momentum_buffer")
            new_buf = sgd(p._data, p._grad._data, None if buf is None else buf._data, **options)
            if buf is None:
                state["momentum_buffer"] = Tensor._make(new_buf)
