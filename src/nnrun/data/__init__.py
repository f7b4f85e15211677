"""Data: datasets, the ``DataLoader``, batch transforms and readers for standard data files."""

from nnrun.data import transforms
from nnrun.data.collate import default_collate
from nnrun.data.dataset import ArrayDataset, Dataset, Subset, TensorDataset, random_split
from nnrun.data.datasets import load_dataset
from nnrun.data.errors import DatasetError, OptionError
from nnrun.data.idx import read_idx
from nnrun.data.loader import DataLoader

__all__ = [
    "ArrayDataset",
    "DataLoader",
    "Dataset",
    "DatasetError",
    "OptionError",
    "Subset",
    "TensorDataset",
    "default_collate",
    "load_dataset",
    "random_split",
    "read_idx",
    "transforms",
]
