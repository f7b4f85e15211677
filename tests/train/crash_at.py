"""A callback that makes a training run die at a given step, for tests of what a resume restores."""

from nnrun.train import Callback


class Crash(Exception):
    """What ``CrashAt`` raises: no real error is one."""


class CrashAt(Callback):
    """Raises ``Crash`` at the end of global step ``step``, like a process dying there."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, trainer, loss) -> None:
        if trainer.global_step == self.step:
            raise Crash
