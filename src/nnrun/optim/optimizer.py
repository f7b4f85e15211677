"""``Optimizer``: the base of every optimizer. It holds ``param_groups`` (a list of dicts: the parameters and
their hyperparameters), ``defaults`` and per-parameter ``state``; a subclass supplies the update of one group.

Updates run on the raw arrays of the parameters (``p._data``), in place, outside autograd: they create no
graph nodes. ``state_dict()`` has PyTorch's shape: ``{"state": {id: {...}}, "param_groups": [{..., "params":
[ids]}]}`` with integer ids numbered across the groups in order.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import Any

import numpy as np

from nnrun import _backend, _dtype
from nnrun._tensor import Tensor, type_name
from nnrun.autograd.grad_mode import enable_grad

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]


class _RequiredParameter:
    """Marks a default that every param group must set itself."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()

# Options PyTorch prints for its alternative kernels. nnrun keeps them in ``defaults`` (so the printed form
# and state_dict match PyTorch's) but has one implementation: only the values meaning "the plain kernel" work.
_PLAIN_KERNEL_VALUES = {
    "foreach": (None, False),
    "fused": (None, False),
    "capturable": (False,),
    "differentiable": (False,),
}


def _type_name(obj: Any) -> str:
    return type(obj).__name__


class Optimizer:
    """Base class of optimizers.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (param groups, each with a
            ``"params"`` entry and optional per-group hyperparameters).
        defaults: hyperparameter values used by groups that don't set them.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._opt_called = False  # set by step(); LR schedulers check that step() ran first
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
                + type_name(params._data)
            )
        param_groups = list(params)
        if not param_groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ----- groups -----
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Append a group of parameters (``{"params": ..., **hyperparameters}``); missing hyperparameters
        take their values from ``defaults``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {_type_name(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of "
                "tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(params):
            raise ValueError(
                "all optimizer params should be with/without names. Some param names are missing"
            )
        param_group["params"] = params
        if names:
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is {_type_name(p)}"
                )
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {name}"
                )
            param_group.setdefault(name, default)
        _check_plain_kernel(param_group)
        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; each is updated as often as "
                "it appears",
                UserWarning,
                stacklevel=3,
            )
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        for group in self.param_groups:
            if ("param_names" in group) != ("param_names" in param_group):
                kind = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {kind} to the optimizer"
                )
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ----- stepping -----
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to ``None`` (default) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                elif getattr(grad._data.flags, "writeable", True) and grad.grad_fn is None:
                    grad._data.fill(0)
                    grad._requires_grad = False
                else:  # a read-only (broadcast) or graph-attached gradient: replace it by fresh zeros
                    xp = _backend.array_module(grad._data)
                    p._grad = Tensor._make(xp.zeros(grad._data.shape, dtype=grad._data.dtype))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient. ``closure`` (re-evaluates the model and returns the
        loss) is called first, with grad recording on; its loss is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._opt_called = True
        for group in self.param_groups:
            params = [p for p in group["params"] if p._grad is not None]
            if params:
                self._update_group(group, params)
            for p in params:
                p._bump_version()
        return loss

    def _update_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        """Apply one step of the algorithm to ``params`` (those of ``group`` that have a gradient)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update_group or override step")

    def _stepped_states(
        self, params: list[Tensor], new_state: Callable[[Tensor], dict[str, Tensor]]
    ) -> Iterator[tuple[Tensor, dict[str, Any]]]:
        """Each of ``params`` with its state, its ``step`` counter bumped by one; a parameter's first step
        creates its state: ``step`` (from 0) followed by the entries of ``new_state(p)``."""
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = step_counter()
                state.update(new_state(p))
            state["step"]._data += 1
            yield p, state

    # ----- state -----
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {id: per-parameter state}, "param_groups": [group with "params" as ids]}``; ids number
        the parameters across groups in order. Tensors in it are the live state (not copies), as in torch."""
        ids: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                ids.setdefault(id(p), len(ids))
            packed["params"] = [ids[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(ids[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict()``: group hyperparameters, and per-parameter state copied to each parameter's
        device and dtype (``step`` counters keep their own dtype)."""
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        groups = self.param_groups
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group "
                "that doesn't match the size of optimizer's group"
            )
        id_map = dict(
            zip(
                chain.from_iterable(s["params"] for s in saved_groups),
                chain.from_iterable(g["params"] for g in groups),
            )
        )
        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            param = id_map.get(key)
            if param is None:
                state[key] = copy.deepcopy(value)
            else:
                state[param] = {name: _cast_state(param, name, v) for name, v in value.items()}
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            _check_plain_kernel(saved)
        self.state = state
        self.param_groups = saved_groups

    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"


def _check_plain_kernel(group: dict[str, Any]) -> None:
    for key, allowed in _PLAIN_KERNEL_VALUES.items():
        if key in group and group[key] not in allowed:
            raise NotImplementedError(
                f"{key}={group[key]!r} is not supported by nnrun (it has one implementation of each "
                f"optimizer); "
                f"use {key}={allowed[0]!r}"
            )


def _cast_state(param: Tensor, name: str, value: Any) -> Any:
    """A copy of one state entry, on ``param``'s device and (for floating state but ``step``) its dtype."""
    if isinstance(value, Tensor):
        array = value._data
        if name != "step":
            array = _backend.transfer(array, _backend.device_of(param._data))
            if param._data.dtype.kind == "f":
                return Tensor._make(array.astype(param._data.dtype, copy=True))
        return Tensor._make(array.copy())
    return copy.deepcopy(value)


#: How PyTorch's messages name a hyperparameter, where not ``"<name> value"``.
_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def check_non_negative(**hyperparameters: float) -> None:
    """Raise ``ValueError`` in PyTorch's words (``Invalid learning rate: -1``) for the first of
    ``hyperparameters`` that is not ``>= 0`` (NaN included)."""
    for name, value in hyperparameters.items():
        if not value >= 0.0:
            raise ValueError(f"Invalid {_LABELS.get(name, f'{name} value')}: {value}")


def check_betas(betas: tuple[float, float]) -> None:
    """Raise ``ValueError`` in PyTorch's words (``Invalid beta parameter at index 0: 1.0``) unless both
    decay rates are in ``[0, 1)``."""
    for index in (0, 1):
        if not 0.0 <= betas[index] < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {betas[index]}")


def group_options(group: dict[str, Any], *floats: str, flags: tuple[str, ...] = ()) -> dict[str, Any]:
    """The hyperparameters of ``group`` that an update function takes, as Python scalars: ``floats`` as
    ``float`` (``"betas"`` split into ``beta1`` and ``beta2``), ``flags`` as ``bool``."""
    options: dict[str, Any] = {}
    for name in floats:
        if name == "betas":
            beta1, beta2 = group["betas"]
            options["beta1"], options["beta2"] = float(beta1), float(beta2)
        else:
            options[name] = float(group[name])
    options.update((name, bool(group[name])) for name in flags)
    return options


def step_counter() -> Tensor:
    """A fresh 0-d ``step`` counter as PyTorch keeps it: on the host, float64 when the default dtype is
    float64, else float32."""
    scalar = np.float64 if _dtype.get_default_dtype() is _dtype.float64 else np.float32
    return Tensor._make(np.zeros((), dtype=scalar))


def zeros_state(param: Tensor, fill: float = 0.0) -> Tensor:
    """A state tensor shaped like ``param`` on its device and dtype, filled with ``fill``."""
    xp = _backend.array_module(param._data)
    return Tensor._make(xp.full(param._data.shape, fill, dtype=param._data.dtype))
