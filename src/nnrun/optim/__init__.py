"""Optimizers and learning-rate schedulers shaped like ``torch.optim``."""

from nnrun.optim import lr_scheduler
from nnrun.optim.adagrad import Adagrad
from nnrun.optim.adam import Adam
from nnrun.optim.adamw import AdamW
from nnrun.optim.optimizer import Optimizer
from nnrun.optim.rmsprop import RMSprop
from nnrun.optim.sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
