"""``RAdam``: Adam with a rectified adaptive learning rate, plain momentum SGD while the variance of the
second moment is not yet tractable (Liu et al., 2020)."""

from __future__ import annotations

from typing import Any

from nnrun import _backend
from nnrun._tensor import Tensor
from nnrun.optim._update import decoupled_objective_grad, ema_square_, lerp_
from nnrun.optim.optimizer import (
    Optimizer,
    ParamsT,
    check_betas,
    check_non_negative,
    group_options,
    zeros_state,
)


def radam(
    param: Any,
    grad: Any,
    exp_avg: Any,
    exp_avg_sq: Any,
    step: float,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
    decoupled_weight_decay: bool,
) -> None:
    """One RAdam step (``step`` counts from 1) on raw arrays; updates ``param`` and the moments in place.

    g = ±grad (+ weight_decay·param unless decoupled, where param *= 1 - lr·weight_decay);
    m += (1 - β1)(g - m);  v = β2·v + (1 - β2)·g²;  m̂ = m / (1 - β1^t);
    ρ∞ = 2 / (1 - β2) - 1;  ρt = ρ∞ - 2t·β2^t / (1 - β2^t);
    if ρt > 5: r = sqrt((ρt - 4)(ρt - 2)ρ∞ / ((ρ∞ - 4)(ρ∞ - 2)ρt)),
               param -= lr·r·m̂ · sqrt(1 - β2^t) / (sqrt(v) + eps);
    else:      param -= lr·m̂
    """
    xp = _backend.array_module(param)
    grad = decoupled_objective_grad(param, grad, lr, weight_decay, maximize, decoupled_weight_decay)
    scratch = ema_square_(exp_avg_sq, grad, beta2, lerp_(exp_avg, grad, 1 - beta1))
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * beta2**step / bias_correction2
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        denom = xp.sqrt(exp_avg_sq, out=scratch)
        denom += eps
        xp.divide(exp_avg, denom, out=denom)
        denom *= -lr * rect * bias_correction2**0.5 / bias_correction1
        param += denom
    else:
        xp.multiply(exp_avg, -lr / bias_correction1, out=scratch)
        param += scratch


class RAdam(Optimizer):
    """RAdam, as ``torch.optim.RAdam``.

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate.
        betas: decay rates of the first and second moment averages.
        eps: added to the denominator for stability.
        weight_decay: L2 penalty (added to the gradient; decoupled when ``decoupled_weight_decay``).
        decoupled_weight_decay: decay the weights directly, as AdamW.
        foreach, capturable, differentiable: kept for PyTorch compatibility; only their defaults are
            supported.
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps)
        check_betas(betas)
        check_non_negative(weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        options = group_options(
            group, "lr", "betas", "eps", "weight_decay", flags=("maximize", "decoupled_weight_decay")
        )
        for p, state in self._stepped_states(params, _new_state):
            radam(
                p._data,
                p._grad._data,
                state["exp_avg"]._data,
                state["exp_avg_sq"]._data,
                float(state["step"]._data),
                **options,
            )


def _new_state(param: Tensor) -> dict[str, Tensor]:
    """RAdam's state beside ``step``: the first and second moments."""
    return {"exp_avg": zeros_state(param), "exp_avg_sq": zeros_state(param)}
