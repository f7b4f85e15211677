"""``nnrun.utils``: where a PyTorch user looks for ``utils.data``; and :func:`tune_malloc`, which a training
run calls where it starts."""

from nnrun._malloc import tune_malloc
from nnrun.utils import data

__all__ = ["data", "tune_malloc"]
