"""The torch-style path to :mod:`nnrun.data`: ``from nnrun.utils.data import DataLoader``."""

from nnrun.data import (
    ArrayDataset,
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)

__all__ = [
    "ArrayDataset",
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "default_collate",
    "random_split",
]
