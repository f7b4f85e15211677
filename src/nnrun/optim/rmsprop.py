"""``RMSprop``: divides the gradient by a running root mean square of recent gradients (Hinton, 2012)."""

from __future__ import annotations

from typing import Any

from nnrun import _backend
from nnrun._tensor import Tensor
from nnrun.optim._update import ema_square_, lerp_, objective_grad
from nnrun.optim.optimizer import Optimizer, ParamsT, check_non_negative, group_options, zeros_state


def rmsprop(
    param: Any,
    grad: Any,
    square_avg: Any,
    grad_avg: Any,
    momentum_buffer: Any,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
    maximize: bool,
) -> None:
    """One RMSprop step on raw arrays; updates ``param`` and the averages in place.

    g = ±grad + weight_decay·param;  s = α·s + (1 - α)·g²;  with centered: ḡ += (1 - α)(g - ḡ), s̃ = s - ḡ²;
    d = sqrt(s̃ or s) + eps;  with momentum: b = momentum·b + g/d, param -= lr·b; else param -= lr·g/d
    """
    xp = _backend.array_module(param)
    grad = objective_grad(param, grad, weight_decay, maximize)
    scratch = ema_square_(square_avg, grad, alpha)
    if centered:
        lerp_(grad_avg, grad, 1 - alpha)
        xp.multiply(grad_avg, grad_avg, out=scratch)
        xp.subtract(square_avg, scratch, out=scratch)
        avg = xp.sqrt(scratch, out=scratch)
    else:
        avg = xp.sqrt(square_avg, out=scratch)
    avg += eps
    xp.divide(grad, avg, out=avg)
    if momentum > 0:
        momentum_buffer *= momentum
        momentum_buffer += avg
        xp.multiply(momentum_buffer, -lr, out=avg)
    else:
        avg *= -lr
    param += avg


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate.
        alpha: smoothing constant of the squared-gradient average.
        eps: added to the denominator for stability.
        weight_decay: L2 penalty added to the gradient.
        momentum: momentum factor (0 disables it).
        centered: normalize by an estimate of the gradient's variance instead of its second moment.
        maximize: maximize the objective instead of minimizing it.
        capturable, foreach, differentiable: kept for PyTorch compatibility; only their defaults are
            supported.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        options = group_options(
            group, "lr", "alpha", "eps", "weight_decay", "momentum", flags=("centered", "maximize")
        )
        momentum, centered = options["momentum"], options["centered"]

        def new_state(p: Tensor) -> dict[str, Tensor]:
            state = {"square_avg": zeros_state(p)}
            if momentum > 0:
                state["momentum_buffer"] = zeros_state(p)
            if centered:
                state["grad_avg"] = zeros_state(p)
            return state

        for p, state in self._stepped_states(params, new_state):
            rmsprop(
                p._data,
                p._grad._data,
                state["square_avg"]._data,
                state["grad_avg"]._data if centered else None,
                state["momentum_buffer"]._data if momentum > 0 else None,
                **options,
            )
