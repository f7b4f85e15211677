"""``ASGD``: averaged stochastic gradient descent (Polyak & Juditsky, 1992), with the decaying step size of
Bottou (2012); the running average of the iterates is kept in the state as ``ax``."""

from __future__ import annotations

from typing import Any

from nnrun import _backend, _dtype
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


def asgd(
    param: Any,
    grad: Any,
    ax: Any,
    eta: Any,
    mu: Any,
    step: float,
    *,
    lr: float,
    lambd: float,
    alpha: float,
    t0: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """One ASGD step (``step`` counts from 1) on raw arrays; updates ``param``, ``ax`` and the 0-d ``eta``
    and ``mu`` in place.

    g = ±grad + weight_decay·param;  param = param·(1 - lambd·eta) - eta·g;
    ax += mu·(param - ax) (ax = param while mu is 1);
    eta = lr / (1 + lambd·lr·t)^alpha;  mu = 1 / max(1, t - t0)
    """
    grad = objective_grad(param, grad, weight_decay, maximize)
    eta_value = float(eta)
    param *= 1 - lambd * eta_value
    param -= grad * param.dtype.type(eta_value)
    if float(mu) != 1:
        difference = param - ax
        difference *= param.dtype.type(float(mu))
        ax += difference
    else:
        _backend.array_module(ax).copyto(ax, param)
    # torch makes each new value a tensor of the default dtype before copying it in: round to it likewise
    scalar = _dtype.get_default_dtype().np.type
    eta[...] = scalar(lr / ((1 + lambd * lr * step) ** alpha))
    mu[...] = scalar(1 / max(1, step - t0))


class ASGD(Optimizer):
    """Averaged SGD, as ``torch.optim.ASGD``.

    Args:
        params: parameters or param groups to optimize.
        lr: learning rate.
        lambd: decay term (the parameter shrinks by ``1 - lambd·eta`` each step).
        alpha: power of the step-size decay.
        t0: the step from which averaging starts.
        weight_decay: L2 penalty added to the gradient.
        maximize: maximize the objective instead of minimizing it.
        foreach, differentiable, capturable: kept for PyTorch compatibility; only their defaults are
            supported.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_non_negative(lr=lr, weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        options = group_options(group, "lr", "lambd", "alpha", "t0", "weight_decay", flags=("maximize",))
        for p, state in self._stepped_states(params, lambda p: _new_state(p, options["lr"])):
            asgd(
                p._data,
                p._grad._data,
                state["ax"]._data,
                state["eta"]._data,
                state["mu"]._data,
                float(state["step"]._data),
                **options,
            )


def _new_state(param: Tensor, lr: float) -> dict[str, Tensor]:
    """ASGD's state beside ``step``: the step size ``eta`` and the averaging weight ``mu`` (0-d, on the
    host in the dtype of ``step``, as torch keeps them), and the running average of the iterates ``ax``."""
    eta, mu = step_counter(), step_counter()
    eta._data[...] = lr
    mu._data[...] = 1
    return {"eta": eta, "mu": mu, "ax": zeros_state(param)}
