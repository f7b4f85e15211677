"""``Adam``: adaptive moment estimation (Kingma & Ba, 2015), with optional AMSGrad and decoupled weight decay
(the latter is ``AdamW``)."""

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


def adam(
    param: Any,
    grad: Any,
    exp_avg: Any,
    exp_avg_sq: Any,
    max_exp_avg_sq: Any,
    step: float,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    maximize: bool,
    decoupled_weight_decay: bool,
) -> None:
    """One Adam step (``step`` counts from 1) on raw arrays; updates ``param`` and the moments in place.

    g = ±grad (+ weight_decay·param unless decoupled, where param *= 1 - lr·weight_decay);
    m += (1 - β1)(g - m);  v = β2·v + (1 - β2)·g²;  v̂ = max(v̂, v) with amsgrad;
    param -= lr / (1 - β1^t) · m / (sqrt(v or v̂) / sqrt(1 - β2^t) + eps)
    """
    xp = _backend.array_module(param)
    grad = decoupled_objective_grad(param, grad, lr, weight_decay, maximize, decoupled_weight_decay)
    scratch = ema_square_(exp_avg_sq, grad, beta2, lerp_(exp_avg, grad, 1 - beta1))
    second = exp_avg_sq
    if amsgrad:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    denom = xp.sqrt(second, out=scratch)
    denom /= (1 - beta2**step) ** 0.5
    denom += eps
    xp.divide(exp_avg, denom, out=denom)
    denom *= -lr / (1 - beta1**step)
    param += denom


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``.

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate.
        betas: decay rates of the first and second moment averages.
        eps: added to the denominator for stability.
        weight_decay: L2 penalty (added to the gradient; decoupled when ``decoupled_weight_decay``).
        amsgrad: use the running maximum of the second moment (AMSGrad).
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable, differentiable, fused: kept for PyTorch compatibility; only their defaults are
            supported.
        decoupled_weight_decay: decay the weights directly, as AdamW.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps)
        check_betas(betas)
        check_non_negative(weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        options = group_options(
            group,
            "lr",
            "betas",
            "eps",
            "weight_decay",
            flags=("amsgrad", "maximize", "decoupled_weight_decay"),
        )
        amsgrad = options["amsgrad"]

        def new_state(p: Tensor) -> dict[str, Tensor]:
            state = {"exp_avg": zeros_state(p), "exp_avg_sq": zeros_state(p)}
            if amsgrad:
                state["max_exp_avg_sq"] = zeros_state(p)
            return state

        for p, state in self._stepped_states(params, new_state):
            max_exp_avg_sq = state["max_exp_avg_sq"]._data if amsgrad else None
            adam(
                p._data,
                p._grad._data,
                state["exp_avg"]._data,
                state["exp_avg_sq"]._data,
                max_exp_avg_sq,
                float(state["step"]._data),
                **options,
            )
