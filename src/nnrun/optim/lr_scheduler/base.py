"""``LRScheduler``: the optimizer, the epoch count and the per-group bookkeeping every scheduler shares."""

from __future__ import annotations

import copy
import warnings
from typing import Any

from nnrun.optim.optimizer import Optimizer

EPOCH_DEPRECATION = (
    "The epoch parameter in `scheduler.step()` is deprecated, as in PyTorch: call `scheduler.step()` once "
    "per epoch instead. With an epoch, the closed form of the schedule is used where one exists."
)

#: Keys of state dicts written by nnrun before the schedulers were rewritten, which nothing reads now.
_RETIRED_KEYS = frozenset({"_is_initial"})


def check_optimizer(optimizer: Any) -> None:
    """Raise ``TypeError`` unless ``optimizer`` is an :class:`Optimizer`."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


class LRScheduler:
    """Base class: one learning rate per param group, as a function of the epoch ``last_epoch``.

    A subclass gives its rule as :meth:`get_lr`: the rates of epoch ``last_epoch`` computed from the rates
    the groups hold (those of the epoch before), the recursive form PyTorch uses, so values match PyTorch's
    to the last bit and a rate changed by hand mid-run carries on. Where the rule has a closed form in
    ``base_lrs`` it also gives :meth:`_get_closed_form_lr`, which ``step(epoch)`` and ``SequentialLR`` use
    to jump to an epoch.

    The constructor records each group's starting rate as ``initial_lr`` (``base_lrs``) and takes the step
    to epoch ``last_epoch + 1``; ``step()`` is then called once per epoch (or batch) after
    ``optimizer.step()``.

    Args:
        optimizer: the wrapped optimizer.
        last_epoch: index of the last epoch when resuming (-1 to start fresh; resuming needs the groups'
            ``initial_lr``, so load the optimizer's state first).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        check_optimizer(optimizer)
        self.optimizer = optimizer
        self.base_lrs: list[float] = self._record_base_lrs(last_epoch)
        self.last_epoch = last_epoch
        self._initial_step()

    def _record_base_lrs(self, last_epoch: int) -> list[float]:
        """Each group's starting rate: its current ``lr``, recorded as ``initial_lr`` on a fresh start (a
        group that has one keeps it), read back from ``initial_lr`` when resuming."""
        groups = self.optimizer.param_groups
        if last_epoch == -1:
            for group in groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming an "
                        "optimizer (load the optimizer's state_dict first, or use last_epoch=-1)"
                    )
        return [group["initial_lr"] for group in groups]

    # ----- the rule -----
    def get_lr(self) -> list[float]:
        """The learning rates of epoch ``last_epoch`` (already advanced), one per param group."""
        raise NotImplementedError

    def _get_closed_form_lr(self) -> list[float]:
        """The learning rates of epoch ``last_epoch`` from ``base_lrs`` alone; a rule without a closed form
        is its own (``get_lr``), as in PyTorch."""
        return self.get_lr()

    def _initial_lr(self) -> list[float]:
        """The learning rates the constructor sets, at epoch ``last_epoch`` (0 on a fresh start): the rule's.
        A scheduler that PyTorch lets keep the rates of a resumed optimizer overrides this."""
        return self.get_lr()

    # ----- stepping -----
    def _initial_step(self) -> None:
        """The constructor's step, to epoch ``last_epoch + 1``."""
        self._step_count = 1
        self.last_epoch += 1
        self._set_lrs(self._initial_lr())

    def _undo_initial_step(self) -> None:
        """Take back the epoch the constructor's step advanced (``SequentialLR`` starts its schedulers
        itself); the groups' rates are the caller's to restore."""
        self.last_epoch -= 1

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (call after ``optimizer.step()``) and set the groups' learning rates; an
        ``epoch`` (deprecated, with a warning) jumps to it through the closed form."""
        if self._step_count == 1 and not self.optimizer._opt_called and _tracks_steps(self.optimizer):
            warnings.warn(
                "Detected call of `lr_scheduler.step()` before `optimizer.step()`. Call `optimizer.step()` "
                "first, or the first value of the learning-rate schedule is skipped.",
                UserWarning,
                stacklevel=2,
            )
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            self._set_lrs(self.get_lr())
        else:
            warnings.warn(EPOCH_DEPRECATION, UserWarning, stacklevel=2)
            self._jump_to(epoch)

    def _jump_to(self, epoch: int) -> None:
        """Set the learning rates of ``epoch`` from the closed form, without counting a step."""
        self.last_epoch = epoch
        self._set_lrs(self._get_closed_form_lr())

    # ----- the groups -----
    def _group_lrs(self) -> list[float]:
        """The learning rate each param group holds now."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def _set_lrs(self, lrs: list[float]) -> None:
        """Write one learning rate per param group, and remember them for :meth:`get_last_lr`."""
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = self._group_lrs()

    def get_last_lr(self) -> list[float]:
        """The learning rates of the groups as of the last step."""
        return self._last_lr

    # ----- state -----
    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (also one written by an earlier nnrun)."""
        state = {key: value for key, value in state_dict.items() if key not in _RETIRED_KEYS}
        self.__dict__.update(copy.deepcopy(state))


def _tracks_steps(optimizer: Optimizer) -> bool:
    """Whether ``optimizer.step`` is the base one that records its calls (a subclass may override it)."""
    return type(optimizer).step is Optimizer.step
