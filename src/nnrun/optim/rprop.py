"""``Rprop``: resilient backpropagation (Riedmiller & Braun, 1993): a step size per element that grows while
the gradient keeps its sign and shrinks when it flips; only the gradient's sign moves the parameter."""

from __future__ import annotations

from typing import Any

from nnrun import _backend
from nnrun._tensor import Tensor
from nnrun.optim.optimizer import Optimizer, ParamsT, check_non_negative, zeros_state


def rprop(
    param: Any,
    grad: Any,
    prev: Any,
    step_size: Any,
    *,
    etaminus: float,
    etaplus: float,
    step_size_min: float,
    step_size_max: float,
    maximize: bool,
) -> None:
    """One Rprop step on raw arrays; updates ``param``, ``prev`` and ``step_size`` in place.

    s = sign(g · prev);  step_size = clip(step_size · (etaplus if s > 0, etaminus if s < 0, else 1));
    g = 0 where the sign flipped;  param -= sign(g) · step_size;  prev = g
    """
    xp = _backend.array_module(param)
    if maximize:
        grad = -grad
    agreement = xp.sign(grad * prev)
    factor = xp.where(agreement > 0, etaplus, xp.where(agreement < 0, etaminus, 1)).astype(param.dtype)
    step_size *= factor
    xp.clip(step_size, step_size_min, step_size_max, out=step_size)
    flipped = factor == param.dtype.type(etaminus)
    grad = xp.where(flipped, 0, grad).astype(param.dtype, copy=False)  # no move, and no flip next step
    param -= xp.sign(grad) * step_size
    prev[...] = grad


class Rprop(Optimizer):
    """Rprop, as ``torch.optim.Rprop``.

    Args:
        params: parameters or param groups to optimize.
        lr: the starting step size of every element.
        etas: ``(etaminus, etaplus)``, the factors a step size is multiplied by when the gradient's sign
            flips and when it holds (``0 < etaminus < 1 < etaplus``).
        step_sizes: ``(min, max)`` bounds of the step sizes.
        maximize: maximize the objective instead of minimizing it.
        foreach, differentiable, capturable: kept for PyTorch compatibility; only their defaults are
            supported.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_non_negative(lr=lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {
            "lr": lr,
            "etas": etas,
            "step_sizes": step_sizes,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        etaminus, etaplus = (float(eta) for eta in group["etas"])
        smallest, largest = (float(size) for size in group["step_sizes"])
        lr = float(group["lr"])
        for p, state in self._stepped_states(params, lambda p: _new_state(p, lr)):
            rprop(
                p._data,
                p._grad._data,
                state["prev"]._data,
                state["step_size"]._data,
                etaminus=etaminus,
                etaplus=etaplus,
                step_size_min=smallest,
                step_size_max=largest,
                maximize=bool(group["maximize"]),
            )


def _new_state(param: Tensor, lr: float) -> dict[str, Tensor]:
    """Rprop's state beside ``step``: the last gradient used, and the step sizes (``lr`` at first)."""
    return {"prev": zeros_state(param), "step_size": zeros_state(param, lr)}
