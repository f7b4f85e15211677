"""Training: ``Trainer`` (a loop plus callbacks: metrics, checkpoints with exact resume, …) and its pieces.

``nnrun.train.Trainer.from_config("configs/lenet_mnist_sample.yaml").fit()`` trains from a config; see
:class:`Trainer` for training your own model, optimizer and loaders.
"""

from nnrun.train.callbacks import CALLBACKS, Callback
from nnrun.train.checkpoint import load_checkpoint, save_checkpoint
from nnrun.train.errors import TrainingError, TrainingInterrupted
from nnrun.train.extensions import PlainProgress, RichProgress
from nnrun.train.metrics import MetricTracker
from nnrun.train.position import Position
from nnrun.train.settings import CheckpointSettings, TrainSettings
from nnrun.train.trainer import Trainer

__all__ = [
    "CALLBACKS",
    "Callback",
    "CheckpointSettings",
    "MetricTracker",
    "PlainProgress",
    "Position",
    "RichProgress",
    "TrainSettings",
    "Trainer",
    "TrainingError",
    "TrainingInterrupted",
    "load_checkpoint",
    "save_checkpoint",
]
