"""``NAdam``: Adam with Nesterov momentum and a momentum schedule (Dozat, 2016), with optional decoupled
weight decay."""

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
    step_counter,
    zeros_state,
)


def nadam(
    param: Any,
    grad: Any,
    exp_avg: Any,
    exp_avg_sq: Any,
    mu_product: Any,
    step: float,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    momentum_decay: float,
    maximize: bool,
    decoupled_weight_decay: bool,
) -> None:
    """One NAdam step (``step`` counts from 1) on raw arrays; updates ``param``, the moments and the 0-d
    ``mu_product`` (in its own dtype, as torch keeps it) in place.

    g = ±grad (+ weight_decay·param unless decoupled, where param *= 1 - lr·weight_decay);
    μt = β1·(1 - ½·0.96^(t·ψ)) with ψ = momentum_decay;  Π *= μt;
    m += (1 - β1)(g - m);  v = β2·v + (1 - β2)·g²;  d = sqrt(v / (1 - β2^t)) + eps;
    param -= lr·(1 - μt) / (1 - Π) · g / d + lr·μ(t+1) / (1 - Π·μ(t+1)) · m / d
    """
    xp = _backend.array_module(param)
    grad = decoupled_objective_grad(param, grad, lr, weight_decay, maximize, decoupled_weight_decay)
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    mu_product *= mu
    product = float(mu_product)
    scratch = ema_square_(exp_avg_sq, grad, beta2, lerp_(exp_avg, grad, 1 - beta1))
    denom = xp.divide(exp_avg_sq, 1 - beta2**step, out=scratch)
    xp.sqrt(denom, out=denom)
    denom += eps
    update = xp.divide(grad, denom)
    update *= -lr * (1 - mu) / (1 - product)
    param += update
    xp.divide(exp_avg, denom, out=update)
    update *= -lr * mu_next / (1 - product * mu_next)
    param += update


class NAdam(Optimizer):
    """NAdam, as ``torch.optim.NAdam``. Its state keeps ``mu_product``, the running product of the momentum
    schedule, as a 0-d tensor beside ``step``.

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate.
        betas: decay rates of the first and second moment averages.
        eps: added to the denominator for stability.
        weight_decay: L2 penalty (added to the gradient; decoupled when ``decoupled_weight_decay``).
        momentum_decay: ψ in the momentum schedule ``β1·(1 - ½·0.96^(t·ψ))``.
        decoupled_weight_decay: decay the weights directly, as AdamW.
        foreach, capturable, differentiable: kept for PyTorch compatibility; only their defaults are
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
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps)
        check_betas(betas)
        check_non_negative(weight_decay=weight_decay, momentum_decay=momentum_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As ``Optimizer.load_state_dict``, but ``mu_product`` stays on the host like ``step`` (torch moves
        it to the parameter's device), so a step reads it without waiting for the device. It is cast to the
        parameter's dtype, as torch casts it."""
        super().load_state_dict(state_dict)
        host = _backend.as_device("cpu")
        for state in self.state.values():
            if "mu_product" in state:
                state["mu_product"] = Tensor._make(_backend.transfer(state["mu_product"]._data, host))

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        options = group_options(
            group,
            "lr",
            "betas",
            "eps",
            "weight_decay",
            "momentum_decay",
            flags=("maximize", "decoupled_weight_decay"),
        )
        for p, state in self._stepped_states(params, _new_state):
            nadam(
                p._data,
                p._grad._data,
                state["exp_avg"]._data,
                state["exp_avg_sq"]._data,
                state["mu_product"]._data,
                float(state["step"]._data),
                **options,
            )


def _new_state(param: Tensor) -> dict[str, Tensor]:
    """NAdam's state beside ``step``: ``mu_product`` from 1 (a host scalar like ``step``) and the moments."""
    mu_product = step_counter()
    mu_product._data.fill(1)
    return {"mu_product": mu_product, "exp_avg": zeros_state(param), "exp_avg_sq": zeros_state(param)}
