"""Optimizers and learning-rate schedulers shaped like ``torch.optim``, and the registries configs name
them from (``OPTIMIZERS``, ``SCHEDULERS``)."""

from nnrun.optim import lr_scheduler
from nnrun.optim.adadelta import Adadelta
from nnrun.optim.adagrad import Adagrad
from nnrun.optim.adam import Adam
from nnrun.optim.adamax import Adamax
from nnrun.optim.adamw import AdamW
from nnrun.optim.asgd import ASGD
from nnrun.optim.lbfgs import LBFGS
from nnrun.optim.nadam import NAdam
from nnrun.optim.optimizer import Optimizer
from nnrun.optim.radam import RAdam
from nnrun.optim.rmsprop import RMSprop
from nnrun.optim.rprop import Rprop
from nnrun.optim.sgd import SGD
from nnrun.registry import Registry

OPTIMIZERS = Registry(
    "optimizer",
    base=Optimizer,
    builtins=lambda: {
        # LBFGS is left out: its step needs a closure, which a config's training loop does not give
        cls.__name__: cls
        for cls in (SGD, Adagrad, Adam, AdamW, RMSprop, Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD)
    },
)
#: LambdaLR and MultiplicativeLR take Python functions, which a config cannot hold.
SCHEDULERS = Registry(
    "scheduler",
    base=lr_scheduler.LRScheduler,
    builtins=lambda: {
        name: getattr(lr_scheduler, name)
        for name in lr_scheduler.__all__
        if name not in ("LRScheduler", "LambdaLR", "MultiplicativeLR")
    },
)

__all__ = [
    "ASGD",
    "LBFGS",
    "OPTIMIZERS",
    "SCHEDULERS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "Rprop",
    "lr_scheduler",
]
