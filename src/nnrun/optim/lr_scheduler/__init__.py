"""Learning-rate schedulers shaped like ``torch.optim.lr_scheduler``.

Stepping follows PyTorch: the constructor performs the initial step (epoch 0 sets the first learning rate),
then ``scheduler.step()`` is called once per epoch (or batch) after ``optimizer.step()``. Each scheduler is
one rule over the epoch, written once (``base.LRScheduler`` holds what they share):

- ``base.py``: ``LRScheduler``, the optimizer, the epoch count and the per-group bookkeeping;
- ``decay.py``: ``LambdaLR``, ``StepLR``, ``MultiStepLR``, ``ExponentialLR``, ``LinearLR``, ``ConstantLR``,
  ``MultiplicativeLR``, ``PolynomialLR``;
- ``annealing.py``: ``CosineAnnealingLR``, ``OneCycleLR``, ``CosineAnnealingWarmRestarts``;
- ``cyclic.py``: ``CyclicLR``;
- ``sequential.py``: ``SequentialLR``, ``ChainedScheduler``; ``plateau.py``: ``ReduceLROnPlateau``.
"""

from nnrun.optim.lr_scheduler.annealing import CosineAnnealingLR, CosineAnnealingWarmRestarts, OneCycleLR
from nnrun.optim.lr_scheduler.base import LRScheduler
from nnrun.optim.lr_scheduler.cyclic import CyclicLR
from nnrun.optim.lr_scheduler.decay import (
    ConstantLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)
from nnrun.optim.lr_scheduler.plateau import ReduceLROnPlateau
from nnrun.optim.lr_scheduler.sequential import ChainedScheduler, SequentialLR

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]
