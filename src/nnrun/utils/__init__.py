"""``nnrun.utils``: where a PyTorch user looks for ``utils.data``."""

from nnrun.utils import data

__all__ = ["data"]
