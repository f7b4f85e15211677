"""Datasets and readers for standard data files."""

from nnrun.data.idx import read_idx

__all__ = ["read_idx"]
