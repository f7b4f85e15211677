"""``Adagrad``: per-coordinate learning rates from the sum of squared gradients (Duchi et al., 2011)."""

from __future__ import annotations

from typing import Any

from nnrun import _backend
from nnrun._tensor import Tensor
from nnrun.optim._update import objective_grad
from nnrun.optim.optimizer import (
    Optimizer,
    ParamsT,
    check_non_negative,
    group_options,
    step_counter,
    zeros_state,
)


def adagrad(
    param: Any,
    grad: Any,
    state_sum: Any,
    step: float,
    *,
    lr: float,
    lr_decay: float,
    weight_decay: float,
    eps: float,
    maximize: bool,
) -> None:
    """One Adagrad step (``step`` counts from 1) on raw arrays; updates ``param`` and ``state_sum`` in place.

    g = ±grad + weight_decay·param;  s += g²;  param -= lr / (1 + (t - 1)·lr_decay) · g / (sqrt(s) + eps)
    """
    xp = _backend.array_module(param)
    grad = objective_grad(param, grad, weight_decay, maximize)
    scratch = xp.multiply(grad, grad)
    state_sum += scratch
    std = xp.sqrt(state_sum, out=scratch)
    std += eps
    xp.divide(grad, std, out=std)
    std *= -lr / (1 + (step - 1) * lr_decay)
    param += std


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``. Its state (``step``, ``sum``) exists from construction.

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate.
        lr_decay: learning-rate decay per step.
        weight_decay: L2 penalty added to the gradient.
        initial_accumulator_value: starting value of the sum of squared gradients.
        eps: added to the denominator for stability.
        foreach, maximize, differentiable, fused: as PyTorch (only the defaults of foreach, differentiable and
            fused are supported).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_non_negative(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = self.state[p]
        state["step"] = step_counter()
        state["sum"] = zeros_state(p, float(group["initial_accumulator_value"]))
        return state

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        options = group_options(group, "lr", "lr_decay", "weight_decay", "eps", flags=("maximize",))
        for p in params:
            state = self.state[p] or self._init_state(p, group)  # groups added after construction
            state["step"]._data += 1
            adagrad(p._data, p._grad._data, state["sum"]._data, float(state["step"]._data), **options)
