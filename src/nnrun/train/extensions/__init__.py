"""What a run does besides the step, each one :class:`~nnrun.train.Callback`: checkpoints, evaluation,
metric rows, the run folder, progress output and the non-finite loss stop."""

from nnrun.train.extensions.checkpointer import Checkpointer
from nnrun.train.extensions.evaluation import Evaluation
from nnrun.train.extensions.metric_logger import MetricLogger
from nnrun.train.extensions.non_finite import NonFiniteLoss
from nnrun.train.extensions.progress import PlainProgress, RichProgress, default_progress
from nnrun.train.extensions.run_folder import RunFolder

__all__ = [
    "Checkpointer",
    "Evaluation",
    "MetricLogger",
    "NonFiniteLoss",
    "PlainProgress",
    "RichProgress",
    "RunFolder",
    "default_progress",
]
