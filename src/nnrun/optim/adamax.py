"""``Adamax``: Adam with the second moment replaced by an exponentially weighted infinity norm (Kingma & Ba,
2015, section 7)."""

from __future__ import annotations

from typing import Any

from nnrun import _backend
from nnrun._tensor import Tensor
from nnrun.optim._update import lerp_, objective_grad
from nnrun.optim.optimizer import (
    Optimizer,
    ParamsT,
    check_betas,
    check_non_negative,
    group_options,
    zeros_state,
)


def adamax(
    param: Any,
    grad: Any,
    exp_avg: Any,
    exp_inf: Any,
    step: float,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """One Adamax step (``step`` counts from 1) on raw arrays; updates ``param``, ``exp_avg`` and ``exp_inf``
    in place.

    g = ±grad + weight_decay·param;  m += (1 - β1)(g - m);  u = max(β2·u, |g| + eps);
    param -= lr / (1 - β1^t) · m / u
    """
    xp = _backend.array_module(param)
    grad = objective_grad(param, grad, weight_decay, maximize)
    scratch = lerp_(exp_avg, grad, 1 - beta1)
    xp.abs(grad, out=scratch)
    scratch += eps
    exp_inf *= beta2
    xp.maximum(exp_inf, scratch, out=exp_inf)
    xp.divide(exp_avg, exp_inf, out=scratch)
    scratch *= -lr / (1 - beta1**step)
    param += scratch


class Adamax(Optimizer):
    """Adamax, as ``torch.optim.Adamax``.

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate.
        betas: decay rates of the first moment average and of the infinity norm.
        eps: added to the infinity norm for stability.
        weight_decay: L2 penalty added to the gradient.
        foreach, differentiable, capturable: kept for PyTorch compatibility; only their defaults are
            supported.
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps)
        check_betas(betas)
        check_non_negative(weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        options = group_options(group, "lr", "betas", "eps", "weight_decay", flags=("maximize",))
        for p, state in self._stepped_states(params, _new_state):
            adamax(
                p._data,
                p._grad._data,
                state["exp_avg"]._data,
                state["exp_inf"]._data,
                float(state["step"]._data),
                **options,
            )


def _new_state(param: Tensor) -> dict[str, Tensor]:
    """Adamax's state beside ``step``: the first moment and the infinity norm."""
    return {"exp_avg": zeros_state(param), "exp_inf": zeros_state(param)}
