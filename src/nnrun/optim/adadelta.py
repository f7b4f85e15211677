"""``Adadelta``: an adaptive learning rate from running averages of squared gradients and squared updates
(Zeiler, 2012)."""

from __future__ import annotations

from typing import Any

from nnrun import _backend
from nnrun._tensor import Tensor
from nnrun.optim._update import ema_square_, objective_grad
from nnrun.optim.optimizer import Optimizer, ParamsT, check_non_negative, group_options, zeros_state


def adadelta(
    param: Any,
    grad: Any,
    square_avg: Any,
    acc_delta: Any,
    *,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """One Adadelta step on raw arrays; updates ``param`` and the averages in place.

    g = ±grad + weight_decay·param;  v = ρ·v + (1 - ρ)·g²;  Δ = sqrt(u + eps) / sqrt(v + eps) · g;
    u = ρ·u + (1 - ρ)·Δ²;  param -= lr·Δ
    """
    xp = _backend.array_module(param)
    grad = objective_grad(param, grad, weight_decay, maximize)
    scratch = ema_square_(square_avg, grad, rho)
    std = xp.add(square_avg, eps, out=scratch)
    xp.sqrt(std, out=std)
    delta = xp.add(acc_delta, eps)
    xp.sqrt(delta, out=delta)
    delta /= std
    delta *= grad
    ema_square_(acc_delta, delta, rho, scratch)
    delta *= -lr
    param += delta


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``.

    Args:
        params: parameters or param groups to optimize.
        lr: factor applied to each update.
        rho: decay rate of the running averages (in ``[0, 1]``).
        eps: added inside the square roots for stability.
        weight_decay: L2 penalty added to the gradient.
        foreach, capturable, differentiable: kept for PyTorch compatibility; only their defaults are
            supported.
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_non_negative(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_non_negative(eps=eps, weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "capturable": capturable,
            "foreach": foreach,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        options = group_options(group, "lr", "rho", "eps", "weight_decay", flags=("maximize",))
        for p, state in self._stepped_states(params, _new_state):
            adadelta(p._data, p._grad._data, state["square_avg"]._data, state["acc_delta"]._data, **options)


def _new_state(param: Tensor) -> dict[str, Tensor]:
    """Adadelta's state beside ``step``: the running averages of squared gradients and squared updates."""
    return {"square_avg": zeros_state(param), "acc_delta": zeros_state(param)}
