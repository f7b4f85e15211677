"""Callbacks: everything a run does besides the optimisation step. Subclass :class:`Callback` and override
the hooks you need; the trainer calls a hook only on the callbacks that define it.

After each optimizer step the trainer calls ``on_every_n_steps`` of each callback whose ``every_n_steps``
divides the global step (in list order), then ``on_step_end`` of each. Every hook receives the trainer,
whose ``epoch`` (0-based), ``global_step``, ``batch_index``, ``model``, ``optimizer``, ``history`` and
``position`` describe where training stands; setting ``trainer.should_stop`` ends training after the
current epoch. A callback with ``state_dict``/``load_state_dict`` has its state saved in every checkpoint
(under its ``state_key``) and restored on resume. The built-in ones (checkpoints, evaluation, metric rows,
the run folder, progress output, the non-finite loss stop) live in :mod:`nnrun.train.extensions`.

``CALLBACKS`` holds the callbacks a training config can name (``callbacks: [{Name: {argument: value}}]``);
``@nnrun.register`` adds a user's Callback subclass to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from nnrun.registry import Registry

HOOKS = (
    "on_train_start",
    "on_epoch_start",
    "on_before_backward",
    "on_every_n_steps",
    "on_step_end",
    "on_log",
    "on_epoch_metrics",
    "on_epoch_end",
    "on_evaluate_step",
    "on_before_checkpoint",
    "on_checkpoint",
    "on_final_metrics",
    "on_train_end",
    "on_exception",
)


class Callback:
    """Base class; every hook does nothing.

    ``every_n_steps``: how often ``on_every_n_steps`` runs (None: never). ``rank_zero_only``: in a
    data-parallel job, the callback exists on rank 0 alone (it prints or writes files)."""

    every_n_steps: int | None = None
    rank_zero_only: bool = False

    @property
    def state_key(self) -> str:
        """The key of this callback's state in a checkpoint (its class name)."""
        return type(self).__qualname__

    def on_train_start(self, trainer: Any) -> None:
        """Before the first step (after a resume has restored the state)."""

    def on_epoch_start(self, trainer: Any) -> None:
        """Before the first batch of ``trainer.epoch`` (not called when resuming mid-epoch)."""

    def on_before_backward(self, trainer: Any, loss: Any) -> None:
        """After each forward pass, with the batch's loss (raising here leaves the weights as they were);
        with ``accumulate_batches``, for every batch of a group."""

    def on_every_n_steps(self, trainer: Any) -> None:
        """Every ``every_n_steps`` optimizer steps, before the ``on_step_end`` hooks of that step. The step's
        checkpoint is written here, by the last callback: state that it must hold (a count of steps, an
        average of the weights) is updated here, with ``every_n_steps = 1``, rather than in on_step_end."""

    def on_step_end(self, trainer: Any, loss: Any) -> None:
        """After each optimizer step, with that batch's loss (with ``accumulate_batches``, the group's last
        batch's): a detached 0-d tensor on the training device (``float(loss)`` reads it; on a GPU that
        waits for the step to finish)."""

    def on_log(self, trainer: Any, row: dict[str, Any]) -> None:
        """Every ``log_every`` steps, with the row written to the metrics files (``kind: step``), and with
        each ``val_every_steps`` validation row (``kind: val``)."""

    def on_epoch_metrics(self, trainer: Any, row: dict[str, Any]) -> None:
        """At the end of an epoch, when its row holds the training metrics: add metrics to it (validation)
        or check them; the scheduler then steps and the row goes to ``on_epoch_end``."""

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        """After an epoch and its validation, with the epoch's metrics row (``trainer.epoch`` counts it)."""

    def on_evaluate_step(self, trainer: Any, split: str, batch: int, batches: int) -> None:
        """After each batch of an evaluation (``split``: ``val`` or ``test``), ``batch`` of ``batches``."""

    def on_before_checkpoint(self, trainer: Any) -> None:
        """Before a checkpoint is written (raising here means it is not)."""

    def on_checkpoint(self, trainer: Any, path: str) -> None:
        """After a checkpoint file was written."""

    def on_final_metrics(self, trainer: Any, final: dict[str, Any]) -> None:
        """After the last epoch, with the final metrics of the summary: add metrics to them (test)."""

    def on_train_end(self, trainer: Any, summary: dict[str, Any]) -> None:
        """After training completed, with the summary (final and best metrics, time, throughput)."""

    def on_exception(self, trainer: Any, error: BaseException) -> None:
        """When training stops with an exception (an interruption, a non-finite loss, …)."""


CALLBACKS = Registry("callback", base=Callback)


def _defines(callback: Any, hook: str) -> bool:
    """Whether ``callback`` has its own ``hook`` (not the base class's empty one)."""
    own = getattr(type(callback), hook, None)
    return own is not None and own is not getattr(Callback, hook)


def _state_key(callback: Any) -> str:
    return getattr(callback, "state_key", type(callback).__qualname__)


class CallbackList:
    """The callbacks of a run, in order; a hook is called on each callback that defines it, in order.

    On ranks other than 0 (``main=False``) the ``rank_zero_only`` callbacks are left out."""

    def __init__(self, callbacks: Iterable[Callback], main: bool = True) -> None:
        self.callbacks = [c for c in callbacks if main or not getattr(c, "rank_zero_only", False)]
        keys = [_state_key(c) for c in self.callbacks if hasattr(c, "state_dict")]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(f"callbacks with state share the state_key {repeated[0]!r}; give each its own")
        self.hooks: dict[str, list[Callable[..., None]]] = {
            hook: [getattr(c, hook) for c in self.callbacks if _defines(c, hook)] for hook in HOOKS
        }
        #: (n, hook) of the callbacks whose on_every_n_steps runs every n steps
        self.every_n_steps = [
            (c.every_n_steps, c.on_every_n_steps)
            for c in self.callbacks
            if getattr(c, "every_n_steps", None) and _defines(c, "on_every_n_steps")
        ]

    def call(self, hook: str, trainer: Any, *args: Any) -> None:
        """Call ``hook(trainer, *args)`` on every callback that defines it."""
        for method in self.hooks[hook]:
            method(trainer, *args)

    def state_dict(self) -> dict[str, Any]:
        """The state of each callback that has one, by ``state_key``."""
        return {_state_key(c): c.state_dict() for c in self.callbacks if hasattr(c, "state_dict")}

    def load_state_dict(self, states: dict[str, Any]) -> None:
        """Give each callback with state its saved state (one the checkpoint has no state of starts anew)."""
        for callback in self.callbacks:
            if hasattr(callback, "load_state_dict") and _state_key(callback) in states:
                callback.load_state_dict(states[_state_key(callback)])
